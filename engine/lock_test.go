package engine

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/rillmq/rill/engine/dirlock"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
)

// A second Open of a data directory an engine holds fails before it reads
// or writes anything there; the first engine keeps working, and its own
// Close is the one that marks the shutdown clean.
func TestSecondOpenOfADataDirFails(t *testing.T) {
	for name, fs := range map[string]vfs.FS{"os": vfs.Default, "mem": vfs.NewMemFS()} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(fs, "pwrite")
			cfg.DataDir = t.TempDir()
			e, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			tp := kafka.TopicPartition{Topic: "t", Partition: 0}
			l, err := e.CreatePartition(tp, cfg.Log)
			if err != nil {
				t.Fatal(err)
			}
			produce(t, l, 50, "before")
			if e2, err := Open(cfg); !errors.Is(err, dirlock.ErrInUse) {
				if e2 != nil {
					e2.Close()
				}
				t.Fatalf("second Open: %v, want dirlock.ErrInUse", err)
			}
			marker := filepath.Join(cfg.DataDir, cleanShutdownFile)
			if vfs.Exists(fs, marker) {
				t.Fatal("the failed Open wrote the clean-shutdown marker")
			}
			produce(t, l, 50, "after")
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if !vfs.Exists(fs, marker) {
				t.Fatal("Close wrote no clean-shutdown marker")
			}
			// Close released the lock: the directory opens again.
			e, err = Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if !e.WasCleanShutdown() {
				t.Fatal("clean shutdown not detected")
			}
			if l, _ := e.Partition(tp); l.LogEndOffset() != 100 {
				t.Fatalf("LEO %d, want 100", l.LogEndOffset())
			}
		})
	}
}

// A lock the caller holds (Config.Lock) guards the engine and outlives its
// Close; Open refuses one that is released or on another directory.
func TestCallerHeldLock(t *testing.T) {
	fs := vfs.NewMemFS()
	cfg := testConfig(fs, "pwrite")
	lock, err := dirlock.Acquire(fs, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := Open(cfg); !errors.Is(err, dirlock.ErrInUse) {
		t.Fatalf("Open without the caller's lock: %v, want dirlock.ErrInUse", err)
	}
	other, err := dirlock.Acquire(fs, "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	wrong := cfg
	wrong.Lock = other
	if _, err := Open(wrong); err == nil {
		t.Fatal("Open accepted a lock on another directory")
	}
	cfg.Lock = lock
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !vfs.Exists(fs, filepath.Join(cfg.DataDir, cleanShutdownFile)) {
		t.Fatal("no clean-shutdown marker")
	}
	if err := lock.Check(); err != nil {
		t.Fatalf("Close released the caller's lock: %v", err)
	}
	lock.Close()
	if _, err := Open(cfg); !errors.Is(err, dirlock.ErrReleased) {
		t.Fatalf("Open with a released lock: %v, want dirlock.ErrReleased", err)
	}
}

// Only the lock holder writes the clean-shutdown marker: an engine whose
// lock was released under it closes with an error and leaves the marker
// out, so the next Open recovers.
func TestNoCleanMarkerWithoutTheLock(t *testing.T) {
	fs := vfs.NewMemFS()
	cfg := testConfig(fs, "pwrite")
	lock, err := dirlock.Acquire(fs, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Lock = lock
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.CreatePartition(kafka.TopicPartition{Topic: "t", Partition: 0}, cfg.Log)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, l, 10, "x")
	lock.Close()
	if err := e.Close(); !errors.Is(err, dirlock.ErrReleased) {
		t.Fatalf("Close without the lock: %v, want dirlock.ErrReleased", err)
	}
	if vfs.Exists(fs, filepath.Join(cfg.DataDir, cleanShutdownFile)) {
		t.Fatal("clean-shutdown marker written without the lock")
	}
	cfg.Lock = nil
	e, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.WasCleanShutdown() {
		t.Fatal("next Open trusted a shutdown that had no lock")
	}
}
