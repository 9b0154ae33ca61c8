package node

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/replication/controller"
)

// BrokerRequest is what a broker asks a controller node (JSON on the
// controller listener, see package transport).
type BrokerRequest struct {
	// Op is "register", "heartbeat", "create-topic", "alter-configs",
	// "delete-topic", "create-partitions", "alter-partition", "producer-ids",
	// "elect-leaders", "reassign", or "metadata" (answered by any node that
	// has replayed its log).
	Op        string
	Broker    controller.BrokerInfo
	Topic     *TopicRequest     `json:",omitempty"`
	Partition *PartitionRequest `json:",omitempty"`
	Elect     *ElectRequest     `json:",omitempty"`
	Reassign  *ReassignRequest  `json:",omitempty"`
}

// ReassignRequest moves a partition to Replicas, or cancels its move when
// Cancel is set.
type ReassignRequest struct {
	Topic     string
	Partition int32
	Replicas  []int32
	Cancel    bool
}

// ElectRequest is an ElectLeaders: Partitions nil means all.
type ElectRequest struct {
	Type       int8
	Partitions []controller.PartitionRef
}

// ElectResult is one partition's election outcome.
type ElectResult struct {
	controller.PartitionRef
	ErrorCode int16
}

// PartitionRequest is a partition leader's ISR change (AlterPartition):
// Broker is the leader.
type PartitionRequest struct {
	Topic                       string
	Partition                   int32
	LeaderEpoch, PartitionEpoch int32
	ISR                         []int32
}

// TopicRequest is a topic to create (Assignment: CreateTopics' replica
// assignment, or nil), delete ("delete-topic": Name only), grow
// ("create-partitions": Name, Partitions, Assignment) or configure
// ("alter-configs": Name, Configs).
type TopicRequest struct {
	Name              string
	ID                [16]byte
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string
	Assignment        [][]int32 `json:",omitempty"`
}

// BrokerReply answers it with a Kafka error code (0: done;
// NOT_CONTROLLER: ask another node).
type BrokerReply struct {
	ErrorCode int16
	// ProducerIDs answers "producer-ids".
	ProducerIDs *controller.ProducerIDBlock `json:",omitempty"`
	// Elected answers "elect-leaders".
	Elected []ElectResult `json:",omitempty"`
	// Metadata answers "metadata": the node's image (JSON) as of Index,
	// and the active controller it knows (0: none).
	Metadata *MetadataReply `json:",omitempty"`
	// MetadataIndex answers "register" and "heartbeat": the metadata log
	// index the active controller had applied when it answered. A broker
	// back in session leads again only from metadata at least this new
	// (see Session).
	MetadataIndex uint64 `json:",omitempty"`
}

// MetadataReply is a copy of a controller node's metadata image, for
// brokers that run no controller (process.roles=broker).
type MetadataReply struct {
	Index  uint64
	Leader uint64
	Image  json.RawMessage
}

