package vfs

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestMemFSCrashKeepsOnlySynced(t *testing.T) {
	fs := NewMemFS()
	fs.MkdirAll("/d", 0o755)
	f, _ := Create(fs, "/d/a")
	f.WriteAt([]byte("durable"), 0)
	f.Sync()
	f.WriteAt([]byte("-volatile"), 7)
	// The file's entry is not durable until the directory is synced.
	if c := fs.CrashClone(); Exists(c, "/d/a") {
		t.Fatal("unsynced directory entry survived a crash")
	}
	fs.SyncDir("/d")
	c := fs.CrashClone()
	got, err := ReadFile(c, "/d/a")
	if err != nil || !bytes.Equal(got, []byte("durable")) {
		t.Fatalf("after crash: %q %v", got, err)
	}
	// Rename is durable only after SyncDir too.
	fs.Rename("/d/a", "/d/b")
	if c := fs.CrashClone(); !Exists(c, "/d/a") || Exists(c, "/d/b") {
		t.Fatal("unsynced rename took effect in the crash image")
	}
	fs.SyncDir("/d")
	if c := fs.CrashClone(); Exists(c, "/d/a") || !Exists(c, "/d/b") {
		t.Fatal("synced rename lost")
	}
	// Truncation is data: durable after Sync.
	f.Truncate(3)
	if got, _ := ReadFile(fs.CrashClone(), "/d/b"); len(got) != 7 {
		t.Fatalf("unsynced truncate applied: %q", got)
	}
	f.Sync()
	if got, _ := ReadFile(fs.CrashClone(), "/d/b"); string(got) != "dur" {
		t.Fatalf("synced truncate: %q", got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	fs := NewMemFS()
	fs.MkdirAll("/d", 0o755)
	if err := WriteFileAtomic(fs, "/d", "/d/x", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadFile(fs.CrashClone(), "/d/x"); string(got) != "one" {
		t.Fatalf("%q", got)
	}
}

func TestStartWritebackIsAHintOnEveryFS(t *testing.T) {
	for name, fs := range map[string]FS{"os": Default, "mem": NewMemFS()} {
		dir := t.TempDir()
		if err := fs.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := fs.OpenFile(dir+"/f", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(make([]byte, 1<<20), 0); err != nil {
			t.Fatal(err)
		}
		if err := StartWriteback(f, 0, 1<<20); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f.Close()
	}
}

// Lock is exclusive within one process on both file systems: flock locks
// belong to the open file description, so a second open of the same file
// conflicts even from the same process (fcntl locks would not).
func TestLockConflictsWithinAProcess(t *testing.T) {
	for name, fs := range map[string]FS{"os": Default, "mem": NewMemFS()} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := fs.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := dir + "/.lock"
			first, err := fs.Lock(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fs.Lock(path); !errors.Is(err, ErrLocked) {
				t.Fatalf("second lock: %v, want ErrLocked", err)
			}
			// The lock is on the file: writing through the holder works.
			if _, err := first.WriteAt([]byte("1\n"), 0); err != nil {
				t.Fatal(err)
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			again, err := fs.Lock(path)
			if err != nil {
				t.Fatalf("lock after release: %v", err)
			}
			again.Close()
		})
	}
}

// A crash releases every lock.
func TestMemFSCrashReleasesLocks(t *testing.T) {
	fs := NewMemFS()
	fs.MkdirAll("/d", 0o755)
	if _, err := fs.Lock("/d/.lock"); err != nil {
		t.Fatal(err)
	}
	fs.SyncDir("/d")
	f, err := fs.CrashClone().Lock("/d/.lock")
	if err != nil {
		t.Fatalf("lock after crash: %v", err)
	}
	f.Close()
}
