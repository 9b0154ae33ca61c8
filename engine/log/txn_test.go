package log

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// txnData builds a transactional batch of n records (seq -1: a
// coordinator's, with no sequence).
func txnData(pid int64, epoch int16, seq int32, n int) []byte {
	recs := make([]format.Record, n)
	for i := range recs {
		recs[i] = format.Record{OffsetDelta: int32(i), Value: []byte("txn-value-padpadpadpadpad")}
	}
	b, _ := format.BuildBatch(format.BatchHeader{Attributes: format.AttrTransactional, ProducerID: pid,
		ProducerEpoch: epoch, BaseSequence: seq, BaseTimestamp: 100, MaxTimestamp: 100}, recs)
	return b
}

// txnLog wraps a log under test with per-producer sequences.
type txnLog struct {
	t   *testing.T
	l   *Log
	seq map[int64]int32
}

func newTxnLog(t *testing.T, l *Log) *txnLog { return &txnLog{t: t, l: l, seq: map[int64]int32{}} }

// data appends a transactional batch of n records and returns its base.
func (x *txnLog) data(pid int64, n int) int64 {
	x.t.Helper()
	r, err := x.l.Append(txnData(pid, 0, x.seq[pid], n), AppendOptions{AssignOffsets: true})
	if err != nil {
		x.t.Fatal(err)
	}
	x.seq[pid] += int32(n)
	return r.BaseOffset
}

// end appends a COMMIT or ABORT marker and returns its offset.
func (x *txnLog) end(pid int64, commit bool) int64 {
	x.t.Helper()
	r, err := x.l.Append(format.ControlBatch(pid, 0, commit, 1, 200), AppendOptions{AssignOffsets: true})
	if err != nil {
		x.t.Fatal(err)
	}
	return r.BaseOffset
}

func producerByID(l *Log, pid int64) ProducerInfo {
	for _, p := range l.Producers() {
		if p.ProducerID == pid {
			return p
		}
	}
	return ProducerInfo{ProducerID: -1}
}

func TestTxnMarkersUpdateState(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	x := newTxnLog(t, l)
	if got := l.LastStableOffset(0); got != 0 {
		t.Fatalf("empty LSO %d", got)
	}
	x.data(1, 3) // 0..2
	p := producerByID(l, 1)
	if p.TxnStartOffset != 0 || p.LastSequence != 2 || p.LastTimestamp != 100 || p.CoordinatorEpoch != -1 || l.OngoingTxnCount() != 1 {
		t.Fatalf("open txn: %+v, %d open", p, l.OngoingTxnCount())
	}
	x.data(1, 2) // 3..4: the same transaction
	if p := producerByID(l, 1); p.TxnStartOffset != 0 || p.LastSequence != 4 {
		t.Fatalf("second batch: %+v", p)
	}
	if c := x.end(1, true); c != 5 {
		t.Fatalf("commit at %d", c)
	}
	p = producerByID(l, 1)
	if p.TxnStartOffset != -1 || p.CoordinatorEpoch != 1 || p.LastTimestamp != 200 || p.LastSequence != 4 || l.OngoingTxnCount() != 0 {
		t.Fatalf("after commit: %+v", p)
	}
	if got := l.AbortedTransactions(0, 100); got != nil {
		t.Fatalf("a commit is not aborted: %+v", got)
	}
	first := x.data(1, 2) // 6..7
	abort := x.end(1, false)
	want := []AbortedTxn{{ProducerID: 1, FirstOffset: first, LastOffset: abort, LastStableOffset: abort + 1}}
	if got := l.AbortedTransactions(0, l.LogEndOffset()); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted %+v, want %+v", got, want)
	}
}

