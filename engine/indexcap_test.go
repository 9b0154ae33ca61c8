package engine

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// mappedFilesUnder counts this process's mappings of files under dir
// (each mapped index is one).
func mappedFilesUnder(tb testing.TB, dir string) int {
	tb.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		tb.Skipf("no /proc/self/maps: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), dir+"/") {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return n
}

// With log.index.mapped.max = 16 and 200 partitions whose segments all
// hold index entries (far more than 16 indexes), produce, fetch by offset
// and look up by time work on every partition, across a clean restart and
// a recovery, while at most 16 index files are mapped: the single-threaded
// test pins nothing between calls, so the cap holds exactly.
func TestManyPartitionsUnderIndexMapCap(t *testing.T) {
	if testing.Short() {
		t.Skip("200 partitions on disk")
	}
	const parts, perPart, limit = 200, 40, 16
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.IOEngine = "pwrite"
	cfg.IndexMapsMax = limit
	cfg.OpenFilesMax = 64
	cfg.Log.SegmentBytes = 2048      // rolled segments, each with entries
	cfg.Log.IndexIntervalBytes = 100 // an entry every batch or so
	cfg.Log.SegmentIndexBytes = 64 << 10
	cfg.RetentionCheckIntervalMs, cfg.CheckpointIntervalMs, cfg.CleanerBackoffMs, cfg.FlushSchedulerIntervalMs = 0, 0, 0, 0
	tp := func(p int) kafka.TopicPartition { return kafka.TopicPartition{Topic: "maps", Partition: int32(p)} }
	checkMaps := func(when string) {
		t.Helper()
		if m := mappedFilesUnder(t, dir); m > limit {
			t.Fatalf("%s: %d index files mapped, cap %d", when, m, limit)
		}
	}
	value := func(p, i int) []byte { return []byte(fmt.Sprintf("p%d-%d-%s", p, i, strings.Repeat("x", 100))) }
	check := func(when string, l *log.Log, p int) {
		t.Helper()
		got := readValues(t, l)
		if len(got) != perPart {
			t.Fatalf("%s: partition %d: read %d records, want %d", when, p, len(got), perPart)
		}
		for i, v := range got {
			if v != string(value(p, i)) {
				t.Fatalf("%s: partition %d record %d: %q", when, p, i, v)
			}
		}
		// Reads from inside the log go through the offset index, time
		// lookups through the time index.
		for _, off := range []int64{1, perPart / 2, perPart - 1} {
			r, err := l.Read(off, 1, -1, true)
			if err != nil || r.Len == 0 {
				t.Fatalf("%s: partition %d: read at %d: %v (len %d)", when, p, off, err, r.Len)
			}
			buf := make([]byte, r.Len)
			if _, err := r.File.ReadAt(buf, r.Pos); err != nil {
				t.Fatal(err)
			}
			b, err := format.Parse(buf)
			if err != nil || b.BaseOffset() != off {
				t.Fatalf("%s: partition %d: read at %d gave the batch at %d (%v)", when, p, off, b.BaseOffset(), err)
			}
			got, _, ok, err := l.OffsetForTimestamp(1000 + off)
			if err != nil || !ok || got != off {
				t.Fatalf("%s: partition %d: offset for time %d = %d, %v, %v; want %d", when, p, 1000+off, got, ok, err, off)
			}
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
	// Interleave partitions so that appends keep finding their indexes
	// unmapped.
	for i := range perPart {
		for p, l := range logs {
			b := format.SimpleBatch(format.CodecNone, int64(1000+i), nil, [][]byte{value(p, i)})
			if _, err := l.Append(b, log.AppendOptions{AssignOffsets: true}); err != nil {
				t.Fatalf("append to partition %d: %v", p, err)
			}
		}
		checkMaps(fmt.Sprintf("after round %d of appends", i))
	}
	for p, l := range logs {
		if len(l.Segments()) < 2 {
			t.Fatalf("partition %d has %d segment(s); the test wants rolled ones", p, len(l.Segments()))
		}
		check("before restart", l, p)
	}
	checkMaps("after fetching")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if m := mappedFilesUnder(t, dir); m != 0 {
		t.Fatalf("%d index files still mapped after Close", m)
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
		checkMaps(fmt.Sprintf("after opening (crash %v)", crash))
		for p := range parts {
			l, err := e.Partition(tp(p))
			if err != nil {
				t.Fatal(err)
			}
			check(fmt.Sprintf("crash %v", crash), l, p)
		}
		checkMaps(fmt.Sprintf("after reading back (crash %v)", crash))
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
