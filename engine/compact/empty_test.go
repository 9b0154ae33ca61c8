package compact

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
)

// batchInfo is one batch as the log holds it.
type batchInfo struct {
	base, last int64
	count      int32
	pid        int64
}

func batchesOf(t *testing.T, l *log.Log) []batchInfo {
	t.Helper()
	var out []batchInfo
	for _, s := range l.Segments() {
		if err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			out = append(out, batchInfo{b.BaseOffset(), b.LastOffset(), b.RecordCount(), b.ProducerID()})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// appendKV appends one plain batch of one keyed record and returns its
// offset.
func appendKV(t *testing.T, l *log.Log, ts int64, k, v string) int64 {
	t.Helper()
	r, err := l.Append(format.SimpleBatch(format.CodecNone, ts, [][]byte{[]byte(k)}, [][]byte{[]byte(v)}), log.AppendOptions{AssignOffsets: true})
	if err != nil {
		t.Fatal(err)
	}
	return r.BaseOffset
}

// appendIdempotent appends one batch of an idempotent producer (not
// transactional) and returns its offset.
func appendIdempotent(t *testing.T, l *log.Log, pid int64, seq int32, ts int64, k, v string) int64 {
	t.Helper()
	b, err := format.BuildBatch(format.BatchHeader{BaseTimestamp: ts, MaxTimestamp: ts, ProducerID: pid, BaseSequence: seq},
		[]format.Record{{Key: []byte(k), Value: []byte(v)}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Append(b, log.AppendOptions{AssignOffsets: true})
	if err != nil {
		t.Fatal(err)
	}
	return r.BaseOffset
}

// readAt reads through the log from offset and returns the first batch's
// base offset and record count (-1: nothing).
func readAt(t *testing.T, l *log.Log, offset int64) (int64, int32) {
	t.Helper()
	r, err := l.Read(offset, 1<<20, -1, true)
	if err != nil {
		t.Fatalf("read at %d: %v", offset, err)
	}
	if r.Len == 0 {
		return -1, 0
	}
	buf := make([]byte, r.Len)
	if _, err := r.File.ReadAt(buf, r.Pos); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	b, err := format.Parse(buf)
	if err != nil {
		t.Fatalf("read at %d: %v", offset, err)
	}
	return b.BaseOffset(), b.RecordCount()
}

// TestEmptiedBatchesDeleted is issue 17: with one batch per segment and
// keys overwritten, every batch left with no record goes (Kafka's
// DELETE_EMPTY) instead of staying as an empty batch at each segment's
// end; segments left with no batch stay, empty; the log end and start do
// not move, reads step over the gaps, a crash and a clean reopen keep it
// all, and new appends take new offsets.
func TestEmptiedBatchesDeleted(t *testing.T) {
	mem := vfs.NewMemFS()
	now := int64(10_000_000)
	cfg := txnConfig()
	cfg.SegmentBytes = 100 // one batch per segment
	l := openLog(t, mem, cfg, &now, false, 0)
	defer func() { l.Close(false) }()
	for i := 0; i < 12; i++ {
		appendKV(t, l, now, fmt.Sprintf("k%d", i%3), fmt.Sprintf("v%d", i))
	}
	l.Roll()
	if n := len(l.Segments()); n != 13 {
		t.Fatalf("%d segments, want 13 (one batch each, and the active one)", n)
	}
	leo, lso := l.LogEndOffset(), l.LogStartOffset()
	st := clean(t, l, now)
	if st.RecordsRemoved != 9 {
		t.Fatalf("removed %d records, want 9: %+v", st.RecordsRemoved, st)
	}
	got := batchesOf(t, l)
	want := []batchInfo{{9, 9, 1, -1}, {10, 10, 1, -1}, {11, 11, 1, -1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("batches after cleaning\n got %v\nwant %v (no empty batch)", got, want)
	}
	if len(l.Segments()) != 13 {
		t.Fatalf("%d segments after cleaning, want 13 (emptied ones stay)", len(l.Segments()))
	}
	if l.LogEndOffset() != leo || l.LogStartOffset() != lso {
		t.Fatalf("offsets moved: start %d→%d, end %d→%d", lso, l.LogStartOffset(), leo, l.LogEndOffset())
	}
	// A read inside the gap answers the next batch after it, as Kafka.
	for _, c := range []struct{ at, base int64 }{{0, 9}, {4, 9}, {8, 9}, {9, 9}, {10, 10}, {11, 11}, {12, -1}} {
		if base, _ := readAt(t, l, c.at); base != c.base {
			t.Fatalf("read at %d starts at batch %d, want %d", c.at, base, c.base)
		}
	}
	// Another pass changes nothing.
	if st := clean(t, l, now); st.SegmentsCleaned != 0 {
		t.Fatalf("second pass cleaned %+v", st)
	}
	check := func(what string, l *log.Log) {
		t.Helper()
		if got := batchesOf(t, l); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: batches\n got %v\nwant %v", what, got, want)
		}
		if l.LogEndOffset() != leo || l.LogStartOffset() != lso {
			t.Fatalf("%s: start %d end %d, want %d %d", what, l.LogStartOffset(), l.LogEndOffset(), lso, leo)
		}
		if base, _ := readAt(t, l, 3); base != 9 {
			t.Fatalf("%s: read at 3 starts at %d", what, base)
		}
	}
	// A crash (from the last flush, with the recovery point behind the
	// cleaned segments, so every one is rescanned) keeps them all.
	crashed := mem.CrashClone()
	l2 := openLog(t, crashed, cfg, &now, true, 0)
	check("after a crash", l2)
	if r := appendKV(t, l2, now, "k0", "new"); r != leo {
		t.Fatalf("append after the crash at %d, want the old log end %d", r, leo)
	}
	l2.Close(false)
	l.Close(true)
	l = openLog(t, mem, cfg, &now, false, 0)
	check("after a clean reopen", l)
}

// TestProducerLastBatchKeptEmpty: an idempotent producer's last batch is
// kept, empty, while it is the producer's last (its sequence and epoch
// survive for a rebuild of the producer state from the log, Kafka's
// RETAIN_EMPTY), and goes once the producer has written a later one.
func TestProducerLastBatchKeptEmpty(t *testing.T) {
	mem := vfs.NewMemFS()
	now := int64(10_000_000)
	cfg := txnConfig()
	cfg.SegmentBytes = 150
	l := openLog(t, mem, cfg, &now, false, 0)
	defer func() { l.Close(false) }()
	p0 := appendIdempotent(t, l, 7, 0, now, "a", "p0")
	appendKV(t, l, now, "a", "x1")
	appendKV(t, l, now, "b", "x2")
	l.Roll()
	clean(t, l, now)
	bs := batchesOf(t, l)
	if bs[0] != (batchInfo{p0, p0, 0, 7}) {
		t.Fatalf("producer 7's last batch: got %v, want it kept empty at %d", bs, p0)
	}
	// Reopen after a crash: the producer's sequence is still known, so a
	// retry of its batch is a duplicate.
	l2 := openLog(t, mem.CrashClone(), cfg, &now, true, 0)
	dup, err := format.BuildBatch(format.BatchHeader{BaseTimestamp: now, MaxTimestamp: now, ProducerID: 7, BaseSequence: 0},
		[]format.Record{{Key: []byte("a"), Value: []byte("p0")}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := l2.Append(dup, log.AppendOptions{AssignOffsets: true}); err != nil || !r.Duplicate || r.BaseOffset != p0 {
		t.Fatalf("retry of producer 7's batch after the crash: %+v %v, want a duplicate of %d", r, err, p0)
	}
	l2.Close(false)

	// The producer writes again, and that is overwritten too: the old
	// batch is no longer its last and goes; the new one stays empty.
	p1 := appendIdempotent(t, l, 7, 1, now, "c", "p1")
	appendKV(t, l, now, "c", "x3")
	appendKV(t, l, now, "d", "x4")
	l.Roll()
	clean(t, l, now)
	for _, b := range batchesOf(t, l) {
		switch {
		case b.base == p0:
			t.Fatalf("producer 7's old batch at %d is still there: %v", p0, batchesOf(t, l))
		case b.count == 0 && b.base != p1:
			t.Fatalf("empty batch at %d kept: %v", b.base, batchesOf(t, l))
		}
	}
	if bs := batchesOf(t, l); !containsBatch(bs, batchInfo{p1, p1, 0, 7}) {
		t.Fatalf("producer 7's new last batch at %d not kept empty: %v", p1, bs)
	}
}

func containsBatch(bs []batchInfo, want batchInfo) bool {
	for _, b := range bs {
		if b == want {
			return true
		}
	}
	return false
}

// TestPassLastBatchKeptEmpty: the last batch of a pass is kept even when
// emptied (an expired tombstone), as Kafka since 3.9 (KAFKA-17076); the
// next pass, whose last batch is another, deletes it.
func TestPassLastBatchKeptEmpty(t *testing.T) {
	mem := vfs.NewMemFS()
	now := int64(10_000_000)
	cfg := txnConfig()
	cfg.SegmentBytes = 100
	l := openLog(t, mem, cfg, &now, false, 0)
	defer func() { l.Close(false) }()
	appendKV(t, l, now, "a", "1")
	r, err := l.Append(format.SimpleBatch(format.CodecNone, now, [][]byte{[]byte("a")}, [][]byte{nil}), log.AppendOptions{AssignOffsets: true})
	if err != nil {
		t.Fatal(err)
	}
	tomb := r.BaseOffset
	l.Roll()
	now += 10 * cfg.DeleteRetentionMs
	clean(t, l, now)
	if bs := batchesOf(t, l); fmt.Sprint(bs) != fmt.Sprint([]batchInfo{{tomb, tomb, 0, -1}}) {
		t.Fatalf("after the first pass %v, want only the emptied last batch %d", bs, tomb)
	}
	appendKV(t, l, now, "b", "2")
	l.Roll()
	clean(t, l, now)
	if bs := batchesOf(t, l); fmt.Sprint(bs) != fmt.Sprint([]batchInfo{{tomb + 1, tomb + 1, 1, -1}}) {
		t.Fatalf("after the second pass %v, want only the batch at %d", bs, tomb+1)
	}
}

// TestTruncationLowersCleanedOffset: after a truncation below the cleaned
// offset (log.CleanedFile), new segments there are not the cleaner's, so
// one that loses its tail in a crash is a hole again, and recovery drops
// what follows it rather than serve offsets past it.
func TestTruncationLowersCleanedOffset(t *testing.T) {
	mem := vfs.NewMemFS()
	now := int64(10_000_000)
	cfg := txnConfig()
	cfg.SegmentBytes = 100 // one batch per segment
	l := openLog(t, mem, cfg, &now, false, 0)
	defer func() { l.Close(false) }()
	for i := 0; i < 12; i++ {
		appendKV(t, l, now, fmt.Sprintf("k%d", i%3), fmt.Sprintf("v%d", i))
	}
	l.Roll()
	clean(t, l, now) // cleaned up to offset 12
	if err := l.TruncateTo(9); err != nil {
		t.Fatal(err)
	}
	// New history from 9: three segments of two batches.
	cfg.SegmentBytes = 150
	l.SetConfig(cfg)
	for i := 0; i < 6; i++ {
		appendKV(t, l, now, fmt.Sprintf("n%d", i), "x")
	}
	segs := l.Segments()
	var victim = segs[len(segs)-3]
	if victim.BaseOffset() < 9 || victim.NextOffset() >= 12 {
		t.Fatalf("victim segment %d..%d, want one between 9 and 12", victim.BaseOffset(), victim.NextOffset())
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	// The victim loses its last batch, as an unsynced tail would.
	var lastPos int64
	victim.ForEachBatch(0, func(pos int64, _ format.Batch) error { lastPos = pos; return nil })
	f, release, _ := victim.PinFile()
	if err := f.Truncate(lastPos); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	release(false)
	crashed := mem.CrashClone()
	l2 := openLog(t, crashed, cfg, &now, true, 0)
	defer l2.Close(false)
	if want := victim.NextOffset() - 1; l2.LogEndOffset() != want {
		t.Fatalf("recovered log end %d, want %d: the hole after the victim's lost batch must end the log", l2.LogEndOffset(), want)
	}
}
