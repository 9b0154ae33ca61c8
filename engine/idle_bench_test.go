package engine

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// BenchmarkIdleTick measures the scheduler's background passes on a broker
// whose partitions are all idle: each partition got one record, flushed
// and checkpointed, and nothing since. Issue 16 asks that these passes
// cost O(partitions with changes), so the ns per pass should not grow with
// the partition count. Sizes: 10,000 by default, RILL_SCALE_PARTITIONS
// overrides (RILL_SCALE_OPEN_FILES sets log.open.files.max, needed past
// the descriptor limit).
func BenchmarkIdleTick(b *testing.B) {
	sizes := []int{10000}
	if s := os.Getenv("RILL_SCALE_PARTITIONS"); s != "" {
		sizes = scaleSizes(b, s)
	}
	for _, p := range sizes {
		b.Run(fmt.Sprintf("partitions=%d", p), func(b *testing.B) { benchIdleTick(b, p) })
	}
}

func benchIdleTick(b *testing.B, parts int) {
	cfg := DefaultConfig(b.TempDir())
	cfg.IOEngine = "pwrite"
	cfg.OpenFilesMax, _ = strconv.Atoi(os.Getenv("RILL_SCALE_OPEN_FILES"))
	// The benchmark calls the passes itself.
	cfg.RetentionCheckIntervalMs, cfg.CheckpointIntervalMs, cfg.CleanerBackoffMs, cfg.FlushSchedulerIntervalMs = 0, 0, 0, 0
	cfg.Log.FlushMs = 1000 // flush.ms set: FlushDue has something to check
	tp := func(p int) kafka.TopicPartition { return kafka.TopicPartition{Topic: "idle", Partition: int32(p)} }
	e, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for p := 0; p < parts; p++ {
		if _, err := e.CreatePartition(tp(p), cfg.Log); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now().UnixMilli()
	// Current timestamps: retention.ms (7 days) keeps every segment.
	proto := format.SimpleBatch(format.CodecNone, now, nil, [][]byte{[]byte("v")})
	for p := 0; p < parts; p++ {
		l, err := e.Partition(tp(p))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Append(append([]byte(nil), proto...), log.AppendOptions{AssignOffsets: true}); err != nil {
			b.Fatal(err)
		}
		if err := l.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.Checkpoint(); err != nil {
		b.Fatal(err)
	}
	e.FlushDue(now)
	e.ReapDeleted(now)
	// The first retention pass after start-up looks at every log.
	start := time.Now()
	e.ApplyRetention(now)
	firstRetention := time.Since(start)
	passes := []struct {
		name string
		run  func(now int64)
	}{
		{"flush", e.FlushDue},
		{"reap", e.ReapDeleted},
		{"retention", e.ApplyRetention},
		{"compact", e.Compact},
		{"checkpoint", func(int64) {
			if err := e.Checkpoint(); err != nil {
				b.Fatal(err)
			}
		}},
	}
	spent := make([]time.Duration, len(passes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, p := range passes {
			start := time.Now()
			p.run(now + int64(i+1)*2000)
			spent[j] += time.Since(start)
		}
	}
	b.ReportMetric(float64(firstRetention.Nanoseconds()), "first-retention-ns")
	for j, p := range passes {
		b.ReportMetric(float64(spent[j].Nanoseconds())/float64(b.N), p.name+"-ns/pass")
	}
}
