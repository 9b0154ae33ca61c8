package segment

import (
	"fmt"
	"os"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

func batchAt(base int64, ts int64, n int) format.Batch {
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = []byte(fmt.Sprintf("v%d", base+int64(i)))
	}
	b := format.Batch(format.SimpleBatch(format.CodecNone, ts, nil, vals))
	b.SetBaseOffset(base)
	return b
}

func newSegment(t *testing.T) (*Segment, vfs.FS) {
	fs := vfs.NewMemFS()
	fs.MkdirAll("/s", 0o755)
	s, err := Create(fs, "/s", 100, Config{IndexIntervalBytes: 64, MaxIndexBytes: 4096, ContiguousOffsets: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, fs
}

func TestSegmentReadFindTruncate(t *testing.T) {
	s, fs := newSegment(t)
	next := int64(100)
	for i := 0; i < 40; i++ {
		b := batchAt(next, int64(1000+i*10), 3)
		if err := s.Append(b); err != nil {
			t.Fatal(err)
		}
		next = b.NextOffset()
	}
	if s.NextOffset() != 220 {
		t.Fatalf("next %d", s.NextOffset())
	}
	// Read from the middle of a batch returns that whole batch first.
	r, err := s.Read(151, 1, -1, true)
	if err != nil || r.Len == 0 {
		t.Fatal(err)
	}
	buf := make([]byte, r.Len)
	s.File().ReadAt(buf, r.Pos)
	b, err := format.Parse(buf)
	if err != nil || b.BaseOffset() != 151 || b.LastOffset() != 153 {
		t.Fatalf("read 151: batch %d..%d %v", b.BaseOffset(), b.LastOffset(), err)
	}
	if r, _ := s.Read(220, 100, -1, true); r.Len != 0 {
		t.Fatal("read past the end returned data")
	}
	// Timestamp lookup: batch i has ts 1000+10i, offsets 100+3i..
	if o, ts, ok, err := s.FindOffsetByTimestamp(1095, 0); err != nil || !ok || o != 130 || ts != 1100 {
		t.Fatalf("by time: %d %d %v %v", o, ts, ok, err)
	}
	// Truncation inside a batch removes the whole batch.
	if _, err := s.TruncateTo(152); err != nil {
		t.Fatal(err)
	}
	if s.NextOffset() != 151 {
		t.Fatalf("after truncate: next %d", s.NextOffset())
	}
	size := s.Size()
	s.Close(true)
	// Reopen without recovery, then with: both agree.
	for _, recover := range []bool{false, true} {
		s2, err := Open(fs, "/s", 100, Config{IndexIntervalBytes: 64, MaxIndexBytes: 4096, ContiguousOffsets: true}, true, recover)
		if err != nil {
			t.Fatal(err)
		}
		if s2.NextOffset() != 151 || s2.Size() != size {
			t.Fatalf("reopen (recover %v): next %d size %d", recover, s2.NextOffset(), s2.Size())
		}
		s2.Close(true)
	}
}

func TestRecoverCutsTornTailAndGaps(t *testing.T) {
	s, fs := newSegment(t)
	for _, b := range []format.Batch{batchAt(100, 1, 2), batchAt(102, 1, 2), batchAt(110, 1, 1)} { // 104..109 missing
		s.Append(b)
	}
	s.Close(false)
	logPath, _, _ := Paths("/s", 100)
	f, _ := fs.OpenFile(logPath, os.O_RDWR, 0)
	sz, _ := f.Size()
	f.WriteAt([]byte{0, 0, 0}, sz) // torn tail
	f.Close()
	s2, err := Open(fs, "/s", 100, Config{IndexIntervalBytes: 64, MaxIndexBytes: 4096, ContiguousOffsets: true}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close(true)
	if s2.NextOffset() != 104 {
		t.Fatalf("recovery kept a batch after a gap: next %d", s2.NextOffset())
	}
}
