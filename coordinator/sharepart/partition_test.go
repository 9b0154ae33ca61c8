package sharepart

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var t0 = time.Unix(1_700_000_000, 0)

func mustInvariants(t *testing.T, p *Partition) {
	t.Helper()
	if err := checkInvariants(p); err != nil {
		t.Fatalf("%v: %s", err, p)
	}
}

func acq(first, last int64, count int16) Acquired {
	return Acquired{First: first, Last: last, DeliveryCount: count}
}

func sb(first, last int64, st RecordState, count int16) StateBatch {
	return StateBatch{First: first, Last: last, State: st, DeliveryCount: count}
}

func lb(bs ...int64) []LogBatch {
	var out []LogBatch
	for i := 0; i+1 < len(bs); i += 2 {
		out = append(out, LogBatch{First: bs[i], Last: bs[i+1]})
	}
	return out
}

func TestAcquire(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		start      Persisted
		batches    []LogBatch
		max        int
		strict     bool
		want       []Acquired
		start2     int64 // StartOffset after
		end        int64 // EndOffset after
		persisted  []StateBatch
		fetchAfter int64
	}{{
		name: "whole batches past maxRecords", batches: lb(0, 9, 10, 19, 20, 29), max: 15,
		want: []Acquired{acq(0, 19, 1)}, end: 20, fetchAfter: 20,
		persisted: []StateBatch{sb(0, 19, StateAvailable, 1)},
	}, {
		name: "strict splits a batch", batches: lb(0, 9, 10, 19), max: 15, strict: true,
		want: []Acquired{acq(0, 14, 1)}, end: 15, fetchAfter: 15,
		persisted: []StateBatch{sb(0, 14, StateAvailable, 1)},
	}, {
		name: "first batch of an empty window past MaxInFlight", cfg: Config{MaxInFlight: 10},
		batches: lb(0, 49, 50, 59), max: 500,
		want: []Acquired{acq(0, 49, 1)}, end: 50, fetchAfter: 50,
		persisted: []StateBatch{sb(0, 49, StateAvailable, 1)},
	}, {
		name: "strict stops at MaxInFlight", cfg: Config{MaxInFlight: 10},
		batches: lb(0, 49), max: 500, strict: true,
		want: []Acquired{acq(0, 9, 1)}, end: 10, fetchAfter: 10,
		persisted: []StateBatch{sb(0, 9, StateAvailable, 1)},
	}, {
		name: "the batch crossing MaxInFlight is taken whole", cfg: Config{MaxInFlight: 15},
		batches: lb(0, 9, 10, 19, 20, 29), max: 500,
		want: []Acquired{acq(0, 19, 1)}, end: 20, fetchAfter: 20,
		persisted: []StateBatch{sb(0, 19, StateAvailable, 1)},
	}, {
		name: "gaps between batches are archived", batches: lb(0, 4, 8, 9), max: 100,
		want: []Acquired{acq(0, 4, 1), acq(8, 9, 1)}, end: 10, fetchAfter: 10,
		persisted: []StateBatch{sb(0, 4, StateAvailable, 1), sb(5, 7, StateArchived, 0), sb(8, 9, StateAvailable, 1)},
	}, {
		name: "an empty window moves to the first record", start: Persisted{StartOffset: 3}, batches: lb(5, 9), max: 100,
		want: []Acquired{acq(5, 9, 1)}, start2: 5, end: 10, fetchAfter: 10,
		persisted: []StateBatch{sb(5, 9, StateAvailable, 1)},
	}, {
		name: "a batch straddling the start", start: Persisted{StartOffset: 5}, batches: lb(0, 9), max: 100,
		want: []Acquired{acq(5, 9, 1)}, start2: 5, end: 10, fetchAfter: 10,
		persisted: []StateBatch{sb(5, 9, StateAvailable, 1)},
	}, {
		name: "redelivery, then new records",
		start: Persisted{StartOffset: 0, Batches: []StateBatch{
			sb(0, 4, StateAvailable, 1), sb(5, 9, StateAcknowledged, 1), sb(10, 14, StateAvailable, 2)}},
		batches: lb(0, 4, 5, 9, 10, 14, 15, 19), max: 100,
		want: []Acquired{acq(0, 4, 2), acq(10, 14, 3), acq(15, 19, 1)}, end: 20, fetchAfter: 20,
		persisted: []StateBatch{sb(0, 4, StateAvailable, 2), sb(5, 9, StateAcknowledged, 1),
			sb(10, 14, StateAvailable, 3), sb(15, 19, StateAvailable, 1)},
	}, {
		name:    "records at the delivery limit are archived, not delivered",
		cfg:     Config{DeliveryLimit: 2},
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 4, StateAvailable, 2), sb(5, 9, StateAvailable, 1)}},
		batches: lb(0, 9), max: 100,
		want: []Acquired{acq(5, 9, 2)}, start2: 5, end: 10, fetchAfter: 10,
		persisted: []StateBatch{sb(5, 9, StateAvailable, 2)},
	}, {
		name:    "records absent from the log are archived",
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 9, StateAvailable, 1)}},
		batches: lb(2, 3, 6, 12), max: 100,
		want: []Acquired{acq(2, 3, 2), acq(6, 9, 2), acq(10, 12, 1)}, start2: 2, end: 13, fetchAfter: 13,
		persisted: []StateBatch{sb(2, 3, StateAvailable, 2), sb(4, 5, StateArchived, 1),
			sb(6, 9, StateAvailable, 2), sb(10, 12, StateAvailable, 1)},
	}, {
		name:    "strict re-acquires part of a run",
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 9, StateAvailable, 1)}},
		batches: lb(0, 9), max: 4, strict: true,
		want: []Acquired{acq(0, 3, 2)}, end: 10, fetchAfter: 4,
		persisted: []StateBatch{sb(0, 3, StateAvailable, 2), sb(4, 9, StateAvailable, 1)},
	}, {
		name:    "in-window batches are whole, past maxRecords",
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 9, StateAvailable, 1)}},
		batches: lb(0, 4, 5, 9, 10, 19), max: 3,
		want: []Acquired{acq(0, 4, 2)}, end: 10, fetchAfter: 5,
		persisted: []StateBatch{sb(0, 4, StateAvailable, 2), sb(5, 9, StateAvailable, 1)},
	}, {
		name: "a skipped batch ending the read is archived", batches: []LogBatch{{First: 0, Last: 4}, {First: 5, Last: 5, Skip: true}}, max: 100,
		want: []Acquired{acq(0, 4, 1)}, end: 6, fetchAfter: 6,
		persisted: []StateBatch{sb(0, 4, StateAvailable, 1), sb(5, 5, StateArchived, 0)},
	}, {
		name: "an empty window moves past skipped batches", batches: []LogBatch{{First: 0, Last: 3, Skip: true}, {First: 4, Last: 5}}, max: 100,
		want: []Acquired{acq(4, 5, 1)}, start2: 4, end: 6, fetchAfter: 6,
		persisted: []StateBatch{sb(4, 5, StateAvailable, 1)},
	}, {
		name: "only skipped batches", batches: []LogBatch{{First: 2, Last: 3, Skip: true}}, max: 100,
		start2: 4, end: 4, fetchAfter: 4,
	}, {
		name:    "records of skipped batches in the window are archived",
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 9, StateAvailable, 1)}},
		batches: []LogBatch{{First: 0, Last: 4, Skip: true}, {First: 5, Last: 9}}, max: 100,
		want: []Acquired{acq(5, 9, 2)}, start2: 5, end: 10, fetchAfter: 10,
		persisted: []StateBatch{sb(5, 9, StateAvailable, 2)},
	}, {
		name:    "throttled: half the batch from half the delivery limit",
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 7, StateAvailable, 3)}},
		batches: lb(0, 7, 8, 15), max: 500,
		want: []Acquired{acq(0, 3, 4)}, end: 8, fetchAfter: 4,
		persisted: []StateBatch{sb(0, 3, StateAvailable, 4), sb(4, 7, StateAvailable, 3)},
	}, {
		name:    "throttled: the last delivery alone",
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 7, StateAvailable, 4)}},
		batches: lb(0, 7), max: 500,
		want: []Acquired{acq(0, 0, 5)}, end: 8, fetchAfter: 1,
		persisted: []StateBatch{sb(0, 0, StateAvailable, 5), sb(1, 7, StateAvailable, 4)},
	}, {
		name:    "throttled: a throttled batch only first in a response",
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 4, StateAvailable, 1), sb(5, 9, StateAvailable, 3)}},
		batches: lb(0, 4, 5, 9, 10, 19), max: 500,
		want: []Acquired{acq(0, 4, 2)}, end: 10, fetchAfter: 5,
		persisted: []StateBatch{sb(0, 4, StateAvailable, 2), sb(5, 9, StateAvailable, 3)},
	}, {
		name:    "throttled: records before the first throttled one count",
		start:   Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 2, StateAvailable, 1), sb(3, 7, StateAvailable, 3)}},
		batches: lb(0, 7), max: 500,
		want: []Acquired{acq(0, 2, 2), acq(3, 3, 4)}, end: 8, fetchAfter: 4,
		persisted: []StateBatch{sb(0, 2, StateAvailable, 2), sb(3, 3, StateAvailable, 4), sb(4, 7, StateAvailable, 3)},
	}, {
		name: "zero maxRecords acquires nothing", batches: lb(0, 9), max: 0, fetchAfter: 0,
	}, {
		name: "malformed batches end the list", batches: lb(0, 4, 3, 9), max: 100,
		want: []Acquired{acq(0, 4, 1)}, end: 5, fetchAfter: 5,
		persisted: []StateBatch{sb(0, 4, StateAvailable, 1)},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(tc.cfg, tc.start)
			got := p.Acquire("m", tc.batches, tc.max, tc.strict, t0)
			mustInvariants(t, p)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("acquired %v, want %v", got, tc.want)
			}
			if p.StartOffset() != tc.start2 || p.EndOffset() != tc.end {
				t.Fatalf("window [%d,%d), want [%d,%d)", p.StartOffset(), p.EndOffset(), tc.start2, tc.end)
			}
			if ps := p.Persisted(); !reflect.DeepEqual(ps.Batches, tc.persisted) {
				t.Fatalf("persisted %v, want %v", ps.Batches, tc.persisted)
			}
			if f := p.FetchOffset(); f != tc.fetchAfter {
				t.Fatalf("fetch offset %d, want %d", f, tc.fetchAfter)
			}
			if len(got) > 0 {
				if !p.Changed() {
					t.Fatal("an acquisition is not a change")
				}
				if d, ok := p.NextDeadline(); !ok || !d.Equal(t0.Add(p.Config().LockDuration)) {
					t.Fatalf("next deadline %v %v", d, ok)
				}
			}
		})
	}
}

