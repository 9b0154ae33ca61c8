package log

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// TestRandomOpsAgainstModel runs random sequences of appends, rolls,
// truncations, DeleteRecords, flushes, clean reopens and crashes on a log
// and checks it against a model: a slice of values by offset plus the log
// start offset. After a crash the log must hold at least everything flushed
// and otherwise a prefix of what the model appended.
func TestRandomOpsAgainstModel(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 5
	}
	if n, err := strconv.Atoi(os.Getenv("RILL_MODEL_SEEDS")); err == nil {
		seeds = n // make stress: many more seeds
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, uint64(seed), 300, 0) })
	}
	// A descriptor cap of 1: every segment access evicts another log
	// file, syncing it first when it holds unsynced data.
	for seed := 0; seed < max(seeds/4, 2); seed++ {
		t.Run(fmt.Sprintf("openfiles=1/%d", seed), func(t *testing.T) { runModel(t, uint64(seed), 300, 1) })
	}
}

func runModel(t *testing.T, seed uint64, steps, openFiles int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	e.openFiles = openFiles
	e.cfg.SegmentBytes = int64(512 + rng.IntN(4096))
	e.cfg.IndexIntervalBytes = rng.IntN(512)
	codecs := []format.Codec{format.CodecNone, format.CodecGzip, format.CodecSnappy, format.CodecLZ4, format.CodecZstd}
	var model []string // model[offset] = value
	var lso, durable int64
	var txns []txnEvent // producer batches, in offset order
	l := e.open(false, 0, 0)
	defer func() { l.Close(false) }()
	check := func(op string) {
		t.Helper()
		if l.LogEndOffset() != int64(len(model)) || l.LogStartOffset() != lso {
			t.Fatalf("after %s: log [%d,%d) model [%d,%d)", op, l.LogStartOffset(), l.LogEndOffset(), lso, len(model))
		}
	}
	verify := func(from int64) {
		t.Helper()
		got := readAll(t, l, from)
		for o := from; o < int64(len(model)); o++ {
			if got[o] != model[o] {
				t.Fatalf("offset %d: log %q model %q", o, got[o], model[o])
			}
		}
	}
	for step := 0; step < steps; step++ {
		p := rng.IntN(100)
		if os.Getenv("MODEL_TRACE") != "" {
			var bases []int64
			for _, sg := range l.Segments() {
				bases = append(bases, sg.BaseOffset())
			}
			t.Logf("step %d op %d leo %d lso %d segs %v snaps %v txns %v producers %+v", step, p, l.LogEndOffset(), lso, bases, l.snapshotOffsets(), txns, l.Producers())
		}
		switch {
		case p < 20: // a transactional batch or a marker (a coordinator's: no sequence)
			pid := int64(1 + rng.IntN(3))
			var b []byte
			var vals []string
			ev := txnEvent{pid: pid}
			if _, ok := modelOpenTxns(txns)[pid]; ok && rng.IntN(3) == 0 {
				commit := rng.IntN(2) == 0
				b = format.ControlBatch(pid, 0, commit, 0, e.clock.now)
				vals = []string{"\x00\x00\x00\x00\x00\x00"}
				ev.kind = txnAbort
				if commit {
					ev.kind = txnCommit
				}
			} else {
				n := 1 + rng.IntN(4)
				recs := make([]format.Record, n)
				for i := range recs {
					vals = append(vals, fmt.Sprintf("t%d-s%d-o%d", pid, step, len(model)+i))
					recs[i] = format.Record{OffsetDelta: int32(i), Value: []byte(vals[i])}
				}
				b, _ = format.BuildBatch(format.BatchHeader{Attributes: format.AttrTransactional, ProducerID: pid,
					BaseSequence: -1, BaseTimestamp: e.clock.now, MaxTimestamp: e.clock.now}, recs)
			}
			res, err := l.Append(b, AppendOptions{AssignOffsets: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.BaseOffset != int64(len(model)) {
				t.Fatalf("assigned %d, want %d", res.BaseOffset, len(model))
			}
			ev.base = res.BaseOffset
			txns = append(txns, ev)
			model = append(model, vals...)
		case p < 55: // append a batch
			n := 1 + rng.IntN(8)
			vals := make([][]byte, n)
			for i := range vals {
				vals[i] = []byte(fmt.Sprintf("s%d-o%d-%x", step, len(model)+i, rng.Uint32()))
			}
			b := format.SimpleBatch(codecs[rng.IntN(len(codecs))], e.clock.now, nil, vals)
			res, err := l.Append(b, AppendOptions{AssignOffsets: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.BaseOffset != int64(len(model)) {
				t.Fatalf("assigned %d, want %d", res.BaseOffset, len(model))
			}
			for _, v := range vals {
				model = append(model, string(v))
			}
		case p < 62:
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
		case p < 68: // truncate (batches are never split)
			if int64(len(model)) == lso {
				continue
			}
			to := lso + rng.Int64N(int64(len(model))-lso+1)
			if err := l.TruncateTo(to); err != nil {
				t.Fatal(err)
			}
			leo := l.LogEndOffset()
			if leo > to || leo < to-8 {
				t.Fatalf("truncate to %d left LEO %d", to, leo)
			}
			model = model[:leo]
			lso = min(lso, leo)
			durable = min(durable, leo)
		case p < 72: // DeleteRecords
			to := lso + rng.Int64N(int64(len(model))-lso+1)
			got, err := l.DeleteRecords(to)
			if err != nil || got != to {
				t.Fatalf("delete records to %d: %d %v", to, got, err)
			}
			lso = to
		case p < 76: // size retention: drops whole segments from the front
			cfg := l.Config()
			cfg.RetentionBytes = int64(rng.IntN(8192))
			l.SetConfig(cfg)
			if _, _, err := l.ApplyRetention(e.clock.now, l.LogEndOffset()); err != nil {
				t.Fatal(err)
			}
			cfg.RetentionBytes = -1
			l.SetConfig(cfg)
			if got := l.LogStartOffset(); got < lso {
				t.Fatalf("retention moved the log start back: %d < %d", got, lso)
			}
			lso = l.LogStartOffset()
			if segs := l.Segments(); segs[0].BaseOffset() > lso {
				t.Fatalf("log start %d below the first segment %d", lso, segs[0].BaseOffset())
			}
		case p < 80:
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			durable = int64(len(model))
		case p < 85: // clean reopen
			if err := l.Close(true); err != nil {
				t.Fatal(err)
			}
			l = e.open(false, 0, lso)
			durable = int64(len(model))
		case p < 92: // crash and recover
			rp := l.RecoveryPoint()
			e.fs = mem.CrashClone()
			l.Close(false)
			mem = e.fs.(*vfs.MemFS)
			l = e.open(true, rp, lso)
			leo := l.LogEndOffset()
			if leo < durable {
				t.Fatalf("crash lost flushed data: LEO %d < durable %d", leo, durable)
			}
			if leo > int64(len(model)) {
				t.Fatalf("crash invented data: LEO %d > %d", leo, len(model))
			}
			model = model[:leo]
			if lso > leo {
				lso = leo
			}
			durable = leo
		default: // random point read
			if int64(len(model)) > lso {
				verify(lso + rng.Int64N(int64(len(model))-lso))
			}
		}
		txns = modelTxnsBelow(txns, int64(len(model)))
		check(fmt.Sprintf("step %d", step))
		checkTxns(t, l, txns, lso, step)
	}
	verify(lso)
}

const (
	txnDataBatch = iota
	txnCommit
	txnAbort
)

// txnEvent is a producer batch the model appended.
type txnEvent struct {
	base, pid int64
	kind      int
}

func modelTxnsBelow(evs []txnEvent, leo int64) []txnEvent {
	for len(evs) > 0 && evs[len(evs)-1].base >= leo {
		evs = evs[:len(evs)-1]
	}
	return evs
}

// modelOpenTxns replays the events: each producer's open transaction.
func modelOpenTxns(evs []txnEvent) map[int64]int64 {
	open, _ := modelReplay(evs)
	return open
}

// modelReplay is Kafka's transaction bookkeeping over the events: the open
// transactions and every aborted one with its last stable offset.
func modelReplay(evs []txnEvent) (map[int64]int64, []AbortedTxn) {
	open := map[int64]int64{}
	var aborted []AbortedTxn
	for _, ev := range evs {
		first, isOpen := open[ev.pid]
		switch {
		case ev.kind == txnDataBatch && !isOpen:
			open[ev.pid] = ev.base
		case ev.kind == txnAbort && isOpen:
			delete(open, ev.pid)
			lso := ev.base + 1
			for _, f := range open {
				lso = min(lso, f)
			}
			aborted = append(aborted, AbortedTxn{ProducerID: ev.pid, FirstOffset: first, LastOffset: ev.base, LastStableOffset: lso})
		case ev.kind == txnCommit:
			delete(open, ev.pid)
		}
	}
	return open, aborted
}

// checkTxns compares the log's transaction state with the model's. Once
// segments were deleted (base0 > 0), the log may not know transactions
// that began before its first segment (as Kafka, which rebuilds from the
// log start when no snapshot covers it): such a transaction may show as
// starting at its first batch at or after base0, or, when it has none
// there, not at all. Everything else must match exactly.
func checkTxns(t *testing.T, l *Log, evs []txnEvent, logStart int64, step int) {
	t.Helper()
	open, aborted := modelReplay(evs)
	leo := l.LogEndOffset()
	base0 := l.Segments()[0].BaseOffset()
	// A rebuild that lost a transaction's start (at an earlier first
	// segment, or this one) opens it at a later batch of it: isBatchOf
	// reports whether x is a data batch of the transaction [first, last),
	// hasBatchFrom whether it has one at or after base0.
	isBatchOf := func(pid, x, first, last int64) bool {
		for _, ev := range evs {
			if ev.pid == pid && ev.kind == txnDataBatch && ev.base == x && x >= first && x < last {
				return true
			}
		}
		return false
	}
	hasBatchFrom := func(pid, first, last int64) bool {
		for _, ev := range evs {
			if ev.pid == pid && ev.kind == txnDataBatch && ev.base >= max(first, base0) && ev.base < last {
				return true
			}
		}
		return false
	}
	got := l.AbortedTransactions(logStart, leo+1)
	want := abortedModel(aborted, logStart, leo+1)
	if base0 == 0 {
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: AbortedTransactions(%d, %d) =\n%+v\nwant\n%+v", step, logStart, leo+1, got, want)
		}
	} else {
		byMarker := map[int64]AbortedTxn{}
		for _, a := range got {
			byMarker[a.LastOffset] = a
		}
		for _, w := range want {
			g, ok := byMarker[w.LastOffset]
			delete(byMarker, w.LastOffset)
			switch {
			case ok && g.ProducerID == w.ProducerID && g.FirstOffset == w.FirstOffset:
			case w.FirstOffset < base0 && ok && g.ProducerID == w.ProducerID && isBatchOf(w.ProducerID, g.FirstOffset, w.FirstOffset, w.LastOffset):
			case w.FirstOffset < base0 && !ok && !hasBatchFrom(w.ProducerID, w.FirstOffset, w.LastOffset):
			default:
				t.Fatalf("step %d (first segment %d): aborted %+v, log has %+v (%v); all %+v", step, base0, w, g, ok, got)
			}
		}
		if len(byMarker) > 0 {
			t.Fatalf("step %d: log invented aborted transactions %+v", step, byMarker)
		}
	}
	wantLSO := leo
	for pid := int64(1); pid <= 3; pid++ {
		p := producerByID(l, pid)
		gotFirst := int64(-1)
		if p.ProducerID >= 0 {
			gotFirst = p.TxnStartOffset
		}
		if gotFirst >= 0 {
			wantLSO = min(wantLSO, gotFirst)
		}
		first, ok := open[pid]
		switch {
		case !ok && gotFirst < 0, ok && gotFirst == first:
		case ok && first < base0 && gotFirst >= 0 && isBatchOf(pid, gotFirst, first, leo):
		case ok && first < base0 && gotFirst < 0 && !hasBatchFrom(pid, first, leo):
		default:
			t.Fatalf("step %d (first segment %d): producer %d open at %d, model %d (open %v)", step, base0, pid, gotFirst, first, ok)
		}
	}
	// Never below the log start (Kafka's max(firstUnstable, logStart)).
	wantLSO = max(wantLSO, min(l.LogStartOffset(), leo))
	if got := l.LastStableOffset(leo); got != wantLSO {
		t.Fatalf("step %d: LSO %d, model %d", step, got, wantLSO)
	}
}
