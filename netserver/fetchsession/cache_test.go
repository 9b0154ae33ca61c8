package fetchsession

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func pr(topic string, p int32, offset int64) PartitionRequest {
	return PartitionRequest{Partition: Partition{Topic: topic, Partition: p}, Params: Params{FetchOffset: offset, MaxBytes: 1 << 20}}
}

func fullRequest(parts ...PartitionRequest) Request {
	return Request{SessionID: NoSession, Epoch: InitialEpoch, Partitions: parts}
}

// results gives every partition of ctx the same result.
func results(ctx Context, r Result) []Result {
	out := make([]Result, len(ctx.Partitions))
	for i := range out {
		out[i] = r
	}
	return out
}

// newSessionFor opens a full request and commits its answer, returning
// the session id.
func newSessionFor(t *testing.T, c *Cache, now time.Time, req Request) int32 {
	t.Helper()
	ctx := c.Open(now, req)
	if ctx.Kind != Full {
		t.Fatalf("kind %v, want full", ctx.Kind)
	}
	resp := c.Respond(now, &ctx, results(ctx, Result{HighWatermark: 10, LastStableOffset: 10}), true)
	if resp.SessionID == NoSession {
		t.Fatalf("no session created")
	}
	return resp.SessionID
}

func TestClassification(t *testing.T) {
	c := New(Config{Slots: 10, EvictionAfter: time.Minute, Seed: 1})
	id := newSessionFor(t, c, at(0), fullRequest(pr("a", 0, 0), pr("a", 1, 0)))
	byID := newSessionFor(t, c, at(0), Request{Epoch: InitialEpoch, TopicIDs: true,
		Partitions: []PartitionRequest{{Partition: Partition{TopicID: [16]byte{1}, Partition: 0}}}})

	for _, tc := range []struct {
		name     string
		req      Request
		kind     Kind
		code     int16
		sessions int // sessions left afterwards
	}{
		{"unknown id", Request{SessionID: 12345, Epoch: 1}, Error, kerr.FetchSessionIDNotFound.Code, 2},
		{"incremental without id", Request{SessionID: NoSession, Epoch: 1}, Error, kerr.FetchSessionIDNotFound.Code, 2},
		{"wrong epoch", Request{SessionID: id, Epoch: 2}, Error, kerr.InvalidFetchSessionEpoch.Code, 2},
		{"negative epoch not final", Request{SessionID: id, Epoch: -2}, Error, kerr.InvalidFetchSessionEpoch.Code, 2},
		{"names for an id session", Request{SessionID: byID, Epoch: 1}, Error, kerr.FetchSessionTopicIDError.Code, 2},
		{"ids for a name session", Request{SessionID: id, Epoch: 1, TopicIDs: true}, Error, kerr.FetchSessionTopicIDError.Code, 2},
		{"incremental", Request{SessionID: id, Epoch: 1}, Incremental, 0, 2},
		{"replayed epoch", Request{SessionID: id, Epoch: 1}, Error, kerr.InvalidFetchSessionEpoch.Code, 2},
		{"next epoch", Request{SessionID: id, Epoch: 2}, Incremental, 0, 2},
		{"sessionless with no id", Request{SessionID: NoSession, Epoch: FinalEpoch}, Sessionless, 0, 2},
		{"sessionless with an unknown id (kafka-go)", Request{SessionID: -1, Epoch: FinalEpoch}, Sessionless, 0, 2},
		{"full closes the named session", Request{SessionID: byID, Epoch: InitialEpoch}, Full, 0, 1},
		{"final epoch closes the named session", Request{SessionID: id, Epoch: FinalEpoch}, Sessionless, 0, 0},
		{"closed session is gone", Request{SessionID: id, Epoch: 3}, Error, kerr.FetchSessionIDNotFound.Code, 0},
	} {
		ctx := c.Open(at(1), tc.req)
		if ctx.Kind != tc.kind || ctx.ErrorCode != tc.code {
			t.Errorf("%s: got %v/%d, want %v/%d", tc.name, ctx.Kind, ctx.ErrorCode, tc.kind, tc.code)
		}
		if n := c.Stats().Sessions; n != tc.sessions {
			t.Errorf("%s: %d sessions, want %d", tc.name, n, tc.sessions)
		}
		if resp := c.Respond(at(1), &ctx, nil, false); resp.ErrorCode != tc.code {
			t.Errorf("%s: answered %d, want %d", tc.name, resp.ErrorCode, tc.code)
		}
	}
}