// acquired0to9 is a partition where m holds 0-4 and n holds 5-9.
func acquired0to9(t *testing.T) *Partition {
	p := New(Config{DeliveryLimit: 3}, Persisted{})
	p.Acquire("m", lb(0, 4), 5, false, t0)
	p.Acquire("n", lb(5, 9), 5, false, t0)
	p.ClearChanged()
	mustInvariants(t, p)
	return p
}

func TestAcknowledgeErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		member      string
		first, last int64
		types       []AckType
		want        error
	}{
		{"first past last", "m", 3, 2, []AckType{AckAccept}, kerr.InvalidRequest},
		{"no types", "m", 0, 2, nil, kerr.InvalidRequest},
		{"types for some offsets", "m", 0, 2, []AckType{AckAccept, AckAccept}, kerr.InvalidRequest},
		{"unknown type", "m", 0, 2, []AckType{5}, kerr.InvalidRequest},
		{"negative type", "m", 0, 0, []AckType{-1}, kerr.InvalidRequest},
		{"past the window", "n", 8, 10, []AckType{AckAccept}, kerr.InvalidRequest},
		{"wholly past the window", "n", 20, 21, []AckType{AckAccept}, kerr.InvalidRequest},
		{"another member's", "m", 5, 5, []AckType{AckAccept}, kerr.InvalidRecordState},
		{"partly another member's", "m", 3, 6, []AckType{AckAccept}, kerr.InvalidRecordState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := acquired0to9(t)
			before := p.String()
			err := p.Acknowledge(tc.member, tc.first, tc.last, tc.types, t0)
			if err != tc.want || !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if p.String() != before || p.Changed() {
				t.Fatalf("a refused acknowledgement changed %s to %s", before, p)
			}
		})
	}
	t.Run("not acquired", func(t *testing.T) {
		p := acquired0to9(t)
		if err := p.Acknowledge("m", 2, 2, []AckType{AckRelease}, t0); err != nil {
			t.Fatal(err)
		}
		for _, at := range []AckType{AckAccept, AckRelease, AckReject, AckGap, AckRenew} {
			if err := p.Acknowledge("m", 1, 3, []AckType{at}, t0); err != kerr.InvalidRecordState {
				t.Fatalf("%v of an Available record: %v", at, err)
			}
		}
		if err := p.Acknowledge("m", 0, 0, []AckType{AckAccept}, t0); err != nil {
			t.Fatal(err)
		}
		if err := p.Acknowledge("m", 1, 1, []AckType{AckAccept}, t0); err != nil {
			t.Fatal(err)
		}
		// 0-1 are below the start now: skipped, not refused.
		if p.StartOffset() != 2 {
			t.Fatalf("start %d", p.StartOffset())
		}
		if err := p.Acknowledge("m", 0, 1, []AckType{AckAccept}, t0); err != nil {
			t.Fatalf("acknowledging records below the start: %v", err)
		}
		// Partly below: the rest applies.
		if err := p.Acknowledge("m", 0, 1, []AckType{AckAccept}, t0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAcknowledgeTransitions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		types     []AckType
		persisted []StateBatch
		start     int64
		changed   bool
	}{
		{"accept", []AckType{AckAccept}, []StateBatch{sb(5, 9, StateAvailable, 1)}, 5, true},
		{"reject", []AckType{AckReject}, []StateBatch{sb(5, 9, StateAvailable, 1)}, 5, true},
		{"gap", []AckType{AckGap}, []StateBatch{sb(5, 9, StateAvailable, 1)}, 5, true},
		{"release", []AckType{AckRelease}, []StateBatch{sb(0, 9, StateAvailable, 1)}, 0, true},
		{"renew", []AckType{AckRenew}, []StateBatch{sb(0, 9, StateAvailable, 1)}, 0, false},
		{"per offset", []AckType{AckAccept, AckAccept, AckRelease, AckReject, AckRenew},
			[]StateBatch{sb(2, 2, StateAvailable, 1), sb(3, 3, StateArchived, 1), sb(4, 9, StateAvailable, 1)}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := acquired0to9(t)
			later := t0.Add(time.Second)
			if err := p.Acknowledge("m", 0, 4, tc.types, later); err != nil {
				t.Fatal(err)
			}
			mustInvariants(t, p)
			ps := p.Persisted()
			if ps.StartOffset != tc.start || !reflect.DeepEqual(ps.Batches, tc.persisted) {
				t.Fatalf("persisted %+v, want start %d %v (%s)", ps, tc.start, tc.persisted, p)
			}
			if p.Changed() != tc.changed {
				t.Fatalf("changed %v", p.Changed())
			}
			renewed := tc.types[len(tc.types)-1] == AckRenew
			if renewed {
				if got := p.runs[p.find(4)].deadline; !got.Equal(later.Add(DefaultLockDuration)) {
					t.Fatalf("renewed deadline %v", got)
				}
				if p.AcquiredBy("m") == 0 {
					t.Fatal("renew released")
				}
			}
		})
	}
}

