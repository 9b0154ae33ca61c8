package shard

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Records of different producers (and of none), from operations that the
// writer batches into one append, reach the log in operation order, each
// with its own Producer: the Log can split them into runs.
func TestProducersPassThroughTheWriterInOrder(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	p7 := &Producer{ID: 7, Epoch: 1}
	p9 := &Producer{ID: 9, Epoch: 0}
	write := func(k string, recs ...Record) <-chan struct{} {
		return async(func() {
			if err := f.rt.Do(0, k, func(*kv, time.Time) ([]Record, func(error)) { return recs, nil }); err != nil {
				t.Errorf("write %s: %v", k, err)
			}
		})
	}
	release := f.log.hold()
	first := write("x", Record{Key: []byte("x"), Value: []byte("0")})
	f.log.waitStarted(t)
	// These queue behind the held append and go out as one batch.
	var dones []<-chan struct{}
	for i, recs := range [][]Record{
		{{Key: []byte("a"), Value: []byte("1"), Producer: p7}, {Key: []byte("b"), Value: []byte("2"), Producer: p7}},
		{{Key: []byte("c"), Value: []byte("3")}},
		{{Key: []byte("d"), Value: []byte("4"), Producer: p9}, {Key: []byte("e"), Value: []byte("5"), Producer: p7}},
	} {
		dones = append(dones, write(fmt.Sprint("k", i), recs...))
		waitFor(t, func() bool { return f.writesInFlight(0) == 2+i }, "the write to reach the writer")
	}
	release()
	within(t, first, "the first write")
	for _, d := range dones {
		within(t, d, "a write")
	}
	var got []string
	for _, r := range f.log.parts[0] {
		s := string(r.Key)
		if r.Producer != nil {
			s += fmt.Sprintf("@%d/%d", r.Producer.ID, r.Producer.Epoch)
		}
		got = append(got, s)
	}
	want := []string{"x", "a@7/1", "b@7/1", "c", "d@9/0", "e@7/1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("log %v, want %v", got, want)
	}
	if n := f.log.appendCalls(); n != 2 {
		t.Fatalf("%d appends, want 2 (the queued writes batched)", n)
	}
}

// DoAfterWrites runs once the writes in flight when it arrived completed,
// and right away when none is; a write made after it arrived is not
// waited for.
func TestDoAfterWritesWaitsForTheWritesInFlight(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	seen := func(out *string) Op[*kv] {
		return func(s *kv, _ time.Time) ([]Record, func(error)) {
			*out = s.vals["a"]
			return nil, nil
		}
	}
	var v string
	if err := f.rt.DoAfterWrites(0, seen(&v)); err != nil || v != "" {
		t.Fatalf("with nothing in flight: %q %v", v, err)
	}

	release := f.log.hold()
	var out error
	w := async(func() { f.rt.Do(0, "a", set("a", "1", &out)) })
	f.log.waitStarted(t)
	after := async(func() {
		if err := f.rt.DoAfterWrites(0, seen(&v)); err != nil {
			t.Errorf("after writes: %v", err)
		}
	})
	// The operation is parked on the write in flight; the shard serves
	// other work meanwhile.
	waitFor(t, func() bool { return f.parkedAfter(0) == 1 }, "the operation to wait for the write")
	if _, ok := f.get(0, "a"); ok || returned(after) {
		t.Fatal("ran before the write in flight completed")
	}
	release()
	within(t, w, "the write")
	within(t, after, "DoAfterWrites")
	if out != nil || v != "1" {
		t.Fatalf("saw %q (write: %v), want the write in flight applied", v, out)
	}
}

// An operation waiting for writes in flight answers ErrNotCoordinator
// when the shard stops first.
func TestDoAfterWritesAtUnload(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	release := f.log.hold()
	defer release()
	w := async(func() { f.rt.Do(0, "a", set("a", "1", new(error))) })
	f.log.waitStarted(t)
	ran := false
	after := async(func() {
		err := f.rt.DoAfterWrites(0, func(*kv, time.Time) ([]Record, func(error)) { ran = true; return nil, nil })
		if !errors.Is(err, ErrNotCoordinator) {
			t.Errorf("at unload: %v", err)
		}
	})
	waitFor(t, func() bool { return f.parkedAfter(0) == 1 }, "the operation to wait for the write")
	f.rt.Unload(0)
	within(t, after, "DoAfterWrites")
	within(t, w, "the write")
	if ran {
		t.Fatal("ran on a stopped shard")
	}
}

// parkedAfter counts the operations waiting for writes in flight.
func (f *fixture) parkedAfter(p int32) int {
	n := 0
	f.rt.Read(p, func(*kv) {
		for _, w := range f.rt.shard(p).inflight {
			n += len(w.after)
		}
	})
	return n
}
