package engine

import (
	"fmt"
	"sync"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// batchOf builds a batch of n records of size bytes each (uncompressed),
// about 16 KiB in all, the size a producer's linger fills.
func batchOf(recordSize int) ([]byte, int) {
	n := max(1, 16384/recordSize)
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = make([]byte, recordSize)
		for j := range vals[i] {
			vals[i][j] = byte(i + j)
		}
	}
	return format.SimpleBatch(format.CodecNone, 1, nil, vals), n
}

// BenchmarkAppend: MB/s and records/s of Log.Append through the engine
// across record size × partitions × fsync policy × io engine. Partitions
// append from one goroutine each, as a broker's request handlers would.
func BenchmarkAppend(b *testing.B) {
	for _, ioe := range []string{"pwrite", "uring"} {
		for _, syncAck := range []bool{false, true} {
			for _, parts := range []int{1, 100} {
				for _, size := range []int{100, 1024} {
					name := fmt.Sprintf("io=%s/sync=%v/partitions=%d/record=%dB", ioe, syncAck, parts, size)
					b.Run(name, func(b *testing.B) { benchAppend(b, ioe, syncAck, parts, size) })
				}
			}
		}
	}
}

func benchAppend(b *testing.B, ioe string, syncAck bool, parts, recordSize int) {
	cfg := DefaultConfig(b.TempDir())
	cfg.IOEngine = ioe
	if syncAck {
		cfg.Log.FlushMessages = 1
	}
	e, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	logs := make([]*log.Log, parts)
	for p := range logs {
		if logs[p], err = e.CreatePartition(kafka.TopicPartition{Topic: "bench", Partition: int32(p)}, cfg.Log); err != nil {
			b.Fatal(err)
		}
	}
	proto, n := batchOf(recordSize)
	// Enough appends per partition that each goroutine does real work.
	total := b.N * 16
	b.SetBytes(int64(len(proto)) * 16)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (total + parts - 1) / parts
	for p := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(proto))
			for i := 0; i < per; i++ {
				copy(buf, proto)
				if _, err := logs[p].Append(buf, log.AppendOptions{AssignOffsets: true}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(per*parts*n)/secs, "records/s")
	var leo int64
	for _, l := range logs {
		leo += l.LogEndOffset()
	}
	if leo != int64(per*parts*n) {
		b.Fatalf("appended %d records, logs hold %d", per*parts*n, leo)
	}
}

// BenchmarkRead: MB/s of reading a partition front to back through
// Log.Read file ranges (1 MiB fetches), copying from the page cache.
func BenchmarkRead(b *testing.B) {
	cfg := DefaultConfig(b.TempDir())
	e, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	l, _ := e.CreatePartition(kafka.TopicPartition{Topic: "bench", Partition: 0}, cfg.Log)
	proto, _ := batchOf(1024)
	for i := 0; i < 16384; i++ { // 256 MiB
		buf := append([]byte(nil), proto...)
		if _, err := l.Append(buf, log.AppendOptions{AssignOffsets: true}); err != nil {
			b.Fatal(err)
		}
	}
	size := l.Size()
	b.SetBytes(size)
	buf := make([]byte, 1<<20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var read int64
		for off := int64(0); off < l.LogEndOffset(); {
			r, err := l.Read(off, len(buf), -1, true)
			if err != nil || r.Len == 0 {
				b.Fatal(err)
			}
			n, _ := r.File.ReadAt(buf[:r.Len], r.Pos)
			read += int64(n)
			// Advance past the last whole batch in the range.
			last := off
			format.Iterate(buf[:n], func(_ int, bt format.Batch) error { last = bt.NextOffset(); return nil })
			if last == off {
				b.Fatal("no whole batch in a 1 MiB read")
			}
			off = last
		}
		if read < size {
			b.Fatalf("read %d of %d bytes", read, size)
		}
	}
}

// BenchmarkRecovery: time to recover a 1 GiB log after an unclean shutdown
// (every batch CRC-checked, indexes rebuilt), page cache warm.
func BenchmarkRecovery(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 1 GiB")
	}
	dir := b.TempDir()
	cfg := DefaultConfig(dir)
	e, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	l, _ := e.CreatePartition(kafka.TopicPartition{Topic: "bench", Partition: 0}, cfg.Log)
	proto, _ := batchOf(1024)
	for l.Size() < 1<<30 {
		buf := append([]byte(nil), proto...)
		if _, err := l.Append(buf, log.AppendOptions{AssignOffsets: true}); err != nil {
			b.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	size := l.Size()
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		removeMarkerAndCheckpoint(b, dir)
		b.StartTimer()
		e, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l, _ := e.Partition(kafka.TopicPartition{Topic: "bench", Partition: 0})
		if l.LogEndOffset() != leo {
			b.Fatalf("recovered LEO %d, want %d", l.LogEndOffset(), leo)
		}
		e.Close()
		b.StartTimer()
	}
}