func TestReleaseAtDeliveryLimit(t *testing.T) {
	p := New(Config{DeliveryLimit: 2}, Persisted{})
	for i := range 2 {
		if got := p.Acquire("m", lb(0, 4), 10, false, t0); !reflect.DeepEqual(got, []Acquired{acq(0, 4, int16(i+1))}) {
			t.Fatalf("delivery %d: %v", i+1, got)
		}
		if err := p.Acknowledge("m", 0, 4, []AckType{AckRelease}, t0); err != nil {
			t.Fatal(err)
		}
	}
	// Released at the limit: archived, and the window is empty.
	if p.StartOffset() != 5 || p.EndOffset() != 5 || p.InFlight() != 0 {
		t.Fatalf("window %s", p)
	}
	mustInvariants(t, p)
}

func TestExpire(t *testing.T) {
	p := New(Config{LockDuration: 10 * time.Second, DeliveryLimit: 2}, Persisted{})
	p.Acquire("m", lb(0, 4), 10, false, t0)
	p.Acquire("n", lb(5, 9), 10, false, t0.Add(5*time.Second))
	if d, _ := p.NextDeadline(); !d.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("next deadline %v", d)
	}
	p.ClearChanged()
	p.Expire(t0.Add(10*time.Second - 1))
	if p.AcquiredBy("m") != 5 {
		t.Fatal("expired before the deadline")
	}
	p.Expire(t0.Add(10 * time.Second))
	if p.AcquiredBy("m") != 0 || p.AcquiredBy("n") != 5 || p.FetchOffset() != 0 {
		t.Fatalf("after expiry: %s", p)
	}
	if p.Changed() {
		t.Fatal("Acquired → Available with the same count changes nothing persisted")
	}
	if err := p.Acknowledge("m", 0, 4, []AckType{AckAccept}, t0); err != kerr.InvalidRecordState {
		t.Fatalf("acknowledging expired records: %v", err)
	}
	// The second delivery expires at the limit: archived.
	p.Acquire("m", lb(0, 4), 10, false, t0.Add(20*time.Second))
	p.Expire(t0.Add(time.Hour))
	if p.StartOffset() != 5 || p.FetchOffset() != 5 || !p.Changed() {
		t.Fatalf("after the last expiry: %s", p)
	}
	if _, ok := p.NextDeadline(); ok {
		t.Fatal("a deadline without acquired records")
	}
	mustInvariants(t, p)
}

