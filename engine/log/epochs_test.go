package log

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

func appendEpoch(t *testing.T, l *Log, epoch int32, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		b := format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte("v")})
		if _, err := l.Append(b, AppendOptions{AssignOffsets: true, LeaderEpoch: epoch}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLeaderEpochCache(t *testing.T) {
	forEachFS(t, func(t *testing.T, e *env) {
		l := e.open(false, 0, 0)
		appendEpoch(t, l, 0, 2)
		appendEpoch(t, l, 3, 2)
		appendEpoch(t, l, 5, 1)
		want := "[{0 0} {3 2} {5 4}]"
		if got := fmt.Sprint(l.LeaderEpochs()); got != want {
			t.Fatalf("epochs %s, want %s", got, want)
		}
		for _, tc := range []struct {
			ask, epoch int32
			end        int64
		}{{-1, -1, -1}, {0, 0, 2}, {2, 0, 2}, {3, 3, 4}, {4, 3, 4}, {5, 5, 5}, {9, 5, 5}} {
			if ep, end := l.EndOffsetForEpoch(tc.ask); ep != tc.epoch || end != tc.end {
				t.Fatalf("EndOffsetForEpoch(%d) = %d, %d; want %d, %d", tc.ask, ep, end, tc.epoch, tc.end)
			}
		}
		// A follower copies batches with their epochs and offsets.
		b := format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte("w")})
		format.Batch(b).SetBaseOffset(5)
		format.Batch(b).SetLeaderEpoch(7)
		if _, err := l.Append(b, AppendOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(l.LeaderEpochs()); got != "[{0 0} {3 2} {5 4} {7 5}]" {
			t.Fatalf("after a replicated batch: %s", got)
		}
		// Truncation cuts the epochs that start at or after the new end.
		if err := l.TruncateTo(3); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(l.LeaderEpochs()); got != "[{0 0} {3 2}]" {
			t.Fatalf("after truncating to 3: %s", got)
		}
		l.Close(true)
		l = e.open(false, 0, 0)
		if got := fmt.Sprint(l.LeaderEpochs()); got != "[{0 0} {3 2}]" {
			t.Fatalf("after reopening: %s", got)
		}
		l.Close(true)
		// Without the file, the epochs come back from the batches.
		if err := e.fs.Remove(filepath.Join(e.dir, EpochCheckpointFile)); err != nil {
			t.Fatal(err)
		}
		l = e.open(true, 0, 0)
		if got := fmt.Sprint(l.LeaderEpochs()); got != "[{0 0} {3 2}]" {
			t.Fatalf("rebuilt from batches: %s", got)
		}
		l.Close(true)
	})
}

// After a crash the epochs never name offsets the recovered log lacks.
func TestLeaderEpochsAfterCrash(t *testing.T) {
	fs := vfs.NewMemFS()
	e := newEnv(t, fs)
	l := e.open(false, 0, 0)
	appendEpoch(t, l, 1, 3)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	appendEpoch(t, l, 4, 3) // not flushed: lost in the crash, though its epoch was checkpointed
	crashed := fs.CrashClone()
	e2 := *e
	e2.fs = crashed
	l2 := e2.open(true, 3, 0)
	if leo := l2.LogEndOffset(); leo != 3 {
		t.Fatalf("recovered log end %d", leo)
	}
	if got := fmt.Sprint(l2.LeaderEpochs()); got != "[{1 0}]" {
		t.Fatalf("epochs after the crash: %s", got)
	}
	if ep, end := l2.EndOffsetForEpoch(4); ep != 1 || end != 3 {
		t.Fatalf("EndOffsetForEpoch(4) after the crash = %d, %d", ep, end)
	}
}

