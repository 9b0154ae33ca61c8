package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/rillmq/rill/engine/format"
)

// txnRound produces n records in one transaction of cl and commits or
// aborts it.
func txnRound(t *testing.T, ctx context.Context, cl *kgo.Client, prefix string, n int, commit bool) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", prefix, i))).FirstErr(); err != nil {
			t.Fatalf("produce %s-%d: %v", prefix, i, err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction %s (commit %v): %v", prefix, commit, err)
	}
}

// readAll reads topic from the start with the isolation level until it has
// want records, and a little longer to catch extra ones.
func readAll(t *testing.T, addr, topic string, committed bool, want int) []string {
	t.Helper()
	iso := kgo.ReadUncommitted()
	if committed {
		iso = kgo.ReadCommitted()
	}
	cl := client(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(iso))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	extra := time.Time{}
	for {
		pctx := ctx
		if len(out) >= want {
			if extra.IsZero() {
				extra = time.Now().Add(500 * time.Millisecond)
			}
			var c context.CancelFunc
			pctx, c = context.WithDeadline(ctx, extra)
			defer c()
		}
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			if len(out) < want {
				t.Fatalf("read %d of %d records (committed %v): %v", len(out), want, committed, out)
			}
			return out
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Value)) })
	}
}

// A transactional producer's committed transactions are read by
// read_committed consumers and its aborted ones are not; read_uncommitted
// consumers see both (never the markers); the coordinator describes the
// transactional id.
func TestTransactionsCommitAndAbort(t *testing.T) {
	b := startBroker(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, b.addr))
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "tx"); err != nil {
		t.Fatal(err)
	}
	p := client(t, b.addr, kgo.TransactionalID("etl-1"), kgo.DefaultProduceTopic("tx"), kgo.TransactionTimeout(10*time.Second),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	txnRound(t, ctx, p, "a", 10, true)
	txnRound(t, ctx, p, "b", 10, false)
	txnRound(t, ctx, p, "c", 10, true)

	got := readAll(t, b.addr, "tx", true, 20)
	if len(got) != 20 {
		t.Fatalf("read_committed read %d records, want 20: %v", len(got), got)
	}
	for _, v := range got {
		if strings.HasPrefix(v, "b-") {
			t.Fatalf("read_committed read aborted record %s\n%s", v, b.log())
		}
	}
	if all := readAll(t, b.addr, "tx", false, 30); len(all) != 30 {
		t.Fatalf("read_uncommitted read %d records, want 30", len(all))
	}

	described, err := adm.DescribeTransactions(ctx, "etl-1")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := described["etl-1"]
	if !ok || d.Err != nil || d.State != "CompleteCommit" {
		t.Fatalf("describe etl-1: %+v", described)
	}
	listed, err := adm.ListTransactions(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := listed["etl-1"]; !ok {
		t.Fatalf("list transactions: %+v", listed)
	}
}

// A second producer with the same transactional id fences the first: the
// zombie's next write or commit fails, its open transaction is aborted,
// and only the new producer's records are committed.
func TestTransactionsFenceZombie(t *testing.T) {
	b := startBroker(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, b.addr))
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "fence"); err != nil {
		t.Fatal(err)
	}
	opts := []kgo.Opt{kgo.TransactionalID("fenced"), kgo.DefaultProduceTopic("fence"), kgo.TransactionTimeout(10 * time.Second)}
	zombie := client(t, b.addr, opts...)
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctx, kgo.StringRecord("zombie-0")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fresh := client(t, b.addr, opts...)
	txnRound(t, ctx, fresh, "fresh", 5, true)

	err := zombie.ProduceSync(ctx, kgo.StringRecord("zombie-1")).FirstErr()
	if err == nil {
		err = zombie.EndTransaction(ctx, kgo.TryCommit)
	}
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) && !errors.Is(err, kerr.InvalidProducerIDMapping) {
		t.Fatalf("zombie's write or commit after the fence: %v (want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH)", err)
	}
	got := readAll(t, b.addr, "fence", true, 5)
	for _, v := range got {
		if strings.HasPrefix(v, "zombie") {
			t.Fatalf("read_committed read the zombie's %s: %v", v, got)
		}
	}
	if len(got) != 5 {
		t.Fatalf("read_committed read %v, want fresh-0..4", got)
	}
}