func TestLastStableOffset(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	x := newTxnLog(t, l)
	appendN(t, l, 0, 3, e.clock.now) // 0..2, no producer
	if got := l.LastStableOffset(3); got != 3 {
		t.Fatalf("no transaction: LSO %d", got)
	}
	a := x.data(1, 2) // 3..4
	b := x.data(2, 1) // 5
	if got := l.LastStableOffset(6); got != a {
		t.Fatalf("two open: %d, want %d", got, a)
	}
	if got := l.LastStableOffset(2); got != 2 {
		t.Fatalf("high watermark below every transaction: %d", got)
	}
	ca := x.end(1, true) // 6
	// Producer 1's marker is at 6: until the high watermark passes it,
	// its transaction is still undecided for readers.
	if got := l.LastStableOffset(6); got != a {
		t.Fatalf("unreplicated commit: %d, want %d", got, a)
	}
	if got := l.LastStableOffset(ca + 1); got != b {
		t.Fatalf("replicated commit, producer 2 open: %d, want %d", got, b)
	}
	cb := x.end(2, false) // 7
	if got := l.LastStableOffset(cb); got != b {
		t.Fatalf("unreplicated abort: %d", got)
	}
	if got := l.LastStableOffset(cb + 1); got != cb+1 {
		t.Fatalf("everything decided: %d", got)
	}
	if l.txnCount.Load() != 0 {
		t.Fatalf("completed transactions kept: %d", l.txnCount.Load())
	}
	// The abort happened while nothing else was open: LSO is its marker+1.
	want := []AbortedTxn{{ProducerID: 2, FirstOffset: b, LastOffset: cb, LastStableOffset: cb + 1}}
	if got := l.AbortedTransactions(0, 100); !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v", got)
	}
}

// abortedModel is a brute-force AbortedTransactions.
func abortedModel(all []AbortedTxn, from, upTo int64) []AbortedTxn {
	var out []AbortedTxn
	for _, a := range all {
		if a.LastOffset >= from && a.FirstOffset < upTo {
			out = append(out, a)
		}
	}
	sortAborted(out)
	return out
}

func sortAborted(a []AbortedTxn) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].FirstOffset < a[j-1].FirstOffset; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// interleaved runs three producers whose transactions overlap, over many
// segments, and returns what it aborted (with Kafka's last stable offsets).
func interleaved(t *testing.T, x *txnLog, rounds int) []AbortedTxn {
	t.Helper()
	open := map[int64]int64{}
	var aborted []AbortedTxn
	for r := 0; r < rounds; r++ {
		for pid := int64(1); pid <= 3; pid++ {
			if r%3 == int(pid)%3 && open[pid] > 0 {
				first := open[pid] - 1
				delete(open, pid)
				commit := (r+int(pid))%4 == 0
				m := x.end(pid, commit)
				if !commit {
					lso := m + 1
					for _, f := range open {
						lso = min(lso, f-1)
					}
					aborted = append(aborted, AbortedTxn{ProducerID: pid, FirstOffset: first, LastOffset: m, LastStableOffset: lso})
				}
				continue
			}
			base := x.data(pid, 1+r%3)
			if open[pid] == 0 {
				open[pid] = base + 1
			}
		}
	}
	return aborted
}

func checkAborted(t *testing.T, l *Log, all []AbortedTxn) {
	t.Helper()
	leo := l.LogEndOffset()
	for from := l.LogStartOffset(); from <= leo; from += 3 {
		for upTo := from + 1; upTo <= leo+1; upTo += 7 {
			want := abortedModel(all, from, upTo)
			if got := l.AbortedTransactions(from, upTo); !reflect.DeepEqual(got, want) {
				t.Fatalf("AbortedTransactions(%d, %d) = %+v\nwant %+v", from, upTo, got, want)
			}
		}
	}
}

func TestAbortedTransactionsAcrossRolls(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	e.cfg.SegmentBytes = 600
	l := e.open(false, 0, 0)
	defer l.Close(true)
	x := newTxnLog(t, l)
	all := interleaved(t, x, 40)
	if len(l.Segments()) < 5 || len(all) < 5 {
		t.Fatalf("%d segments, %d aborted: the test needs more", len(l.Segments()), len(all))
	}
	checkAborted(t, l, all)
	// A log without aborted transactions has no index to read.
	if len(l.mu.txnIndexes) == 0 {
		t.Fatal("no transaction index")
	}
}