// readEpochFile decodes the leader epoch checkpoint on fs (nil when absent).
func readEpochFile(t *testing.T, fs vfs.FS, dir string) []EpochEntry {
	t.Helper()
	path := filepath.Join(dir, EpochCheckpointFile)
	if !vfs.Exists(fs, path) {
		return nil
	}
	data, err := vfs.ReadFile(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := decodeEpochs(data)
	if err != nil {
		t.Fatal(err)
	}
	return c.Entries()
}

// Appending a batch that opens an epoch writes no file (KAFKA-15046): the
// epoch is in the cache, and a crash before any flush loses nothing the
// batches themselves keep. Here the batches reach the disk without a
// flush (the kernel wrote the pages back) and recovery finds the epochs
// the checkpoint lacks in them.
func TestLeaderEpochsAfterCrashBeforeFlush(t *testing.T) {
	for _, flushFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("flushed-epoch-0=%v", flushFirst), func(t *testing.T) {
			fs := vfs.NewMemFS()
			e := newEnv(t, fs)
			l := e.open(false, 0, 0)
			appendEpoch(t, l, 0, 2)
			if !flushFirst {
				if vfs.Exists(fs, filepath.Join(e.dir, EpochCheckpointFile)) {
					t.Fatal("the first append wrote the leader epoch checkpoint")
				}
			} else if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			rp := l.RecoveryPoint()
			appendEpoch(t, l, 3, 2)
			for _, s := range l.Segments() {
				if err := s.File().Sync(); err != nil { // write-back, not a Flush
					t.Fatal(err)
				}
			}
			if got := readEpochFile(t, fs, e.dir); len(got) > 1 {
				t.Fatalf("an append wrote the checkpoint: %v", got)
			}
			e2 := *e
			e2.fs = fs.CrashClone()
			l2 := e2.open(true, rp, 0)
			defer l2.Close(true)
			if leo := l2.LogEndOffset(); leo != 4 {
				t.Fatalf("recovered log end %d, want 4", leo)
			}
			if got := fmt.Sprint(l2.LeaderEpochs()); got != "[{0 0} {3 2}]" {
				t.Fatalf("epochs after the crash: %s", got)
			}
			for _, tc := range []struct {
				ask, epoch int32
				end        int64
			}{{0, 0, 2}, {2, 0, 2}, {3, 3, 4}, {7, 3, 4}} {
				if ep, end := l2.EndOffsetForEpoch(tc.ask); ep != tc.epoch || end != tc.end {
					t.Fatalf("EndOffsetForEpoch(%d) = %d, %d; want %d, %d", tc.ask, ep, end, tc.epoch, tc.end)
				}
			}
			// Recovery's flush made what it found durable.
			if got := fmt.Sprint(readEpochFile(t, e2.fs, e.dir)); got != "[{0 0} {3 2}]" {
				t.Fatalf("checkpoint after recovery: %s", got)
			}
		})
	}
}

// The checkpoint on disk covers every batch below the recovery point:
// Flush writes it (durably) before the recovery point moves, so a crash
// right after a flush finds it complete.
func TestFlushPersistsLeaderEpochs(t *testing.T) {
	fs := vfs.NewMemFS()
	e := newEnv(t, fs)
	l := e.open(false, 0, 0)
	appendEpoch(t, l, 0, 2)
	appendEpoch(t, l, 3, 2)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	crashed := fs.CrashClone()
	if got := fmt.Sprint(readEpochFile(t, crashed, e.dir)); got != "[{0 0} {3 2}]" {
		t.Fatalf("checkpoint after a flush to %d: %s", l.RecoveryPoint(), got)
	}
	appendEpoch(t, l, 5, 1)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	e2 := *e
	e2.fs = fs.CrashClone()
	if got := fmt.Sprint(readEpochFile(t, e2.fs, e.dir)); got != "[{0 0} {3 2} {5 4}]" {
		t.Fatalf("checkpoint after the second flush: %s", got)
	}
	l2 := e2.open(true, l.RecoveryPoint(), 0)
	defer l2.Close(true)
	if got := fmt.Sprint(l2.LeaderEpochs()); got != "[{0 0} {3 2} {5 4}]" {
		t.Fatalf("epochs after the crash: %s", got)
	}
	if ep, end := l2.EndOffsetForEpoch(4); ep != 3 || end != 4 {
		t.Fatalf("EndOffsetForEpoch(4) = %d, %d", ep, end)
	}
	l.Close(false)
}

// A clean open reads the checkpoint only on first use: an append that
// opens a new epoch, a truncation or a query each load it first.
func TestLeaderEpochsLoadedOnFirstUse(t *testing.T) {
	for _, first := range []string{"append", "truncate", "query"} {
		t.Run(first, func(t *testing.T) {
			e := newEnv(t, vfs.NewMemFS())
			l := e.open(false, 0, 0)
			appendEpoch(t, l, 1, 2)
			appendEpoch(t, l, 2, 2)
			l.Close(true)
			l = e.open(false, 0, 0)
			defer l.Close(true)
			want := "[{1 0} {2 2}]"
			switch first {
			case "append":
				appendEpoch(t, l, 4, 1)
				want = "[{1 0} {2 2} {4 4}]"
			case "truncate":
				if err := l.TruncateTo(3); err != nil {
					t.Fatal(err)
				}
			}
			if got := fmt.Sprint(l.LeaderEpochs()); got != want {
				t.Fatalf("epochs %s, want %s", got, want)
			}
			if ep, end := l.EndOffsetForEpoch(1); ep != 1 || end != 2 {
				t.Fatalf("EndOffsetForEpoch(1) = %d, %d", ep, end)
			}
		})
	}
}
