package log

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/engine/vfs/errorfs"
	"github.com/rillmq/rill/internal/logging/logtest"
)

// A crash keeps only synced data: what Flush acknowledged survives, the
// unflushed tail may vanish, and the log reopens consistent.
func TestCrashKeepsFlushedData(t *testing.T) {
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	l := e.open(false, 0, 0)
	appendN(t, l, 0, 250, e.clock.now)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	rp := l.RecoveryPoint()
	appendN(t, l, 250, 50, e.clock.now) // never flushed
	e.fs = mem.CrashClone()
	l2 := e.open(true, rp, 0)
	defer l2.Close(true)
	if l2.LogEndOffset() < 250 {
		t.Fatalf("lost flushed data: LEO %d", l2.LogEndOffset())
	}
	got := readAll(t, l2, 0)
	for i := 0; i < 250; i++ {
		if got[int64(i)] != string(value(i)) {
			t.Fatalf("offset %d: %q", i, got[int64(i)])
		}
	}
	appendN(t, l2, 9000, 3, e.clock.now)
	if got := readAll(t, l2, 0); len(got) != int(l2.LogEndOffset()) {
		t.Fatalf("gap after recovery: %d records, LEO %d", len(got), l2.LogEndOffset())
	}
}

// Flush-on-ack (flush.messages=1): every acknowledged append survives.
func TestSyncOnAckSurvivesCrash(t *testing.T) {
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	e.cfg.FlushMessages = 1
	l := e.open(false, 0, 0)
	appendN(t, l, 0, 123, e.clock.now)
	e.fs = mem.CrashClone()
	l2 := e.open(true, 0, 0)
	defer l2.Close(true)
	if l2.LogEndOffset() != 123 || len(readAll(t, l2, 0)) != 123 {
		t.Fatalf("LEO %d", l2.LogEndOffset())
	}
}

// A torn or corrupted tail is cut at the first bad batch; later segments
// are dropped; indexes are rebuilt. Each cut and each dropped segment is
// logged once.
func TestRecoveryTruncatesCorruption(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		l := e.open(false, 0, 0)
		appendN(t, l, 0, 300, e.clock.now)
		segs := l.Segments()
		l.Close(false)
		victim := segs[len(segs)-3]
		// Flip a byte inside the 5th batch of the victim segment.
		var pos int64
		n := 0
		victim2, err := segment.Open(e.fs, e.dir, victim.BaseOffset(), segment.DefaultConfig, false, false)
		if err != nil {
			t.Fatal(err)
		}
		victim2.ForEachBatch(0, func(p int64, b format.Batch) error {
			if n == 4 {
				pos = p + 70
			}
			n++
			return nil
		})
		victim2.Close(false)
		logPath, idxPath, _ := segment.Paths(e.dir, victim.BaseOffset())
		f, _ := e.fs.OpenFile(logPath, os.O_RDWR, 0)
		b := []byte{0}
		f.ReadAt(b, pos)
		b[0] ^= 0xff
		f.WriteAt(b, pos)
		f.Sync()
		f.Close()
		e.fs.Remove(idxPath) // and lose an index
		var rec *logtest.Recorder
		e.log, rec = logtest.New(t)
		l2 := e.open(true, 0, 0)
		lines := rec.Lines()
		defer l2.Close(true)
		batchStart := pos - 70
		wantLines := []string{
			fmt.Sprintf(`level=WARN msg="recovery cut segment" partition=t-0 segment=%s position=%d dropped_bytes=%d reason="CRC mismatch (`,
				logPath, batchStart, victim.Size()-batchStart),
		}
		for _, s := range segs[len(segs)-2:] {
			p, _, _ := segment.Paths(e.dir, s.BaseOffset())
			wantLines = append(wantLines, fmt.Sprintf(`level=WARN msg="recovery dropped segment and its indexes" partition=t-0 segment=%s bytes=%d reason="segment %d ends at offset %d, short of the next segment's base %d"`,
				p, s.Size(), victim.BaseOffset(), victim.BaseOffset()+4, segs[len(segs)-2].BaseOffset()))
		}
		if len(lines) != len(wantLines) {
			t.Fatalf("logged %q, want %d lines", lines, len(wantLines))
		}
		for i, w := range wantLines {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("line %d:\n got %s\nwant %s…", i, lines[i], w)
			}
		}
		want := victim.BaseOffset() + 4
		if l2.LogEndOffset() != want {
			t.Fatalf("LEO %d, want %d", l2.LogEndOffset(), want)
		}
		if got := readAll(t, l2, 0); len(got) != int(want) {
			t.Fatalf("read %d records", len(got))
		}
		appendN(t, l2, 0, 5, e.clock.now)
		if got := readAll(t, l2, 0); len(got) != int(want)+5 {
			t.Fatalf("after append: %d", len(got))
		}
	})
}

// A write error fails the append and leaves the log as it was.
func TestWriteErrorDoesNotCorrupt(t *testing.T) {
	var fail atomic.Bool
	mem := vfs.NewMemFS()
	efs := &errorfs.FS{Inner: mem, Inject: errorfs.OnOp(errorfs.OpWrite, ".log", &fail), ShortWrites: true}
	e := newEnv(t, efs)
	l := e.open(false, 0, 0)
	defer l.Close(true)
	appendN(t, l, 0, 20, e.clock.now)
	fail.Store(true)
	b := format.SimpleBatch(format.CodecNone, e.clock.now, nil, [][]byte{[]byte("doomed")})
	if _, err := l.Append(b, AppendOptions{AssignOffsets: true}); !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("append under a failing disk: %v", err)
	}
	fail.Store(false)
	if l.LogEndOffset() != 20 {
		t.Fatalf("LEO moved to %d", l.LogEndOffset())
	}
	appendN(t, l, 20, 5, e.clock.now)
	got := readAll(t, l, 0)
	if len(got) != 25 || got[20] != string(value(20)) {
		t.Fatalf("after the failure: %d records, [20]=%q", len(got), got[20])
	}
}

// A failing fsync fails a sync-on-ack append: it is not acknowledged.
func TestSyncErrorFailsAck(t *testing.T) {
	var fail atomic.Bool
	efs := &errorfs.FS{Inner: vfs.NewMemFS(), Inject: errorfs.OnOp(errorfs.OpSync, ".log", &fail)}
	e := newEnv(t, efs)
	e.cfg.FlushMessages = 1
	l := e.open(false, 0, 0)
	defer l.Close(false)
	fail.Store(true)
	b := format.SimpleBatch(format.CodecNone, e.clock.now, nil, [][]byte{[]byte("x")})
	if _, err := l.Append(b, AppendOptions{AssignOffsets: true}); !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("got %v", err)
	}
	if l.RecoveryPoint() != 0 {
		t.Fatal("recovery point advanced past an unsynced write")
	}
}
