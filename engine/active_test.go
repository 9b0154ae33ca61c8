package engine

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
)

// renameCountFS counts atomic file writes (their final rename) by name.
type renameCountFS struct {
	vfs.FS
	mu      sync.Mutex
	renamed map[string]int
}

func (f *renameCountFS) Rename(oldname, newname string) error {
	f.mu.Lock()
	f.renamed[filepath.Base(newname)]++
	f.mu.Unlock()
	return f.FS.Rename(oldname, newname)
}

func (f *renameCountFS) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.renamed[name]
}

func (e *Engine) activeCount() int {
	e.active.Lock()
	defer e.active.Unlock()
	return len(e.active.logs)
}

// The background passes visit only logs that changed: a checkpoint retires
// idle, recorded logs from the active set and is not rewritten while
// nothing changes; an append brings its log back; flush.ms still flushes
// it, and the next checkpoint records its recovery point.
func TestActiveSet(t *testing.T) {
	fs := &renameCountFS{FS: vfs.NewMemFS(), renamed: map[string]int{}}
	cfg := testConfig(fs, "pwrite")
	cfg.RetentionCheckIntervalMs, cfg.CheckpointIntervalMs, cfg.CleanerBackoffMs, cfg.FlushSchedulerIntervalMs = 0, 0, 0, 0
	cfg.Log.FlushMs = 1000
	var now atomic.Int64 // the scheduler's goroutine reads the clock too
	now.Store(1_000_000)
	cfg.Clock = now.Load
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tp := func(p int32) kafka.TopicPartition { return kafka.TopicPartition{Topic: "a", Partition: p} }
	for p := int32(0); p < 3; p++ {
		l, err := e.CreatePartition(tp(p), cfg.Log)
		if err != nil {
			t.Fatal(err)
		}
		produce(t, l, 2, "x")
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.activeCount(); n != 3 {
		t.Fatalf("active after creating and appending: %d", n)
	}
	if err := e.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	writes := fs.count(recoveryPointFile)
	if n := e.activeCount(); n != 0 || writes != 1 {
		t.Fatalf("after a checkpoint: %d active, %d writes", n, writes)
	}
	if err := e.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if w := fs.count(recoveryPointFile); w != writes {
		t.Fatalf("an unchanged checkpoint was rewritten (%d writes)", w)
	}

	l1, _ := e.Partition(tp(1))
	produce(t, l1, 1, "y")
	if n := e.activeCount(); n != 1 {
		t.Fatalf("active after one append: %d", n)
	}
	if err := e.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if w := fs.count(recoveryPointFile); w != writes || e.activeCount() != 1 {
		t.Fatalf("unflushed log: %d writes, %d active", w, e.activeCount())
	}
	e.FlushDue(now.Add(2000))
	if rp := l1.RecoveryPoint(); rp != 3 {
		t.Fatalf("flush.ms passed, recovery point %d", rp)
	}
	if err := e.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if w := fs.count(recoveryPointFile); w != writes+1 || e.activeCount() != 0 {
		t.Fatalf("after the flush: %d writes, %d active", w, e.activeCount())
	}
	rps, err := readCheckpoint(fs, cfg.DataDir, recoveryPointFile)
	if err != nil || rps[tp(1)] != 3 || rps[tp(0)] != 2 || len(rps) != 3 {
		t.Fatalf("checkpoint %v %v", rps, err)
	}

	// Retention moves the log start: active again, recorded at the next
	// checkpoint.
	if _, err := l1.DeleteRecords(1); err != nil {
		t.Fatal(err)
	}
	if err := e.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	lsos, _ := readCheckpoint(fs, cfg.DataDir, logStartOffsetFile)
	if lsos[tp(1)] != 1 {
		t.Fatalf("log start checkpoint %v", lsos)
	}

	// A deleted partition leaves the checkpoints.
	if err := e.DeletePartition(tp(2)); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	rps, _ = readCheckpoint(fs, cfg.DataDir, recoveryPointFile)
	if _, ok := rps[tp(2)]; ok || len(rps) != 2 {
		t.Fatalf("checkpoint after deleting a partition: %v", rps)
	}
	// A clean start and close with no change rewrites neither file.
	writes = fs.count(recoveryPointFile)
	e, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if w := fs.count(recoveryPointFile); w != writes {
		t.Fatalf("clean start and close rewrote the checkpoint")
	}
}

// The cleaner visits only compacted logs: those created or opened with
// cleanup.policy=compact and those a config change made so.
func TestCompactedLogs(t *testing.T) {
	cfg := testConfig(vfs.NewMemFS(), "pwrite")
	cfg.RetentionCheckIntervalMs, cfg.CheckpointIntervalMs, cfg.CleanerBackoffMs, cfg.FlushSchedulerIntervalMs = 0, 0, 0, 0
	compacted := cfg.Log
	compacted.CleanupCompact, compacted.CleanupDelete = true, false
	cfg.LogConfigFor = func(tp kafka.TopicPartition) log.Config {
		if tp.Topic == "c" {
			return compacted
		}
		return cfg.Log
	}
	names := func(e *Engine) (out []string) {
		for _, a := range e.compactedLogs() {
			out = append(out, a.tp.String())
		}
		sort.Strings(out)
		return out
	}
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c0 := kafka.TopicPartition{Topic: "c", Partition: 0}
	d0 := kafka.TopicPartition{Topic: "d", Partition: 0}
	if _, err := e.CreatePartition(c0, compacted); err != nil {
		t.Fatal(err)
	}
	ld, err := e.CreatePartition(d0, cfg.Log)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names(e)); got != "["+c0.String()+"]" {
		t.Fatalf("compacted logs after create: %s", got)
	}
	if err := e.Checkpoint(); err != nil { // retires both from the active set
		t.Fatal(err)
	}
	ld.SetConfig(compacted)
	if got := len(names(e)); got != 2 {
		t.Fatalf("a config change to compact: %d compacted logs", got)
	}
	ld.SetConfig(cfg.Log)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := fmt.Sprint(names(e)); got != "["+c0.String()+"]" {
		t.Fatalf("compacted logs after reopening: %s", got)
	}
}
