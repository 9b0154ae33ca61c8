package engine

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// BenchmarkManyPartitionsMapped measures what mapped indexes cost a broker
// with many partitions that hold data, with and without a cap on mapped
// index files (log.index.mapped.max, package index). Each partition gets
// two small batches with index.interval.bytes = 1, so each holds two
// offset-index and two time-index entries in one segment: two mapped
// files per partition without a cap, which passes Linux's default
// vm.max_map_count (65,530 mappings per process, Go's heap included) at
// about 32,000 partitions. Issue 16.
//
// RILL_SCALE_MAPPED_PARTITIONS sets the partition count (default 2,000;
// 40,000 is the case that needs the cap) and RILL_SCALE_INDEX_MAPS the
// caps to compare, comma-separated: "auto" (0, half of vm.max_map_count),
// a number, or "none" (no cap in practice; at 40,000 partitions the
// process dies when the Go runtime cannot map memory, so run it alone).
// Default "auto". Use -benchtime=1x. log.open.files.max is 4,096 (or
// RILL_SCALE_OPEN_FILES) so that descriptors are not the limit; with more
// partitions than that, appends and cold reads also pay the descriptor
// cache's reopens and its fdatasync of evicted, unsynced .log files.
//
// Reported: maps (index files mapped, from /proc/self/maps) and
// process-maps (all of the process's mappings) after the appends, RSS, the
// second append per partition (its indexes evicted under a small cap, so
// it maps them again), a flush of every log (evicted indexes fsync their
// files), a read at offset 1 of every partition (an index
// lookup; cold under a cap), a read loop over 8 partitions (hot), and the
// clean restart with the maps it leaves.
func BenchmarkManyPartitionsMapped(b *testing.B) {
	parts := 2000
	if s := os.Getenv("RILL_SCALE_MAPPED_PARTITIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("RILL_SCALE_MAPPED_PARTITIONS: %v", err)
		}
		parts = n
	}
	caps := "auto"
	if s := os.Getenv("RILL_SCALE_INDEX_MAPS"); s != "" {
		caps = s
	}
	for _, c := range strings.Split(caps, ",") {
		c = strings.TrimSpace(c)
		var limit int
		switch c {
		case "auto":
		case "none":
			limit = math.MaxInt32
		default:
			n, err := strconv.Atoi(c)
			if err != nil || n <= 0 {
				b.Fatalf("RILL_SCALE_INDEX_MAPS: %q", c)
			}
			limit = n
		}
		b.Run(fmt.Sprintf("partitions=%d/cap=%s", parts, c), func(b *testing.B) { benchMapped(b, parts, limit) })
	}
}

func benchMapped(b *testing.B, parts, limit int) {
	dir := b.TempDir()
	cfg := DefaultConfig(dir)
	cfg.IOEngine = "pwrite"
	cfg.OpenFilesMax = 4096
	if s := os.Getenv("RILL_SCALE_OPEN_FILES"); s != "" {
		cfg.OpenFilesMax, _ = strconv.Atoi(s)
	}
	cfg.IndexMapsMax = limit
	cfg.Log.IndexIntervalBytes = 1
	cfg.RetentionCheckIntervalMs, cfg.CheckpointIntervalMs, cfg.CleanerBackoffMs, cfg.FlushSchedulerIntervalMs = 0, 0, 0, 0
	tp := func(p int) kafka.TopicPartition { return kafka.TopicPartition{Topic: "mapped", Partition: int32(p)} }

	e, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	logs := make([]*log.Log, parts)
	for p := range logs {
		if logs[p], err = e.CreatePartition(tp(p), cfg.Log); err != nil {
			b.Fatalf("create partition %d: %v", p, err)
		}
	}
	appendAll := func(i int) time.Duration {
		start := time.Now()
		for p, l := range logs {
			batch := format.SimpleBatch(format.CodecNone, int64(1000+i), nil, [][]byte{[]byte("value")})
			if _, err := l.Append(batch, log.AppendOptions{AssignOffsets: true}); err != nil {
				b.Fatalf("append %d to partition %d: %v", i, p, err)
			}
		}
		return time.Since(start)
	}
	perPart := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(parts) }
	b.ReportMetric(perPart(appendAll(0)), "append1-µs/partition")
	b.ReportMetric(perPart(appendAll(1)), "append2-µs/partition")
	// Flush every log: evicted indexes with unsynced entries open their
	// files to fsync them. Afterwards nothing is unsynced, so the reads
	// below never wait for an evicted log descriptor's fdatasync.
	start := time.Now()
	for p, l := range logs {
		if err := l.Flush(); err != nil {
			b.Fatalf("flush partition %d: %v", p, err)
		}
	}
	b.ReportMetric(perPart(time.Since(start)), "flush-µs/partition")
	b.ReportMetric(float64(mappedFilesUnder(b, dir)), "maps")
	b.ReportMetric(float64(processMaps(b)), "process-maps")
	b.ReportMetric(rssMiB(b), "rss-MiB")

	read := func(l *log.Log) {
		r, err := l.Read(1, 1, -1, true)
		if err != nil || r.Len == 0 {
			b.Fatalf("read at 1: %v (len %d)", err, r.Len)
		}
	}
	start = time.Now()
	for _, l := range logs {
		read(l)
	}
	b.ReportMetric(perPart(time.Since(start)), "read-cold-µs")
	const hot, rounds = 8, 2000
	start = time.Now()
	for i := range rounds {
		read(logs[i%hot])
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/1e3/rounds, "read-hot-µs")
	// Time lookups (time index) on every partition.
	start = time.Now()
	for p, l := range logs {
		if off, _, ok, err := l.OffsetForTimestamp(1001); err != nil || !ok || off != 1 {
			b.Fatalf("partition %d: offset for time 1001 = %d, %v, %v", p, off, ok, err)
		}
	}
	b.ReportMetric(perPart(time.Since(start)), "time-lookup-µs")
	start = time.Now()
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "close-s")

	start = time.Now()
	e, err = Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "clean-start-s")
	b.ReportMetric(float64(mappedFilesUnder(b, dir)), "maps-after-start")
	for p := range parts {
		l, err := e.Partition(tp(p))
		if err != nil {
			b.Fatal(err)
		}
		if leo := l.LogEndOffset(); leo != 2 {
			b.Fatalf("partition %d: log end offset %d after restart, want 2", p, leo)
		}
	}
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
}

// processMaps counts all of the process's mappings (VMAs).
func processMaps(tb testing.TB) int {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		tb.Skipf("no /proc/self/maps: %v", err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}