// HandleRPC answers a broker's request; it is the transport's Handle.
func (n *Node) HandleRPC(data []byte) []byte {
	var req BrokerRequest
	reply := func(err error) []byte {
		r := BrokerReply{}
		if err != nil {
			r.ErrorCode = KafkaError(err).Code
		}
		b, _ := json.Marshal(r)
		return b
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return reply(kerr.InvalidRequest)
	}
	if req.Op == "metadata" {
		// Any node that has replayed its log answers: its image is a
		// committed state, at most a little behind the active one.
		if !n.Replayed() {
			return reply(kerr.NotController)
		}
		n.mu.RLock()
		img, err := json.Marshal(n.image)
		n.mu.RUnlock()
		if err != nil {
			return reply(err)
		}
		b, _ := json.Marshal(BrokerReply{Metadata: &MetadataReply{Index: n.applied.Load(), Leader: n.Leader(), Image: img}})
		return b
	}
	if !n.IsActive() {
		return reply(kerr.NotController)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch req.Op {
	case "register", "heartbeat":
		var err error
		if req.Op == "register" {
			err = n.RegisterBroker(ctx, req.Broker)
		} else {
			err = n.Heartbeat(ctx, req.Broker.ID)
		}
		if err != nil {
			return reply(err)
		}
		b, _ := json.Marshal(BrokerReply{MetadataIndex: n.applied.Load()})
		return b
	case "create-topic":
		if req.Topic == nil {
			return reply(kerr.InvalidRequest)
		}
		t := req.Topic
		return reply(n.CreateTopic(ctx, t.Name, t.ID, t.Partitions, t.ReplicationFactor, t.Configs, t.Assignment))
	case "alter-configs":
		if req.Topic == nil {
			return reply(kerr.InvalidRequest)
		}
		return reply(n.AlterTopicConfigs(ctx, req.Topic.Name, req.Topic.Configs))
	case "producer-ids":
		block, err := n.AllocateProducerIDs(ctx, req.Broker.ID)
		if err != nil {
			return reply(err)
		}
		b, _ := json.Marshal(BrokerReply{ProducerIDs: block})
		return b
	case "delete-topic", "create-partitions":
		if req.Topic == nil {
			return reply(kerr.InvalidRequest)
		}
		if req.Op == "delete-topic" {
			return reply(n.DeleteTopic(ctx, req.Topic.Name))
		}
		return reply(n.CreatePartitions(ctx, req.Topic.Name, req.Topic.Partitions, req.Topic.Assignment))
	case "reassign":
		r := req.Reassign
		if r == nil || (!r.Cancel && len(r.Replicas) == 0) {
			return reply(kerr.InvalidRequest)
		}
		target := r.Replicas
		if r.Cancel {
			target = nil
		}
		return reply(n.Reassign(ctx, r.Topic, r.Partition, target))
	case "elect-leaders":
		if req.Elect == nil {
			return reply(kerr.InvalidRequest)
		}
		res, err := n.ElectLeaders(ctx, req.Elect.Type, req.Elect.Partitions)
		if err != nil {
			return reply(err)
		}
		r := BrokerReply{}
		for ref, e := range res {
			er := ElectResult{PartitionRef: ref}
			if e != nil {
				er.ErrorCode = KafkaError(e).Code
			}
			r.Elected = append(r.Elected, er)
		}
		b, _ := json.Marshal(r)
		return b
	case "alter-partition":
		if req.Partition == nil {
			return reply(kerr.InvalidRequest)
		}
		p := req.Partition
		return reply(n.AlterPartition(ctx, p.Topic, p.Partition, req.Broker.ID, p.LeaderEpoch, p.PartitionEpoch, p.ISR))
	}
	return reply(kerr.InvalidRequest)
}

// Caller sends one request to a controller address (transport.Call).
type Caller func(ctx context.Context, addr string, req []byte) ([]byte, error)

// errorCodes is the one table from the errors a controller node's
// requests return (this package's and package controller's) to the Kafka
// codes a broker sees: the wire edge of the controller.
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	{ErrNotController, kerr.NotController},
	{ErrNotCommitted, kerr.RequestTimedOut},
	{context.DeadlineExceeded, kerr.RequestTimedOut},
	{context.Canceled, kerr.RequestTimedOut},
	{controller.ErrBrokerNotRegistered, kerr.BrokerIDNotRegistered},
	{controller.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{controller.ErrTopicExists, kerr.TopicAlreadyExists},
	{controller.ErrStaleLeader, kerr.FencedLeaderEpoch},
	{controller.ErrStalePartitionEpoch, kerr.InvalidUpdateVersion},
	{controller.ErrInvalidISR, kerr.InvalidRequest},
	{controller.ErrIneligibleReplica, kerr.IneligibleReplica},
	{controller.ErrNoReassignment, kerr.NoReassignmentInProgress},
	{controller.ErrInvalidAssignment, kerr.InvalidReplicaAssignment},
	{controller.ErrInvalidPartitions, kerr.InvalidPartitions},
	{controller.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
	{controller.ErrElectionNotNeeded, kerr.ElectionNotNeeded},
	{controller.ErrPreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable},
	{controller.ErrEligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable},
	{controller.ErrInvalidElectionType, kerr.InvalidRequest},
}

// KafkaError is the Kafka error a broker is answered with for err (nil
// for nil); an error the table does not know is UNKNOWN_SERVER_ERROR.
func KafkaError(err error) *kerr.Error {
	if err == nil {
		return nil
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke // a code the request already answered with
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return kerr.UnknownServerError
}
