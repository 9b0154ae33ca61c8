package fuzz

import (
	"testing"

	"github.com/rillmq/rill/engine/index"
	"github.com/rillmq/rill/engine/vfs"
)

// FuzzIndexLookup opens arbitrary bytes as offset and time indexes and
// checks that lookups never panic and answer within the index's contract.
func FuzzIndexLookup(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 1, 0}, int64(100), int64(7))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, base, target int64) {
		if base < 0 {
			base = -base
		}
		base %= 1 << 40
		fs := vfs.NewMemFS()
		for _, name := range []string{"/x.index", "/x.timeindex"} {
			fl, _ := vfs.Create(fs, name)
			fl.WriteAt(data, 0)
			fl.Close()
		}
		fi, _ := fs.OpenFile("/x.index", 2, 0)
		idx, err := index.OpenOffsetIndex(fi, base, 1024)
		if err != nil {
			t.Fatal(err)
		}
		off, pos := idx.Lookup(target)
		if off > max(target, base) || pos < 0 || (off < base) {
			t.Fatalf("lookup(%d) = (%d, %d) with base %d", target, off, pos, base)
		}
		if err := idx.Append(base+1<<20, 1<<30); err != nil && err != index.ErrFull {
			t.Fatal(err)
		}
		idx.TruncateTo(target)
		idx.Close(true)
		ft, _ := fs.OpenFile("/x.timeindex", 2, 0)
		tidx, err := index.OpenTimeIndex(ft, base, 1024)
		if err != nil {
			t.Fatal(err)
		}
		if o := tidx.Lookup(target); o < base {
			t.Fatalf("time lookup below base: %d", o)
		}
		tidx.Close(true)
	})
}
