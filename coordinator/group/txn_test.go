package group

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/internal/kafka"
)

// txnCommit commits offsets in producer pid's transaction for a group with
// no membership (generation -1) and fails the test on any error.
func (f *fixture) txnCommit(c *Coordinator, group string, pid int64, offsets map[kafka.TopicPartition]int64) {
	f.t.Helper()
	var commits []OffsetCommit
	for tp, o := range offsets {
		commits = append(commits, OffsetCommit{TopicPartition: tp, Offset: o, LeaderEpoch: -1})
	}
	for i, err := range c.TxnOffsetCommit(group, TxnCommit{TransactionalID: fmt.Sprint("t", pid), ProducerID: pid, ProducerEpoch: 0, Generation: -1}, commits) {
		if err != nil {
			f.t.Fatalf("txn commit %d of %s: %v", i, group, err)
		}
	}
}

// endTxn appends producer pid's marker to every partition that has its
// records (as the transaction coordinator's WriteTxnMarkers does) and tells
// c.
func (f *fixture) endTxn(c *Coordinator, pid int64, commit bool) {
	f.t.Helper()
	f.store.mu.Lock()
	var parts []int32
	for p, recs := range f.store.parts {
		for _, r := range recs {
			if r.Producer != nil && r.Producer.ID == pid && r.Control == nil {
				parts = append(parts, p)
				break
			}
		}
	}
	for _, p := range parts {
		f.store.parts[p] = append(f.store.parts[p], Record{Producer: &shard.Producer{ID: pid}, Control: &shard.Control{Commit: commit}})
	}
	f.store.mu.Unlock()
	for _, p := range parts {
		if err := c.CompleteTransaction(p, pid, commit); err != nil {
			f.t.Fatalf("complete transaction of %d on %d: %v", pid, p, err)
		}
	}
}