func TestReleaseMember(t *testing.T) {
	p := acquired0to9(t)
	p.Acquire("n", lb(10, 14), 10, false, t0) // n holds 5-14
	p.ReleaseMember("m", t0)
	mustInvariants(t, p)
	want := []StateBatch{sb(0, 4, StateAvailable, 0), sb(5, 14, StateAvailable, 1)}
	if ps := p.Persisted(); !reflect.DeepEqual(ps.Batches, want) || p.AcquiredBy("n") != 10 {
		t.Fatalf("after release: %s", p)
	}
	if !p.Changed() {
		t.Fatal("a delivery count went down, unchanged")
	}
	// The released records go out again with count 1.
	if got := p.Acquire("o", lb(0, 4), 10, false, t0); !reflect.DeepEqual(got, []Acquired{acq(0, 4, 1)}) {
		t.Fatalf("reacquired %v", got)
	}
}

func TestMoveStartOffset(t *testing.T) {
	p := acquired0to9(t)
	p.MoveStartOffset(3, t0)
	mustInvariants(t, p)
	if p.StartOffset() != 3 || p.AcquiredBy("m") != 2 || !p.Changed() {
		t.Fatalf("after moving to 3: %s", p)
	}
	// Acknowledging records that left the window is not refused.
	if err := p.Acknowledge("m", 0, 4, []AckType{AckAccept}, t0); err != nil {
		t.Fatal(err)
	}
	if p.StartOffset() != 5 {
		t.Fatalf("start %d", p.StartOffset())
	}
	p.ClearChanged()
	p.MoveStartOffset(4, t0)
	if p.StartOffset() != 5 || p.Changed() {
		t.Fatal("moving the start backwards did something")
	}
	p.MoveStartOffset(100, t0)
	mustInvariants(t, p)
	if p.StartOffset() != 100 || p.EndOffset() != 100 || p.AcquiredBy("n") != 0 || p.FetchOffset() != 100 {
		t.Fatalf("after moving past the end: %s", p)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         Persisted
		start, end int64
		want       []StateBatch
		changed    bool
	}{
		{"empty", Persisted{StartOffset: 7}, 7, 7, nil, false},
		{"acquired and unknown states are available",
			Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 4, StateAcquired, 2), sb(5, 6, 3, 1)}},
			0, 7, []StateBatch{sb(0, 4, StateAvailable, 2), sb(5, 6, StateAvailable, 1)}, false},
		{"holes are available, never delivered",
			Persisted{StartOffset: 0, Batches: []StateBatch{sb(3, 4, StateAcknowledged, 1), sb(8, 9, StateAvailable, 1)}},
			0, 10, []StateBatch{sb(0, 2, StateAvailable, 0), sb(3, 4, StateAcknowledged, 1), sb(5, 7, StateAvailable, 0), sb(8, 9, StateAvailable, 1)}, false},
		{"leading done records move the start",
			Persisted{StartOffset: 0, Batches: []StateBatch{sb(0, 4, StateAcknowledged, 1), sb(5, 6, StateArchived, 3), sb(7, 9, StateAvailable, 1)}},
			7, 10, []StateBatch{sb(7, 9, StateAvailable, 1)}, true},
		{"bad batches are ignored",
			Persisted{StartOffset: 10, Batches: []StateBatch{sb(0, 4, StateAvailable, 1), sb(8, 11, StateAvailable, 1), sb(12, 11, StateAvailable, 1), sb(11, 13, StateAvailable, -2)}},
			10, 14, []StateBatch{sb(10, 11, StateAvailable, 1), sb(12, 13, StateAvailable, 0)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Config{}, tc.in)
			mustInvariants(t, p)
			ps := p.Persisted()
			if p.StartOffset() != tc.start || p.EndOffset() != tc.end || !reflect.DeepEqual(ps.Batches, tc.want) || p.Changed() != tc.changed {
				t.Fatalf("restored %s changed %v, persisted %v", p, p.Changed(), ps.Batches)
			}
			// Round trip.
			if q := New(Config{}, ps); !reflect.DeepEqual(q.Persisted(), ps) {
				t.Fatalf("round trip %v → %v", ps, q.Persisted())
			}
		})
	}
}

