package index

import (
	"fmt"
	"os"
	"testing"

	"github.com/rillmq/rill/engine/vfs"
)

func forEachBacking(t *testing.T, fn func(t *testing.T, open func(name string) vfs.File)) {
	t.Run("mmap", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, func(name string) vfs.File {
			f, err := vfs.Default.OpenFile(dir+"/"+name, os.O_RDWR|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			return f
		})
	})
	t.Run("heap", func(t *testing.T) {
		fs := vfs.NewMemFS()
		fn(t, func(name string) vfs.File {
			f, _ := fs.OpenFile("/"+name, os.O_RDWR|os.O_CREATE, 0o644)
			return f
		})
	})
}

func TestOffsetIndexLookupTruncateReopen(t *testing.T) {
	forEachBacking(t, func(t *testing.T, open func(string) vfs.File) {
		x, err := OpenOffsetIndex(open("a.index"), 1000, 8*100)
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(0); i < 50; i++ {
			if err := x.Append(1000+i*10, int32(i*4096)); err != nil {
				t.Fatal(err)
			}
		}
		x.Append(1000+5, 1) // not increasing: ignored
		cases := map[int64][2]int64{999: {1000, 0}, 1000: {1000, 0}, 1015: {1010, 4096}, 1490: {1490, 49 * 4096}, 99999: {1490, 49 * 4096}}
		for target, want := range cases {
			o, p := x.Lookup(target)
			if o != want[0] || int64(p) != want[1] {
				t.Errorf("lookup %d = (%d,%d), want %v", target, o, p, want)
			}
		}
		x.TruncateTo(1200) // keeps entries below 1200
		if o, _, _ := x.Last(); o != 1190 {
			t.Fatalf("last after truncate: %d", o)
		}
		x.Append(1250, 30*4096)
		// Unclean: close without trim; reopen keeps the valid prefix only.
		x.Flush()
		x.Close(false)
		y, err := OpenOffsetIndex(open("a.index"), 1000, 8*100)
		if err != nil {
			t.Fatal(err)
		}
		if y.Len() != 21 {
			t.Fatalf("reopened with %d entries, want 21", y.Len())
		}
		if o, p := y.Lookup(1300); o != 1250 || p != 30*4096 {
			t.Fatalf("reopened lookup: %d %d", o, p)
		}
		y.Close(true)
	})
}

func TestIndexFull(t *testing.T) {
	forEachBacking(t, func(t *testing.T, open func(string) vfs.File) {
		x, _ := OpenOffsetIndex(open("f.index"), 0, 8*3)
		defer x.Close(true)
		for i := 0; i < 3; i++ {
			if err := x.Append(int64(i+1), int32(i+1)); err != nil {
				t.Fatal(err)
			}
		}
		if !x.IsFull() || x.Append(10, 10) != ErrFull {
			t.Fatal("full index accepted an entry")
		}
	})
}

func TestTimeIndex(t *testing.T) {
	forEachBacking(t, func(t *testing.T, open func(string) vfs.File) {
		x, _ := OpenTimeIndex(open("a.timeindex"), 0, 12*100)
		defer x.Close(true)
		for i := int64(0); i < 20; i++ {
			x.Append(100+i*10, i*3)
		}
		x.Append(105, 99) // older timestamp: ignored
		for _, c := range [][3]int64{{50, 0}, {100, 0}, {155, 15}, {1000, 57}} {
			if got := x.Lookup(c[0]); got != c[1] {
				t.Errorf("lookup ts %d = %d, want %d", c[0], got, c[1])
			}
		}
		if ts, off, _ := x.Last(); ts != 290 || off != 57 {
			t.Fatal(fmt.Sprint(ts, off))
		}
	})
}
