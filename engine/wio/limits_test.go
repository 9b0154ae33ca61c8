package wio

import (
	"fmt"
	"os"
	"testing"

	"github.com/rillmq/rill/engine/vfs"
)

// BenchmarkLimits measures this machine's ceilings with no engine logic on
// top, so BENCHMARKS.md can put each engine figure beside its limit:
//
//	buffered     appending pwrites of 16 KiB chunks into the page cache
//	sync-16KiB   pwrite 16 KiB then fdatasync, one file (one produce batch)
//	sync-1MiB    pwrite 1 MiB then fdatasync, one file
//	overlap-N    N files each doing pwrite 1 MiB + fdatasync, run by the
//	             engine (pwrite: goroutines; uring: linked write→fsync
//	             chains in one submission)
func BenchmarkLimits(b *testing.B) {
	chunk := make([]byte, 16<<10)
	mib := make([]byte, 1<<20)
	for i := range mib {
		mib[i] = byte(i)
	}
	b.Run("buffered", func(b *testing.B) {
		f := tempFile(b, "buffered")
		b.SetBytes(int64(len(chunk)) * 64)
		// Appends to fresh file space, as a log does (new page-cache
		// pages each time); the file is cut back every GiB.
		var off int64
		for i := 0; i < b.N; i++ {
			for j := 0; j < 64; j++ {
				if _, err := f.WriteAt(chunk, off); err != nil {
					b.Fatal(err)
				}
				off += int64(len(chunk))
			}
			if off >= 1<<30 {
				f.Truncate(0)
				off = 0
			}
		}
	})
	b.Run("sync-16KiB", func(b *testing.B) {
		f := tempFile(b, "sync16")
		b.SetBytes(int64(len(chunk)))
		for i := 0; i < b.N; i++ {
			if _, err := f.WriteAt(chunk, int64(i%4096)*int64(len(chunk))); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sync-1MiB", func(b *testing.B) {
		f := tempFile(b, "sync")
		b.SetBytes(int64(len(mib)))
		for i := 0; i < b.N; i++ {
			if _, err := f.WriteAt(mib, int64(i%256)<<20); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, name := range []string{"pwrite", "uring"} {
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("overlap-%d/%s", n, name), func(b *testing.B) {
				eng, err := New(name)
				if err != nil {
					b.Skip(err)
				}
				defer eng.Close()
				files := make([]vfs.File, n)
				for i := range files {
					files[i] = tempFile(b, fmt.Sprint(i))
				}
				b.SetBytes(int64(n) << 20)
				for i := 0; i < b.N; i++ {
					ops := make([]*Op, n)
					for j := range ops {
						ops[j] = &Op{File: files[j], Data: mib, Off: int64(i%64) << 20, Sync: true}
					}
					eng.Run(ops)
					for _, op := range ops {
						if op.Err != nil {
							b.Fatal(op.Err)
						}
					}
				}
			})
		}
	}
}

func tempFile(b *testing.B, name string) vfs.File {
	f, err := vfs.Default.OpenFile(b.TempDir()+"/"+name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}
