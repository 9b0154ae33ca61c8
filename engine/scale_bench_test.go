package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// BenchmarkManyPartitions measures what a broker with many (empty)
// partitions costs the engine: open descriptors, resident memory, clean and
// unclean start-up time, and the cost of the first append to each
// partition. It runs each size once; use -benchtime=1x. The sizes are
// 1,000 and 10,000 by default; RILL_SCALE_PARTITIONS=1000,100000 overrides
// them, and RILL_SCALE_OPEN_FILES=N sets log.open.files.max. Issue 16;
// numbers in BENCHMARKS.md "Many partitions".
//
// The unclean start reproduces what a crash leaves: the clean-shutdown
// marker and the recovery-point checkpoint gone, and every active
// segment's indexes still preallocated (sparse) to segment.index.bytes.
func BenchmarkManyPartitions(b *testing.B) {
	sizes := []int{1000, 10000}
	if s := os.Getenv("RILL_SCALE_PARTITIONS"); s != "" {
		sizes = scaleSizes(b, s)
	}
	for _, p := range sizes {
		b.Run(fmt.Sprintf("partitions=%d", p), func(b *testing.B) { benchManyPartitions(b, p) })
	}
}

// scaleSizes parses RILL_SCALE_PARTITIONS.
func scaleSizes(b *testing.B, s string) []int {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			b.Fatalf("RILL_SCALE_PARTITIONS: %v", err)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

func benchManyPartitions(b *testing.B, parts int) {
	dir := b.TempDir()
	cfg := DefaultConfig(dir)
	cfg.IOEngine = "pwrite"
	cfg.OpenFilesMax, _ = strconv.Atoi(os.Getenv("RILL_SCALE_OPEN_FILES"))
	// No background passes: the numbers are start-up and append costs.
	cfg.RetentionCheckIntervalMs, cfg.CheckpointIntervalMs, cfg.CleanerBackoffMs, cfg.FlushSchedulerIntervalMs = 0, 0, 0, 0
	tp := func(p int) kafka.TopicPartition { return kafka.TopicPartition{Topic: "scale", Partition: int32(p)} }
	fds0 := openFDs(b)

	start := time.Now()
	e, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	// As the broker creates a topic's partitions: in one call.
	all := make([]kafka.TopicPartition, parts)
	for p := range all {
		all[p] = tp(p)
	}
	if _, errs := e.CreatePartitions(all, cfg.Log); errors.Join(errs...) != nil {
		b.Fatalf("create partitions: %v", errors.Join(errs...))
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(parts), "create-µs/partition")
	b.ReportMetric(float64(openFDs(b)-fds0), "fds-open")

	firstAppend := appendOnce(b, e, parts, tp)
	b.ReportMetric(float64(firstAppend.Microseconds())/float64(parts), "first-append-µs/partition")
	b.ReportMetric(float64(openFDs(b)-fds0), "fds-after-append")
	b.ReportMetric(rssMiB(b), "rss-MiB")
	start = time.Now()
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "close-s")

	// Clean start.
	start = time.Now()
	e, err = Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "clean-start-s")
	b.ReportMetric(float64(openFDs(b)-fds0), "fds-after-clean-start")
	if got := len(e.Partitions()); got != parts {
		b.Fatalf("clean start opened %d partitions, want %d", got, parts)
	}
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}

	// Unclean start: the on-disk state a crash leaves behind.
	simulateCrashLeftovers(b, dir, cfg.Log.SegmentIndexBytes)
	faults0 := majorMinorFaults()
	start = time.Now()
	e, err = Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "unclean-start-s")
	b.ReportMetric(float64(majorMinorFaults()-faults0), "unclean-start-faults")
	if e.WasCleanShutdown() {
		b.Fatal("unclean start took the clean path")
	}
	for p := 0; p < parts; p++ {
		l, err := e.Partition(tp(p))
		if err != nil {
			b.Fatal(err)
		}
		if leo := l.LogEndOffset(); leo != 1 {
			b.Fatalf("partition %d: log end offset %d after recovery, want 1", p, leo)
		}
	}
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
}

// appendOnce appends one small batch to each partition and returns the
// total time.
func appendOnce(b *testing.B, e *Engine, parts int, tp func(int) kafka.TopicPartition) time.Duration {
	proto := format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte("v")})
	start := time.Now()
	for p := 0; p < parts; p++ {
		l, err := e.Partition(tp(p))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Append(append([]byte(nil), proto...), log.AppendOptions{AssignOffsets: true}); err != nil {
			b.Fatalf("append to partition %d: %v", p, err)
		}
	}
	return time.Since(start)
}

// simulateCrashLeftovers removes the clean-shutdown marker and the
// recovery-point checkpoint and re-extends every index file to its
// preallocated size, as a SIGKILLed broker leaves them.
func simulateCrashLeftovers(b testing.TB, dir string, indexBytes int) {
	removeMarkerAndCheckpoint(b, dir)
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, format.IndexSuffix) || strings.HasSuffix(path, format.TimeIndexSuffix) {
			return os.Truncate(path, int64(indexBytes))
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func openFDs(tb testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// rssMiB is the process's resident set (VmRSS), file-backed pages included.
func rssMiB(tb testing.TB) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// majorMinorFaults counts the process's page faults: recovery that maps
// and reads preallocated index files shows up here.
func majorMinorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt + ru.Majflt
}
