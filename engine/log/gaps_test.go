package log

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// gapBatch is a batch of a compacted log with offsets [base, last] and
// timestamp ts, as a follower copies it from its leader.
type gapBatch struct{ base, last, ts int64 }

// gapLog writes batches with gaps between them the way a follower copies
// a compacted leader's log (AssignOffsets false), one or more per segment,
// every batch indexed.
func gapLog(t *testing.T, e *env, batches []gapBatch) *Log {
	t.Helper()
	l := e.open(false, 0, 0)
	for _, gb := range batches {
		n := int(gb.last - gb.base + 1)
		recs := make([]format.Record, n)
		for i := range recs {
			recs[i] = format.Record{OffsetDelta: int32(i), Key: []byte(fmt.Sprintf("k%d", gb.base+int64(i))),
				Value: []byte(fmt.Sprintf("v%d", gb.base+int64(i)))}
		}
		b, err := format.BuildBatch(format.BatchHeader{BaseOffset: gb.base, LastOffsetDelta: int32(n - 1),
			BaseTimestamp: gb.ts, MaxTimestamp: gb.ts, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(b, AppendOptions{}); err != nil {
			t.Fatalf("append at %d: %v", gb.base, err)
		}
	}
	return l
}

// firstBatchAt reads through l at offset below bound (-1: the log end)
// and returns the base offset of the first batch of the range (-1: empty).
func firstBatchAt(t *testing.T, l *Log, offset, bound int64) int64 {
	t.Helper()
	r, err := l.Read(offset, 1<<16, bound, true)
	if err != nil {
		t.Fatalf("read at %d: %v", offset, err)
	}
	if r.Len == 0 {
		return -1
	}
	buf := make([]byte, r.Len)
	if _, err := r.File.ReadAt(buf, r.Pos); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	b, err := format.Parse(buf)
	if err != nil {
		t.Fatalf("read at %d: %v", offset, err)
	}
	return b.BaseOffset()
}

// TestReadsAcrossGaps: in a compacted log with offset gaps (inside
// segments, at their ends, and a segment whose first batch is above its
// base), a read at any offset answers the batch holding it or, in a gap,
// the first batch after it (Kafka: the first batch whose last offset is >=
// the fetch offset); bounds inside gaps, timestamp lookups, a clean
// reopen and a crash keep to that.
func TestReadsAcrossGaps(t *testing.T) {
	batches := []gapBatch{{0, 1, 100}, {5, 5, 200}, {6, 8, 300}, {20, 20, 400}, {40, 42, 500}, {43, 43, 600}, {90, 91, 700}, {120, 120, 800}}
	forEachFS(t, func(t *testing.T, e *env) {
		e.cfg.CleanupCompact, e.cfg.CleanupDelete = true, false
		e.cfg.SegmentBytes = 200 // about two batches a segment
		e.cfg.IndexIntervalBytes = 1
		l := gapLog(t, e, batches)
		leo := l.LogEndOffset()
		if leo != 121 {
			t.Fatalf("log end %d, want 121", leo)
		}
		if len(l.Segments()) < 3 {
			t.Fatalf("%d segments, want several", len(l.Segments()))
		}
		// want: the base of the first batch whose last offset is >= o.
		want := func(o, bound int64) int64 {
			for _, b := range batches {
				if b.last >= o {
					if bound >= 0 && b.base >= bound {
						return -1
					}
					return b.base
				}
			}
			return -1
		}
		checkReads := func(what string, l *Log) {
			t.Helper()
			for o := int64(0); o <= leo; o++ {
				if got := firstBatchAt(t, l, o, -1); got != want(o, -1) {
					t.Fatalf("%s: read at %d starts at batch %d, want %d", what, o, got, want(o, -1))
				}
			}
			// A bound (high watermark) inside a gap.
			for _, c := range []struct{ at, bound int64 }{{2, 10}, {9, 30}, {21, 40}, {10, 15}, {44, 100}} {
				if got := firstBatchAt(t, l, c.at, c.bound); got != want(c.at, c.bound) {
					t.Fatalf("%s: read at %d below %d starts at %d, want %d", what, c.at, c.bound, got, want(c.at, c.bound))
				}
			}
			for _, c := range []struct{ ts, off int64 }{{50, 0}, {150, 5}, {350, 20}, {650, 90}, {800, 120}} {
				o, _, ok, err := l.OffsetForTimestamp(c.ts)
				if err != nil || !ok || o != c.off {
					t.Fatalf("%s: offset for timestamp %d: %d %v %v, want %d", what, c.ts, o, ok, err, c.off)
				}
			}
			if _, _, ok, _ := l.OffsetForTimestamp(900); ok {
				t.Fatalf("%s: a record at or after timestamp 900", what)
			}
		}
		checkReads("written", l)
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		rp := l.RecoveryPoint()
		l.Close(true)
		l = e.open(false, 0, 0)
		checkReads("reopened", l)
		if l.LogEndOffset() != leo {
			t.Fatalf("reopened log end %d, want %d", l.LogEndOffset(), leo)
		}
		l.Close(false)
		// After a crash, with the recovery point at the log end (the
		// segments are trusted) and at 0 (every segment rescanned: the
		// gaps are inside segments, so recovery keeps them all).
		for _, from := range []int64{rp, 0} {
			if mem, ok := e.fs.(*vfs.MemFS); ok {
				e.fs = mem.CrashClone()
			}
			l = e.open(true, from, 0)
			checkReads(fmt.Sprintf("recovered from %d", from), l)
			if l.LogEndOffset() != leo {
				t.Fatalf("recovered from %d: log end %d, want %d", from, l.LogEndOffset(), leo)
			}
			l.Close(false)
		}
	})
}

// TestHoleAboveCleanedOffsetDropped: in a compacted log, recovery still
// takes a segment that ends short of the next one, outside what the
// cleaner rewrote (cleaned.go), for one that lost its unsynced tail in a
// crash, and drops what follows rather than serve offsets past the hole.
func TestHoleAboveCleanedOffsetDropped(t *testing.T) {
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	e.cfg.CleanupCompact, e.cfg.CleanupDelete = true, false
	l := e.open(false, 0, 0)
	appendN(t, l, 0, 10, e.clock.now)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	segs := l.Segments()
	first := segs[0]
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 10, 5, e.clock.now)
	// Cut the first segment's last batch off the file, as a crash that
	// lost an unsynced tail would (by hand: it was synced here).
	var lastPos int64
	first.ForEachBatch(0, func(pos int64, _ format.Batch) error { lastPos = pos; return nil })
	f, release, _ := first.PinFile()
	defer release(false)
	if err := f.Truncate(lastPos); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	e.fs = mem.CrashClone()
	l.Close(false)
	l = e.open(true, 0, 0)
	defer l.Close(false)
	if l.LogEndOffset() != 9 || len(l.Segments()) != 1 {
		t.Fatalf("log end %d with %d segments; want the hole's start, 9, and the segments after it dropped",
			l.LogEndOffset(), len(l.Segments()))
	}
}

// TestOnOlderSegment: Kafka's DelayedFetch "Case F" test.
func TestOnOlderSegment(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	e.cfg.CleanupCompact, e.cfg.CleanupDelete = true, false
	e.cfg.SegmentBytes = 200
	l := gapLog(t, e, []gapBatch{{0, 1, 100}, {5, 5, 200}, {6, 8, 300}, {20, 20, 400}})
	defer l.Close(false)
	segs := l.Segments()
	if len(segs) < 2 {
		t.Fatalf("%d segments", len(segs))
	}
	last := segs[len(segs)-1].BaseOffset()
	for _, c := range []struct {
		offset, end int64
		want        bool
	}{
		{0, l.LogEndOffset(), true},
		{last, l.LogEndOffset(), false},
		{last - 1, last, true},
		{last - 1, last - 1, false},
		{l.LogEndOffset(), l.LogEndOffset(), false},
		{0, 1, false},
	} {
		if got := l.OnOlderSegment(c.offset, c.end); got != c.want {
			t.Fatalf("OnOlderSegment(%d, %d) = %v, want %v (segments from %d)", c.offset, c.end, got, c.want, last)
		}
	}
}
