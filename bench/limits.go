package bench

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Limit is one measured ceiling.
type Limit struct {
	Name     string  `json:"name"`
	MBPerSec float64 `json:"mb_per_sec"`
	// Runs are the single measurements when MBPerSec is their median.
	Runs []float64 `json:"runs,omitempty"`
}

// DiskWrite writes total bytes sequentially in chunk-sized writes to a new
// file in dir; with sync every write is followed by fdatasync (the cost of
// acknowledging only durable data). The file is removed afterwards.
func DiskWrite(dir string, total, chunk int, sync bool) (Limit, error) {
	name := fmt.Sprintf("disk write, %d KiB writes", chunk>>10)
	if sync {
		name += " + fdatasync each"
	}
	f, err := os.CreateTemp(dir, "rill-limit-*")
	if err != nil {
		return Limit{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := Payload(chunk)
	start := time.Now()
	for n := 0; n < total; n += chunk {
		if _, err := f.Write(buf); err != nil {
			return Limit{}, err
		}
		if sync {
			if err := unix.Fdatasync(int(f.Fd())); err != nil {
				return Limit{}, err
			}
		}
	}
	return Limit{Name: name, MBPerSec: float64(total) / 1e6 / time.Since(start).Seconds()}, nil
}

// Loopback sends total bytes in chunk-sized writes over one TCP connection
// on 127.0.0.1 and reads them on the other side.
func Loopback(total, chunk int) (Limit, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Limit{}, err
	}
	defer ln.Close()
	got := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer c.Close()
		_, err = io.CopyBuffer(io.Discard, io.LimitReader(c, int64(total)), make([]byte, chunk))
		got <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return Limit{}, err
	}
	defer c.Close()
	buf := Payload(chunk)
	start := time.Now()
	for n := 0; n < total; n += chunk {
		if _, err := c.Write(buf); err != nil {
			return Limit{}, err
		}
	}
	if err := <-got; err != nil {
		return Limit{}, err
	}
	return Limit{Name: fmt.Sprintf("loopback TCP, %d KiB writes", chunk>>10), MBPerSec: float64(total) / 1e6 / time.Since(start).Seconds()}, nil
}

// Limits measures the machine's ceilings for a data directory: buffered
// and fdatasync'd sequential writes and loopback TCP, each the median of
// three runs (on this VM the first touch of fresh memory alone can make a
// buffered write run 10x slower than the next). The whole takes seconds;
// progress, when not nil, is called with each limit as it is measured so
// a tool can print it at once.
func Limits(dir string, progress func(Limit)) ([]Limit, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	dir, _ = filepath.Abs(dir)
	var out []Limit
	for _, step := range []func() (Limit, error){
		func() (Limit, error) { return DiskWrite(dir, 512<<20, 1<<20, false) },
		func() (Limit, error) { return DiskWrite(dir, 128<<20, 1<<20, true) },
		func() (Limit, error) { return DiskWrite(dir, 16<<20, 16<<10, true) },
		func() (Limit, error) { return Loopback(2<<30, 1<<20) },
	} {
		var l Limit
		for i := 0; i < 3; i++ {
			one, err := step()
			if err != nil {
				return out, err
			}
			l.Name = one.Name
			l.Runs = append(l.Runs, one.MBPerSec)
		}
		sorted := append([]float64(nil), l.Runs...)
		sort.Float64s(sorted)
		l.MBPerSec = sorted[1]
		out = append(out, l)
		if progress != nil {
			progress(l)
		}
	}
	return out, nil
}
