package fuzz

import (
	"encoding/json"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/replication/node"
)

// FuzzBrokerRPC feeds arbitrary bytes to a controller node's broker RPC
// handler (what arrives on the controller listener): it must answer every
// one with a reply that decodes, never panic, and keep serving.
func FuzzBrokerRPC(f *testing.F) {
	for _, seed := range []string{
		`{"Op":"register","Broker":{"ID":1,"Host":"127.0.0.1","Port":9092,"Incarnation":"a"}}`,
		`{"Op":"heartbeat","Broker":{"ID":1}}`,
		`{"Op":"create-topic","Topic":{"Name":"t","Partitions":2,"ReplicationFactor":1}}`,
		`{"Op":"create-partitions","Topic":{"Name":"t","Partitions":3,"Assignment":[[1]]}}`,
		`{"Op":"delete-topic","Topic":{"Name":"t"}}`,
		`{"Op":"alter-partition","Broker":{"ID":1},"Partition":{"Topic":"t","Partition":0,"LeaderEpoch":0,"PartitionEpoch":0,"ISR":[1]}}`,
		`{"Op":"producer-ids","Broker":{"ID":1}}`,
		`{"Op":"elect-leaders","Elect":{"Type":1,"Partitions":null}}`,
		`{"Op":"reassign","Reassign":{"Topic":"t","Partition":0,"Replicas":[1,1]}}`,
		`{"Op":"reassign","Reassign":{"Topic":"t","Partition":-5,"Cancel":true}}`,
		`{"Op":"create-topic","Topic":{"Name":"","Partitions":-1,"ReplicationFactor":-3}}`,
		`{"Op":"metadata"}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	n, err := node.Start(node.Config{ID: 1, Voters: []uint64{1}, Tick: 5 * time.Millisecond, Send: func([]*pb.Message) {}})
	if err != nil {
		f.Fatal(err)
	}
	defer n.Stop()
	for deadline := time.Now().Add(10 * time.Second); !n.IsActive(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.Fatal("a single-voter node never became active")
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r node.BrokerReply
		if err := json.Unmarshal(n.HandleRPC(data), &r); err != nil {
			t.Fatalf("reply does not decode: %v", err)
		}
	})
}
