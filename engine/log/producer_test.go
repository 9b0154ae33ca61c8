package log

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

func idemBatch(pid int64, epoch int16, seq int32, n int) []byte {
	recs := make([]format.Record, n)
	for i := range recs {
		recs[i] = format.Record{OffsetDelta: int32(i), Value: []byte("v")}
	}
	b, _ := format.BuildBatch(format.BatchHeader{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, BaseTimestamp: 1, MaxTimestamp: 1}, recs)
	return b
}

func TestIdempotentProducer(t *testing.T) {
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	l := e.open(false, 0, 0)
	app := func(pid int64, epoch int16, seq int32, n int) (AppendResult, error) {
		return l.Append(idemBatch(pid, epoch, seq, n), AppendOptions{AssignOffsets: true})
	}
	if r, err := app(7, 0, 0, 3); err != nil || r.BaseOffset != 0 {
		t.Fatal(r, err)
	}
	if r, err := app(7, 0, 3, 2); err != nil || r.BaseOffset != 3 {
		t.Fatal(r, err)
	}
	// A retry of the first batch: same offsets, nothing written.
	if r, err := app(7, 0, 0, 3); err != nil || !r.Duplicate || r.BaseOffset != 0 || l.LogEndOffset() != 5 {
		t.Fatalf("retry: %+v %v LEO %d", r, err, l.LogEndOffset())
	}
	if _, err := app(7, 0, 9, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap: %v", err)
	}
	// A new epoch must restart at 0; the old epoch is fenced after it.
	if _, err := app(7, 1, 5, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("bump without reset: %v", err)
	}
	if _, err := app(7, 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := app(7, 0, 5, 1); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old epoch: %v", err)
	}
	// Another producer is independent; an unknown one may start anywhere.
	if _, err := app(8, 0, 100, 1); err != nil {
		t.Fatal(err)
	}
	// State survives a clean reopen (snapshot) and a crash (rebuilt by scan).
	l.Close(true)
	l = e.open(false, 0, 0)
	if r, err := app(7, 1, 0, 1); err != nil || !r.Duplicate {
		t.Fatalf("after clean reopen: %+v %v", r, err)
	}
	l.Flush()
	e.fs = mem.CrashClone()
	l = e.open(true, 0, 0)
	defer l.Close(true)
	if r, err := app(8, 0, 100, 1); err != nil || !r.Duplicate {
		t.Fatalf("after crash: %+v %v", r, err)
	}
	if _, err := app(8, 0, 102, 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("after crash, gap: %v", err)
	}
	// Truncation forgets batches it removed.
	leo := l.LogEndOffset()
	if err := l.TruncateTo(leo - 1); err != nil {
		t.Fatal(err)
	}
	if r, err := app(8, 0, 100, 1); err != nil || r.Duplicate {
		t.Fatalf("after truncating producer 8's batch: %+v %v", r, err)
	}
}

// renameCountFS counts atomic file writes (their final rename) by name.
type renameCountFS struct {
	vfs.FS
	mu      sync.Mutex
	renamed map[string]int
}

func (f *renameCountFS) Rename(oldname, newname string) error {
	f.mu.Lock()
	f.renamed[filepath.Base(newname)]++
	f.mu.Unlock()
	return f.FS.Rename(oldname, newname)
}

// A clean close writes the producer snapshot only when the state changed
// since the last one: closing twice without an append between rewrites
// nothing, and neither does a close right after a roll's snapshot.
func TestCleanCloseSkipsUnchangedSnapshot(t *testing.T) {
	fs := &renameCountFS{FS: vfs.NewMemFS(), renamed: map[string]int{}}
	e := newEnv(t, fs)
	l := e.open(false, 0, 0)
	if _, err := l.Append(idemBatch(7, 0, 0, 3), AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatal(err)
	}
	snap := format.FileName(3, snapshotSuffix)
	l.Close(true)
	if n := fs.renamed[snap]; n != 1 {
		t.Fatalf("first clean close wrote %s %d times, want 1", snap, n)
	}
	for i := 0; i < 2; i++ {
		l = e.open(false, 0, 0)
		l.Close(true)
	}
	if n := fs.renamed[snap]; n != 1 {
		t.Fatalf("clean closes without appends rewrote %s: %d writes", snap, n)
	}
	// The state still comes back.
	l = e.open(false, 0, 0)
	if r, err := l.Append(idemBatch(7, 0, 0, 3), AppendOptions{AssignOffsets: true}); err != nil || !r.Duplicate {
		t.Fatalf("after reopening: %+v %v", r, err)
	}
	// A roll writes the snapshot at the new base; the close then has
	// nothing to add.
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	l.Close(true)
	if n := fs.renamed[snap]; n != 2 {
		t.Fatalf("roll then close wrote %s %d times, want 1 more", snap, n-1)
	}
	// An append changes the state: the next close writes again.
	l = e.open(false, 0, 0)
	if _, err := l.Append(idemBatch(7, 0, 3, 1), AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatal(err)
	}
	l.Close(true)
	if n := fs.renamed[format.FileName(4, snapshotSuffix)]; n != 1 {
		t.Fatalf("close after an append wrote the snapshot %d times", n)
	}
}
