package log

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/rillmq/rill/engine/fdcache"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

type fakeClock struct{ now int64 }

func (c *fakeClock) Now() int64 { return c.now }

type env struct {
	t     *testing.T
	fs    vfs.FS
	dir   string
	clock *fakeClock
	cfg   Config
	log   *slog.Logger // Options.Log
	// openFiles > 0 opens the log through a descriptor cache with that
	// cap (package fdcache), as log.open.files.max does.
	openFiles int
}

func newEnv(t *testing.T, fs vfs.FS) *env {
	dir := "/data/t-0"
	if fs == nil {
		fs = vfs.Default
		dir = t.TempDir() + "/t-0"
	}
	cfg := DefaultConfig()
	cfg.SegmentBytes = 4096
	cfg.IndexIntervalBytes = 256
	cfg.SegmentIndexBytes = 1024
	cfg.FileDeleteDelayMs = 0
	return &env{t: t, fs: fs, dir: dir, clock: &fakeClock{now: 1_000_000}, cfg: cfg}
}

func (e *env) open(needsRecovery bool, rp, lso int64) *Log {
	e.t.Helper()
	fs := e.fs
	if e.openFiles > 0 {
		fs = fdcache.New(fs, e.openFiles, func(name string) bool { return strings.HasSuffix(name, format.LogSuffix) })
	}
	l, err := Open(Options{FS: fs, Dir: e.dir, Config: e.cfg, Clock: e.clock.Now,
		NeedsRecovery: needsRecovery, RecoveryPoint: rp, LogStartOffset: lso, Logger: e.log})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func value(i int) []byte { return []byte(fmt.Sprintf("value-%06d-%s", i, "padpadpadpadpadpadpadpad")) }

// appendN appends n single-record batches numbered from first.
func appendN(t *testing.T, l *Log, first, n int, ts int64) {
	t.Helper()
	for i := first; i < first+n; i++ {
		b := format.SimpleBatch(format.CodecNone, ts, [][]byte{[]byte(fmt.Sprintf("k%d", i%7))}, [][]byte{value(i)})
		if _, err := l.Append(b, AppendOptions{AssignOffsets: true}); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll returns offset→value for every record from offset from.
func readAll(t *testing.T, l *Log, from int64) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	off := from
	for off < l.LogEndOffset() {
		r, err := l.Read(off, 1000, -1, true)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if r.Len == 0 {
			break
		}
		buf := make([]byte, r.Len)
		if _, err := r.File.ReadAt(buf, r.Pos); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		progressed := false
		format.Iterate(buf, func(_ int, b format.Batch) error {
			return b.ForEachRecord(func(rec format.Record) error {
				o := b.BaseOffset() + int64(rec.OffsetDelta)
				if o >= off {
					out[o] = string(rec.Value)
				}
				return nil
			})
		})
		for o := range out {
			if o >= off {
				off, progressed = o+1, true
			}
		}
		if !progressed {
			t.Fatalf("no progress at %d", off)
		}
	}
	return out
}

func forEachFS(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("os", func(t *testing.T) { fn(t, newEnv(t, nil)) })
	t.Run("mem", func(t *testing.T) { fn(t, newEnv(t, vfs.NewMemFS())) })
}

func TestAppendReadRollReopen(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		l := e.open(false, 0, 0)
		appendN(t, l, 0, 500, e.clock.now)
		if l.LogEndOffset() != 500 {
			t.Fatalf("LEO %d", l.LogEndOffset())
		}
		if n := len(l.Segments()); n < 5 {
			t.Fatalf("expected rolls, have %d segments", n)
		}
		got := readAll(t, l, 0)
		for i := 0; i < 500; i++ {
			if got[int64(i)] != string(value(i)) {
				t.Fatalf("offset %d: %q", i, got[int64(i)])
			}
		}
		mid := readAll(t, l, 333)
		if len(mid) != 167 || mid[333] != string(value(333)) {
			t.Fatalf("read from middle: %d records", len(mid))
		}
		if err := l.Close(true); err != nil {
			t.Fatal(err)
		}
		l = e.open(false, 0, 0)
		defer l.Close(true)
		if l.LogEndOffset() != 500 {
			t.Fatalf("LEO after reopen %d", l.LogEndOffset())
		}
		appendN(t, l, 500, 10, e.clock.now)
		got = readAll(t, l, 0)
		if len(got) != 510 || got[505] != string(value(505)) {
			t.Fatalf("after reopen: %d records", len(got))
		}
	})
}

