package vfs

import (
	"bytes"
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