func TestTxnIndexSurvivesReopenAndIsRebuiltAfterCrash(t *testing.T) {
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	e.cfg.SegmentBytes = 600
	l := e.open(false, 0, 0)
	x := newTxnLog(t, l)
	all := interleaved(t, x, 30)
	open := x.data(7, 2) // left open across the reopen
	producers := l.Producers()
	l.Close(true)

	// Clean: the index files and the snapshot carry everything.
	e.fs = mem
	l = e.open(false, 0, 0)
	x.l = l
	checkAborted(t, l, all)
	if got := l.Producers(); !reflect.DeepEqual(got, producers) {
		t.Fatalf("producers after reopen:\n%+v\nwant\n%+v", got, producers)
	}
	wantLSO := l.LogEndOffset()
	for _, p := range producers {
		if p.TxnStartOffset >= 0 {
			wantLSO = min(wantLSO, p.TxnStartOffset)
		}
	}
	if got := l.LastStableOffset(l.LogEndOffset()); got != wantLSO || wantLSO > open {
		t.Fatalf("LSO after reopen %d, want %d (the first open transaction)", got, wantLSO)
	}
	// Abort the open transaction, flush, then more that never gets
	// flushed; crash. The unflushed tail may go, the rest is rebuilt.
	m := x.end(7, false)
	lso := m + 1
	for _, p := range l.Producers() {
		if p.TxnStartOffset >= 0 {
			lso = min(lso, p.TxnStartOffset)
		}
	}
	all = append(all, AbortedTxn{ProducerID: 7, FirstOffset: open, LastOffset: m, LastStableOffset: lso})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	rp := l.RecoveryPoint()
	// Damage the index of the segment holding the recovery point: the
	// crash must rebuild it (and every later one) from the batches.
	segs := l.Segments()
	victim := segs[segmentFor(segs, rp-1)].BaseOffset()
	extra := interleaved(t, x, 12)
	f, err := mem.OpenFile(txnIndexPath(e.dir, victim), 2, 0)
	if err == nil {
		f.WriteAt([]byte("garbage garbage garbage garbage garbage"), 0)
		f.Sync()
		f.Close()
	}
	e.fs = mem.CrashClone()
	l2 := e.open(true, rp, 0)
	defer l2.Close(true)
	leo := l2.LogEndOffset()
	if leo < rp {
		t.Fatalf("lost flushed data: %d < %d", leo, rp)
	}
	for _, a := range extra {
		if a.LastOffset < leo {
			all = append(all, a)
		}
	}
	checkAborted(t, l2, all)
}

// After a crash, a transaction that began in a segment recovery trusts and
// aborted in one it rescans gets its first offset from the snapshot.
func TestTxnIndexRebuildSpansSegments(t *testing.T) {
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	l := e.open(false, 0, 0)
	x := newTxnLog(t, l)
	first := x.data(5, 1)
	x.data(6, 1)
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	rp := l.RecoveryPoint()
	appendN(t, l, 100, 3, e.clock.now)
	m := x.end(5, false)
	// A newer snapshot (at this roll) is past the segments recovery
	// rescans: the replay must start from the older one.
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(l.snapshotOffsets()); n != 2 {
		t.Fatalf("%d snapshots", n)
	}
	want := []AbortedTxn{{ProducerID: 5, FirstOffset: first, LastOffset: m, LastStableOffset: first + 1}}
	if got := l.AbortedTransactions(0, 100); !reflect.DeepEqual(got, want) {
		t.Fatalf("before crash %+v", got)
	}
	e.fs = mem.CrashClone()
	l2 := e.open(true, rp, 0) // rescans from the second segment
	defer l2.Close(true)
	if got := l2.AbortedTransactions(0, 100); !reflect.DeepEqual(got, want) {
		t.Fatalf("after crash %+v, want %+v", got, want)
	}
	if p := producerByID(l2, 6); p.TxnStartOffset != first+1 {
		t.Fatalf("producer 6 after crash: %+v", p)
	}
}