func TestReadBounds(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	appendN(t, l, 0, 10, e.clock.now)
	if _, err := l.Read(11, 100, -1, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past LEO: %v", err)
	}
	if r, err := l.Read(10, 100, -1, true); err != nil || r.Len != 0 {
		t.Fatalf("at LEO: %v %d", err, r.Len)
	}
	r, err := l.Read(0, 1, -1, true)
	if err != nil || r.Len < 60 {
		t.Fatalf("minOneBatch must return a whole batch: %v %d", err, r.Len)
	}
	// Bounded by a high watermark of 5: nothing at or past offset 5.
	r, _ = l.Read(3, 1<<20, 5, false)
	buf := make([]byte, r.Len)
	r.File.ReadAt(buf, r.Pos)
	format.Iterate(buf, func(_ int, b format.Batch) error {
		if b.LastOffset() >= 5 {
			t.Fatalf("read past the bound: batch %d", b.BaseOffset())
		}
		return nil
	})
}

func TestTimestampLookup(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	l := e.open(false, 0, 0)
	defer l.Close(true)
	for i := 0; i < 100; i++ {
		appendN(t, l, i, 1, int64(1000+i*10))
	}
	o, ts, ok, err := l.OffsetForTimestamp(1000 + 42*10 - 5)
	if err != nil || !ok || o != 42 || ts != 1420 {
		t.Fatalf("got %d %d %v %v", o, ts, ok, err)
	}
	if _, _, ok, _ := l.OffsetForTimestamp(99999); ok {
		t.Fatal("found a record after every timestamp")
	}
	if ts, off := l.MaxTimestamp(); ts != 1990 || off != 99 {
		t.Fatalf("max timestamp %d at %d", ts, off)
	}
}

func TestTruncateTo(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		l := e.open(false, 0, 0)
		appendN(t, l, 0, 300, e.clock.now)
		if err := l.TruncateTo(123); err != nil {
			t.Fatal(err)
		}
		if l.LogEndOffset() != 123 {
			t.Fatalf("LEO %d", l.LogEndOffset())
		}
		appendN(t, l, 1000, 20, e.clock.now)
		got := readAll(t, l, 0)
		if len(got) != 143 || got[122] != string(value(122)) || got[123] != string(value(1000)) {
			t.Fatalf("after truncate: %d, [123]=%q", len(got), got[123])
		}
		l.Close(true)
		l = e.open(false, 0, 0)
		defer l.Close(true)
		if got := readAll(t, l, 0); len(got) != 143 {
			t.Fatalf("after reopen %d", len(got))
		}
	})
}