// dump renders every group's committed offsets and every pending
// transactional offset of c, for comparing a coordinator with one that
// replayed the same log.
func dump(t *testing.T, c *Coordinator) string {
	t.Helper()
	var lines []string
	for _, p := range c.rt.Partitions() {
		if err := c.rt.Read(p, func(s *groups) {
			for _, g := range s.sorted() {
				for tp, o := range g.offsets {
					lines = append(lines, fmt.Sprintf("%s %s: %d/%d %q @%d", g.id, tp, o.Offset, o.LeaderEpoch, o.Metadata, o.CommitTime))
				}
				if len(g.offsets) == 0 {
					lines = append(lines, fmt.Sprintf("%s (no offsets)", g.id))
				}
			}
			for group, byProducer := range s.txn {
				for pid, offsets := range byProducer {
					for tp, o := range offsets {
						lines = append(lines, fmt.Sprintf("pending %d %s %s: %d", pid, group, tp, o.Offset))
					}
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// sameAfterReload checks that a coordinator that replays the store ends
// up with c's offsets, committed and pending.
func (f *fixture) sameAfterReload(c *Coordinator) *Coordinator {
	f.t.Helper()
	c2 := f.coordinator(0)
	if live, replayed := dump(f.t, c), dump(f.t, c2); live != replayed {
		f.t.Fatalf("replayed state differs.\nlive:\n%s\nreplayed:\n%s", live, replayed)
	}
	return c2
}

var (
	tp0 = kafka.TopicPartition{Topic: "t", Partition: 0}
	tp1 = kafka.TopicPartition{Topic: "t", Partition: 1}
)

// Transactional offsets are pending, not fetched, until the transaction
// commits; the records carry the producer.
func TestTxnOffsetsPendingUntilCommit(t *testing.T) {
	f := newFixture(t, 0)
	f.txnCommit(f.c, "g", 5, map[kafka.TopicPartition]int64{tp0: 10, tp1: 11})
	committed, pending := f.c.OffsetsAndPending("g")
	if len(committed) != 0 || !pending[tp0] || !pending[tp1] {
		t.Fatalf("before the commit: committed %v pending %v", committed, pending)
	}
	p := f.c.partition("g")
	f.store.mu.Lock()
	recs := f.store.parts[p]
	f.store.mu.Unlock()
	if len(recs) != 2 || recs[0].Producer == nil || recs[0].Producer.ID != 5 || recs[1].Producer == nil {
		t.Fatalf("records %+v", recs)
	}
	f.sameAfterReload(f.c)

	f.endTxn(f.c, 5, true)
	committed, pending = f.c.OffsetsAndPending("g")
	if committed[tp0].Offset != 10 || committed[tp1].Offset != 11 || len(pending) != 0 {
		t.Fatalf("after the commit: committed %v pending %v", committed, pending)
	}
	f.sameAfterReload(f.c)
}

// An aborted transaction's offsets are dropped, and a group only it made
// goes with them.
func TestTxnAbortDropsOffsets(t *testing.T) {
	f := newFixture(t, 0)
	if errs := f.c.CommitOffsets("g", -1, "", nil, []OffsetCommit{{TopicPartition: tp0, Offset: 3}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	f.txnCommit(f.c, "g", 5, map[kafka.TopicPartition]int64{tp0: 10})
	f.txnCommit(f.c, "only-txn", 5, map[kafka.TopicPartition]int64{tp0: 1})
	f.endTxn(f.c, 5, false)
	committed, pending := f.c.OffsetsAndPending("g")
	if committed[tp0].Offset != 3 || len(pending) != 0 {
		t.Fatalf("after the abort: committed %v pending %v", committed, pending)
	}
	for _, l := range f.c.List() {
		if l.ID == "only-txn" {
			t.Fatal("the aborted transaction's group is still listed")
		}
	}
	f.sameAfterReload(f.c)
}

// Kafka's rule: a committed transaction's offset replaces the committed
// one only if its record is later in the log.
func TestTxnCommitKeepsTheLaterRecord(t *testing.T) {
	f := newFixture(t, 0)
	// Plain commit, then the transaction's: the transaction's wins.
	if errs := f.c.CommitOffsets("g", -1, "", nil, []OffsetCommit{{TopicPartition: tp0, Offset: 1}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	f.txnCommit(f.c, "g", 5, map[kafka.TopicPartition]int64{tp0: 10, tp1: 10})
	// The transaction's, then a plain commit before the marker: the plain
	// one wins.
	if errs := f.c.CommitOffsets("g", -1, "", nil, []OffsetCommit{{TopicPartition: tp1, Offset: 2}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	f.endTxn(f.c, 5, true)
	if o := f.c.Offsets("g"); o[tp0].Offset != 10 || o[tp1].Offset != 2 {
		t.Fatalf("offsets %v", o)
	}
	f.sameAfterReload(f.c)
}

// A partition replayed with transactions open, committed, aborted,
// interleaved with plain commits and deletions, ends up as the live
// coordinator was; and one that loads with transactions open completes
// them as the live one would have.
func TestTxnReplayMatchesLive(t *testing.T) {
	f := newFixture(t, 0)
	groups := []string{"a", "b", "c", "d"}
	for i, g := range groups {
		f.txnCommit(f.c, g, 1, map[kafka.TopicPartition]int64{tp0: int64(100 + i)})
		f.txnCommit(f.c, g, 2, map[kafka.TopicPartition]int64{tp0: int64(200 + i), tp1: int64(200 + i)})
	}
	if errs := f.c.CommitOffsets("a", -1, "", nil, []OffsetCommit{{TopicPartition: tp1, Offset: 7}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	// Deleting an offset drops the pending ones of the partition too.
	if top, errs := f.c.DeleteOffsets("b", []kafka.TopicPartition{tp1}); top != nil || errs[0] != nil {
		t.Fatal(top, errs)
	}
	if _, pending := f.c.OffsetsAndPending("b"); pending[tp1] || !pending[tp0] {
		t.Fatalf("b pending after deleting tp1: %v", pending)
	}
	// Deleting the group drops all of its pending offsets.
	if err := f.c.Delete("c"); err != nil {
		t.Fatal(err)
	}
	if _, pending := f.c.OffsetsAndPending("c"); len(pending) != 0 {
		t.Fatalf("c pending after its deletion: %v", pending)
	}
	f.endTxn(f.c, 1, false)
	f.txnCommit(f.c, "d", 3, map[kafka.TopicPartition]int64{tp1: 300})
	f.sameAfterReload(f.c)

	// The new coordinator completes what was open, as the old would.
	f.endTxn(f.c, 2, true)
	c2 := f.coordinator(0) // loaded before producer 3's marker
	f.endTxn(c2, 3, true)
	if err := f.c.CompleteTransaction(f.c.partition("d"), 3, true); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[kafka.TopicPartition]int64{
		"a": {tp0: 200, tp1: 7}, // tp1: the plain commit came after the transaction's
		"b": {tp0: 201},
		"d": {tp0: 203, tp1: 300},
	}
	for _, c := range []*Coordinator{f.c, c2} {
		for g, offsets := range want {
			got := c.Offsets(g)
			if len(got) != len(offsets) {
				t.Fatalf("%s: %v, want %v", g, got, offsets)
			}
			for tp, o := range offsets {
				if got[tp].Offset != o {
					t.Fatalf("%s %s: %d, want %d", g, tp, got[tp].Offset, o)
				}
			}
		}
	}
	// c was deleted; producer 2's commit of it was tombstoned.
	if o := c2.Offsets("c"); len(o) != 0 {
		t.Fatalf("deleted group c has offsets %v", o)
	}
	f.sameAfterReload(c2)
}

// The member checks of a transactional commit (Kafka's
// validateOffsetCommit with isTransactional).
func TestTxnCommitChecksTheMember(t *testing.T) {
	f := newFixture(t, 0)
	commit := func(group string, txn TxnCommit) error {
		if txn.ProducerID == 0 {
			txn.ProducerID = 9
		}
		txn.TransactionalID = "t"
		return f.c.TxnOffsetCommit(group, txn, []OffsetCommit{{TopicPartition: tp0, Offset: 1}})[0]
	}
	for _, tc := range []struct {
		name  string
		group string
		txn   TxnCommit
		want  error
	}{
		{"empty group id", "", TxnCommit{Generation: -1}, kerr.InvalidGroupID},
		{"unknown group with a generation", "nobody", TxnCommit{Generation: 3, MemberID: "m"}, kerr.IllegalGeneration},
		{"no producer", "simple", TxnCommit{Generation: -1, ProducerID: -1}, kerr.InvalidProducerIDMapping},
	} {
		if err := commit(tc.group, tc.txn); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := commit("simple", TxnCommit{Generation: -1}); err != nil {
		t.Fatalf("generation -1 to a new group: %v", err)
	}

	a, _, gen := f.stableGroup("g")
	for _, tc := range []struct {
		name string
		txn  TxnCommit
		want error
	}{
		{"the member", TxnCommit{Generation: gen, MemberID: a}, nil},
		{"no member named (v0-v2)", TxnCommit{Generation: -1}, nil},
		{"unknown member", TxnCommit{Generation: gen, MemberID: "nobody"}, kerr.UnknownMemberID},
		{"old generation", TxnCommit{Generation: gen - 1, MemberID: a}, kerr.IllegalGeneration},
		{"member id and generation -1", TxnCommit{Generation: -1, MemberID: a}, kerr.IllegalGeneration},
	} {
		if err := commit("g", tc.txn); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	inst := "instance-1"
	req := joinReq("static", "", 5)
	req.InstanceID = &inst
	r := wait(f, f.joinAsync(req))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if res := f.syncAll("static", r.Generation, r.MemberID, r.MemberID); res[r.MemberID].Err != nil {
		t.Fatal(res[r.MemberID].Err)
	}
	other := "instance-2"
	for _, tc := range []struct {
		name string
		txn  TxnCommit
		want error
	}{
		{"the static member", TxnCommit{Generation: r.Generation, MemberID: r.MemberID, InstanceID: &inst}, nil},
		{"an old id of the instance", TxnCommit{Generation: r.Generation, MemberID: "old", InstanceID: &inst}, kerr.FencedInstanceID},
		{"an unknown instance", TxnCommit{Generation: r.Generation, MemberID: r.MemberID, InstanceID: &other}, kerr.UnknownMemberID},
	} {
		if err := commit("static", tc.txn); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A failed write leaves nothing pending and answers as a commit does, or
// with the producer's fencing the log reported.
func TestTxnCommitFailedWrite(t *testing.T) {
	f := newFixture(t, 0)
	txn := TxnCommit{ProducerID: 4, Generation: -1}
	f.store.setFail(errors.New("disk gone"))
	if err := f.c.TxnOffsetCommit("g", txn, []OffsetCommit{{TopicPartition: tp0}})[0]; !errors.Is(err, kerr.CoordinatorNotAvailable) {
		t.Fatalf("failed write: %v", err)
	}
	f.store.setFail(fmt.Errorf("append: %w", kerr.InvalidProducerEpoch))
	if err := f.c.TxnOffsetCommit("g", txn, []OffsetCommit{{TopicPartition: tp0}})[0]; !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("fenced write: %v", err)
	}
	f.store.setFail(nil)
	if _, pending := f.c.OffsetsAndPending("g"); len(pending) != 0 {
		t.Fatalf("pending after failed writes: %v", pending)
	}
	if len(f.c.List()) != 0 {
		t.Fatalf("groups after failed writes: %+v", f.c.List())
	}
}

// Offsets with a transactional offset pending do not expire, and a group
// with a transaction open stays.
func TestTxnPendingOffsetsDoNotExpire(t *testing.T) {
	f := newFixture(t, 0)
	if errs := f.c.CommitOffsets("g", -1, "", nil, []OffsetCommit{{TopicPartition: tp0, Offset: 1}, {TopicPartition: tp1, Offset: 1}}); errs[0] != nil {
		t.Fatal(errs)
	}
	f.txnCommit(f.c, "g", 6, map[kafka.TopicPartition]int64{tp0: 5})
	f.txnCommit(f.c, "open", 6, map[kafka.TopicPartition]int64{tp0: 5})
	f.clock.advance(8 * 24 * time.Hour)
	f.c.Tick()
	committed, pending := f.c.OffsetsAndPending("g")
	if _, ok := committed[tp0]; !ok || len(committed) != 1 || !pending[tp0] {
		t.Fatalf("after expiry: committed %v pending %v", committed, pending)
	}
	found := false
	for _, l := range f.c.List() {
		found = found || l.ID == "open"
	}
	if !found {
		t.Fatal("a group with a transaction open expired")
	}
	f.sameAfterReload(f.c)
}

// CompleteTransaction applies the transaction's offsets whose writes were
// in flight when it was called: it waits for them.
func TestCompleteTransactionWaitsForWritesInFlight(t *testing.T) {
	f := newFixture(t, 0)
	release := f.store.hold()
	defer release()
	commit := async(func() { f.txnCommit(f.c, "g", 8, map[kafka.TopicPartition]int64{tp0: 42}) })
	f.store.waitStarted(t)
	p := f.c.partition("g")
	done := async(func() {
		if err := f.c.CompleteTransaction(p, 8, true); err != nil {
			t.Errorf("complete: %v", err)
		}
	})
	time.Sleep(20 * time.Millisecond)
	if returned(done) {
		t.Fatal("CompleteTransaction returned while the transaction's write was in flight")
	}
	release()
	within(t, commit, "the transactional commit")
	within(t, done, "CompleteTransaction")
	if o := f.c.Offsets("g"); o[tp0].Offset != 42 {
		t.Fatalf("offsets %v", o)
	}
	// Not leading the partition.
	c := f.unloaded()
	if err := c.CompleteTransaction(p, 8, true); !errors.Is(err, kerr.NotCoordinator) {
		t.Fatalf("on a coordinator without the partition: %v", err)
	}
}

func returned(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