func TestDefaultsAndString(t *testing.T) {
	p := New(Config{}, Persisted{})
	if c := p.Config(); c.LockDuration != 30*time.Second || c.DeliveryLimit != 5 || c.MaxInFlight != 2000 {
		t.Fatalf("defaults %+v", c)
	}
	p.Acquire("m", lb(0, 2), 10, false, t0)
	p.Acknowledge("m", 1, 1, []AckType{AckAccept}, t0)
	if s := p.String(); !strings.Contains(s, "[0,3)") || !strings.Contains(s, "1-1:Acknowledged/1") || !strings.Contains(s, "Acquired/1(m until") {
		t.Fatalf("String() = %s", s)
	}
	if !p.CanAcquire() {
		t.Fatal("a window below MaxInFlight cannot acquire")
	}
	p.SetConfig(Config{MaxInFlight: 3})
	if p.CanAcquire() {
		t.Fatal("a full window without Available records can acquire")
	}
	if p.DeliveryCompleteCount() != 1 {
		t.Fatalf("delivery complete %d", p.DeliveryCompleteCount())
	}
}

// TestLargeWindow: a 100k-record window of whole batches is a few runs;
// acknowledged per record in one call it is 100k runs, and stays workable.
func TestLargeWindow(t *testing.T) {
	const n = 100_000
	p := New(Config{MaxInFlight: n}, Persisted{})
	var batches []LogBatch
	for o := int64(0); o < n; o += 100 {
		batches = append(batches, LogBatch{First: o, Last: o + 99})
	}
	got := p.Acquire("m", batches, n, false, t0)
	if !reflect.DeepEqual(got, []Acquired{acq(0, n-1, 1)}) || len(p.runs) != 1 || p.InFlight() != n {
		t.Fatalf("acquired %v in %d runs", got, len(p.runs))
	}
	types := make([]AckType, n)
	for i := range types {
		types[i] = AckType(1 + i%3) // accept, release, reject
	}
	start := time.Now()
	if err := p.Acknowledge("m", 0, n-1, types, t0); err != nil {
		t.Fatal(err)
	}
	mustInvariants(t, p)
	if p.StartOffset() != 1 || len(p.runs) != n-1 {
		t.Fatalf("start %d, %d runs", p.StartOffset(), len(p.runs))
	}
	// Every released record again, then per record acknowledgements.
	p.Acquire("m", batches, n, false, t0)
	for o := int64(1); o < n; o += 3 {
		if err := p.Acknowledge("m", o, o, []AckType{AckAccept}, t0); err != nil {
			t.Fatal(err)
		}
	}
	mustInvariants(t, p)
	if p.InFlight() != 0 {
		t.Fatalf("window %d-%d", p.StartOffset(), p.EndOffset())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestExtremeOffsets(t *testing.T) {
	p := New(Config{MaxInFlight: math.MaxInt64}, Persisted{StartOffset: math.MaxInt64 - 10})
	if got := p.Acquire("m", []LogBatch{{First: math.MaxInt64 - 10, Last: math.MaxInt64 - 1}}, math.MaxInt, true, t0); !reflect.DeepEqual(got, []Acquired{acq(math.MaxInt64-10, math.MaxInt64-1, 1)}) {
		t.Fatalf("acquired %v", got)
	}
	mustInvariants(t, p)
	if got := p.Acquire("m", []LogBatch{{First: math.MaxInt64, Last: math.MaxInt64}}, 10, false, t0); got != nil {
		t.Fatalf("a batch ending at MaxInt64 acquired %v", got)
	}
	if err := p.Acknowledge("m", math.MinInt64, math.MaxInt64, []AckType{AckAccept}, t0); err != kerr.InvalidRequest {
		t.Fatalf("acknowledging every offset: %v", err)
	}
	q := New(Config{}, Persisted{Batches: []StateBatch{sb(0, math.MaxInt64, StateAvailable, 1)}})
	if q.EndOffset() != 0 {
		t.Fatalf("restored a batch ending at MaxInt64: %s", q)
	}
}

func TestAcknowledgeBatches(t *testing.T) {
	p := acquired0to9(t)
	before := p.String()
	for _, tc := range []struct {
		name    string
		batches []AckBatch
		want    error
	}{
		{"overlapping", []AckBatch{{0, 2, []AckType{AckAccept}}, {2, 3, []AckType{AckAccept}}}, kerr.InvalidRequest},
		{"out of order", []AckBatch{{3, 4, []AckType{AckAccept}}, {0, 1, []AckType{AckAccept}}}, kerr.InvalidRequest},
		{"the second not the member's", []AckBatch{{0, 2, []AckType{AckAccept}}, {4, 5, []AckType{AckAccept}}}, kerr.InvalidRecordState},
		{"the second malformed", []AckBatch{{0, 2, []AckType{AckAccept}}, {3, 4, []AckType{AckAccept, AckAccept, AckAccept}}}, kerr.InvalidRequest},
	} {
		if err := p.AcknowledgeBatches("m", tc.batches, t0); err != tc.want {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if p.String() != before || p.Changed() {
			t.Fatalf("%s: a refused request changed %s to %s", tc.name, before, p)
		}
	}
	if err := p.AcknowledgeBatches("m", []AckBatch{{0, 1, []AckType{AckAccept}}, {2, 4, []AckType{AckReject, AckRenew, AckAccept}}}, t0); err != nil {
		t.Fatal(err)
	}
	mustInvariants(t, p)
	if p.StartOffset() != 3 || p.AcquiredBy("m") != 1 || !p.Changed() {
		t.Fatalf("after the request: %s", p)
	}
}