func TestRetention(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	e.cfg.RetentionMs = 1000
	l := e.open(false, 0, 0)
	defer l.Close(true)
	appendN(t, l, 0, 200, e.clock.now)
	e.clock.now += 500
	appendN(t, l, 200, 200, e.clock.now)
	e.clock.now += 700 // first 200 are 1200ms old, the rest 700ms
	n, reason, err := l.ApplyRetention(e.clock.now, l.LogEndOffset())
	if err != nil || n == 0 || reason != ReasonTime {
		t.Fatalf("%d %q %v", n, reason, err)
	}
	if lso := l.LogStartOffset(); lso > 200 || lso < 100 {
		t.Fatalf("log start %d", lso)
	}
	if got := readAll(t, l, l.LogStartOffset()); got[399] == "" {
		t.Fatal("retention dropped young data")
	}
	// Size retention.
	cfg := l.Config()
	cfg.RetentionMs, cfg.RetentionBytes = -1, 8192
	l.SetConfig(cfg)
	if _, reason, _ := l.ApplyRetention(e.clock.now, l.LogEndOffset()); reason != ReasonSize {
		t.Fatalf("reason %q", reason)
	}
	if l.Size() > 8192+4096 {
		t.Fatalf("size %d", l.Size())
	}
	// DeleteRecords past a segment boundary drops whole segments.
	lso, err := l.DeleteRecords(395)
	if err != nil || lso != 395 {
		t.Fatalf("delete records: %d %v", lso, err)
	}
	if _, err := l.Read(394, 100, -1, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below LSO: %v", err)
	}
	if got := readAll(t, l, 395); len(got) != 5 {
		t.Fatalf("%d", len(got))
	}
	// Everything expired: the active segment rolls and goes too.
	cfg.RetentionMs = 1
	l.SetConfig(cfg)
	e.clock.now += 10
	l.ApplyRetention(e.clock.now, l.LogEndOffset())
	if l.LogStartOffset() != 400 || l.LogEndOffset() != 400 {
		t.Fatalf("lso %d leo %d", l.LogStartOffset(), l.LogEndOffset())
	}
}

func TestPlanRetention(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RetentionMs, cfg.RetentionBytes = 100, 250
	segs := []SegmentInfo{{0, 10, 100, 10}, {10, 20, 100, 500}, {20, 30, 100, 900}, {30, 35, 50, 950}}
	if n, r := PlanRetention(segs, cfg, 1000, 0, 35); n != 2 || r != ReasonTime {
		t.Fatalf("time: %d %s", n, r)
	}
	if n, _ := PlanRetention(segs, cfg, 1000, 0, 15); n != 1 {
		t.Fatalf("high watermark bound: %d", n)
	}
	cfg.RetentionMs = -1
	if n, r := PlanRetention(segs, cfg, 1000, 0, 35); n != 1 || r != ReasonSize {
		t.Fatalf("size: %d %s", n, r)
	}
	if n, r := PlanRetention(segs, cfg, 1000, 21, 35); n != 2 || r != ReasonLogStart {
		t.Fatalf("log start: %d %s", n, r)
	}
	cfg.CleanupDelete = false
	if n, _ := PlanRetention(segs, cfg, 1000, 0, 35); n != 0 {
		t.Fatalf("compact-only: %d", n)
	}
}

// A retention pass that deletes nothing records when the next one could
// (RetentionDue); an append, a config change or a log start move makes
// the next pass run regardless.
func TestRetentionDeadline(t *testing.T) {
	e := newEnv(t, vfs.NewMemFS())
	e.cfg.RetentionMs = 1000
	l := e.open(false, 0, 0)
	defer l.Close(true)
	if !l.RetentionDue(0) {
		t.Fatal("a new log is not due")
	}
	ts := e.clock.now
	appendN(t, l, 0, 3, ts)
	if n, _, err := l.ApplyRetention(ts+500, l.LogEndOffset()); n != 0 || err != nil {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if l.RetentionDue(ts+1000) || !l.RetentionDue(ts+1001) {
		t.Fatal("deadline is not the newest timestamp plus retention.ms")
	}
	appendN(t, l, 3, 1, ts)
	if !l.RetentionDue(ts + 500) {
		t.Fatal("an append did not reset the deadline")
	}
	l.ApplyRetention(ts+500, l.LogEndOffset())
	cfg := l.Config()
	cfg.RetentionMs = 10
	l.SetConfig(cfg)
	if !l.RetentionDue(ts + 500) {
		t.Fatal("a config change did not reset the deadline")
	}
	if n, reason, err := l.ApplyRetention(ts+500, l.LogEndOffset()); n != 1 || reason != ReasonTime || err != nil {
		t.Fatalf("after shortening retention.ms: %d %q %v", n, reason, err)
	}
}
