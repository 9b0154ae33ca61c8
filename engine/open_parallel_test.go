package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/internal/kafka"
)

// Logs open on several goroutines: every partition is there after a clean
// start and after a crash, and one partition that cannot open fails Open
// with its name, closing what was opened (the directory lock is free
// again, so a later Open succeeds).
func TestParallelOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.IOEngine = "pwrite"
	const parts = 50
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(parts) {
		l, err := e.CreatePartition(kafka.TopicPartition{Topic: "par", Partition: p}, cfg.Log)
		if err != nil {
			t.Fatal(err)
		}
		produce(t, l, int(p%5)+1, "v")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	reopen := func(wantClean bool) {
		t.Helper()
		e, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if e.WasCleanShutdown() != wantClean {
			t.Fatalf("clean %v, want %v", e.WasCleanShutdown(), wantClean)
		}
		if n := len(e.Partitions()); n != parts {
			t.Fatalf("%d partitions open, want %d", n, parts)
		}
		for p := range int32(parts) {
			l, err := e.Partition(kafka.TopicPartition{Topic: "par", Partition: p})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := l.LogEndOffset(), int64(p%5)+1; got != want {
				t.Fatalf("partition %d: LEO %d, want %d", p, got, want)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	reopen(true)
	removeMarkerAndCheckpoint(t, dir)
	reopen(false)

	// A .log that is a directory cannot be opened.
	bad := filepath.Join(dir, "par-17", format.FileName(0, format.LogSuffix))
	if err := os.Rename(bad, bad+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "par-17") {
		t.Fatalf("Open with a broken partition: %v, want an error naming par-17", err)
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bad+".moved", bad); err != nil {
		t.Fatal(err)
	}
	reopen(false) // the failed Open had removed the clean-shutdown marker
}
