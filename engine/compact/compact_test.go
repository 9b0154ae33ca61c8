package compact

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
)

func records(t *testing.T, l *log.Log) map[int64][2]string {
	t.Helper()
	out := map[int64][2]string{}
	for _, s := range l.Segments() {
		err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			return b.ForEachRecord(func(r format.Record) error {
				v := string(r.Value)
				if r.Value == nil {
					v = "<nil>"
				}
				out[b.BaseOffset()+int64(r.OffsetDelta)] = [2]string{string(r.Key), v}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestCompactionKeepsLatestPerKey(t *testing.T) {
	for _, codec := range []format.Codec{format.CodecNone, format.CodecZstd, format.CodecLZ4} {
		t.Run(codec.String(), func(t *testing.T) {
			fs := vfs.NewMemFS()
			now := int64(10_000_000)
			cfg := log.DefaultConfig()
			cfg.SegmentBytes = 2048
			cfg.CleanupCompact, cfg.CleanupDelete = true, false
			cfg.DeleteRetentionMs = 1000
			cfg.FileDeleteDelayMs = 0
			l, err := log.Open(log.Options{FS: fs, Dir: "/d/t-0", Config: cfg, Clock: func() int64 { return now }})
			if err != nil {
				t.Fatal(err)
			}
			model := map[string]string{}
			for i := 0; i < 400; i++ {
				k := fmt.Sprintf("key-%d", i%13)
				var keys, vals [][]byte
				for j := 0; j < 3; j++ {
					v := []byte(fmt.Sprintf("v%d.%d", i, j))
					if i%29 == 0 && j == 2 {
						v = nil
					}
					keys, vals = append(keys, []byte(k)), append(vals, v)
				}
				if vals[2] == nil {
					delete(model, k)
				} else {
					model[k] = string(vals[2])
				}
				b := format.SimpleBatch(codec, now-5000, keys, vals)
				if _, err := l.Append(b, log.AppendOptions{AssignOffsets: true}); err != nil {
					t.Fatal(err)
				}
			}
			l.Roll()
			leo := l.LogEndOffset()
			before := l.Size()
			st, err := Clean(l, now)
			if err != nil {
				t.Fatal(err)
			}
			if st.SegmentsCleaned == 0 || st.RecordsRemoved == 0 || l.Size() >= before {
				t.Fatalf("nothing cleaned: %+v size %d→%d", st, before, l.Size())
			}
			if l.LogEndOffset() != leo {
				t.Fatalf("LEO moved %d→%d", leo, l.LogEndOffset())
			}
			got := map[string]string{}
			seen := map[string]bool{}
			for _, kv := range records(t, l) {
				if seen[kv[0]] {
					t.Fatalf("key %s appears twice after compaction", kv[0])
				}
				seen[kv[0]] = true
				if kv[1] != "<nil>" {
					got[kv[0]] = kv[1]
				} else {
					t.Fatalf("tombstone for %s older than delete.retention.ms survived", kv[0])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(model) {
				t.Fatalf("compacted state\n got %v\nwant %v", got, model)
			}
			// Reads through the log still work and the log reopens, even
			// after a crash.
			r, err := l.Read(l.LogStartOffset(), 1<<20, -1, true)
			if err != nil || r.Len == 0 {
				t.Fatalf("read: %v", err)
			}
			buf := make([]byte, r.Len)
			if _, err := r.File.ReadAt(buf, r.Pos); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			crashed := fs.CrashClone()
			l2, err := log.Open(log.Options{FS: crashed, Dir: "/d/t-0", Config: cfg, Clock: func() int64 { return now }, NeedsRecovery: true})
			if err != nil {
				t.Fatal(err)
			}
			if l2.LogEndOffset() < leo-3 {
				t.Fatalf("reopened LEO %d, want about %d", l2.LogEndOffset(), leo)
			}
			if len(records(t, l2)) < len(model) {
				t.Fatal("lost compacted data after a crash")
			}
			l2.Close(true)
			l.Close(true)
		})
	}
}

func TestTombstonesKeptWhileYoung(t *testing.T) {
	fs := vfs.NewMemFS()
	now := int64(10_000_000)
	cfg := log.DefaultConfig()
	cfg.CleanupCompact, cfg.CleanupDelete = true, false
	cfg.DeleteRetentionMs = 1_000_000
	l, _ := log.Open(log.Options{FS: fs, Dir: "/d/t-0", Config: cfg, Clock: func() int64 { return now }})
	defer l.Close(true)
	for _, v := range [][]byte{[]byte("a"), []byte("b"), nil} {
		l.Append(format.SimpleBatch(format.CodecNone, now, [][]byte{[]byte("k")}, [][]byte{v}), log.AppendOptions{AssignOffsets: true})
	}
	l.Roll()
	if _, err := Clean(l, now); err != nil {
		t.Fatal(err)
	}
	recs := records(t, l)
	if len(recs) != 1 || recs[2][1] != "<nil>" {
		t.Fatalf("want only the young tombstone at offset 2, got %v", recs)
	}
}