func TestEpochWraps(t *testing.T) {
	for _, tc := range []struct{ in, want int32 }{{0, 1}, {1, 2}, {1<<31 - 1, 1}, {-1, -1}, {-5, -1}} {
		if got := nextEpoch(tc.in); got != tc.want {
			t.Errorf("nextEpoch(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// describe renders an incremental answer: the partitions it carries.
func describe(ctx Context, resp Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "err=%d", resp.ErrorCode)
	for i, p := range ctx.Partitions {
		if resp.Include == nil || resp.Include[i] {
			fmt.Fprintf(&b, " %s%d@%d", p.Topic, p.Partition.Partition, p.FetchOffset)
		}
	}
	return b.String()
}

func TestIncrementalAnswers(t *testing.T) {
	c := New(Config{Slots: 10, EvictionAfter: time.Minute, Seed: 1})
	id := newSessionFor(t, c, at(0), fullRequest(pr("a", 0, 5), pr("a", 1, 5), pr("b", 0, 5)))
	epoch := int32(1)
	base := Result{HighWatermark: 10, LastStableOffset: 10}
	step := func(req Request, res func(p PartitionRequest) Result) string {
		req.SessionID, req.Epoch = id, epoch
		epoch++
		ctx := c.Open(at(int(epoch)), req)
		if ctx.Kind != Incremental {
			t.Fatalf("kind %v (%d)", ctx.Kind, ctx.ErrorCode)
		}
		rs := make([]Result, len(ctx.Partitions))
		for i, p := range ctx.Partitions {
			rs[i] = res(p)
		}
		return describe(ctx, c.Respond(at(int(epoch)), &ctx, rs, true))
	}
	same := func(PartitionRequest) Result { return base }
	for _, tc := range []struct {
		name string
		req  Request
		res  func(PartitionRequest) Result
		want string
	}{
		{"nothing changed", Request{}, same, "err=0"},
		{"new data moves to the back", Request{}, func(p PartitionRequest) Result {
			r := base
			if p.Topic == "a" && p.Partition.Partition == 0 {
				r.RecordBytes = 100
			}
			return r
		}, "err=0 a0@5"},
		{"order follows", Request{Partitions: []PartitionRequest{pr("a", 0, 9)}}, func(PartitionRequest) Result { return base }, "err=0"},
		{"cached offset used", Request{}, func(p PartitionRequest) Result {
			r := base
			r.RecordBytes = 1
			return r
		}, "err=0 a1@5 b0@5 a0@9"},
		{"high watermark moves", Request{}, func(p PartitionRequest) Result {
			r := base
			if p.Topic == "b" {
				r.HighWatermark = 11
			}
			return r
		}, "err=0 b0@5"},
		{"sent once", Request{}, func(p PartitionRequest) Result {
			r := base
			if p.Topic == "b" {
				r.HighWatermark = 11
			}
			return r
		}, "err=0"},
		{"last stable offset moves", Request{}, func(p PartitionRequest) Result {
			r := base
			r.HighWatermark = map[bool]int64{true: 11, false: 10}[p.Topic == "b"]
			if p.Topic == "a" && p.Partition.Partition == 1 {
				r.LastStableOffset = 8
			}
			return r
		}, "err=0 a1@5"},
		{"log start moves", Request{}, func(p PartitionRequest) Result {
			r := base
			r.HighWatermark = map[bool]int64{true: 11, false: 10}[p.Topic == "b"]
			r.LastStableOffset = map[bool]int64{true: 8, false: 10}[p.Topic == "a" && p.Partition.Partition == 1]
			if p.Topic == "a" && p.Partition.Partition == 0 {
				r.LogStartOffset = 3
			}
			return r
		}, "err=0 a0@9"},
		{"error always sent, twice", Request{}, func(p PartitionRequest) Result {
			return Result{HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1, ErrorCode: kerr.NotLeaderForPartition.Code}
		}, "err=0 a1@5 b0@5 a0@9"},
		{"error clears: resent", Request{}, same, "err=0 a1@5 b0@5 a0@9"},
		{"diverging epoch always sent", Request{}, func(p PartitionRequest) Result {
			r := base
			r.Always = p.Topic == "b"
			return r
		}, "err=0 b0@5"},
		{"added partition sent", Request{Partitions: []PartitionRequest{pr("c", 0, 0)}}, same, "err=0 c0@0"},
		{"forgotten partition gone", Request{Forgotten: []Partition{{Topic: "a", Partition: 1}}}, func(PartitionRequest) Result {
			r := base
			r.RecordBytes = 1
			return r
		}, "err=0 b0@5 a0@9 c0@0"},
	} {
		if got := step(tc.req, tc.res); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if st := c.Stats(); st.Sessions != 1 || st.Partitions != 3 {
		t.Errorf("stats %+v, want 1 session of 3 partitions", st)
	}
	// Forgetting every partition ends the session: answered sessionless.
	ctx := c.Open(at(100), Request{SessionID: id, Epoch: epoch, Forgotten: []Partition{{Topic: "a", Partition: 0}, {Topic: "b", Partition: 0}, {Topic: "c", Partition: 0}}})
	if ctx.Kind != Sessionless || c.Stats().Sessions != 0 || c.Stats().Partitions != 0 {
		t.Errorf("emptied session: kind %v, stats %+v", ctx.Kind, c.Stats())
	}
}

func TestPreviewChangesNothing(t *testing.T) {
	c := New(Config{Slots: 10, EvictionAfter: time.Minute, Seed: 1})
	id := newSessionFor(t, c, at(0), fullRequest(pr("a", 0, 0)))
	ctx := c.Open(at(1), Request{SessionID: id, Epoch: 1})
	moved := []Result{{HighWatermark: 11, LastStableOffset: 11}}
	// Previews and the first commit carry the change; once committed it
	// is not news.
	for i, want := range []bool{true, true, true, false} {
		commit := i >= 2
		if got := c.Respond(at(1), &ctx, moved, commit).Include[0]; got != want {
			t.Errorf("call %d (commit %v): include %v, want %v", i, commit, got, want)
		}
	}
	// A full request previewed (throttled) creates no session.
	full := c.Open(at(1), fullRequest(pr("b", 0, 0)))
	if r := c.Respond(at(1), &full, results(full, Result{}), false); r.SessionID != NoSession || c.Stats().Sessions != 1 {
		t.Errorf("preview of a full request: %+v, %d sessions", r, c.Stats().Sessions)
	}
}

func TestDuplicateRequestLosesTheRace(t *testing.T) {
	c := New(Config{Slots: 10, EvictionAfter: time.Minute, Seed: 1})
	id := newSessionFor(t, c, at(0), fullRequest(pr("a", 0, 0)))
	first := c.Open(at(1), Request{SessionID: id, Epoch: 1})
	second := c.Open(at(1), Request{SessionID: id, Epoch: 2}) // the client moved on before first was answered
	if second.Kind != Incremental {
		t.Fatalf("second: %v", second.Kind)
	}
	if r := c.Respond(at(1), &first, results(first, Result{}), true); r.ErrorCode != kerr.InvalidFetchSessionEpoch.Code || r.SessionID != id {
		t.Errorf("stale context answered %+v", r)
	}
	c.Open(at(2), Request{SessionID: id, Epoch: FinalEpoch})
	if r := c.Respond(at(2), &second, results(second, Result{}), true); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Errorf("closed session answered %+v", r)
	}
}

func TestTopicIDSessions(t *testing.T) {
	c := New(Config{Slots: 10, EvictionAfter: time.Minute, Seed: 1})
	tid := [16]byte{7}
	id := newSessionFor(t, c, at(0), Request{Epoch: InitialEpoch, TopicIDs: true,
		Partitions: []PartitionRequest{{Partition: Partition{TopicID: tid, Topic: "ignored", Partition: 0}}}})
	// A request naming the partition by id alone updates it in place.
	ctx := c.Open(at(1), Request{SessionID: id, Epoch: 1, TopicIDs: true,
		Partitions: []PartitionRequest{{Partition: Partition{TopicID: tid, Partition: 0}, Params: Params{FetchOffset: 4}}}})
	if len(ctx.Partitions) != 1 || ctx.Partitions[0].FetchOffset != 4 || ctx.Partitions[0].Topic != "" {
		t.Errorf("partitions %+v", ctx.Partitions)
	}
	ctx = c.Open(at(2), Request{SessionID: id, Epoch: 2, TopicIDs: true, Forgotten: []Partition{{TopicID: tid, Partition: 0}}})
	if ctx.Kind != Sessionless {
		t.Errorf("forgetting by id: %v", ctx.Kind)
	}
}

func TestNoSlots(t *testing.T) {
	c := New(Config{Slots: 0, EvictionAfter: time.Minute})
	ctx := c.Open(at(0), fullRequest(pr("a", 0, 0)))
	if r := c.Respond(at(0), &ctx, results(ctx, Result{}), true); r.SessionID != NoSession {
		t.Errorf("slots 0 created session %d", r.SessionID)
	}
}

// create opens and commits a full request of size partitions at ms.
func create(c *Cache, ms int, follower bool, size int) int32 {
	req := Request{Epoch: InitialEpoch, Follower: follower}
	for i := range size {
		req.Partitions = append(req.Partitions, pr("t", int32(i), 0))
	}
	ctx := c.Open(at(ms), req)
	return c.Respond(at(ms), &ctx, results(ctx, Result{}), true).SessionID
}

// use makes an incremental request on id at ms (epoch from state).
func use(t *testing.T, c *Cache, ms int, id int32) {
	t.Helper()
	c.mu.Lock()
	epoch := c.mu.sessions[id].epoch
	c.mu.Unlock()
	ctx := c.Open(at(ms), Request{SessionID: id, Epoch: epoch})
	if ctx.Kind != Incremental {
		t.Fatalf("use %d: %v", id, ctx.Kind)
	}
}

func TestEviction(t *testing.T) {
	const evict = 100 // EvictionAfter, ms
	type newcomer struct {
		at       int
		follower bool
		size     int
	}
	for _, tc := range []struct {
		name string
		// setup creates two sessions, returning them.
		setup    func(t *testing.T, c *Cache) (a, b int32)
		new      newcomer
		created  bool
		survivor int // 0: a survives, 1: b survives, -1: both
	}{
		{
			name:  "room: no eviction",
			setup: func(t *testing.T, c *Cache) (int32, int32) { return create(c, 0, false, 1), 0 },
			new:   newcomer{at: 1, size: 1}, created: true, survivor: -1,
		},
		{
			name: "stale session evicted first, even by a smaller consumer",
			setup: func(t *testing.T, c *Cache) (int32, int32) {
				a, b := create(c, 0, true, 50), create(c, 0, false, 50)
				use(t, c, 150, b)
				return a, b
			},
			new: newcomer{at: 150 + 1, size: 1}, created: true, survivor: 1,
		},
		{
			name: "consumer cannot evict young sessions",
			setup: func(t *testing.T, c *Cache) (int32, int32) {
				return create(c, 0, false, 1), create(c, 0, false, 1)
			},
			new: newcomer{at: 50, size: 99}, created: false, survivor: -1,
		},
		{
			name: "follower evicts a young consumer session, the smallest",
			setup: func(t *testing.T, c *Cache) (int32, int32) {
				return create(c, 0, false, 5), create(c, 0, false, 3)
			},
			new: newcomer{at: 50, follower: true, size: 1}, created: true, survivor: 0,
		},
		{
			name: "follower cannot evict a young follower session",
			setup: func(t *testing.T, c *Cache) (int32, int32) {
				return create(c, 0, true, 1), create(c, 0, true, 1)
			},
			new: newcomer{at: 50, follower: true, size: 100}, created: false, survivor: -1,
		},
		{
			name: "bigger consumer evicts an aged smaller consumer",
			setup: func(t *testing.T, c *Cache) (int32, int32) {
				a, b := create(c, 0, false, 5), create(c, 0, false, 3)
				use(t, c, 101, a)
				use(t, c, 101, b)
				return a, b
			},
			new: newcomer{at: 150, size: 4}, created: true, survivor: 0,
		},
		{
			name: "equal size does not evict",
			setup: func(t *testing.T, c *Cache) (int32, int32) {
				a, b := create(c, 0, false, 3), create(c, 0, false, 3)
				use(t, c, 101, a)
				use(t, c, 101, b)
				return a, b
			},
			new: newcomer{at: 150, size: 3}, created: false, survivor: -1,
		},
		{
			name: "consumer cannot evict an aged follower session",
			setup: func(t *testing.T, c *Cache) (int32, int32) {
				a, b := create(c, 0, true, 1), create(c, 0, true, 1)
				use(t, c, 101, a)
				use(t, c, 101, b)
				return a, b
			},
			new: newcomer{at: 150, size: 1000}, created: false, survivor: -1,
		},
		{
			name: "age is as of the last use (Kafka's rule)",
			setup: func(t *testing.T, c *Cache) (int32, int32) {
				a, b := create(c, 0, false, 1), create(c, 0, false, 1)
				use(t, c, 90, a)
				use(t, c, 90, b)
				return a, b
			},
			// 150 ms after creation, but used last at 90: not aged, not stale.
			new: newcomer{at: 150, size: 1000}, created: false, survivor: -1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Config{Slots: 2, EvictionAfter: evict * time.Millisecond, Seed: 3})
			a, b := tc.setup(t, c)
			id := create(c, tc.new.at, tc.new.follower, tc.new.size)
			if (id != NoSession) != tc.created {
				t.Fatalf("created %v, want %v", id != NoSession, tc.created)
			}
			c.mu.Lock()
			_, hasA := c.mu.sessions[a]
			_, hasB := c.mu.sessions[b]
			c.mu.Unlock()
			switch tc.survivor {
			case 0:
				if !hasA || hasB {
					t.Errorf("a kept %v, b kept %v; want only a", hasA, hasB)
				}
			case 1:
				if hasA || !hasB {
					t.Errorf("a kept %v, b kept %v; want only b", hasA, hasB)
				}
			default:
				if !hasA || (b != 0 && !hasB) {
					t.Errorf("a kept %v, b kept %v; want both", hasA, hasB)
				}
			}
			if tc.created && tc.survivor != -1 && c.Stats().Evictions != 1 {
				t.Errorf("evictions %d", c.Stats().Evictions)
			}
		})
	}
}