// A transaction left open past its timeout is aborted by the coordinator:
// read_committed consumers then read past it (its records never).
func TestTransactionsTimeoutAborts(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, b.addr))
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "hang"); err != nil {
		t.Fatal(err)
	}
	hung := client(t, b.addr, kgo.TransactionalID("hung"), kgo.DefaultProduceTopic("hang"), kgo.TransactionTimeout(time.Second))
	if err := hung.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := hung.ProduceSync(ctx, kgo.StringRecord("hung-0")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	plain := client(t, b.addr, kgo.DefaultProduceTopic("hang"))
	if err := plain.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The open transaction holds read_committed consumers before "after"
	// until the coordinator aborts it.
	got := readAll(t, b.addr, "hang", true, 1)
	if len(got) != 1 || got[0] != "after" {
		t.Fatalf("read_committed read %v, want [after]", got)
	}
	described, err := adm.DescribeTransactions(ctx, "hung")
	if err != nil {
		t.Fatal(err)
	}
	if d := described["hung"]; d.State != "CompleteAbort" {
		t.Fatalf("hung transaction is %+v, want CompleteAbort", d)
	}
}

// A partition leader verifies the first transactional batch of a
// transaction with the coordinator (KIP-890 part 1): a batch for a
// partition the producer never added, or arriving after its transaction
// was aborted, is refused with INVALID_TXN_STATE and opens no transaction
// (the last stable offset is not held back by it). The classic flow:
// transaction.version 0, so Produce v12 adds nothing.
func TestTransactionalProduceVerified(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "transaction.version=0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "verified"); err != nil {
		t.Fatal(err)
	}
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("raw"), 60000
	ir, err := init.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(ir.ErrorCode)
	}
	if err != nil {
		t.Fatal(err)
	}
	seq := int32(0)
	produce := func() error {
		req := produceOne(ctx, cl, "verified", 0, kmsg.StringPtr("raw"), 5000, txnBatch(t, ir.ProducerID, ir.ProducerEpoch, seq))
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		err = kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
		if err == nil {
			seq++
		}
		return err
	}
	lastStable := func() int64 {
		offs, err := adm.ListCommittedOffsets(ctx, "verified")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := offs.Lookup("verified", 0)
		return o.Offset
	}
	if err := produce(); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("produce to a partition not in the transaction: %v, want INVALID_TXN_STATE", err)
	}
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = "raw", ir.ProducerID, ir.ProducerEpoch
	at := kmsg.NewAddPartitionsToTxnRequestTopic()
	at.Topic, at.Partitions = "verified", []int32{0}
	add.Topics = append(add.Topics, at)
	if ar, err := add.RequestWith(ctx, cl); err != nil || ar.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("add partition: %v %+v", err, ar)
	}
	if err := produce(); err != nil {
		t.Fatalf("produce after adding the partition: %v", err)
	}
	if lso := lastStable(); lso != 0 {
		t.Fatalf("open transaction: last stable offset %d, want 0", lso)
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "raw", ir.ProducerID, ir.ProducerEpoch, false
	if er, err := end.RequestWith(ctx, cl); err != nil || er.ErrorCode != 0 {
		t.Fatalf("abort: %v %+v", err, er)
	}
	// The marker goes out after the answer; wait for the partition to be stable.
	deadline := time.Now().Add(10 * time.Second)
	for lastStable() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("last stable offset %d after the abort, want 2 (data, marker)", lastStable())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A late batch of the aborted transaction (same epoch) is refused: it
	// would open a transaction no marker ends.
	if err := produce(); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("late produce after the abort: %v, want INVALID_TXN_STATE", err)
	}
	if lso := lastStable(); lso != 2 {
		t.Fatalf("last stable offset %d after the refused batch, want 2", lso)
	}
}

// An open transaction survives a SIGKILL of its (single) broker: after the
// restart the partition's log still holds it open (read_committed readers
// stop before it), the coordinator still knows it, and the producer
// commits it; committed and aborted transactions before it keep their
// outcome through the log's recovery.
func TestTransactionSurvivesBrokerKill(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	b := startBrokerAt(t, dir, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, addr))
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "survive"); err != nil {
		t.Fatal(err)
	}
	p := client(t, addr, kgo.TransactionalID("survivor"), kgo.DefaultProduceTopic("survive"), kgo.TransactionTimeout(time.Minute))
	txnRound(t, ctx, p, "committed", 3, true)
	txnRound(t, ctx, p, "aborted", 3, false)
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("open-%d", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	b.kill()
	b = startBrokerAt(t, dir, addr)

	// Before the commit: only the first transaction is visible.
	if got := readAll(t, addr, "survive", true, 3); len(got) != 3 || !strings.HasPrefix(got[0], "committed") {
		t.Fatalf("read_committed after the restart read %v, want committed-0..2 only\n%s", got, b.log())
	}
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit after the broker restarted: %v\n%s", err, b.log())
	}
	got := readAll(t, addr, "survive", true, 7)
	want := []string{"committed-0", "committed-1", "committed-2", "open-0", "open-1", "open-2", "open-3"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("read_committed read %v, want %v\n%s", got, want, b.log())
	}
}

