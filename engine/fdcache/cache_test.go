package fdcache

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/engine/vfs/errorfs"
)

func isLog(name string) bool { return strings.HasSuffix(name, ".log") }

func create(t *testing.T, fs vfs.FS, name string) vfs.File {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// Many files, a small cap: every file stays readable and writable, the
// process never holds more than the cap (plus what is pinned), and
// uncovered files are not cached.
func TestCapBoundsDescriptors(t *testing.T) {
	dir := t.TempDir()
	const files, limit = 300, 16
	fs := New(vfs.Default, limit, isLog)
	fds0 := openFDs(t)
	var hs []vfs.File
	for i := range files {
		f := create(t, fs, filepath.Join(dir, fmt.Sprintf("%d.log", i)))
		if _, err := f.WriteAt([]byte(fmt.Sprintf("file %d", i)), 0); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, f)
		if d := openFDs(t) - fds0; d > limit {
			t.Fatalf("after %d files %d descriptors are open, cap %d", i+1, d, limit)
		}
	}
	for round := range 2 {
		for i, f := range hs {
			buf := make([]byte, 32)
			n, _ := f.ReadAt(buf, 0)
			if got, want := string(buf[:n]), fmt.Sprintf("file %d", i); got != want {
				t.Fatalf("round %d: file %d reads %q, want %q", round, i, got, want)
			}
		}
	}
	st := fs.Stats()
	if st.Open > limit || st.Evictions == 0 || st.Reopens == 0 {
		t.Fatalf("stats %+v: want open <= %d and evictions and reopens", st, limit)
	}
	if d := openFDs(t) - fds0; d > limit {
		t.Fatalf("%d descriptors open, cap %d", d, limit)
	}
	other := create(t, fs, filepath.Join(dir, "x.index"))
	if _, ok := other.(*Handle); ok {
		t.Fatal("an uncovered file came back as a handle")
	}
	other.Close()
	for _, f := range hs {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if d := openFDs(t) - fds0; d > 0 {
		t.Fatalf("%d descriptors left open after closing every file", d)
	}
	if st := fs.Stats(); st.Open != 0 {
		t.Fatalf("cache counts %d open after closing every file", st.Open)
	}
}

// An evicted file with unsynced writes was synced first: a crash (MemFS
// keeps only synced data) loses nothing of it. A file never evicted keeps
// the usual rule (unsynced data may go).
func TestEvictionSyncsUnsyncedWrites(t *testing.T) {
	mem := vfs.NewMemFS()
	fs := New(mem, 1, isLog)
	a := create(t, fs, "/a.log")
	if _, err := a.WriteAt([]byte("acknowledged"), 0); err != nil {
		t.Fatal(err)
	}
	b := create(t, fs, "/b.log") // evicts a
	if err := fs.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteAt([]byte("unsynced"), 0); err != nil {
		t.Fatal(err)
	}
	if st := fs.Stats(); st.Evictions != 1 {
		t.Fatalf("stats %+v, want 1 eviction", st)
	}
	crashed := mem.CrashClone()
	got, err := vfs.ReadFile(crashed, "/a.log")
	if err != nil || string(got) != "acknowledged" {
		t.Fatalf("evicted file after crash: %q, %v", got, err)
	}
	if got, _ := vfs.ReadFile(crashed, "/b.log"); len(got) != 0 {
		t.Fatalf("open, unsynced file after crash holds %q: the test's crash model is off", got)
	}
}

// A pinned descriptor is never closed: the cache closes others instead,
// or exceeds the cap while nothing else can go.
func TestPinnedNotEvicted(t *testing.T) {
	dir := t.TempDir()
	fs := New(vfs.Default, 1, isLog)
	a := create(t, fs, filepath.Join(dir, "a.log")).(*Handle)
	a.WriteAt([]byte("x"), 0)
	p, err := a.Pin()
	if err != nil {
		t.Fatal(err)
	}
	fd := p.(vfs.FdFile).Fd()
	b := create(t, fs, filepath.Join(dir, "b.log"))
	b.WriteAt([]byte("y"), 0)
	if st := fs.Stats(); st.Open != 1 || a.file == nil {
		t.Fatalf("stats %+v, a open %v: want b evicted, a kept", st, a.file != nil)
	}
	buf := make([]byte, 1)
	if _, err := p.ReadAt(buf, 0); err != nil || buf[0] != 'x' {
		t.Fatalf("pinned read %q, %v", buf, err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/self/fd/%d", fd)); err != nil {
		t.Fatalf("pinned descriptor closed: %v", err)
	}
	p.(*PinnedFd).Release()
	if _, err := b.ReadAt(buf, 0); err != nil || buf[0] != 'y' {
		t.Fatalf("b reads %q, %v", buf, err)
	}
	if st := fs.Stats(); st.Open != 1 || a.file != nil {
		t.Fatalf("stats %+v, a open %v after release: want a evicted for b", st, a.file != nil)
	}
}

// A renamed file (a segment marked deleted) reopens under its new name.
func TestRenameFollowsHandle(t *testing.T) {
	dir := t.TempDir()
	fs := New(vfs.Default, 1, isLog)
	a := create(t, fs, filepath.Join(dir, "a.log"))
	a.WriteAt([]byte("data"), 0)
	if err := fs.Rename(filepath.Join(dir, "a.log"), filepath.Join(dir, "a.log.deleted")); err != nil {
		t.Fatal(err)
	}
	create(t, fs, filepath.Join(dir, "b.log")) // evicts a
	buf := make([]byte, 4)
	if _, err := a.ReadAt(buf, 0); err != nil || string(buf) != "data" {
		t.Fatalf("renamed handle reads %q, %v", buf, err)
	}
	if !strings.HasSuffix(a.Name(), ".deleted") {
		t.Fatalf("name %q does not follow the rename", a.Name())
	}
}

// A failed sync at eviction keeps the descriptor and makes the error
// sticky: every later Sync and Pin reports it.
func TestEvictionSyncFailureIsSticky(t *testing.T) {
	var fail atomic.Bool
	efs := &errorfs.FS{Inner: vfs.NewMemFS(), Inject: errorfs.OnOp(errorfs.OpSync, "a.log", &fail)}
	fs := New(efs, 1, isLog)
	a := create(t, fs, "/a.log").(*Handle)
	a.WriteAt([]byte("x"), 0)
	fail.Store(true)
	create(t, fs, "/b.log") // tries to evict a
	fail.Store(false)
	if err := a.Sync(); err == nil {
		t.Fatal("Sync after a failed eviction sync succeeded")
	}
	if _, err := a.Pin(); err == nil {
		t.Fatal("Pin after a failed eviction sync succeeded")
	}
	if st := fs.Stats(); st.Open != 2 {
		t.Fatalf("open %d, want 2: a's descriptor must stay", st.Open)
	}
}

// Concurrent readers and writers over more files than the cap (run with
// -race): every read sees what was written.
func TestConcurrentAccess(t *testing.T) {
	dir := t.TempDir()
	fs := New(vfs.Default, 4, isLog)
	const files = 32
	hs := make([]vfs.File, files)
	for i := range hs {
		hs[i] = create(t, fs, filepath.Join(dir, fmt.Sprintf("%d.log", i)))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				i := (g*7 + n) % files
				want := []byte{byte(i)}
				if _, err := hs[i].WriteAt(want, int64(g)); err != nil {
					t.Error(err)
					return
				}
				got := make([]byte, 1)
				if _, err := hs[i].ReadAt(got, int64(g)); err != nil || got[0] != want[0] {
					t.Errorf("file %d: read %v, %v", i, got, err)
					return
				}
				if n%50 == 0 {
					if err := hs[i].Sync(); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if st := fs.Stats(); st.Open > 4 {
		t.Fatalf("open %d after all calls returned, cap 4", st.Open)
	}
}

// Unsynced tracks what no sync covered: a file opened here counts as
// unsynced until its first sync (it may hold a crash's page cache); a
// sync through a pinned descriptor counts once the caller marks it.
func TestUnsyncedTracking(t *testing.T) {
	fs := New(vfs.NewMemFS(), 4, isLog)
	a := create(t, fs, "/a.log").(*Handle)
	if !a.Unsynced() {
		t.Fatal("a freshly opened file counts as synced")
	}
	if err := a.Sync(); err != nil || a.Unsynced() {
		t.Fatalf("after Sync: err %v, unsynced %v", err, a.Unsynced())
	}
	a.WriteAt([]byte("x"), 0)
	if !a.Unsynced() {
		t.Fatal("a write left the file synced")
	}
	p, err := a.Pin()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.(*Pinned).file.Sync(); err != nil { // as the group committer does, by descriptor
		t.Fatal(err)
	}
	if !a.Unsynced() {
		t.Fatal("a sync the handle was not told about counted")
	}
	p.(*Pinned).MarkSynced()
	p.(*Pinned).Release()
	if a.Unsynced() {
		t.Fatal("MarkSynced did not count")
	}
	b := create(t, fs, "/b.log").(*Handle)
	b.AssumeSynced() // as a segment opened after a clean shutdown
	if b.Unsynced() {
		t.Fatal("AssumeSynced did not count")
	}
}

// A file renamed over (the cleaner swapping a cleaned segment in) or
// removed while its handle is open: the handle keeps reading the file it
// had, even under eviction pressure, never the new one of the same name.
func TestReplacedFileKeepsItsHandle(t *testing.T) {
	for _, op := range []string{"rename-over", "remove"} {
		t.Run(op, func(t *testing.T) {
			dir := t.TempDir()
			fs := New(vfs.Default, 1, isLog)
			name := filepath.Join(dir, "a.log")
			old := create(t, fs, name)
			old.WriteAt([]byte("old"), 0)
			create(t, fs, filepath.Join(dir, "b.log")) // evicts old
			switch op {
			case "rename-over":
				tmp := filepath.Join(dir, "cleaned.tmp")
				if err := os.WriteFile(tmp, []byte("new"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := fs.Rename(tmp, name); err != nil {
					t.Fatal(err)
				}
			case "remove":
				if err := fs.Remove(name); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 5 { // pressure: open others
				create(t, fs, filepath.Join(dir, fmt.Sprintf("x%d.log", i)))
			}
			buf := make([]byte, 3)
			if _, err := old.ReadAt(buf, 0); err != nil || string(buf) != "old" {
				t.Fatalf("replaced handle reads %q, %v; want the old file", buf, err)
			}
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A write still in progress when a sync runs is not counted as synced by
// it: the sync may have run before the bytes reached the page cache, so
// the file must still be unsynced when the write returns, and the
// writer's own flush must sync it. (Counting a write before it landed let
// a concurrent flush mark it durable and the writer's flush skip the
// file.)
func TestWriteInProgressIsNotSyncedByAConcurrentSync(t *testing.T) {
	entered, proceed := make(chan struct{}), make(chan struct{})
	var hold atomic.Bool
	efs := &errorfs.FS{Inner: vfs.NewMemFS(), Inject: func(op errorfs.Op, path string) error {
		if op == errorfs.OpWrite && strings.HasSuffix(path, "a.log") && hold.Load() {
			close(entered)
			<-proceed // the write has not reached the file yet
		}
		return nil
	}}
	fs := New(efs, 4, isLog)
	a := create(t, fs, "/a.log").(*Handle)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, pinned := range []bool{false, true} {
		hold.Store(true)
		done := make(chan error, 1)
		go func() {
			_, err := a.WriteAt([]byte("x"), 0)
			done <- err
		}()
		<-entered
		hold.Store(false)
		// A flush running now, through the handle or the group
		// committer's pin, covers only the writes that have landed.
		if pinned {
			p, err := a.Pin()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.(*Pinned).file.Sync(); err != nil {
				t.Fatal(err)
			}
			p.(*Pinned).MarkSynced()
			p.(*Pinned).Release()
		} else if err := a.Sync(); err != nil {
			t.Fatal(err)
		}
		close(proceed)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !a.Unsynced() {
			t.Fatalf("pinned %v: a write that landed after a concurrent sync counts as synced", pinned)
		}
		if err := a.Sync(); err != nil || a.Unsynced() {
			t.Fatalf("pinned %v: the writer's own sync: err %v, unsynced %v", pinned, err, a.Unsynced())
		}
		entered, proceed = make(chan struct{}), make(chan struct{})
	}
}
