package engine

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
)

func testConfig(fs vfs.FS, ioEngine string) Config {
	cfg := DefaultConfig("/data")
	cfg.FS = fs
	cfg.IOEngine = ioEngine
	cfg.Log.SegmentBytes = 8192
	return cfg
}

func produce(t *testing.T, l *log.Log, n int, tag string) {
	t.Helper()
	for i := 0; i < n; i++ {
		b := format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte(fmt.Sprintf("%s-%d", tag, i))})
		if _, err := l.Append(b, log.AppendOptions{AssignOffsets: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCleanShutdownAndReopen(t *testing.T) {
	for _, ioe := range []string{"pwrite", "uring"} {
		t.Run(ioe, func(t *testing.T) {
			cfg := testConfig(vfs.Default, ioe)
			cfg.DataDir = t.TempDir()
			e, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for p := int32(0); p < 3; p++ {
				l, err := e.CreatePartition(kafka.TopicPartition{Topic: "my-topic", Partition: p}, cfg.Log)
				if err != nil {
					t.Fatal(err)
				}
				produce(t, l, 100*int(p+1), "x")
			}
			if _, err := e.CreatePartition(kafka.TopicPartition{Topic: "my-topic", Partition: 0}, cfg.Log); err != ErrPartitionExists {
				t.Fatalf("duplicate create: %v", err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e, err = Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if !e.WasCleanShutdown() {
				t.Fatal("clean shutdown not detected")
			}
			if got := e.Partitions(); len(got) != 3 || got[2] != (kafka.TopicPartition{Topic: "my-topic", Partition: 2}) {
				t.Fatalf("partitions %v", got)
			}
			l, _ := e.Partition(kafka.TopicPartition{Topic: "my-topic", Partition: 2})
			if l.LogEndOffset() != 300 {
				t.Fatalf("LEO %d", l.LogEndOffset())
			}
			if err := e.DeletePartition(kafka.TopicPartition{Topic: "my-topic", Partition: 1}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Partition(kafka.TopicPartition{Topic: "my-topic", Partition: 1}); err == nil {
				t.Fatal("deleted partition still there")
			}
		})
	}
}

// Many partitions appending with flush.messages=1 share group commits, and
// every acknowledged record survives a crash.
func TestGroupCommitDurability(t *testing.T) {
	mem := vfs.NewMemFS()
	cfg := testConfig(mem, "auto")
	cfg.Log.FlushMessages = 1
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const parts, per = 8, 50
	var wg sync.WaitGroup
	for p := int32(0); p < parts; p++ {
		l, err := e.CreatePartition(kafka.TopicPartition{Topic: "t", Partition: p}, cfg.Log)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			produce(t, l, per, "acked")
		}()
	}
	wg.Wait()
	rounds, reqs := e.Committer().Stats()
	if reqs < parts*per || rounds == 0 {
		t.Fatalf("rounds %d requests %d", rounds, reqs)
	}
	t.Logf("%d sync requests in %d group commits", reqs, rounds)
	// Crash: no Close, no checkpoint after the appends.
	crashed := mem.CrashClone()
	cfg.FS = crashed
	e2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if e2.WasCleanShutdown() {
		t.Fatal("crash taken for a clean shutdown")
	}
	for p := int32(0); p < parts; p++ {
		l, err := e2.Partition(kafka.TopicPartition{Topic: "t", Partition: p})
		if err != nil {
			t.Fatal(err)
		}
		if l.LogEndOffset() != per {
			t.Fatalf("partition %d: LEO %d after crash, want %d", p, l.LogEndOffset(), per)
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	fs := vfs.NewMemFS()
	fs.MkdirAll("/d", 0o755)
	in := map[kafka.TopicPartition]int64{{Topic: "a-b-c", Partition: 3}: 42, {Topic: "z", Partition: 0}: 0}
	if err := writeCheckpoint(fs, "/d", "cp", in); err != nil {
		t.Fatal(err)
	}
	out, err := readCheckpoint(fs, "/d", "cp")
	if err != nil || len(out) != 2 || out[kafka.TopicPartition{Topic: "a-b-c", Partition: 3}] != 42 {
		t.Fatalf("%v %v", out, err)
	}
	if tp, ok := kafka.ParseDirName("a-b-c-3"); !ok || tp.Topic != "a-b-c" || tp.Partition != 3 {
		t.Fatalf("%v", tp)
	}
}

// CreatePartitions makes many logs at once: each exists after, survives a
// reopen, and a partition that exists (or is named twice) answers
// ErrPartitionExists without disturbing the others.
func TestCreatePartitions(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.IOEngine = "pwrite"
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var tps []kafka.TopicPartition
	for p := range int32(50) {
		tps = append(tps, kafka.TopicPartition{Topic: "many", Partition: p})
	}
	if _, err := e.CreatePartition(tps[7], cfg.Log); err != nil {
		t.Fatal(err)
	}
	logs, errs := e.CreatePartitions(append(tps, tps[3]), cfg.Log)
	for i, err := range errs {
		switch {
		case i == 7 || i == len(tps):
			if !errors.Is(err, ErrPartitionExists) {
				t.Fatalf("partition %d: %v, want ErrPartitionExists", i, err)
			}
		case err != nil || logs[i] == nil:
			t.Fatalf("partition %d: %v", i, err)
		}
	}
	if n := len(e.Partitions()); n != len(tps) {
		t.Fatalf("%d partitions, want %d", n, len(tps))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, errs := e.CreatePartitions(tps[:1], cfg.Log); !errors.Is(errs[0], log.ErrClosed) {
		t.Fatalf("after Close: %v", errs[0])
	}
	e, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if n := len(e.Partitions()); n != len(tps) {
		t.Fatalf("after a reopen: %d partitions, want %d", n, len(tps))
	}
}
