package fuzz

import (
	"fmt"
	"os"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/engine/vfs"
)

// FuzzRecovery writes a log of known records, corrupts its segment files
// as the fuzzer says (byte flips, a truncation, appended garbage, a mangled
// index), then opens it with recovery. Recovery must not fail or panic, and
// every record the log then serves must be one that was written, at its
// offset, with nothing missing below the log end; the log must accept
// appends afterwards.
func FuzzRecovery(f *testing.F) {
	f.Add(uint16(0), []byte{}, uint32(0), []byte{}, uint8(0))
	f.Add(uint16(3), []byte{1, 2, 3}, uint32(500), []byte{0xde, 0xad}, uint8(1))
	f.Add(uint16(9), []byte{0xff, 0x40, 0, 0, 0, 9}, uint32(1<<20), make([]byte, 64), uint8(2))
	f.Fuzz(func(t *testing.T, flipAt uint16, flips []byte, cutAt uint32, garbage []byte, target uint8) {
		fs := vfs.NewMemFS()
		cfg := log.DefaultConfig()
		cfg.SegmentBytes = 1024
		cfg.IndexIntervalBytes = 100
		clock := func() int64 { return 1e12 }
		l, err := log.Open(log.Options{FS: fs, Dir: "/d", Config: cfg, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		written := map[int64]string{}
		for i := 0; i < 60; i++ {
			v := fmt.Sprintf("record-%d", i)
			res, err := l.Append(format.SimpleBatch(format.Codec(i%5), int64(i), nil, [][]byte{[]byte(v)}), log.AppendOptions{AssignOffsets: true})
			if err != nil {
				t.Fatal(err)
			}
			written[res.BaseOffset] = v
		}
		segs := l.Segments()
		l.Close(false)
		victim := segs[int(target)%len(segs)].BaseOffset()
		logPath, idxPath, tidxPath := segment.Paths("/d", victim)
		path := []string{logPath, idxPath, tidxPath}[int(target/16)%3]
		fl, err := fs.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		damage(fl, flips, flipAt, cutAt, garbage)
		l2, err := log.Open(log.Options{FS: fs, Dir: "/d", Config: cfg, Clock: clock, NeedsRecovery: true})
		if err != nil {
			t.Fatalf("recovery failed: %v", err)
		}
		defer l2.Close(false)
		seen := int64(0)
		for _, s := range l2.Segments() {
			err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
				return b.ForEachRecord(func(r format.Record) error {
					o := b.BaseOffset() + int64(r.OffsetDelta)
					if written[o] != string(r.Value) {
						t.Fatalf("recovered log serves %q at %d, written %q", r.Value, o, written[o])
					}
					seen++
					return nil
				})
			})
			if err != nil {
				t.Fatalf("recovered segment does not read back: %v", err)
			}
		}
		if seen != l2.LogEndOffset() {
			t.Fatalf("recovered %d records but LEO %d", seen, l2.LogEndOffset())
		}
		// Reads through the index agree with the scan.
		for o := int64(0); o < l2.LogEndOffset(); o += 7 {
			r, err := l2.Read(o, 1, -1, true)
			if err != nil || r.Len == 0 {
				t.Fatalf("read %d: %v (len %d)", o, err, r.Len)
			}
			buf := make([]byte, r.Len)
			r.File.ReadAt(buf, r.Pos)
			b, err := format.Parse(buf)
			if err != nil || b.BaseOffset() > o || b.LastOffset() < o {
				t.Fatalf("read %d returned batch %d..%d: %v", o, b.BaseOffset(), b.LastOffset(), err)
			}
		}
		if _, err := l2.Append(format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte("after")}), log.AppendOptions{AssignOffsets: true}); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
	})
}

// damage corrupts an open file as the fuzzer says: bytes flipped from
// flipAt on (every 37th), a truncation at cutAt when cutAt%3 == 0, garbage
// appended; then syncs and closes it.
func damage(fl vfs.File, flips []byte, flipAt uint16, cutAt uint32, garbage []byte) {
	size, _ := fl.Size()
	for i, b := range flips {
		if size > 0 {
			pos := (int64(flipAt) + int64(i)*37) % size
			one := []byte{0}
			fl.ReadAt(one, pos)
			one[0] ^= b
			fl.WriteAt(one, pos)
		}
	}
	if size > 0 && cutAt%3 == 0 {
		fl.Truncate(int64(cutAt) % size)
	}
	if len(garbage) > 0 {
		sz, _ := fl.Size()
		fl.WriteAt(garbage, sz)
	}
	fl.Sync()
	fl.Close()
}
