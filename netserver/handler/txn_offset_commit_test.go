package handler

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/internal/kafka"
)

// appendMarker writes producer pid's end-transaction marker to offsets
// partition p and tells the group coordinator, as WriteTxnMarkers does.
func appendMarker(t *testing.T, b *Broker, p int32, pid int64, epoch int16, commit bool) {
	t.Helper()
	rep, code := b.replicaOf(OffsetsTopic, p)
	if code != nil {
		t.Fatal(code)
	}
	_, wait, err := rep.Append(format.ControlBatch(pid, epoch, commit, 0, time.Now().UnixMilli()), true, 5*time.Second)
	if err == nil {
		err = <-wait
	}
	if err != nil {
		t.Fatalf("marker: %v", err)
	}
	if err := b.groups.CompleteTransaction(p, pid, commit); err != nil {
		t.Fatalf("complete transaction: %v", err)
	}
}

// TxnOffsetCommit end to end: offsets are pending (RequireStable answers
// UNSTABLE_OFFSET_COMMIT, a plain fetch does not see them) until the
// transaction's COMMIT marker, lost with an ABORT, and a coordinator that
// loads the partition from the log sees the same.
func TestTxnOffsetCommit(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 2})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "g"
	if fr := handle[*kmsg.FindCoordinatorResponse](t, b, fc, 3); fr.ErrorCode != 0 {
		t.Fatalf("find coordinator: %+v", fr)
	}
	p := b.groups.PartitionOf("g")

	// begin starts a transaction of id with the group's offsets in it
	// (InitProducerId, AddOffsetsToTxn), as a client does before
	// TxnOffsetCommit.
	begin := func(id string) int64 {
		t.Helper()
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey, fc.CoordinatorType = id, 1
		handle[*kmsg.FindCoordinatorResponse](t, b, fc, 3)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			init := kmsg.NewPtrInitProducerIDRequest()
			init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr(id), 60000
			ir := handle[*kmsg.InitProducerIDResponse](t, b, init, 4)
			if ir.ErrorCode != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("init %s: %v", id, kerr.ErrorForCode(ir.ErrorCode))
				}
				continue
			}
			add := kmsg.NewPtrAddOffsetsToTxnRequest()
			add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = id, ir.ProducerID, ir.ProducerEpoch, "g"
			if ar := handle[*kmsg.AddOffsetsToTxnResponse](t, b, add, 3); ar.ErrorCode != 0 {
				t.Fatalf("add offsets %s: %v", id, kerr.ErrorForCode(ar.ErrorCode))
			}
			return ir.ProducerID
		}
	}
	txnOf := map[int64]string{}
	pid1, pid2 := begin("txn"), begin("txn2")
	txnOf[pid1], txnOf[pid2] = "txn", "txn2"
	topicIDs := map[string][16]byte{"t": mustTopic(t, b, "t").ID, "nope": {0xbe, 0xef}}
	commit := func(pid int64, epoch int16, version int16, first int32, offsets ...int64) *kmsg.TxnOffsetCommitResponse {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = txnOf[pid], "g", pid, epoch
		rt := kmsg.TxnOffsetCommitRequestTopic{Topic: "t"}
		for i, o := range offsets {
			rt.Partitions = append(rt.Partitions, kmsg.TxnOffsetCommitRequestTopicPartition{Partition: first + int32(i), Offset: o, LeaderEpoch: 2})
		}
		req.Topics = []kmsg.TxnOffsetCommitRequestTopic{rt}
		if len(offsets) > 1 {
			req.Topics = append(req.Topics, kmsg.TxnOffsetCommitRequestTopic{Topic: "nope", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0}}})
		}
		if version >= 6 { // topics by id (KIP-1319)
			for i := range req.Topics {
				req.Topics[i].TopicID, req.Topics[i].Topic = topicIDs[req.Topics[i].Topic], ""
			}
		}
		return handle[*kmsg.TxnOffsetCommitResponse](t, b, req, version)
	}
	fetch := func(version int16, stable bool) map[int32]kmsg.OffsetFetchResponseGroupTopicPartition {
		of := kmsg.NewPtrOffsetFetchRequest()
		of.RequireStable = stable
		out := map[int32]kmsg.OffsetFetchResponseGroupTopicPartition{}
		if version >= 8 {
			of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0, 1}}}}}
			r := handle[*kmsg.OffsetFetchResponse](t, b, of, version)
			if r.Groups[0].ErrorCode != 0 {
				t.Fatalf("fetch: %+v", r.Groups[0])
			}
			for _, p := range r.Groups[0].Topics[0].Partitions {
				out[p.Partition] = p
			}
			return out
		}
		of.Group = "g"
		of.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
		r := handle[*kmsg.OffsetFetchResponse](t, b, of, version)
		for _, p := range r.Topics[0].Partitions {
			out[p.Partition] = kmsg.OffsetFetchResponseGroupTopicPartition{Partition: p.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, ErrorCode: p.ErrorCode}
		}
		return out
	}
	expect := func(what string, got map[int32]kmsg.OffsetFetchResponseGroupTopicPartition, code int16, offsets ...int64) {
		t.Helper()
		for i, o := range offsets {
			if g := got[int32(i)]; g.ErrorCode != code || g.Offset != o {
				t.Fatalf("%s: partition %d: %+v, want code %d offset %d", what, i, g, code, o)
			}
		}
	}

	// The first commit may meet the partition still loading.
	var r *kmsg.TxnOffsetCommitResponse
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r = commit(pid1, 0, 3, 0, 42, 43)
		if c := r.Topics[0].Partitions[0].ErrorCode; (c != kerr.CoordinatorLoadInProgress.Code && c != kerr.NotCoordinator.Code) || time.Now().After(deadline) {
			break
		}
	}
	if r.Topics[0].Partitions[0].ErrorCode != 0 || r.Topics[0].Partitions[1].ErrorCode != 0 || r.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("txn commit: %+v", r.Topics)
	}
	// A second commit of the same transaction (coordinator batches carry no
	// sequence) and one of another producer.
	if r := commit(pid1, 0, 0, 0, 44); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("second txn commit (v0): %+v", r.Topics)
	}
	// The other producer's commits by topic id (v6): t-1 by t's id, and
	// a second request's two topics, t-1 again and an id that names no
	// topic (UNKNOWN_TOPIC_ID); the answers carry the ids.
	requireServed(t, 28, 6)
	if r := commit(pid2, 0, 6, 1, 98); r.Topics[0].Partitions[0].ErrorCode != 0 || r.Topics[0].TopicID != topicIDs["t"] {
		t.Fatalf("another producer's commit (v6): %+v", r.Topics)
	}
	if r := commit(pid2, 0, 6, 1, 99, 100); r.Topics[0].Partitions[0].ErrorCode != 0 || r.Topics[1].TopicID != topicIDs["nope"] || r.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("another producer's commit (v6) with an unknown id: %+v", r.Topics)
	}
	for _, v := range []int16{7, 8} {
		expect(fmt.Sprintf("v%d stable fetch while pending", v), fetch(v, true), kerr.UnstableOffsetCommit.Code, -1, -1)
		expect(fmt.Sprintf("v%d fetch while pending", v), fetch(v, false), 0, -1, -1)
	}

	appendMarker(t, b, p, pid1, 0, true)
	// t-1 is still pending for the second producer; t-0 holds the v0 commit (no
	// leader epoch before v2).
	got := fetch(8, true)
	expect("stable fetch after the commit", map[int32]kmsg.OffsetFetchResponseGroupTopicPartition{0: got[0]}, 0, 44)
	if got[0].LeaderEpoch != -1 || got[1].ErrorCode != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("after the commit: %+v", got)
	}
	appendMarker(t, b, p, pid2, 0, false)
	expect("stable fetch after the abort", fetch(8, true), 0, 44, 43)

	// A coordinator loading the partition from the log sees the same.
	gc := group.DefaultConfig()
	gc.OffsetsPartitions = b.offsetsPartitions()
	c2 := group.New(gc, offsetsStore{b})
	defer c2.Close()
	if err := <-c2.LoadPartition(p); err != nil {
		t.Fatal(err)
	}
	committed, pending := c2.OffsetsAndPending("g")
	if len(pending) != 0 || len(committed) != 2 || committed[kafka.TopicPartition{Topic: "t", Partition: 0}].Offset != 44 || committed[kafka.TopicPartition{Topic: "t", Partition: 1}].Offset != 43 {
		t.Fatalf("reloaded: committed %v pending %v", committed, pending)
	}
}

