package isr

import (
	"errors"
	"testing"
	"time"

	"github.com/rillmq/rill/engine/log"
)

var t0 = time.Unix(1_700_000_000, 0)

func newTestLeader(minISR int, isr ...ReplicaID) *Leader {
	return NewLeader(Config{Self: 1, LagTimeMax: 10 * time.Second, MinInSync: minISR}, 5, 7, []ReplicaID{1, 2, 3}, isr, 100, 100, t0)
}

func TestHighWatermarkIsTheSlowestInSyncReplica(t *testing.T) {
	l := newTestLeader(1, 1, 2, 3)
	id := l.Appended(110, true, t0.Add(time.Minute))
	if l.HighWatermark() != 100 {
		t.Fatalf("HW moved before followers fetched: %d", l.HighWatermark())
	}
	l.Fetched(2, 110, t0)
	if l.HighWatermark() != 100 {
		t.Fatalf("HW ignored follower 3: %d", l.HighWatermark())
	}
	if hw := l.Fetched(3, 105, t0); hw != 105 || len(l.TakeDone()) != 0 {
		t.Fatalf("HW %d, want 105 and the wait still open", hw)
	}
	l.Fetched(3, 110, t0)
	if d := l.TakeDone(); len(d) != 1 || d[0].ID != id || d[0].Err != nil {
		t.Fatalf("acks=all wait: %+v", d)
	}
	// A follower fetching from further back never moves the HW back.
	l.Fetched(3, 103, t0)
	if l.HighWatermark() != 110 {
		t.Fatalf("HW went back to %d", l.HighWatermark())
	}
}

func TestMinInSyncReplicas(t *testing.T) {
	l := newTestLeader(2, 1)
	if err := l.CheckAppend(true); !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("ISR of 1 with min 2: %v", err)
	}
	if err := l.CheckAppend(false); err != nil {
		t.Fatalf("acks=1 is not bound by min.insync.replicas: %v", err)
	}
	l = newTestLeader(2, 1, 2)
	id := l.Appended(101, true, t0.Add(time.Minute))
	// Follower 2 falls behind and is removed while the append waits.
	l.Tick(t0.Add(11 * time.Second))
	ch := l.Pending()
	if ch == nil || ch.Kind != Shrink || len(ch.ISR) != 1 || ch.PartitionEpoch != 7 {
		t.Fatalf("shrink proposal: %+v", ch)
	}
	l.PartitionState(ch.ISR, 8)
	if d := l.TakeDone(); len(d) != 1 || d[0].ID != id || !errors.Is(d[0].Err, ErrNotEnoughReplicasAfterAppend) {
		t.Fatalf("wait after the ISR shrank below the minimum: %+v", d)
	}
}

func TestCaughtUpFollowerIsAddedBack(t *testing.T) {
	l := newTestLeader(1, 1, 2)
	l.Appended(120, false, time.Time{})
	l.Fetched(2, 120, t0)
	if l.HighWatermark() != 120 {
		t.Fatalf("HW %d", l.HighWatermark())
	}
	l.Fetched(3, 110, t0)
	if l.Pending() != nil {
		t.Fatal("a follower below the HW must not be added")
	}
	l.Fetched(3, 120, t0)
	ch := l.Pending()
	if ch == nil || ch.Kind != Expand || len(ch.ISR) != 3 {
		t.Fatalf("expand proposal: %+v", ch)
	}
	// While the expansion is pending, the HW already waits for 3.
	l.Appended(130, false, time.Time{})
	l.Fetched(2, 130, t0)
	if l.HighWatermark() != 120 {
		t.Fatalf("HW must count the replica being added: %d", l.HighWatermark())
	}
	// A stale answer is ignored; the current one commits.
	l.PartitionState([]ReplicaID{1}, 6)
	if l.Pending() == nil {
		t.Fatal("a stale partition state ended the pending change")
	}
	l.PartitionState(ch.ISR, 8)
	if len(l.ISR()) != 3 || l.Pending() != nil {
		t.Fatalf("ISR %v pending %+v", l.ISR(), l.Pending())
	}
}

func TestLaggingButFetchingFollowerStaysInSync(t *testing.T) {
	l := newTestLeader(1, 1, 2)
	now := t0
	leo := int64(100)
	// The leader grows by 10 between fetches; the follower always fetches
	// at the leader's end as of its previous fetch: never at the end, but
	// caught up by Kafka's rule.
	for i := 0; i < 20; i++ {
		leo += 10
		l.Appended(leo, false, time.Time{})
		now = now.Add(3 * time.Second)
		l.Fetched(2, leo-10, now)
		l.Tick(now)
		if l.Pending() != nil {
			t.Fatalf("round %d: a follower keeping up was proposed for removal", i)
		}
	}
}

func TestWaitsTimeOut(t *testing.T) {
	l := newTestLeader(1, 1, 2)
	id := l.Appended(101, true, t0.Add(time.Second))
	l.Tick(t0.Add(2 * time.Second))
	if d := l.TakeDone(); len(d) != 1 || d[0].ID != id || !errors.Is(d[0].Err, ErrAckTimeout) {
		t.Fatalf("timed out wait: %+v", d)
	}
}

