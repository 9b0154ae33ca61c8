package controller

import (
	"errors"
	"slices"
	"testing"
)

func TestCreateTopicWithReplicaAssignment(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, err := cl.c.CreateTopic("t", [16]byte{1}, -1, -1, nil, [][]int32{{3, 1}, {2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	if p := cl.partition(0); !slices.Equal(p.Replicas, []int32{3, 1}) || p.Leader != 3 || !slices.Equal(p.ISR, []int32{1, 3}) {
		t.Fatalf("partition 0: %+v", p)
	}
	if p := cl.partition(1); !slices.Equal(p.Replicas, []int32{2, 3}) || p.Leader != 2 {
		t.Fatalf("partition 1: %+v", p)
	}
	for _, bad := range [][][]int32{{{1, 1}}, {{1, 9}}, {{1, 2}, {3}}} {
		if _, err := cl.c.CreateTopic("u", [16]byte{2}, -1, -1, nil, bad); !errors.Is(err, ErrInvalidAssignment) {
			t.Errorf("assignment %v: %v, want INVALID_REPLICA_ASSIGNMENT", bad, err)
		}
	}
}

func TestAlterTopicConfigs(t *testing.T) {
	cl := newCluster(t, "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 1, map[string]string{"retention.ms": "1000"}, nil)
	cl.commit(recs)
	recs, err := cl.c.AlterTopicConfigs("t", map[string]string{"cleanup.policy": "compact"})
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	if got := cl.im.Topics["t"].Configs; len(got) != 1 || got["cleanup.policy"] != "compact" {
		t.Fatalf("configs %v", got)
	}
	if _, err := cl.c.AlterTopicConfigs("nope", nil); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}
}

// A single broker's catalog from before the metadata log is imported once:
// topics keep their ids and configs, with the broker as sole replica and
// leader, and producer ids it handed out are never handed out again. Run
// again (an interrupted import), it adds nothing.
func TestImportCatalog(t *testing.T) {
	cl := newCluster(t, "")
	topics := []TopicInfo{
		{Name: "a", ID: [16]byte{7}, Partitions: make([]PartitionState, 3), Configs: map[string]string{"retention.ms": "5"}},
		{Name: "__consumer_offsets", ID: [16]byte{8}, Partitions: make([]PartitionState, 2)},
	}
	recs, err := cl.c.Import(1, topics, 42)
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	a := cl.im.Topics["a"]
	if a.ID != [16]byte{7} || len(a.Partitions) != 3 || a.Configs["retention.ms"] != "5" {
		t.Fatalf("topic a: %+v", a)
	}
	if p := a.Partitions[2]; p.Leader != 1 || !slices.Equal(p.ISR, []int32{1}) || !slices.Equal(p.Replicas, []int32{1}) {
		t.Fatalf("partition a-2: %+v", p)
	}
	if cl.im.NextProducerID < 42 {
		t.Fatalf("next producer id %d, the catalog handed out up to 41", cl.im.NextProducerID)
	}
	again, err := cl.c.Import(1, topics, 42)
	if err != nil || len(again) != 0 {
		t.Fatalf("second import: %v %v", again, err)
	}
	topics[0].ID = [16]byte{9}
	if _, err := cl.c.Import(1, topics, 42); !errors.Is(err, ErrTopicExists) {
		t.Fatalf("a topic of the same name under another id: %v", err)
	}
}