// internalLog writes a run of records per producer as its own batch, in
// order, and reads them back with their producers and the markers.
func TestInternalLogSplitsProducers(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"internal": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	l := internalLog{b, "internal"}
	lg, err := b.engine.Partition(kafka.TopicPartition{Topic: "internal", Partition: 0})
	if err != nil {
		t.Fatal(err)
	}
	// The first transactional run opens producer 7's transaction: only
	// under a verification (the handler's, for TxnOffsetCommit).
	p7 := &shard.Producer{ID: 7, Epoch: 1, Verification: lg.StartTxnVerification(7)}
	rec := func(k string, p *shard.Producer) shard.Record {
		return shard.Record{Key: []byte(k), Value: []byte("v"), Producer: p}
	}
	if err := l.Append(0, []shard.Record{rec("a", nil), rec("b", p7), rec("c", p7), rec("d", nil), rec("e", &shard.Producer{ID: 7, Epoch: 1})}); err != nil {
		t.Fatal(err)
	}
	rep, code := b.replicaOf("internal", 0)
	if code != nil {
		t.Fatal(code)
	}
	_, wait, err := rep.Append(format.ControlBatch(7, 1, true, 0, time.Now().UnixMilli()), true, 5*time.Second)
	if err == nil {
		err = <-wait
	}
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := l.Load(0, func(r shard.Record) error {
		s := string(r.Key)
		if r.Control != nil {
			s = fmt.Sprintf("marker(commit=%v)", r.Control.Commit)
		}
		if r.Producer != nil {
			s += fmt.Sprintf("@%d/%d", r.Producer.ID, r.Producer.Epoch)
		}
		got = append(got, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := "[a b@7/1 c@7/1 d e@7/1 marker(commit=true)@7/1]"
	if fmt.Sprint(got) != want {
		t.Fatalf("loaded %v, want %s", got, want)
	}
	if n := lg.LogEndOffset(); n != 6 {
		t.Fatalf("log end %d, want 6 records", n)
	}
	// An older epoch of the producer is fenced.
	err = l.Append(0, []shard.Record{rec("f", &shard.Producer{ID: 7, Epoch: 0})})
	if !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("append of a fenced epoch: %v", err)
	}
}

// A TxnOffsetCommit that arrives after its transaction ended (queued
// behind slow group writes while the client timed out and aborted) is
// refused: it would open a transaction no marker ends, and the next
// transaction's COMMIT would commit the aborted offsets (found in review).
func TestLateTxnOffsetCommitRefused(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	for _, ct := range []int8{0, 1} {
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey, fc.CoordinatorType = "late", ct
		handle[*kmsg.FindCoordinatorResponse](t, b, fc, 3)
	}
	var ir *kmsg.InitProducerIDResponse
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		init := kmsg.NewPtrInitProducerIDRequest()
		init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("late"), 60000
		if ir = handle[*kmsg.InitProducerIDResponse](t, b, init, 4); ir.ErrorCode == 0 || time.Now().After(deadline) {
			break
		}
	}
	if ir.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(ir.ErrorCode))
	}
	addOffsets := func() {
		add := kmsg.NewPtrAddOffsetsToTxnRequest()
		add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "late", ir.ProducerID, ir.ProducerEpoch, "late"
		if ar := handle[*kmsg.AddOffsetsToTxnResponse](t, b, add, 3); ar.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(ar.ErrorCode))
		}
	}
	end := func(commit bool) {
		e := kmsg.NewPtrEndTxnRequest()
		e.TransactionalID, e.ProducerID, e.ProducerEpoch, e.Commit = "late", ir.ProducerID, ir.ProducerEpoch, commit
		if er := handle[*kmsg.EndTxnResponse](t, b, e, 3); er.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(er.ErrorCode))
		}
	}
	txnCommit := func(offset int64) int16 {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch, req.Generation = "late", "late", ir.ProducerID, ir.ProducerEpoch, -1
		req.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: offset}}}}
		return handle[*kmsg.TxnOffsetCommitResponse](t, b, req, 3).Topics[0].Partitions[0].ErrorCode
	}
	addOffsets()
	end(false) // answered once the markers are written
	if code := txnCommit(1000); code != kerr.InvalidTxnState.Code {
		t.Fatalf("late TxnOffsetCommit after the abort: %v, want INVALID_TXN_STATE", kerr.ErrorForCode(code))
	}
	// The next transaction commits no offset of its own.
	addOffsets()
	end(true)
	committed, pending := b.groups.OffsetsAndPending("late")
	if o, ok := committed[kafka.TopicPartition{Topic: "t", Partition: 0}]; ok || len(pending) != 0 {
		t.Fatalf("after the next commit: committed %+v (the aborted offset?), pending %v", o, pending)
	}
}
