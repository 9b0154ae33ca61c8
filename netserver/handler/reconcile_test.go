package handler

import (
	"testing"

	"github.com/rillmq/rill/engine"
)

func TestReconcile(t *testing.T) {
	b, closeEngine, err := NewInMemory(map[string]int32{"keep": 2, "gone": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEngine()
	// As after crashes: a partition lost its log, a topic lost its entry.
	if err := b.engine.DeletePartition(engine.TopicPartition{Topic: "keep", Partition: 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.catalog.Delete("gone"); err != nil {
		t.Fatal(err)
	}
	if err := b.Reconcile(); err != nil {
		t.Fatal(err)
	}
	got := b.engine.Partitions()
	if len(got) != 2 || got[0] != (engine.TopicPartition{Topic: "keep", Partition: 0}) || got[1] != (engine.TopicPartition{Topic: "keep", Partition: 1}) {
		t.Fatalf("partitions after reconcile: %v", got)
	}
}