func TestEpochCacheAndDivergence(t *testing.T) {
	var c log.EpochCache
	c.Assign(1, 0)
	c.Assign(1, 5) // same epoch: no new entry
	c.Assign(3, 10)
	c.Assign(4, 20)
	for _, tc := range []struct {
		ask       int32
		wantEpoch int32
		wantEnd   int64
	}{{0, -1, -1}, {1, 1, 10}, {2, 1, 10}, {3, 3, 20}, {4, 4, 25}, {9, 4, 25}} {
		if e, end := c.EndOffsetFor(tc.ask, 25); e != tc.wantEpoch || end != tc.wantEnd {
			t.Fatalf("EndOffsetFor(%d) = %d, %d; want %d, %d", tc.ask, e, end, tc.wantEpoch, tc.wantEnd)
		}
	}
	local := func(e int32) (int32, int64) { return c.EndOffsetFor(e, 25) }
	// A follower with epochs 1 (0-10) and 3 (10-25) whose leader wrote
	// epoch 3 only up to 15: cut at 15.
	if cut := Divergence(local, 3, 15, 25, 8); cut != 15 {
		t.Fatalf("divergence %d", cut)
	}
	// The leader's epoch 1 ended at 12, ours at 10: keep 10.
	if cut := Divergence(local, 1, 12, 25, 8); cut != 10 {
		t.Fatalf("divergence %d", cut)
	}
	// The leader knows no epoch this old: keep what was committed.
	if cut := Divergence(local, -1, -1, 25, 8); cut != 8 {
		t.Fatalf("divergence %d", cut)
	}
	c.TruncateFrom(12)
	if got := c.Entries(); len(got) != 2 || got[1] != (log.EpochEntry{Epoch: 3, StartOffset: 10}) {
		t.Fatalf("after truncation: %+v", got)
	}
	c.Assign(2, 11) // an older epoch than the latest replaces it
	if got := c.Entries(); len(got) != 2 || got[1] != (log.EpochEntry{Epoch: 2, StartOffset: 11}) {
		t.Fatalf("after assigning an older epoch: %+v", got)
	}
}

// A new leader alone in its ISR commits what it holds at once; one with
// followers waits for their fetches.
func TestNewLeaderAloneCommitsItsLog(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	alone := NewLeader(Config{Self: 1, LagTimeMax: time.Second, MinInSync: 1}, 3, 5, []ReplicaID{1, 2}, []ReplicaID{1}, 10, 7, now)
	if hw := alone.HighWatermark(); hw != 10 {
		t.Fatalf("alone in the ISR: HW %d, want the log end 10", hw)
	}
	withFollower := NewLeader(Config{Self: 1, LagTimeMax: time.Second, MinInSync: 1}, 3, 5, []ReplicaID{1, 2}, []ReplicaID{1, 2}, 10, 7, now)
	if hw := withFollower.HighWatermark(); hw != 7 {
		t.Fatalf("with a follower in the ISR: HW %d, want the old 7 until it fetches", hw)
	}
}

// A fenced broker that still fetches (cut off from the controller, not
// from the leader) is never proposed for the ISR; unfenced, it is at its
// next caught-up fetch (KIP-841).
func TestFencedFollowerIsNotProposed(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLeader(Config{Self: 1, LagTimeMax: 10 * time.Second, MinInSync: 1}, 1, 1, []ReplicaID{1, 2}, []ReplicaID{1}, 0, 0, now)
	l.SetIneligible([]ReplicaID{2})
	l.Appended(10, false, now.Add(time.Second))
	l.Fetched(2, 10, now)
	if c := l.Pending(); c != nil {
		t.Fatalf("proposed %+v for a fenced follower", c)
	}
	l.SetIneligible(nil)
	l.Fetched(2, 10, now.Add(time.Millisecond))
	if c := l.Pending(); c == nil || c.Kind != Expand {
		t.Fatalf("no expansion once unfenced: %+v", c)
	}
}

// Idle: what a tick at any later time could change. The broker's clock
// skips idle leaders, so each case that makes one busy must say so.
func TestIdle(t *testing.T) {
	alone := NewLeader(Config{Self: 1, LagTimeMax: 10 * time.Second, MinInSync: 1}, 5, 7, []ReplicaID{1}, []ReplicaID{1}, 100, 100, t0)
	if !alone.Idle() {
		t.Fatal("a leader alone in its ISR with nothing waiting is idle")
	}
	alone.Appended(110, true, t0.Add(time.Second)) // committed at once: no follower
	if alone.Idle() {
		t.Fatal("a finished wait not yet taken is work")
	}
	alone.TakeDone()
	if !alone.Idle() {
		t.Fatal("idle again once the wait was delivered")
	}

	l := newTestLeader(1, 1, 2)
	if l.Idle() {
		t.Fatal("a new leader's in-sync follower has not fetched: it may fall out by time alone")
	}
	l.Fetched(2, 100, t0)
	if !l.Idle() {
		t.Fatal("the in-sync follower is at the end and 3 is out of the ISR: idle")
	}
	l.Appended(105, false, time.Time{})
	if l.Idle() {
		t.Fatal("the in-sync follower is now behind the end")
	}
	l.Fetched(2, 105, t0)
	id := l.Appended(110, true, t0.Add(time.Second))
	l.Fetched(2, 110, t0)
	if l.Idle() {
		t.Fatal("a finished acks=all wait is work until taken")
	}
	if d := l.TakeDone(); len(d) != 1 || d[0].ID != id {
		t.Fatalf("done %+v", d)
	}
	if !l.Idle() {
		t.Fatal("idle after the wait was delivered")
	}
	l.Fetched(3, 110, t0) // 3 caught up: an expansion is proposed
	if l.Pending() == nil || l.Idle() {
		t.Fatalf("a pending change is work (pending %+v)", l.Pending())
	}
	l.PartitionState(l.Pending().ISR, 8)
	if !l.Idle() {
		t.Fatal("idle once the change committed and both followers are at the end")
	}
}
