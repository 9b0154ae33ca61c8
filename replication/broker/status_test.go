package broker

import (
	"testing"

	"github.com/rillmq/rill/internal/kafka"
)

func TestStatusCounts(t *testing.T) {
	tp := func(p int32) kafka.TopicPartition { return kafka.TopicPartition{Topic: "t", Partition: p} }
	s := Status{NodeID: 1, Partitions: []PartitionStatus{
		{TopicPartition: tp(0), Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}},         // healthy, led here
		{TopicPartition: tp(1), Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1}},               // under-replicated, under min ISR 2
		{TopicPartition: tp(2), Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}, MinISR: 3}, // under the topic's min ISR 3
		{TopicPartition: tp(3), Leader: 2, Replicas: []int32{1, 2, 3}, ISR: []int32{2}},               // led elsewhere
		{TopicPartition: tp(4), Leader: -1, Replicas: []int32{2, 3}, ISR: []int32{2}},                 // offline, no replica here
	}}
	got := s.Counts(2)
	want := Counts{Partitions: 5, Replicas: 4, Leaders: 3, UnderReplicated: 2, UnderMinISR: 2, Offline: 1, ClusterUnderReplicated: 4}
	if got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
}

func TestMetadataLag(t *testing.T) {
	for _, c := range []struct {
		applied, controller, want uint64
	}{{10, 12, 2}, {12, 10, 0}, {5, 0, 0}} {
		if got := (Status{MetadataOffset: c.applied, ControllerOffset: c.controller}).MetadataLag(); got != c.want {
			t.Errorf("applied %d controller %d: lag %d, want %d", c.applied, c.controller, got, c.want)
		}
	}
}