// Transaction version 2 (KIP-890 part 2), the default: ApiVersions
// finalizes transaction.version 2; a Produce v12 adds its partition to the
// transaction itself (no AddPartitionsToTxn), EndTxn v5 answers the bumped
// epoch the producer goes on with, and a late batch at the old epoch is
// fenced by the markers' epoch.
func TestTransactionVersion2(t *testing.T) {
	b := startBroker(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "tv2"); err != nil {
		t.Fatal(err)
	}
	av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	finalized := false
	for _, f := range av.FinalizedFeatures {
		finalized = finalized || (f.Name == "transaction.version" && f.MaxVersionLevel == 2)
	}
	if !finalized || av.FinalizedFeaturesEpoch < 0 {
		t.Fatalf("ApiVersions finalized features %+v (epoch %d), want transaction.version 2", av.FinalizedFeatures, av.FinalizedFeaturesEpoch)
	}
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("tv2"), 60000
	ir, err := init.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(ir.ErrorCode)
	}
	if err != nil {
		t.Fatal(err)
	}
	v11 := kversion.Stable()
	v11.SetMaxKeyVersion(int16(kmsg.Produce), 11)
	cl11 := client(t, b.addr, kgo.MaxVersions(v11))
	produce := func(epoch int16, seq int32, version int16) error {
		req := produceOne(ctx, cl, "tv2", 0, kmsg.StringPtr("tv2"), 5000, txnBatch(t, ir.ProducerID, epoch, seq))
		via := cl
		if version < 12 {
			via = cl11
		}
		resp, err := via.Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return kerr.ErrorForCode(resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode)
	}
	// v11 still verifies (the classic flow needs its AddPartitionsToTxn).
	if err := produce(ir.ProducerEpoch, 0, 11); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("Produce v11 of a partition not added: %v, want INVALID_TXN_STATE", err)
	}
	if err := produce(ir.ProducerEpoch, 0, 12); err != nil {
		t.Fatalf("Produce v12 adding its partition: %v", err)
	}
	d, err := adm.DescribeTransactions(ctx, "tv2")
	if err != nil {
		t.Fatal(err)
	}
	if s := d["tv2"]; s.State != "Ongoing" || len(s.Topics["tv2"]) != 1 {
		t.Fatalf("after Produce v12: %+v, want Ongoing with tv2-0", s)
	}
	end := kmsg.NewPtrEndTxnRequest() // v5, the highest both sides speak
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "tv2", ir.ProducerID, ir.ProducerEpoch, true
	endResp, err := end.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if endResp.ErrorCode != 0 || endResp.ProducerID != ir.ProducerID || endResp.ProducerEpoch != ir.ProducerEpoch+1 {
		t.Fatalf("EndTxn v5: %+v, want producer %d epoch %d", endResp, ir.ProducerID, ir.ProducerEpoch+1)
	}
	if err := produce(ir.ProducerEpoch, 1, 12); !errors.Is(err, kerr.InvalidProducerEpoch) && !errors.Is(err, kerr.ProducerFenced) {
		t.Fatalf("late batch at the old epoch: %v, want INVALID_PRODUCER_EPOCH", err)
	}
	if err := produce(endResp.ProducerEpoch, 0, 12); err != nil {
		t.Fatalf("next transaction at the new epoch: %v", err)
	}
	got := readAll(t, b.addr, "tv2", true, 0)
	if len(got) != 1 {
		t.Fatalf("read_committed read %v, want the committed record only", got)
	}
}

// txnBatch is a one-record transactional batch of the producer.
func txnBatch(t *testing.T, pid int64, epoch int16, seq int32) []byte {
	t.Helper()
	now := time.Now().UnixMilli()
	batch, err := format.BuildBatch(format.BatchHeader{Attributes: format.AttrTransactional, ProducerID: pid,
		ProducerEpoch: epoch, BaseSequence: seq, BaseTimestamp: now, MaxTimestamp: now}, []format.Record{{Value: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	return batch
}
