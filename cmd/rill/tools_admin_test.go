package main

import (
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

// healthOf: a replica on a broker Metadata does not list is a node down;
// no leader is leaderless; a short ISR is under-replicated.
func TestHealthOf(t *testing.T) {
	m := kadm.Metadata{Controller: 1, Brokers: kadm.BrokerDetails{{NodeID: 1}, {NodeID: 2}},
		Topics: kadm.TopicDetails{"t": {Topic: "t", Partitions: kadm.PartitionDetails{
			0: {Partition: 0, Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}},
			1: {Partition: 1, Leader: 2, Replicas: []int32{2, 3}, ISR: []int32{2}},
			2: {Partition: 2, Leader: -1, Replicas: []int32{3}, ISR: []int32{}},
		}}}}
	h := healthOf(m)
	want := health{Healthy: false, Reasons: []string{"nodes_down", "leaderless_partitions", "under_replicated_partitions"},
		Controller: 1, Nodes: []int32{1, 2, 3}, NodesDown: []int32{3}, Leaderless: []string{"t/2"}, UnderReplicated: []string{"t/1"},
		LeaderlessCount: 1, UnderReplicCount: 1}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got %+v\nwant %+v", h, want)
	}
	m.Topics = nil
	m.Controller = -1
	if h := healthOf(m); h.Healthy || !reflect.DeepEqual(h.Reasons, []string{"no_elected_controller"}) {
		t.Fatalf("no controller: %+v", h)
	}
	m.Controller = 2
	if h := healthOf(m); !h.Healthy || len(h.Reasons) != 0 {
		t.Fatalf("healthy cluster judged %+v", h)
	}
}

func TestParseAssignment(t *testing.T) {
	topic, p, replicas, err := parseAssignment("a:b:3=2, 1,3")
	if err != nil || topic != "a:b" || p != 3 || !reflect.DeepEqual(replicas, []int32{2, 1, 3}) {
		t.Fatalf("got %q %d %v %v", topic, p, replicas, err)
	}
	for _, bad := range []string{"t=1", ":0=1", "t:x=1", "t:0=1,x", "t:0", "t:-1=1"} {
		if _, _, _, err := parseAssignment(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseTopicPartitions(t *testing.T) {
	if topic, ps, err := parseTopicPartitions("t:0,2"); err != nil || topic != "t" || !reflect.DeepEqual(ps, []int32{0, 2}) {
		t.Fatalf("got %q %v %v", topic, ps, err)
	}
	if topic, ps, err := parseTopicPartitions("t"); err != nil || topic != "t" || ps != nil {
		t.Fatalf("whole topic: %q %v %v", topic, ps, err)
	}
	for _, bad := range []string{"", ":1", "t:x", "t:-2"} {
		if _, _, err := parseTopicPartitions(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Kafka prints Uuid.toString: URL-safe base64, no padding.
func TestTopicIDText(t *testing.T) {
	id := kadm.TopicID{0xfb, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	if got := topicID(id); got != "-__-AQIDBAUGBwgJCgsMDQ" {
		t.Fatalf("got %q", got)
	}
}
