package engine

import (
	"fmt"
	"io"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
)

// readValues fetches the whole log through Read, as the fetch path does
// (copying from each range's file), and returns the record values in
// order.
func readValues(t *testing.T, l *log.Log) []string {
	t.Helper()
	var out []string
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		r, err := l.Read(off, 64<<10, -1, true)
		if err != nil {
			t.Fatal(err)
		}
		if r.Len == 0 {
			t.Fatalf("empty read at %d below LEO %d", off, l.LogEndOffset())
		}
		buf := make([]byte, r.Len)
		if _, err := r.File.ReadAt(buf, r.Pos); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		for len(buf) >= format.LogOverhead {
			b, err := format.Parse(buf)
			if err != nil {
				break // a partial batch at the end of the range
			}
			b.ForEachRecord(func(rec format.Record) error {
				if o := b.BaseOffset() + int64(rec.OffsetDelta); o >= off {
					out = append(out, string(rec.Value))
				}
				return nil
			})
			off = b.NextOffset()
			buf = buf[b.Size():]
		}
	}
	return out
}

func wantValues(p, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("p%d-%d", p, i)
	}
	return out
}

func sameValues(t *testing.T, p int, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("partition %d: read %d records, want %d", p, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("partition %d record %d: %q, want %q", p, i, got[i], want[i])
		}
	}
}

// With log.open.files.max = 64 and 500 partitions on the real file system,
// produce and fetch work on every partition, across a clean restart and a
// recovery, while the engine holds at most the cap (plus a few) descriptors.
func TestManyPartitionsUnderOpenFilesCap(t *testing.T) {
	if testing.Short() {
		t.Skip("500 partitions on disk")
	}
	const parts, perPart, limit, slack = 500, 20, 64, 8
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.IOEngine = "pwrite"
	cfg.OpenFilesMax = limit
	cfg.Log.SegmentBytes = 1024 // several segments per partition
	cfg.RetentionCheckIntervalMs, cfg.CheckpointIntervalMs, cfg.CleanerBackoffMs, cfg.FlushSchedulerIntervalMs = 0, 0, 0, 0
	tp := func(p int) kafka.TopicPartition { return kafka.TopicPartition{Topic: "cap", Partition: int32(p)} }
	fds0 := openFDs(t)
	checkFDs := func(when string) {
		t.Helper()
		if d := openFDs(t) - fds0; d > limit+slack {
			t.Fatalf("%s: %d descriptors open, cap %d", when, d, limit)
		}
	}

	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := make([]*log.Log, parts)
	for p := range logs {
		if logs[p], err = e.CreatePartition(tp(p), cfg.Log); err != nil {
			t.Fatal(err)
		}
	}
	checkFDs("after creating")
	// Interleave partitions so every append finds its file evicted.
	for i := range perPart {
		for p, l := range logs {
			b := format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte(fmt.Sprintf("p%d-%d", p, i))})
			if _, err := l.Append(b, log.AppendOptions{AssignOffsets: true}); err != nil {
				t.Fatalf("append to partition %d: %v", p, err)
			}
		}
	}
	checkFDs("after producing")
	for p, l := range logs {
		if len(l.Segments()) < 2 {
			t.Fatalf("partition %d has %d segment(s); the test wants rolled ones", p, len(l.Segments()))
		}
		sameValues(t, p, readValues(t, l), wantValues(p, perPart))
	}
	checkFDs("after fetching")
	st, ok := e.OpenFiles()
	if !ok || st.Evictions == 0 || st.Reopens == 0 || st.Open > limit {
		t.Fatalf("cache stats %+v (ok %v): want evictions, reopens, open <= %d", st, ok, limit)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	for _, crash := range []bool{false, true} {
		if crash {
			simulateCrashLeftovers(t, dir, cfg.Log.SegmentIndexBytes)
		}
		e, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if e.WasCleanShutdown() == crash {
			t.Fatalf("crash %v but WasCleanShutdown %v", crash, e.WasCleanShutdown())
		}
		checkFDs(fmt.Sprintf("after opening (crash %v)", crash))
		for p := range parts {
			l, err := e.Partition(tp(p))
			if err != nil {
				t.Fatal(err)
			}
			sameValues(t, p, readValues(t, l), wantValues(p, perPart))
		}
		checkFDs(fmt.Sprintf("after reading back (crash %v)", crash))
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Power loss with a small cap and no fsync policy (MemFS keeps only synced
// data): what survives is a prefix of what was written, and every
// partition whose files were evicted after its last append survives
// whole, because eviction syncs an unsynced file before closing it.
// With flush.messages=1 every acknowledged record survives.
func TestCrashWithEvictedFiles(t *testing.T) {
	for _, syncAck := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", syncAck), func(t *testing.T) {
			const parts, perPart, limit = 40, 30, 8
			mem := vfs.NewMemFS()
			cfg := testConfig(mem, "pwrite")
			cfg.OpenFilesMax = limit
			cfg.CheckpointIntervalMs, cfg.FlushSchedulerIntervalMs = 0, 0
			if syncAck {
				cfg.Log.FlushMessages = 1
			}
			e, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for p := range parts {
				l, err := e.CreatePartition(kafka.TopicPartition{Topic: "t", Partition: int32(p)}, cfg.Log)
				if err != nil {
					t.Fatal(err)
				}
				for i := range perPart {
					b := format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte(fmt.Sprintf("p%d-%d-%s", p, i, make([]byte, 300)))})
					if _, err := l.Append(b, log.AppendOptions{AssignOffsets: true}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if st, _ := e.OpenFiles(); st.Evictions == 0 {
				t.Fatalf("no evictions: %+v", st)
			}
			// Crash: no Close, no checkpoint.
			cfg.FS = mem.CrashClone()
			e2, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e2.Close()
			whole := 0
			for p := range parts {
				l, err := e2.Partition(kafka.TopicPartition{Topic: "t", Partition: int32(p)})
				if err != nil {
					t.Fatal(err)
				}
				got := readValues(t, l)
				for i, v := range got {
					if want := fmt.Sprintf("p%d-%d-%s", p, i, make([]byte, 300)); v != want {
						t.Fatalf("partition %d record %d after crash: not what was written", p, i)
					}
				}
				if len(got) == perPart {
					whole++
				}
			}
			want := parts - limit - 1
			if syncAck {
				want = parts
			}
			if whole < want {
				t.Fatalf("%d of %d partitions survived whole, want at least %d", whole, parts, want)
			}
			t.Logf("%d of %d partitions survived whole", whole, parts)
		})
	}
}
