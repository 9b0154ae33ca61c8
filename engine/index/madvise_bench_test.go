package index

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkFirstWriteFreshMapping measures the first write into a fresh
// index file preallocated (sparse) to 10 MiB and mapped shared, as a new
// segment's first index entry is written, with the kernel's default
// read-ahead and with MADV_RANDOM (what openRegion sets). Issue 16:
// BENCHMARKS.md, "Many partitions", second round.
func BenchmarkFirstWriteFreshMapping(b *testing.B) {
	for _, c := range []struct {
		name   string
		size   int
		advice int
	}{
		{"10MiB-default", 10 << 20, -1},
		{"10MiB-random", 10 << 20, unix.MADV_RANDOM},
		{"64KiB-default", 64 << 10, -1},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			for i := range b.N {
				b.StopTimer()
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d.index", i)))
				if err != nil {
					b.Fatal(err)
				}
				if err := f.Truncate(int64(c.size)); err != nil {
					b.Fatal(err)
				}
				buf, err := unix.Mmap(int(f.Fd()), 0, c.size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
				if err != nil {
					b.Fatal(err)
				}
				if c.advice >= 0 {
					if err := unix.Madvise(buf, c.advice); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				copy(buf, "12345678") // the first entry's page fault
				b.StopTimer()
				unix.Munmap(buf)
				f.Close()
				b.StartTimer()
			}
		})
	}
}
