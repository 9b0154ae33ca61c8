package index

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// mappedUnder counts this process's mappings of files under dir.
func mappedUnder(t testing.TB, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), dir+"/") {
			n++
		}
	}
	return n
}

// posOf is the position the tests index offset o at.
func posOf(o int64) int32 { return int32(o * 10) }

func openCached(t *testing.T, fsys vfs.FS, dir string, i int, maxBytes int) *OffsetIndex {
	t.Helper()
	x, err := OpenOffsetIndexAt(fsys, filepath.Join(dir, fmt.Sprintf("%d.index", i)), 0, maxBytes, false)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// More mapped indexes than the cap: the least recently used are unmapped,
// lookups map them again and answer as before, appends and truncations
// after an eviction land in the file, and a trimmed close of an evicted
// index shrinks its file.
func TestCacheEvictsAndMapsAgain(t *testing.T) {
	dir := t.TempDir()
	c := NewCache(2)
	fsys := WithCache(vfs.Default, c)
	const n, maxBytes = 10, 8 * 1000
	var xs []*OffsetIndex
	for i := range n {
		x := openCached(t, fsys, dir, i, maxBytes)
		for o := int64(1); o <= 20; o++ {
			if err := x.Append(o*10, posOf(o*10)); err != nil {
				t.Fatal(err)
			}
		}
		xs = append(xs, x)
		if m := mappedUnder(t, dir); m > 2 {
			t.Fatalf("%d indexes open: %d mapped, want at most 2", i+1, m)
		}
	}
	if st := c.Stats(); st.Mapped > 2 || st.Evictions < n-2 {
		t.Fatalf("stats %+v: want at most 2 mapped and %d evictions", st, n-2)
	}
	for round := range 2 {
		for i, x := range xs {
			if off, pos := x.Lookup(155); off != 150 || pos != posOf(150) {
				t.Fatalf("round %d index %d: lookup(155) = (%d, %d), want (150, %d)", round, i, off, pos, posOf(150))
			}
			if off, pos, ok := x.Last(); !ok || off != 200 || pos != posOf(200) {
				t.Fatalf("index %d: last = (%d, %d, %v)", i, off, pos, ok)
			}
			if m := mappedUnder(t, dir); m > 2 {
				t.Fatalf("%d mapped after lookups, want at most 2", m)
			}
		}
	}
	if st := c.Stats(); st.Remaps == 0 {
		t.Fatalf("stats %+v: lookups after eviction mapped nothing again", st)
	}
	// Appends and truncations on evicted indexes.
	for i, x := range xs {
		if err := x.Append(210, posOf(210)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			openCached(t, fsys, dir, 100+i, maxBytes).Append(1, 1) // evict more
			x.TruncateTo(101)                                      // keeps 10..100
		}
	}
	for i, x := range xs {
		want := int64(210)
		if i%2 == 0 {
			want = 100
		}
		if off, _ := x.Lookup(1000); off != want {
			t.Fatalf("index %d: lookup(1000) = %d, want %d", i, off, want)
		}
	}
	for _, x := range xs {
		if err := x.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Close trims every index, evicted or not; reopened they hold the
	// same entries.
	for _, x := range xs {
		if err := x.Close(true); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Mapped != 0 && st.Mapped > 2 {
		t.Fatalf("after close: %+v", st)
	}
	for i := range xs {
		p := filepath.Join(dir, fmt.Sprintf("%d.index", i))
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(21 * format.OffsetEntrySize)
		if i%2 == 0 {
			want = 10 * format.OffsetEntrySize
		}
		if st.Size() != want {
			t.Fatalf("index %d: %d bytes after a trimmed close, want %d", i, st.Size(), want)
		}
		x := openCached(t, fsys, dir, i, maxBytes)
		if x.Len() != int(want/format.OffsetEntrySize) {
			t.Fatalf("index %d reopened: %d entries, want %d", i, x.Len(), want/format.OffsetEntrySize)
		}
		x.Close(false)
	}
}

// failSyncFS makes the Sync of files it opens fail while fail is set.
type failSyncFS struct {
	vfs.FS
	fail bool
}

type failSyncFile struct {
	vfs.FdFile
	fs *failSyncFS
}

func (f failSyncFile) Sync() error {
	if f.fs.fail {
		return errors.New("injected sync failure")
	}
	return f.FdFile.Sync()
}

func (f *failSyncFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	h, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return failSyncFile{FdFile: h.(vfs.FdFile), fs: f}, nil
}

// An eviction keeps written entries (in the page cache) and remembers they
// are unsynced: Flush then opens the file and fsyncs it, a failure of that
// fsync sticks, and a mapping made again covers earlier writes with its
// msync.
func TestCacheEvictionThenFlush(t *testing.T) {
	dir := t.TempDir()
	c := NewCache(1)
	ffs := &failSyncFS{FS: vfs.Default}
	fsys := WithCache(ffs, c)
	state := func(x *OffsetIndex) (evicted, unsynced bool, err error) {
		x.mu.RLock()
		defer x.mu.RUnlock()
		return x.evicted, x.unsynced, x.err
	}
	a := openCached(t, fsys, dir, 0, 800)
	if err := a.Append(5, 50); err != nil {
		t.Fatal(err)
	}
	b := openCached(t, fsys, dir, 1, 800)
	if err := b.Append(5, 50); err != nil { // evicts a
		t.Fatal(err)
	}
	if ev, uns, err := state(a); !ev || !uns || err != nil {
		t.Fatalf("a: evicted %v unsynced %v err %v; want evicted with unsynced writes", ev, uns, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "0.index"))
	if err != nil {
		t.Fatal(err)
	}
	if rel, pos := format.OffsetEntry(raw); rel != 5 || pos != 50 {
		t.Fatalf("file holds (%d, %d), want (5, 50)", rel, pos)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if ev, uns, _ := state(a); !ev || uns {
		t.Fatalf("after Flush: evicted %v unsynced %v; want evicted, synced", ev, uns)
	}

	// Written while mapped again, evicted, then a failing fsync: it sticks.
	if err := a.Append(6, 60); err != nil { // maps a again, evicts b
		t.Fatal(err)
	}
	if err := b.Append(7, 70); err != nil { // evicts a
		t.Fatal(err)
	}
	ffs.fail = true
	if err := a.Flush(); err == nil {
		t.Fatal("Flush of an evicted index hid its failed fsync")
	}
	ffs.fail = false
	if err := a.Flush(); err == nil {
		t.Fatal("a failed fsync did not stick")
	}

	// b was evicted with its first entry unsynced and mapped again for
	// its second: the msync of the new mapping covers both.
	if ev, uns, _ := state(b); ev || !uns {
		t.Fatalf("b: evicted %v unsynced %v; want mapped with unsynced writes", ev, uns)
	}
	if err := a.Close(false); err != nil {
		t.Fatal(err)
	}
	if off, _ := b.Lookup(7); off != 7 {
		t.Fatalf("b: lookup(7) = %d", off)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, uns, _ := state(b); uns {
		t.Fatal("b: unsynced after a Flush of its new mapping")
	}
	b.Close(false)
}

// An evicted index follows Rename; one whose file was removed or replaced
// while it was unmapped gives no hints (and never writes to the new
// file), rather than the other file's entries.
func TestCacheRenamedRemovedReplaced(t *testing.T) {
	dir := t.TempDir()
	c := NewCache(1)
	fsys := WithCache(vfs.Default, c)
	xs := make([]*OffsetIndex, 3)
	for i := range xs {
		xs[i] = openCached(t, fsys, dir, i, 800)
		for o := int64(1); o <= 5; o++ {
			if err := xs[i].Append(o, posOf(o)); err != nil {
				t.Fatal(err)
			}
		}
	}
	evictAll := func() {
		t.Helper()
		y := openCached(t, fsys, dir, 99, 800)
		if err := y.Append(1, 1); err != nil {
			t.Fatal(err)
		}
		y.Close(false)
		y = openCached(t, fsys, dir, 98, 800)
		if err := y.Append(1, 1); err != nil {
			t.Fatal(err)
		}
		defer y.Close(false)
		for i, x := range xs {
			x.mu.RLock()
			ev := x.evicted
			x.mu.RUnlock()
			if !ev {
				t.Fatalf("index %d still mapped", i)
			}
		}
	}
	evictAll()
	p := func(i int) string { return filepath.Join(dir, fmt.Sprintf("%d.index", i)) }
	if err := xs[0].Rename(p(0) + ".deleted"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p(1)); err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 8*format.OffsetEntrySize)
	for i := range 8 {
		format.PutOffsetEntry(other[i*format.OffsetEntrySize:], int32(100+i), int32(1000+i))
	}
	if err := os.WriteFile(p(2)+".new", other, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p(2)+".new", p(2)); err != nil {
		t.Fatal(err)
	}
	if off, pos := xs[0].Lookup(4); off != 4 || pos != posOf(4) {
		t.Fatalf("renamed: lookup(4) = (%d, %d)", off, pos)
	}
	for _, i := range []int{1, 2} {
		if off, pos := xs[i].Lookup(104); off != 0 || pos != 0 {
			t.Fatalf("index %d gone: lookup = (%d, %d), want no hint (0, 0)", i, off, pos)
		}
		if _, _, ok := xs[i].Last(); ok {
			t.Fatalf("index %d gone: Last found an entry", i)
		}
		if err := xs[i].Append(200, 2000); err == nil {
			t.Fatalf("index %d gone: Append succeeded", i)
		}
		if err := xs[i].Flush(); err != nil {
			t.Fatalf("index %d gone: Flush: %v", i, err)
		}
	}
	for _, x := range xs {
		if err := x.Close(true); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(p(2))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(other) {
		t.Fatal("closing the replaced index changed the file that replaced it")
	}
	if st, err := os.Stat(p(0) + ".deleted"); err != nil || st.Size() != 5*format.OffsetEntrySize {
		t.Fatalf("renamed index after a trimmed close: %v, %v", st, err)
	}
}

// Readers, appenders and truncations on 50 indexes under a cap of 2: run
// with -race. Every answer must be one the index could give: offsets are
// indexed at posOf(offset), so a reader checks what it gets without
// coordination; a wrong mapping, or a read of an unmapped one, fails.
func TestCacheConcurrent(t *testing.T) {
	dir := t.TempDir()
	c := NewCache(2)
	fsys := WithCache(vfs.Default, c)
	const n = 50
	offs := make([]*OffsetIndex, n)
	times := make([]*TimeIndex, n)
	for i := range n {
		offs[i] = openCached(t, fsys, dir, i, 80*1000)
		x, err := OpenTimeIndexAt(fsys, filepath.Join(dir, fmt.Sprintf("%d.timeindex", i)), 0, 120*1000, false)
		if err != nil {
			t.Fatal(err)
		}
		times[i] = x
	}
	deadline := time.Now().Add(time.Second)
	if testing.Short() {
		deadline = time.Now().Add(200 * time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	// One appender per index (the package's contract), truncating now
	// and then.
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := int64(0)
			for k := 0; time.Now().Before(deadline); k++ {
				o++
				if err := offs[i].Append(o, posOf(o)); err != nil && err != ErrFull {
					errs <- err
					return
				}
				if err := times[i].Append(o*1000, o); err != nil && err != ErrFull {
					errs <- err
					return
				}
				if k%200 == 199 {
					o -= 50
					offs[i].TruncateTo(o + 1)
					times[i].TruncateTo(o + 1)
				}
				if k%500 == 0 {
					if err := offs[i].Flush(); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := r; time.Now().Before(deadline); k++ {
				i := k % n
				target := int64(k % 300)
				off, pos := offs[i].Lookup(target)
				if off > target || pos != posOf(off) {
					errs <- fmt.Errorf("index %d: lookup(%d) = (%d, %d)", i, target, off, pos)
					return
				}
				if lo, lp, ok := offs[i].Last(); ok && lp != posOf(lo) {
					errs <- fmt.Errorf("index %d: last = (%d, %d)", i, lo, lp)
					return
				}
				if to := times[i].Lookup(target * 1000); to > target {
					errs <- fmt.Errorf("time index %d: lookup(%d) = %d", i, target*1000, to)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Evictions == 0 || st.Remaps == 0 {
		t.Fatalf("stats %+v: the cap never bit", st)
	}
	for i := range n {
		// After the churn each index still reads back what it holds.
		if lo, lp, ok := offs[i].Last(); ok {
			if off, pos := offs[i].Lookup(lo); off != lo || pos != lp {
				t.Fatalf("index %d: last (%d, %d) but lookup gives (%d, %d)", i, lo, lp, off, pos)
			}
		}
		if err := offs[i].Close(true); err != nil {
			t.Fatal(err)
		}
		if err := times[i].Close(true); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Mapped != 0 {
		t.Fatalf("after closing everything: %+v", st)
	}
	if m := mappedUnder(t, dir); m != 0 {
		t.Fatalf("%d mappings left after closing everything", m)
	}
	t.Logf("stats %+v", st)
}

func TestDefaultMaxMapped(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		t.Skip(err)
	}
	var limit int
	fmt.Sscan(string(b), &limit)
	if got := DefaultMaxMapped(); got != limit/2 {
		t.Fatalf("DefaultMaxMapped = %d, want %d", got, limit/2)
	}
	if c := NewCache(0); c.Stats().Max != limit/2 {
		t.Fatalf("NewCache(0) cap %d, want %d", c.Stats().Max, limit/2)
	}
}

// BenchmarkLookupMapped compares a lookup on a mapped index with one that
// maps its index again first (two indexes under a cap of 1, looked up in
// turn: every lookup remaps one and evicts the other).
func BenchmarkLookupMapped(b *testing.B) {
	for _, limit := range []int{0, 1} {
		b.Run(fmt.Sprintf("cap=%d", limit), func(b *testing.B) {
			dir := b.TempDir()
			fsys := vfs.FS(vfs.Default)
			if limit > 0 {
				fsys = WithCache(fsys, NewCache(limit))
			}
			var xs [2]*OffsetIndex
			for i := range xs {
				x, err := OpenOffsetIndexAt(fsys, filepath.Join(dir, fmt.Sprintf("%d.index", i)), 0, 10<<20, false)
				if err != nil {
					b.Fatal(err)
				}
				for o := int64(1); o <= 1000; o++ {
					if err := x.Append(o, posOf(o)); err != nil {
						b.Fatal(err)
					}
				}
				if err := x.Flush(); err != nil {
					b.Fatal(err)
				}
				defer x.Close(false)
				xs[i] = x
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if off, _ := xs[i%2].Lookup(500); off != 500 {
					b.Fatalf("lookup(500) = %d", off)
				}
			}
		})
	}
}
