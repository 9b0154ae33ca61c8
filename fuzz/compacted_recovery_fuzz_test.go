package fuzz

import (
	"fmt"
	"os"
	"testing"

	"github.com/rillmq/rill/engine/compact"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/engine/vfs"
)

// FuzzRecoveryCompacted is FuzzRecovery on a compacted log with offset
// gaps: keyed records, overwritten, small segments, and a cleaner pass that
// deletes emptied batches (issue 17), leaving gaps inside segments, at
// their ends and whole segments with no batch. The fuzzer then damages a
// file and the log is opened with recovery. It must not fail or panic;
// every record it serves must be the one written at that offset, offsets
// must only grow, a read at any offset below the log end must answer the
// first batch whose last offset is at or after it (across the gaps), the
// log end must not pass the old one, and the next append must take the log
// end's offset.
func FuzzRecoveryCompacted(f *testing.F) {
	f.Add(uint16(0), []byte{}, uint32(0), []byte{}, uint8(0), uint8(3))
	f.Add(uint16(3), []byte{1, 2, 3}, uint32(500), []byte{0xde, 0xad}, uint8(1), uint8(5))
	f.Add(uint16(9), []byte{0xff, 0x40, 0, 0, 0, 9}, uint32(1<<20), make([]byte, 64), uint8(2), uint8(7))
	f.Fuzz(func(t *testing.T, flipAt uint16, flips []byte, cutAt uint32, garbage []byte, target, keys uint8) {
		fs := vfs.NewMemFS()
		cfg := log.DefaultConfig()
		cfg.CleanupCompact, cfg.CleanupDelete = true, false
		cfg.SegmentBytes = 200
		cfg.IndexIntervalBytes = 50
		cfg.FileDeleteDelayMs = 0
		clock := func() int64 { return 1e12 }
		l, err := log.Open(log.Options{FS: fs, Dir: "/d", Config: cfg, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		nkeys := 1 + int(keys%9)
		written := map[int64]string{}
		for i := 0; i < 60; i++ {
			v := fmt.Sprintf("record-%d", i)
			k := []byte(fmt.Sprintf("k%d", i%nkeys))
			res, err := l.Append(format.SimpleBatch(format.Codec(i%5), int64(i), [][]byte{k}, [][]byte{[]byte(v)}), log.AppendOptions{AssignOffsets: true})
			if err != nil {
				t.Fatal(err)
			}
			written[res.BaseOffset] = v
		}
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
		if _, err := compact.Clean(l, 1e12); err != nil {
			t.Fatal(err)
		}
		leo := l.LogEndOffset()
		segs := l.Segments()
		l.Close(false)
		victim := segs[int(target)%len(segs)].BaseOffset()
		logPath, idxPath, tidxPath := segment.Paths("/d", victim)
		path := []string{logPath, idxPath, tidxPath}[int(target/16)%3]
		if fl, err := fs.OpenFile(path, os.O_RDWR, 0); err == nil {
			damage(fl, flips, flipAt, cutAt, garbage)
		}
		l2, err := log.Open(log.Options{FS: fs, Dir: "/d", Config: cfg, Clock: clock, NeedsRecovery: true})
		if err != nil {
			t.Fatalf("recovery failed: %v", err)
		}
		defer l2.Close(false)
		if l2.LogEndOffset() > leo {
			t.Fatalf("recovered log end %d past the old one %d", l2.LogEndOffset(), leo)
		}
		type span struct{ base, last int64 }
		var batches []span
		prev := int64(-1)
		for _, s := range l2.Segments() {
			err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
				if b.BaseOffset() <= prev || b.BaseOffset() < s.BaseOffset() {
					t.Fatalf("batch at %d after offset %d in segment %d", b.BaseOffset(), prev, s.BaseOffset())
				}
				prev = b.LastOffset()
				batches = append(batches, span{b.BaseOffset(), b.LastOffset()})
				return b.ForEachRecord(func(r format.Record) error {
					o := b.BaseOffset() + int64(r.OffsetDelta)
					if written[o] != string(r.Value) {
						t.Fatalf("recovered log serves %q at %d, written %q", r.Value, o, written[o])
					}
					return nil
				})
			})
			if err != nil {
				t.Fatalf("recovered segment does not read back: %v", err)
			}
		}
		if prev >= l2.LogEndOffset() {
			t.Fatalf("a batch ends at %d, past the log end %d", prev, l2.LogEndOffset())
		}
		// Reads through the index agree with the scan, across gaps.
		next := 0
		for o := l2.LogStartOffset(); o < l2.LogEndOffset(); o++ {
			for next < len(batches) && batches[next].last < o {
				next++
			}
			r, err := l2.Read(o, 1, -1, true)
			if err != nil {
				t.Fatalf("read %d: %v", o, err)
			}
			if next == len(batches) {
				if r.Len != 0 {
					t.Fatalf("read %d past the last batch returned %d bytes", o, r.Len)
				}
				continue
			}
			if r.Len == 0 {
				t.Fatalf("read %d returned nothing, want batch %d", o, batches[next].base)
			}
			buf := make([]byte, r.Len)
			r.File.ReadAt(buf, r.Pos)
			b, err := format.Parse(buf)
			if err != nil || b.BaseOffset() != batches[next].base {
				t.Fatalf("read %d returned batch %d..%d (%v), want %d", o, b.BaseOffset(), b.LastOffset(), err, batches[next].base)
			}
		}
		end := l2.LogEndOffset()
		res, err := l2.Append(format.SimpleBatch(format.CodecNone, 1, [][]byte{[]byte("k")}, [][]byte{[]byte("after")}), log.AppendOptions{AssignOffsets: true})
		if err != nil || res.BaseOffset != end {
			t.Fatalf("append after recovery at %d (%v), want %d", res.BaseOffset, err, end)
		}
	})
}
