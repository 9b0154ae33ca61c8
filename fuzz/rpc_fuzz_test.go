package fuzz

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/replication/node"
)

// FuzzBrokerRPC feeds arbitrary bytes to a controller node's broker RPC
// handler (what arrives in a request frame on the controller listener: a
// Kafka request, header and body). Bytes that parse as a request the node
// serves must get a response that decodes as that request's answer, with
// its correlation id; any other bytes get no answer (the connection
// closes). It must never panic, and keeps serving.
func FuzzBrokerRPC(f *testing.F) {
	topic := func(name string, parts int32, rf int16) kmsg.CreateTopicsRequestTopic {
		return kmsg.CreateTopicsRequestTopic{Topic: name, NumPartitions: parts, ReplicationFactor: rf}
	}
	seeds := []kmsg.Request{
		&kmsg.BrokerRegistrationRequest{BrokerID: 1, Listeners: []kmsg.BrokerRegistrationRequestListener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}},
		&kmsg.BrokerHeartbeatRequest{BrokerID: 1, CurrentMetadataOffset: 3},
		&kmsg.CreateTopicsRequest{Topics: []kmsg.CreateTopicsRequestTopic{topic("t", 2, 1), topic("", -1, -3)}},
		&kmsg.CreateTopicsRequest{Topics: []kmsg.CreateTopicsRequestTopic{{Topic: "a", NumPartitions: -1, ReplicationFactor: -1,
			ReplicaAssignment: []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1}}, {Partition: 0}}}}},
		&kmsg.CreatePartitionsRequest{Topics: []kmsg.CreatePartitionsRequestTopic{{Topic: "t", Count: 3,
			Assignment: []kmsg.CreatePartitionsRequestTopicAssignment{{Replicas: []int32{1}}}}}},
		&kmsg.DeleteTopicsRequest{Topics: []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("t")}, {TopicID: [16]byte{1}}}},
		&kmsg.AlterPartitionRequest{BrokerID: 1, Topics: []kmsg.AlterPartitionRequestTopic{{Partitions: []kmsg.AlterPartitionRequestTopicPartition{{
			NewEpochISR: []kmsg.AlterPartitionRequestTopicPartitionNewEpochISR{{BrokerID: 1}}}}}}},
		&kmsg.AllocateProducerIDsRequest{BrokerID: 1},
		&kmsg.ElectLeadersRequest{ElectionType: 1},
		&kmsg.ElectLeadersRequest{Topics: []kmsg.ElectLeadersRequestTopic{{Topic: "t", Partitions: []int32{0, 0, -5}}}},
		&kmsg.AlterPartitionAssignmentsRequest{Topics: []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: "t",
			Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{{Partition: 0, Replicas: []int32{1, 1}}, {Partition: -5}}}}},
		&kmsg.AlterConfigsRequest{Resources: []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t",
			Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1")}}}}},
		&kmsg.FetchSnapshotRequest{Topics: []kmsg.FetchSnapshotRequestTopic{{Topic: node.MetadataSnapshotTopic,
			Partitions: []kmsg.FetchSnapshotRequestTopicPartition{{SnapshotID: kmsg.FetchSnapshotRequestTopicPartitionSnapshotID{EndOffset: -1}}}}}},
	}
	for i, req := range seeds {
		f.Add(node.AppendRequest(nil, int32(i), req))
	}
	f.Add((&kmsg.RequestFormatter{}).AppendRequest(nil, kmsg.NewPtrMetadataRequest(), 1)[4:]) // not served
	for _, junk := range []string{``, `{"Op":"metadata"}`, "\x00\x3e\x00\x04"} {
		f.Add([]byte(junk))
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
		correlationID, req, err := node.ParseRequest(data)
		if err == nil && manyPartitions(req) {
			t.Skip() // the controller builds what it is asked to
		}
		reply := n.HandleRPC(data)
		switch {
		case err != nil && reply != nil:
			t.Fatalf("%v, yet answered %x", err, reply)
		case err != nil:
			return
		case reply == nil:
			t.Fatalf("%s v%d not answered", kmsg.NameForKey(req.Key()), req.GetVersion())
		}
		if _, err := node.ParseResponse(reply, correlationID, req); err != nil {
			t.Fatalf("%s v%d: answer does not decode: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
		}
	})
}

// manyPartitions reports a request for more than 100 partitions in all,
// which the controller would build (and every later request clone): that
// measures memory, not decoding, and would slow the target down for good.
func manyPartitions(req kmsg.Request) bool {
	var total int64
	switch r := req.(type) {
	case *kmsg.CreateTopicsRequest:
		for _, t := range r.Topics {
			total += int64(max(t.NumPartitions, 0))
		}
	case *kmsg.CreatePartitionsRequest:
		for _, t := range r.Topics {
			total += int64(max(t.Count, 0))
		}
	}
	return total > 100
}
