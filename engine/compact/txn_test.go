package compact

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/engine/vfs/errorfs"
)

// txnRec is a record as written, with its transaction's fate.
type txnRec struct {
	key, value string
	pid        int64 // -1: not transactional
	// state: 'p' plain, 'o' open, 'c' committed, 'a' aborted.
	state byte
}

// txnModel writes batches to a compacted log and remembers them.
type txnModel struct {
	t       *testing.T
	l       *log.Log
	written map[int64]txnRec
	seq     map[int64]int32
	// open maps a producer with an open transaction to its records'
	// offsets.
	open map[int64][]int64
	// markers maps every marker offset written to its producer.
	markers map[int64]int64
	// txnOf maps the offset of every transactional record to its
	// transaction's marker offset, once there is one.
	txnOf map[int64]int64
}

func newTxnModel(t *testing.T, l *log.Log) *txnModel {
	return &txnModel{t: t, l: l, written: map[int64]txnRec{}, seq: map[int64]int32{},
		open: map[int64][]int64{}, markers: map[int64]int64{}, txnOf: map[int64]int64{}}
}

// data appends one batch of keyed records; pid < 0 writes a plain batch,
// otherwise a transactional one (opening the producer's transaction).
func (m *txnModel) data(pid int64, ts int64, kvs ...string) int64 {
	m.t.Helper()
	recs := make([]format.Record, len(kvs)/2)
	for i := range recs {
		recs[i] = format.Record{OffsetDelta: int32(i), Key: []byte(kvs[2*i]), Value: []byte(kvs[2*i+1])}
	}
	h := format.BatchHeader{BaseTimestamp: ts, MaxTimestamp: ts, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	if pid >= 0 {
		h.Attributes = format.AttrTransactional
		h.ProducerID, h.ProducerEpoch, h.BaseSequence = pid, 0, m.seq[pid]
	}
	b, err := format.BuildBatch(h, recs)
	if err != nil {
		m.t.Fatal(err)
	}
	r, err := m.l.Append(b, log.AppendOptions{AssignOffsets: true})
	if err != nil {
		m.t.Fatal(err)
	}
	if pid >= 0 {
		m.seq[pid] += int32(len(recs))
	}
	for i := range recs {
		o := r.BaseOffset + int64(i)
		rec := txnRec{key: kvs[2*i], value: kvs[2*i+1], pid: pid, state: 'p'}
		if pid >= 0 {
			rec.state = 'o'
			m.open[pid] = append(m.open[pid], o)
		}
		m.written[o] = rec
	}
	return r.BaseOffset
}

// end writes pid's COMMIT or ABORT marker.
func (m *txnModel) end(pid int64, commit bool, ts int64) int64 {
	m.t.Helper()
	r, err := m.l.Append(format.ControlBatch(pid, 0, commit, 1, ts), log.AppendOptions{AssignOffsets: true})
	if err != nil {
		m.t.Fatal(err)
	}
	state := byte('a')
	if commit {
		state = 'c'
	}
	for _, o := range m.open[pid] {
		rec := m.written[o]
		rec.state = state
		m.written[o] = rec
		m.txnOf[o] = r.BaseOffset
	}
	delete(m.open, pid)
	m.markers[r.BaseOffset] = pid
	return r.BaseOffset
}

// afterCrash forgets what is past the log end and takes the producers'
// sequences from the log.
func (m *txnModel) afterCrash(l *log.Log) {
	m.l = l
	leo := l.LogEndOffset()
	for o := range m.written {
		if o >= leo {
			delete(m.written, o)
			delete(m.txnOf, o)
		}
	}
	for o := range m.markers {
		if o >= leo {
			delete(m.markers, o)
		}
	}
	// A transactional record whose marker is gone is open again.
	for o, mk := range m.txnOf {
		if mk >= leo {
			delete(m.txnOf, o)
		}
	}
	m.open = map[int64][]int64{}
	for o, r := range m.written {
		if r.pid >= 0 {
			if _, done := m.txnOf[o]; !done {
				r.state = 'o'
				m.written[o] = r
				m.open[r.pid] = append(m.open[r.pid], o)
			}
		}
	}
	m.seq = map[int64]int32{}
	for _, p := range l.Producers() {
		m.seq[p.ProducerID] = p.LastSequence + 1
	}
}

// readCommitted is what a read_committed consumer reads from the log
// start up to the last stable offset, filtering as Kafka's consumer does
// with the aborted transactions the log reports.
func readCommitted(t *testing.T, l *log.Log) map[int64][2]string {
	t.Helper()
	lso := l.LastStableOffset(l.LogEndOffset())
	start := l.LogStartOffset()
	aborted := l.AbortedTransactions(start, lso)
	abortedPids := map[int64]bool{}
	out := map[int64][2]string{}
	for _, s := range l.Segments() {
		err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			if b.BaseOffset() >= lso || b.LastOffset() < start {
				return nil
			}
			for len(aborted) > 0 && aborted[0].FirstOffset <= b.LastOffset() {
				abortedPids[aborted[0].ProducerID] = true
				aborted = aborted[1:]
			}
			if b.IsControl() {
				if c, err := b.Control(); err == nil && c.Type == format.ControlAbort {
					delete(abortedPids, b.ProducerID())
				}
				return nil
			}
			if b.IsTransactional() && abortedPids[b.ProducerID()] {
				return nil
			}
			return b.ForEachRecord(func(r format.Record) error {
				out[b.BaseOffset()+int64(r.OffsetDelta)] = [2]string{string(r.Key), string(r.Value)}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// check verifies the log against the model:
//   - every record held is the one written at its offset;
//   - a read_committed consumer sees no aborted or open record, and sees
//     each key's latest committed (or plain) record below the LSO;
//   - every transactional record held has its marker in the log, unless
//     its transaction is open;
//   - no open transaction's record is gone.
func (m *txnModel) check(what string) {
	t := m.t
	t.Helper()
	l := m.l
	held := map[int64]bool{}
	markers := map[int64]bool{}
	for _, s := range l.Segments() {
		err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			if b.IsControl() {
				markers[b.BaseOffset()] = true
				if _, ok := m.markers[b.BaseOffset()]; !ok {
					t.Fatalf("%s: control batch at %d was never written", what, b.BaseOffset())
				}
				return nil
			}
			return b.ForEachRecord(func(r format.Record) error {
				o := b.BaseOffset() + int64(r.OffsetDelta)
				w, ok := m.written[o]
				if !ok || w.key != string(r.Key) || w.value != string(r.Value) {
					t.Fatalf("%s: offset %d holds %q=%q, written %+v", what, o, r.Key, r.Value, w)
				}
				held[o] = true
				return nil
			})
		})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for o := range held {
		w := m.written[o]
		if w.pid < 0 {
			continue
		}
		if mk, ok := m.txnOf[o]; ok && !markers[mk] {
			t.Fatalf("%s: record %d of a transaction (state %c) is still there, its marker at %d is gone", what, o, w.state, mk)
		}
	}
	for o, w := range m.written {
		if w.state == 'o' && !held[o] && o >= l.LogStartOffset() {
			t.Fatalf("%s: record %d of an open transaction was removed", what, o)
		}
	}
	lso := l.LastStableOffset(l.LogEndOffset())
	seen := readCommitted(t, l)
	latest := map[string]int64{}
	for o, w := range m.written {
		if o < lso && (w.state == 'p' || w.state == 'c') {
			if cur, ok := latest[w.key]; !ok || o > cur {
				latest[w.key] = o
			}
		}
	}
	for o, kv := range seen {
		if w := m.written[o]; w.state != 'p' && w.state != 'c' {
			t.Fatalf("%s: read_committed sees %d %v of a transaction in state %c", what, o, kv, w.state)
		}
	}
	for k, o := range latest {
		if o >= l.LogStartOffset() {
			if _, ok := seen[o]; !ok {
				t.Fatalf("%s: key %s lost its latest committed record at %d", what, k, o)
			}
		}
	}
}

func txnConfig() log.Config {
	cfg := log.DefaultConfig()
	cfg.CleanupCompact, cfg.CleanupDelete = true, false
	cfg.DeleteRetentionMs = 1000
	cfg.FileDeleteDelayMs = 0
	return cfg
}

func openLog(t *testing.T, fs vfs.FS, cfg log.Config, now *int64, recover bool, rp int64) *log.Log {
	t.Helper()
	l, err := log.Open(log.Options{FS: fs, Dir: "/d/t-0", Config: cfg, Clock: func() int64 { return *now },
		NeedsRecovery: recover, RecoveryPoint: rp})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func clean(t *testing.T, l *log.Log, now int64) Stats {
	t.Helper()
	st, err := Clean(l, now)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// markerState reports whether the marker at off is in the log, and
// whether it carries a delete horizon.
func markerState(t *testing.T, l *log.Log, off int64) (present, stamped bool) {
	t.Helper()
	for _, s := range l.Segments() {
		s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			if b.IsControl() && b.BaseOffset() == off {
				present, stamped = true, b.Attributes()&attrDeleteHorizon != 0
			}
			return nil
		})
	}
	return present, stamped
}

// Aborted records go (and never supersede a committed value), committed
// ones stay; the ABORT marker and its index entry stay while the pass
// removes the data, then it is stamped with a delete horizon, and goes
// once the horizon passed; the COMMIT marker stays with its data.
func TestAbortedRecordsRemovedMarkersAfterHorizon(t *testing.T) {
	now := int64(10_000_000)
	l := openLog(t, vfs.NewMemFS(), txnConfig(), &now, false, 0)
	defer l.Close(true)
	m := newTxnModel(t, l)
	m.data(-1, now, "k1", "plain1", "k2", "plain2")
	m.data(1, now, "k1", "committed1")
	m.data(2, now, "k1", "aborted1", "k2", "aborted2", "k3", "aborted3")
	commit := m.end(1, true, now)
	abort := m.end(2, false, now)
	m.data(-1, now, "k4", "plain4")
	l.Roll()
	// Producer 2 writes on in the active segment: its aborted batch is not
	// its last, so nothing pins the marker.
	m.data(2, now, "k5", "later")
	m.end(2, true, now)
	m.check("before")
	if n := len(l.AbortedTransactions(0, l.LogEndOffset())); n != 1 {
		t.Fatalf("%d aborted transactions before cleaning", n)
	}

	st := clean(t, l, now)
	if st.RecordsRemoved != 4 || st.MarkersRemoved != 0 { // plain1 (k1), aborted1..3
		t.Fatalf("pass 1: %+v", st)
	}
	m.check("pass 1")
	recs := records(t, l)
	for _, kv := range recs {
		if strings.HasPrefix(kv[1], "aborted") {
			t.Fatalf("aborted record left: %v", recs)
		}
	}
	if recs[2][1] != "committed1" || recs[1][1] != "plain2" {
		t.Fatalf("committed values: %v", recs)
	}
	if p, s := markerState(t, l, abort); !p || s {
		t.Fatalf("pass 1: ABORT marker present %v stamped %v, want kept as is", p, s)
	}
	if a := l.AbortedTransactions(0, l.LogEndOffset()); len(a) != 1 || a[0].LastOffset != abort {
		t.Fatalf("pass 1: aborted index %+v", a)
	}

	clean(t, l, now)
	m.check("pass 2")
	if p, s := markerState(t, l, abort); !p || !s {
		t.Fatalf("pass 2: ABORT marker present %v stamped %v, want stamped", p, s)
	}
	if p, s := markerState(t, l, commit); !p || s {
		t.Fatalf("pass 2: COMMIT marker present %v stamped %v, want kept with its data", p, s)
	}
	if a := l.AbortedTransactions(0, l.LogEndOffset()); len(a) != 1 {
		t.Fatalf("pass 2: aborted index %+v: the kept marker keeps its entry", a)
	}

	now += 999
	clean(t, l, now)
	if p, _ := markerState(t, l, abort); !p {
		t.Fatal("ABORT marker removed before delete.retention.ms")
	}
	now += 1
	st = clean(t, l, now)
	if p, _ := markerState(t, l, abort); p || st.MarkersRemoved != 1 {
		t.Fatalf("ABORT marker not removed after delete.retention.ms: %+v", st)
	}
	if a := l.AbortedTransactions(0, l.LogEndOffset()); len(a) != 0 {
		t.Fatalf("index entry of a removed marker: %+v", a)
	}
	if p, _ := markerState(t, l, commit); !p {
		t.Fatal("COMMIT marker of data still in the log removed")
	}
	m.check("pass 4")
	// The cleaned state survives a clean reopen and a crash.
	fs := l.FS().(*vfs.MemFS)
	crashed := fs.CrashClone()
	l2 := openLog(t, crashed, txnConfig(), &now, true, l.RecoveryPoint())
	defer l2.Close(false)
	m.l = l2
	m.check("after crash")
}

// A COMMIT marker goes once its transaction's data was compacted away and
// the horizon passed.
func TestCommitMarkerRemovedOnceDataGone(t *testing.T) {
	now := int64(10_000_000)
	l := openLog(t, vfs.NewMemFS(), txnConfig(), &now, false, 0)
	defer l.Close(true)
	m := newTxnModel(t, l)
	m.data(1, now, "k", "old")
	commit := m.end(1, true, now)
	m.data(-1, now, "k", "new")
	l.Roll()
	m.data(1, now, "x", "y") // producer 1's last batch is elsewhere
	m.end(1, true, now)
	clean(t, l, now)
	m.check("pass 1")
	if p, s := markerState(t, l, commit); !p || s {
		t.Fatalf("pass 1: present %v stamped %v", p, s)
	}
	clean(t, l, now)
	if p, s := markerState(t, l, commit); !p || !s {
		t.Fatalf("pass 2: present %v stamped %v", p, s)
	}
	now += 1000
	clean(t, l, now)
	if p, _ := markerState(t, l, commit); p {
		t.Fatal("COMMIT marker of compacted data not removed after the horizon")
	}
	m.check("pass 3")
}

// Nothing at or past the first offset of an open transaction is cleaned;
// once it completes, the rest is.
func TestOpenTransactionIsNotCleanedPast(t *testing.T) {
	now := int64(10_000_000)
	cfg := txnConfig()
	l := openLog(t, vfs.NewMemFS(), cfg, &now, false, 0)
	defer l.Close(true)
	m := newTxnModel(t, l)
	m.data(-1, now, "a", "1", "b", "1")
	m.data(-1, now, "a", "2")
	l.Roll()
	open := m.data(7, now, "a", "txn", "c", "txn")
	l.Roll()
	seg1 := l.Segments()[1]
	m.data(-1, now, "a", "3", "c", "3")
	l.Roll()
	m.data(-1, now, "a", "4", "c", "4")
	l.Roll()
	if l.FirstUnstableOffset() != open {
		t.Fatalf("first unstable %d, want %d", l.FirstUnstableOffset(), open)
	}
	clean(t, l, now)
	m.check("open")
	recs := records(t, l)
	if _, ok := recs[0]; ok {
		t.Fatal("segment before the open transaction not cleaned")
	}
	for o := open; o < l.LogEndOffset(); o++ {
		if _, ok := recs[o]; !ok {
			t.Fatalf("offset %d at or past the open transaction at %d was cleaned", o, open)
		}
	}
	if l.Segments()[1] != seg1 {
		t.Fatal("the open transaction's segment was rewritten")
	}
	m.end(7, false, now)
	l.Roll()
	clean(t, l, now)
	m.check("aborted")
	recs = records(t, l)
	if _, ok := recs[open]; ok {
		t.Fatal("aborted transaction's record left after it completed")
	}
	if kv := recs[l.LogEndOffset()-3]; kv[1] != "4" {
		t.Fatalf("latest values: %v", recs)
	}
}

// The batch holding a producer's last sequence stays (emptied), so that
// the producer's state rebuilt from the log alone (no snapshot) matches;
// so does the ABORT marker after it.
func TestProducerLastBatchKept(t *testing.T) {
	now := int64(10_000_000)
	mem := vfs.NewMemFS()
	l := openLog(t, mem, txnConfig(), &now, false, 0)
	m := newTxnModel(t, l)
	m.data(3, now, "k", "a", "j", "b")
	m.end(3, true, now)
	m.data(4, now, "k", "c") // producer 4's last batch, aborted
	abort := m.end(4, false, now)
	m.data(3, now, "k", "d") // producer 3's last batch, superseded below
	m.end(3, true, now)
	m.data(-1, now, "k", "e", "j", "f")
	l.Roll()
	for i := 0; i < 4; i++ {
		clean(t, l, now)
		now += 2000
	}
	m.check("cleaned")
	recs := records(t, l)
	for o := range recs {
		if o != abort && o != 6 && o != 7 && o != 8 { // the two markers kept, the plain records
			t.Fatalf("want only the plain records and markers 4 and 6, have %v", recs)
		}
	}
	if p, _ := markerState(t, l, abort); !p {
		t.Fatal("ABORT marker after its producer's last (emptied) batch removed")
	}
	before := map[int64]log.ProducerInfo{}
	for _, p := range l.Producers() {
		before[p.ProducerID] = p
	}
	l.Close(true)
	names, _ := mem.ReadDir("/d/t-0")
	for _, n := range names {
		if strings.HasSuffix(n, ".snapshot") {
			mem.Remove("/d/t-0/" + n)
		}
	}
	l = openLog(t, mem, txnConfig(), &now, false, 0)
	defer l.Close(true)
	for _, p := range l.Producers() {
		b := before[p.ProducerID]
		if p.Epoch != b.Epoch || p.LastSequence != b.LastSequence || p.TxnStartOffset != -1 {
			t.Fatalf("producer %d rebuilt from the cleaned log: %+v, was %+v", p.ProducerID, p, b)
		}
		delete(before, p.ProducerID)
	}
	if len(before) > 0 {
		t.Fatalf("producers lost: %+v", before)
	}
}

// buildTxnLog writes the same transactional log every time, flushed and
// rolled, for the crash tests.
func buildTxnLog(t *testing.T, fs vfs.FS, now *int64) (*log.Log, *txnModel) {
	cfg := txnConfig()
	cfg.SegmentBytes = 700
	l := openLog(t, fs, cfg, now, false, 0)
	m := newTxnModel(t, l)
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("k%d", i%5)
		switch pid := int64(i % 3); {
		case i%4 == 3:
			m.data(-1, *now, k, fmt.Sprint("p", i))
		default:
			m.data(pid, *now, k, fmt.Sprint("t", i), "z", fmt.Sprint("z", i))
			if i%2 == 0 {
				m.end(pid, i%3 != 0, *now)
			}
		}
	}
	for pid := range m.open {
		m.end(pid, false, *now)
	}
	l.Roll()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	return l, m
}

// A crash anywhere in a pass (the n-th file system change fails, then the
// machine loses what was not synced) leaves a log that opens with the same
// end, the same records or their cleaned subset, and an index a
// read_committed consumer can trust; a pass on it then completes.
func TestCrashDuringCleaning(t *testing.T) {
	for n := 1; ; n++ {
		now := int64(10_000_000)
		mem := vfs.NewMemFS()
		var count atomic.Int64
		fail := int64(-1)
		efs := &errorfs.FS{Inner: mem, Inject: func(op errorfs.Op, path string) error {
			switch op {
			case errorfs.OpWrite, errorfs.OpSync, errorfs.OpRename, errorfs.OpRemove, errorfs.OpSyncDir, errorfs.OpTruncate:
				if count.Add(1) == fail {
					return errorfs.ErrInjected
				}
			}
			return nil
		}}
		l, m := buildTxnLog(t, efs, &now)
		leo := l.LogEndOffset()
		var st Stats
		var err error
		for pass := 0; pass < 3 && err == nil; pass++ {
			if pass == 0 {
				count.Store(0)
				fail = int64(n)
			}
			st, err = Clean(l, now)
			now += 2000
		}
		if err == nil {
			if n == 1 {
				t.Fatalf("nothing to clean: %+v", st)
			}
			l.Close(true)
			t.Logf("%d crash points", n-1)
			return
		}
		crashed := mem.CrashClone()
		l.Close(false)
		l2 := openLog(t, crashed, txnConfig(), &now, true, leo)
		if l2.LogEndOffset() != leo {
			t.Fatalf("crash at change %d: log end %d, was %d", n, l2.LogEndOffset(), leo)
		}
		m.l = l2
		m.check(fmt.Sprintf("crash at change %d", n))
		for i := 0; i < 3; i++ {
			clean(t, l2, now)
			now += 2000
		}
		m.check(fmt.Sprintf("cleaned after crash at change %d", n))
		l2.Close(true)
	}
}

// TestTxnCompactionAgainstModel interleaves keyed plain and
// transactional appends of three producers, commits and aborts, rolls,
// cleaner passes, time, flushes, crashes and clean reopens, and checks the
// log against the model after every step (txnModel.check).
func TestTxnCompactionAgainstModel(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 4
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runTxnModel(t, uint64(seed)) })
	}
}

func runTxnModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	mem := vfs.NewMemFS()
	now := int64(1_000_000_000)
	cfg := txnConfig()
	cfg.SegmentBytes = int64(500 + rng.IntN(2000))
	cfg.DeleteRetentionMs = 3000
	l := openLog(t, mem, cfg, &now, false, 0)
	defer func() { l.Close(false) }()
	m := newTxnModel(t, l)
	for step := 0; step < 300; step++ {
		var what string
		switch p := rng.IntN(100); {
		case p < 25:
			what = "plain"
			n := 1 + rng.IntN(3)
			var kvs []string
			for i := 0; i < n; i++ {
				kvs = append(kvs, fmt.Sprintf("k%d", rng.IntN(8)), fmt.Sprintf("s%d-%d", step, i))
			}
			m.data(-1, now, kvs...)
		case p < 50:
			what = "txn data"
			pid := int64(rng.IntN(3))
			n := 1 + rng.IntN(3)
			var kvs []string
			for i := 0; i < n; i++ {
				kvs = append(kvs, fmt.Sprintf("k%d", rng.IntN(8)), fmt.Sprintf("t%d-%d", step, i))
			}
			m.data(pid, now, kvs...)
		case p < 65:
			what = "end"
			pid := int64(rng.IntN(3))
			if len(m.open[pid]) > 0 {
				m.end(pid, rng.IntN(2) == 0, now)
			}
		case p < 72:
			what = "roll"
			l.Roll()
		case p < 86:
			what = "clean"
			leo := l.LogEndOffset()
			clean(t, l, now)
			if l.LogEndOffset() != leo {
				t.Fatalf("step %d: cleaning moved the log end %d → %d", step, leo, l.LogEndOffset())
			}
		case p < 91:
			what = "time"
			now += int64(rng.IntN(3000))
		case p < 94:
			what = "flush"
			l.Flush()
		case p < 97:
			what = "crash"
			rp := l.RecoveryPoint()
			crashed := mem.CrashClone()
			l.Close(false)
			mem = crashed
			l = openLog(t, mem, cfg, &now, true, rp)
			if l.LogEndOffset() < rp {
				t.Fatalf("step %d: crash lost flushed data", step)
			}
			m.afterCrash(l)
		default:
			what = "reopen"
			l.Close(true)
			l = openLog(t, mem, cfg, &now, false, 0)
			m.l = l
		}
		m.check(fmt.Sprintf("seed %d step %d (%s)", seed, step, what))
	}
	// Everything completes; enough passes and time remove every marker
	// whose transaction's data is gone.
	for pid := range m.open {
		m.end(pid, false, now)
	}
	m.data(5, now, "last", "x") // every producer but 5 is done, 5 last
	m.end(5, true, now)
	l.Roll()
	for i := 0; i < 4; i++ {
		clean(t, l, now)
		now += cfg.DeleteRetentionMs
	}
	m.check(fmt.Sprintf("seed %d final", seed))
}
