package index

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rillmq/rill/engine/vfs"
)

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// An index opened by path holds no descriptor: an empty one is not even
// opened until its first entry, and a mapped one closes its descriptor
// after mmap. Trimming at Close reopens the file and shrinks it.
func TestIndexAtHoldsNoDescriptor(t *testing.T) {
	dir := t.TempDir()
	const n, maxBytes = 50, 8 * 1000
	fds0 := openFDs(t)
	var xs []*OffsetIndex
	for i := range n {
		x, err := OpenOffsetIndexAt(vfs.Default, filepath.Join(dir, fmt.Sprintf("%d.index", i)), 0, maxBytes, false)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	if d := openFDs(t) - fds0; d != 0 {
		t.Fatalf("%d empty indexes hold %d descriptors, want 0", n, d)
	}
	for _, x := range xs {
		if x.region != nil {
			t.Fatal("an empty index was mapped before its first entry")
		}
		if off, pos := x.Lookup(5); off != 0 || pos != 0 {
			t.Fatalf("empty lookup = (%d, %d), want (0, 0)", off, pos)
		}
		x.TruncateTo(0) // no-op on a lazy index, must not fault
		if err := x.Append(10, 100); err != nil {
			t.Fatal(err)
		}
		if err := x.Append(20, 200); err != nil {
			t.Fatal(err)
		}
	}
	if d := openFDs(t) - fds0; d != 0 {
		t.Fatalf("%d mapped indexes hold %d descriptors, want 0", n, d)
	}
	for _, x := range xs {
		if off, pos := x.Lookup(25); off != 20 || pos != 200 {
			t.Fatalf("lookup(25) = (%d, %d), want (20, 200)", off, pos)
		}
		if err := x.Flush(); err != nil {
			t.Fatal(err)
		}
		name := x.region.name
		if err := x.Close(true); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != 16 {
			t.Fatalf("trimmed %s is %d bytes, want 16", name, st.Size())
		}
		y, err := OpenOffsetIndexAt(vfs.Default, name, 0, maxBytes, false)
		if err != nil {
			t.Fatal(err)
		}
		if y.Len() != 2 {
			t.Fatalf("reopened index has %d entries, want 2", y.Len())
		}
		y.Close(false)
	}
}

// Opening fresh (recovery rebuilds the index) discards a preallocated file
// without reading it and leaves it empty and lazy.
func TestIndexAtFreshDiscards(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   vfs.FS
		dir  string
	}{{"os", vfs.Default, t.TempDir()}, {"memfs", vfs.NewMemFS(), "/"}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(tc.dir, "x.timeindex")
			x, err := OpenTimeIndexAt(tc.fs, path, 0, 12*100, false)
			if err != nil {
				t.Fatal(err)
			}
			for i := int64(1); i <= 3; i++ {
				if err := x.Append(i*1000, i); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Close(false); err != nil { // as a crash leaves it: untrimmed
				t.Fatal(err)
			}
			y, err := OpenTimeIndexAt(tc.fs, path, 0, 12*100, true)
			if err != nil {
				t.Fatal(err)
			}
			if y.Len() != 0 || y.region != nil {
				t.Fatalf("fresh index: %d entries, mapped %v; want 0, lazy", y.Len(), y.region != nil)
			}
			if st, err := tc.fs.Stat(path); err != nil || st.Size() != 0 {
				t.Fatalf("fresh index file: %v, %v; want 0 bytes", st, err)
			}
			if err := y.Append(5000, 7); err != nil {
				t.Fatal(err)
			}
			if ts, off, ok := y.Last(); !ok || ts != 5000 || off != 7 {
				t.Fatalf("Last = %d, %d, %v", ts, off, ok)
			}
			y.Close(true)
		})
	}
}
