package metadata

import (
	"testing"

	"github.com/rillmq/rill/engine/vfs"
)

func TestStorePersistsAcrossCrash(t *testing.T) {
	fs := vfs.NewMemFS()
	fs.MkdirAll("/d", 0o755)
	fs.SyncDir("/d")
	s, err := Open(fs, "/d")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Create("a", 3, map[string]string{"retention.ms": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("a", 1, nil); err != ErrTopicExists {
		t.Fatalf("duplicate: %v", err)
	}
	s.Create("b", 1, nil)
	s.Delete("b")
	s.Update("a", func(t *Topic) error { t.Partitions = 5; return nil })
	id1, _ := s.AllocateProducerID()
	id2, _ := s.AllocateProducerID()
	if id2 != id1+1 {
		t.Fatalf("producer ids %d %d", id1, id2)
	}
	s2, err := Open(fs.CrashClone(), "/d")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s2.Get("a")
	if !ok || got.ID != a.ID || got.Partitions != 5 || got.Configs["retention.ms"] != "5" {
		t.Fatalf("after crash: %+v", got)
	}
	if _, ok := s2.Get("b"); ok {
		t.Fatal("deleted topic came back")
	}
	if byID, ok := s2.ByID(a.ID); !ok || byID.Name != "a" {
		t.Fatal("lookup by ID")
	}
	if id, _ := s2.AllocateProducerID(); id <= id2 {
		t.Fatalf("producer id %d reused after crash", id)
	}
}