func TestTruncateTxn(t *testing.T) {
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	l := e.open(false, 0, 0)
	defer l.Close(true)
	x := newTxnLog(t, l)
	appendN(t, l, 0, 2, e.clock.now) // 0..1
	first := x.data(1, 2)            // 2..3
	x.data(2, 1)                     // 4
	m := x.end(1, false)             // 5
	x.end(2, true)                   // 6
	if got := l.AbortedTransactions(0, 10); len(got) != 1 || got[0].LastStableOffset != first+2 {
		t.Fatalf("%+v", got)
	}
	if err := l.TruncateTo(m); err != nil {
		t.Fatal(err)
	}
	if got := l.AbortedTransactions(0, 10); got != nil {
		t.Fatalf("after truncating the marker: %+v", got)
	}
	if st, err := mem.Stat(txnIndexPath(e.dir, 0)); err != nil || st.Size() != 0 {
		t.Fatalf("index file after truncation: %v %v", st, err)
	}
	if p := producerByID(l, 1); p.TxnStartOffset != first {
		t.Fatalf("truncation must reopen producer 1's transaction: %+v", p)
	}
	if got := l.LastStableOffset(l.LogEndOffset()); got != first {
		t.Fatalf("LSO after truncation %d", got)
	}
	// The same offsets again, as a new leader's log might have them.
	m2 := x.end(1, false)
	if m2 != m {
		t.Fatalf("marker at %d", m2)
	}
	if got := l.AbortedTransactions(0, 10); len(got) != 1 || got[0].FirstOffset != first {
		t.Fatalf("%+v", got)
	}
	if err := l.TruncateTo(first); err != nil {
		t.Fatal(err)
	}
	if p := producerByID(l, 1); p.ProducerID != -1 || l.OngoingTxnCount() != 0 {
		t.Fatalf("truncated before the transaction: %+v", p)
	}
	if got := l.LastStableOffset(l.LogEndOffset()); got != l.LogEndOffset() {
		t.Fatalf("LSO %d", got)
	}
	x.seq = map[int64]int32{}
	x.data(3, 1)
	x.end(3, false)
	if err := l.TruncateFullyAndStartAt(50); err != nil {
		t.Fatal(err)
	}
	if err := l.ReapDeleted(math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	if vfs.Exists(mem, txnIndexPath(e.dir, 0)) || l.AbortedTransactions(0, 100) != nil || len(l.Producers()) != 0 {
		t.Fatal("full truncation left transaction state")
	}
}

func TestRetentionDeletesTxnIndex(t *testing.T) {
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	e.cfg.SegmentBytes = 600
	l := e.open(false, 0, 0)
	defer l.Close(true)
	x := newTxnLog(t, l)
	all := interleaved(t, x, 30)
	segs := l.Segments()
	var withIndex []int64
	for _, s := range segs[:len(segs)-1] {
		if vfs.Exists(mem, txnIndexPath(e.dir, s.BaseOffset())) {
			withIndex = append(withIndex, s.BaseOffset())
		}
	}
	if len(withIndex) < 2 {
		t.Fatalf("indexes in %v", withIndex)
	}
	cut := segs[len(segs)-2].BaseOffset()
	if _, err := l.DeleteRecords(cut); err != nil {
		t.Fatal(err)
	}
	if err := l.ReapDeleted(math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	for _, base := range withIndex {
		if base < cut && vfs.Exists(mem, txnIndexPath(e.dir, base)) {
			t.Errorf("index of deleted segment %d is still there", base)
		}
	}
	var kept []AbortedTxn
	for _, a := range all {
		if a.LastOffset >= cut {
			kept = append(kept, a)
		}
	}
	checkAborted(t, l, kept)
	// Time-based retention too: everything but the active segment.
	e.clock.now += 10 * 24 * 3600 * 1000
	e.cfg.RetentionMs = 1
	l.SetConfig(e.cfg)
	if _, _, err := l.ApplyRetention(e.clock.now, l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	l.ReapDeleted(math.MaxInt64)
	names, _ := mem.ReadDir(e.dir)
	for _, n := range names {
		if base, ok := format.ParseFileName(n, format.TxnIndexSuffix); ok && base < l.Segments()[0].BaseOffset() {
			t.Errorf("left %s", n)
		}
	}
}

func TestMarkerFencing(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	app := func(b []byte) error {
		_, err := l.Append(b, AppendOptions{AssignOffsets: true})
		return err
	}
	if err := app(txnData(1, 2, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := app(format.ControlBatch(1, 2, true, 5, 1)); err != nil {
		t.Fatal(err)
	}
	if err := app(format.ControlBatch(1, 1, true, 5, 1)); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old producer epoch: %v", err)
	}
	if err := app(format.ControlBatch(1, 2, false, 4, 1)); !errors.Is(err, ErrTransactionCoordinatorFenced) {
		t.Fatalf("old coordinator epoch: %v", err)
	}
	if err := app(txnData(1, 1, 0, 1)); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old epoch data: %v", err)
	}
	// A marker for a producer without an open transaction (a retry) is
	// written, and aborts nothing.
	leo := l.LogEndOffset()
	if err := app(format.ControlBatch(1, 2, false, 5, 1)); err != nil || l.LogEndOffset() != leo+1 {
		t.Fatalf("idle marker: %v, LEO %d", err, l.LogEndOffset())
	}
	if err := app(format.ControlBatch(99, 0, false, 0, 1)); err != nil {
		t.Fatalf("marker of an unknown producer: %v", err)
	}
	if got := l.AbortedTransactions(0, 100); got != nil {
		t.Fatalf("%+v", got)
	}
	// A newer coordinator epoch is taken, and fences the older one.
	if err := app(format.ControlBatch(1, 2, true, 6, 1)); err != nil {
		t.Fatal(err)
	}
	if err := app(format.ControlBatch(1, 2, true, 5, 1)); !errors.Is(err, ErrTransactionCoordinatorFenced) {
		t.Fatalf("after epoch 6: %v", err)
	}
	// A marker the leader cannot read is refused.
	bad := format.ControlBatch(1, 2, true, 7, 1)
	bad[len(bad)-8] = 0xff // negative marker version
	fixed, _ := format.BuildBatch(format.BatchHeader{Attributes: format.AttrTransactional | format.AttrControl,
		ProducerID: 1, ProducerEpoch: 2, BaseSequence: -1}, []format.Record{{Key: []byte{0, 0}, Value: []byte{0, 0, 0, 0, 0, 1}}})
	if err := app(fixed); !format.IsCorrupt(err) {
		t.Fatalf("short control key: %v", err)
	}
	// A non-transactional batch while a transaction is open.
	if err := app(txnData(1, 2, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := app(idemBatch(1, 2, 2, 1)); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("non-transactional write in a transaction: %v", err)
	}
}

// A transaction version 2 marker (KIP-1228) must carry an epoch above the
// producer's: the coordinator bumped it to end the transaction. One at the
// producer's epoch with no transaction open is a retry of the marker that
// ended it, answered as written without writing again; with a transaction
// open it is a late marker of the previous transaction and is refused, as
// is any older one. Legacy markers keep the >= rule.
func TestMarkerEpochTV2(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	app := func(b []byte, tv int16) (AppendResult, error) {
		return l.Append(b, AppendOptions{AssignOffsets: true, TransactionVersion: tv})
	}
	mustApp := func(b []byte, tv int16) AppendResult {
		t.Helper()
		r, err := app(b, tv)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	refused := func(what string, b []byte, tv int16) {
		t.Helper()
		leo := l.LogEndOffset()
		if _, err := app(b, tv); !errors.Is(err, ErrInvalidProducerEpoch) {
			t.Fatalf("%s: %v, want ErrInvalidProducerEpoch", what, err)
		}
		if l.LogEndOffset() != leo {
			t.Fatalf("%s: written", what)
		}
	}

	first := mustApp(txnData(1, 2, 0, 2), 0).BaseOffset
	refused("TV2 marker at the data's epoch", format.ControlBatch(1, 2, false, 5, 1), 2)
	refused("TV2 marker below the data's epoch", format.ControlBatch(1, 1, true, 5, 1), 2)
	if got := producerByID(l, 1); got.TxnStartOffset != first || got.Epoch != 2 {
		t.Fatalf("refused markers changed the producer: %+v", got)
	}
	// The bumped epoch ends the transaction.
	end := mustApp(format.ControlBatch(1, 3, false, 5, 1), 2)
	if end.Duplicate || end.BaseOffset != first+2 {
		t.Fatalf("TV2 marker: %+v", end)
	}
	if got := l.AbortedTransactions(0, 100); len(got) != 1 || got[0].FirstOffset != first || got[0].LastOffset != end.BaseOffset {
		t.Fatalf("aborted %+v", got)
	}
	// Sent again: answered as written, at the log's last offset, and the
	// log is unchanged.
	leo := l.LogEndOffset()
	for _, ce := range []int32{5, 4} { // like Kafka, before the coordinator epoch check
		r := mustApp(format.ControlBatch(1, 3, true, ce, 1), 2)
		if !r.Duplicate || r.BaseOffset != leo-1 || r.LastOffset != leo-1 || l.LogEndOffset() != leo {
			t.Fatalf("retried marker (coordinator epoch %d): %+v, LEO %d -> %d", ce, r, leo, l.LogEndOffset())
		}
	}
	if got := producerByID(l, 1); got.Epoch != 3 || got.CoordinatorEpoch != 5 || got.TxnStartOffset != -1 {
		t.Fatalf("after the retry: %+v", got)
	}
	// The next transaction runs at the bumped epoch; a late marker of the
	// previous one (epoch 3) must not end it.
	next := mustApp(txnData(1, 3, 0, 1), 0).BaseOffset
	refused("late TV2 marker", format.ControlBatch(1, 3, true, 5, 1), 2)
	if got := l.LastStableOffset(l.LogEndOffset()); got != next {
		t.Fatalf("LSO %d, want %d (transaction still open)", got, next)
	}
	mustApp(format.ControlBatch(1, 4, true, 5, 1), 2)
	if got := l.LastStableOffset(l.LogEndOffset()); got != l.LogEndOffset() {
		t.Fatalf("LSO %d after the commit, want %d", got, l.LogEndOffset())
	}
	// The legacy rule for markers without a version (v0-1) or TV0/1:
	// the data's epoch is accepted.
	for _, tv := range []int16{0, 1} {
		pid := int64(10 + tv)
		mustApp(txnData(pid, 7, 0, 1), 0)
		if r := mustApp(format.ControlBatch(pid, 7, true, 1, 1), tv); r.Duplicate {
			t.Fatalf("TV%d marker: %+v", tv, r)
		}
		refused("legacy marker below the epoch", format.ControlBatch(pid, 6, true, 1, 1), tv)
	}
	// A producer the log does not know: any epoch.
	if r := mustApp(format.ControlBatch(99, 0, false, 0, 1), 2); r.Duplicate {
		t.Fatalf("unknown producer: %+v", r)
	}
	// Followers copy what the leader wrote, unchecked.
	f := newEnv(t, vfs.NewMemFS()).open(false, 0, 0)
	defer f.Close(true)
	for _, b := range [][]byte{txnData(1, 2, 0, 1), format.ControlBatch(1, 2, true, 5, 1)} {
		b = append([]byte(nil), b...)
		format.Batch(b).SetBaseOffset(f.LogEndOffset())
		if _, err := f.Append(b, AppendOptions{TransactionVersion: 2}); err != nil {
			t.Fatalf("follower: %v", err)
		}
	}
}

// Batches a coordinator writes carry a producer id but no sequence: they
// skip duplicate and sequence checks (two of the same size are not
// duplicates), but not the epoch check.
func TestNoSequenceTransactionalBatch(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	if _, err := l.Append(idemBatch(4, 3, 0, 2), AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		r, err := l.Append(txnData(4, 3, -1, 2), AppendOptions{AssignOffsets: true})
		if err != nil || r.Duplicate {
			t.Fatalf("no-sequence batch %d: %+v %v", i, r, err)
		}
	}
	if p := producerByID(l, 4); p.TxnStartOffset != 2 || p.LastSequence != 1 {
		t.Fatalf("%+v", p)
	}
	if _, err := l.Append(txnData(4, 2, -1, 1), AppendOptions{AssignOffsets: true}); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old epoch: %v", err)
	}
	// The producer's own sequence continues where it was.
	if _, err := l.Append(txnData(4, 3, 2, 1), AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatal(err)
	}
}

// A follower copying the leader's batches ends with the same state.
func TestFollowerTxnState(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	e.cfg.SegmentBytes = 600
	leader := e.open(false, 0, 0)
	defer leader.Close(true)
	all := interleaved(t, newTxnLog(t, leader), 20)
	f := newEnv(t, vfs.NewMemFS())
	f.cfg.SegmentBytes = 600
	follower := f.open(false, 0, 0)
	defer follower.Close(true)
	for _, s := range leader.Segments() {
		s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			_, err := follower.Append(append([]byte(nil), b...), AppendOptions{})
			return err
		})
	}
	if follower.LogEndOffset() != leader.LogEndOffset() {
		t.Fatalf("LEO %d vs %d", follower.LogEndOffset(), leader.LogEndOffset())
	}
	checkAborted(t, follower, all)
	if !reflect.DeepEqual(follower.Producers(), leader.Producers()) {
		t.Fatalf("producers differ:\n%+v\n%+v", follower.Producers(), leader.Producers())
	}
	hw := leader.LogEndOffset()
	if a, b := follower.LastStableOffset(hw), leader.LastStableOffset(hw); a != b {
		t.Fatalf("LSO %d vs %d", a, b)
	}
}

// A snapshot written before transactions existed reads as "no
// transaction, no coordinator epoch".
func TestOldSnapshotReads(t *testing.T) {
	var e producerEntry
	if err := e.UnmarshalJSON([]byte(`{"epoch":3,"batches":[{"FirstSeq":0,"LastSeq":4,"Base":10,"Last":14}]}`)); err != nil {
		t.Fatal(err)
	}
	if e.Epoch != 3 || len(e.Batches) != 1 || e.TxnFirstOffset != -1 || e.CoordinatorEpoch != -1 || e.LastTimestamp != -1 {
		t.Fatalf("%+v", e)
	}
}

// A guard lets a verified batch open its producer's transaction; a marker
// of the producer between the verification and the append voids it (the
// batch would open a transaction nobody ends), and so does having none
// when verification is required.
func TestVerificationGuard(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	const pid = 7
	g := l.StartTxnVerification(pid)
	if g == nil {
		t.Fatal("no guard for a producer with no open transaction")
	}
	if g2 := l.StartTxnVerification(pid); g2 != g {
		t.Fatal("a concurrent verification did not share the guard")
	}
	if _, err := l.Append(txnData(pid, 0, 0, 2), AppendOptions{AssignOffsets: true, Verify: true, Guard: g}); err != nil {
		t.Fatalf("verified batch: %v", err)
	}
	if g := l.StartTxnVerification(pid); g != nil {
		t.Fatal("a guard for a producer whose transaction is open")
	}
	if _, err := l.Append(format.ControlBatch(pid, 0, false, 0, 0), AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatal(err)
	}
	// Verified, then the coordinator's marker lands before the batch.
	g = l.StartTxnVerification(pid)
	if _, err := l.Append(format.ControlBatch(pid, 0, false, 0, 0), AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(txnData(pid, 0, 2, 1), AppendOptions{AssignOffsets: true, Verify: true, Guard: g}); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("batch after a marker voided its guard: %v, want ErrInvalidTxnState", err)
	}
	if _, err := l.Append(txnData(pid, 0, 2, 1), AppendOptions{AssignOffsets: true, Verify: true}); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("unverified batch: %v, want ErrInvalidTxnState", err)
	}
	if got := l.LastStableOffset(l.LogEndOffset()); got != l.LogEndOffset() {
		t.Fatalf("a refused batch left a transaction open: LSO %d, end %d", got, l.LogEndOffset())
	}
}

// An open transaction whose start retention or DeleteRecords removed
// holds the last stable offset at the log start, never below it (a
// reader would loop on OFFSET_OUT_OF_RANGE).
func TestLastStableOffsetNotBelowLogStart(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	x := newTxnLog(t, l)
	x.data(1, 3) // 0..2, open
	for range 5 {
		if _, err := l.Append(format.SimpleBatch(format.CodecNone, 100, nil, [][]byte{[]byte("v")}), AppendOptions{AssignOffsets: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.DeleteRecords(5); err != nil {
		t.Fatal(err)
	}
	if got := l.LastStableOffset(l.LogEndOffset()); got != 5 {
		t.Fatalf("LSO %d with the open transaction's start below the log start 5, want 5", got)
	}
}
