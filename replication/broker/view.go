package broker

// The handlers' view of the cluster (netserver/handler.Cluster): read from
// the metadata image, changed through the active controller.

import (
	"context"
	"maps"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/metadata"
	"github.com/rillmq/rill/replication/node"
	"github.com/rillmq/rill/replication/replica"
)

// Self is this broker's id.
func (r *Runtime) Self() int32 { return r.self }

// Replica is this broker's replica of a partition, or nil.
func (r *Runtime) Replica(topic string, p int32) *replica.Partition {
	return r.replicas.Partition(topic, p)
}

// Brokers are the live (unfenced) brokers, by id.
func (r *Runtime) Brokers() []metadata.Broker {
	var out []metadata.Broker
	r.source.View(func(im *controller.Image) {
		for _, b := range im.Brokers {
			if !b.Fenced {
				out = append(out, metadata.Broker{ID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack})
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ControllerID is the active controller's id (-1: none known).
func (r *Runtime) ControllerID() int32 {
	if id := r.source.Leader(); id != 0 {
		return int32(id)
	}
	return -1
}

// Partition is a partition's state as this broker acts on it.
func (r *Runtime) Partition(topic string, p int32) (metadata.Partition, bool) {
	var cp metadata.Partition
	var ok bool
	mayLead := r.mayLead()
	r.source.View(func(im *controller.Image) {
		var s controller.PartitionState
		if s, ok = im.Partition(topic, p); ok {
			cp = partitionView(s)
			cp.Leader = r.asServed(cp.Leader, mayLead)
		}
	})
	return cp, ok
}

func partitionView(s controller.PartitionState) metadata.Partition {
	return metadata.Partition{Leader: s.Leader, LeaderEpoch: s.LeaderEpoch, Replicas: slices.Clone(s.Replicas), ISR: slices.Clone(s.ISR),
		Adding: slices.Clone(s.Adding), Removing: slices.Clone(s.Removing)}
}

// Topic is a topic of the image.
func (r *Runtime) Topic(name string) (metadata.Topic, bool) {
	var t metadata.Topic
	var ok bool
	r.source.View(func(im *controller.Image) {
		var ti *controller.TopicInfo
		if ti, ok = im.Topics[name]; ok {
			t = topicView(ti)
		}
	})
	return t, ok
}

// TopicByID is a topic of the image by id.
func (r *Runtime) TopicByID(id [16]byte) (metadata.Topic, bool) {
	var t metadata.Topic
	var ok bool
	r.source.View(func(im *controller.Image) {
		for _, ti := range im.Topics { // few callers (v13+ fetch, commits by id); no index kept
			if ti.ID == id {
				t, ok = topicView(ti), true
				return
			}
		}
	})
	return t, ok
}

// Topics are the image's topics, sorted by name.
func (r *Runtime) Topics() []metadata.Topic {
	var out []metadata.Topic
	r.source.View(func(im *controller.Image) {
		out = make([]metadata.Topic, 0, len(im.Topics))
		for _, ti := range im.Topics {
			out = append(out, topicView(ti))
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func topicView(ti *controller.TopicInfo) metadata.Topic {
	return metadata.Topic{Name: ti.Name, ID: ti.ID, Partitions: int32(len(ti.Partitions)), Configs: maps.Clone(ti.Configs)}
}

// CreateTopic asks the active controller to create a topic (assignment:
// CreateTopics' replica assignment, or nil).
func (r *Runtime) CreateTopic(ctx context.Context, name string, id [16]byte, partitions int32, rf int16, configs map[string]string, assignment [][]int32) error {
	_, err := r.ask(ctx, node.BrokerRequest{Op: "create-topic", Topic: &node.TopicRequest{Name: name, ID: id, Partitions: partitions,
		ReplicationFactor: rf, Configs: configs, Assignment: assignment}})
	return err
}

// AlterTopicConfigs replaces a topic's config overrides through the active
// controller.
func (r *Runtime) AlterTopicConfigs(ctx context.Context, name string, configs map[string]string) error {
	_, err := r.ask(ctx, node.BrokerRequest{Op: "alter-configs", Topic: &node.TopicRequest{Name: name, Configs: configs}})
	return err
}

// AllocateProducerIDs takes a block of producer ids from the active
// controller.
func (r *Runtime) AllocateProducerIDs(ctx context.Context) (int64, int32, error) {
	reply, err := r.ask(ctx, node.BrokerRequest{Op: "producer-ids", Broker: controller.BrokerInfo{ID: r.self}})
	if err != nil {
		return 0, 0, err
	}
	if reply.ProducerIDs == nil {
		return 0, 0, kerr.UnknownServerError
	}
	return reply.ProducerIDs.First, reply.ProducerIDs.Size, nil
}

// DeleteTopic deletes a topic through the active controller.
func (r *Runtime) DeleteTopic(ctx context.Context, name string) error {
	_, err := r.ask(ctx, node.BrokerRequest{Op: "delete-topic", Topic: &node.TopicRequest{Name: name}})
	return err
}

// CreatePartitions grows a topic through the active controller.
func (r *Runtime) CreatePartitions(ctx context.Context, name string, count int32, assignment [][]int32) error {
	_, err := r.ask(ctx, node.BrokerRequest{Op: "create-partitions", Topic: &node.TopicRequest{Name: name, Partitions: count,
		Assignment: assignment}})
	return err
}

// Reassign moves a partition through the active controller (nil target:
// cancel).
func (r *Runtime) Reassign(ctx context.Context, topic string, p int32, target []int32) error {
	_, err := r.ask(ctx, node.BrokerRequest{Op: "reassign", Reassign: &node.ReassignRequest{Topic: topic, Partition: p,
		Replicas: target, Cancel: target == nil}})
	return err
}

// Reassignments lists the partitions being moved, from this broker's
// image.
func (r *Runtime) Reassignments() map[metadata.PartitionRef]metadata.Partition {
	out := map[metadata.PartitionRef]metadata.Partition{}
	r.source.View(func(im *controller.Image) {
		for name, t := range im.Topics {
			for i, p := range t.Partitions {
				if p.Reassigning() {
					out[metadata.PartitionRef{Topic: name, Partition: int32(i)}] = partitionView(p)
				}
			}
		}
	})
	return out
}

// ElectLeaders runs an election through the active controller.
func (r *Runtime) ElectLeaders(ctx context.Context, typ int8, parts []metadata.PartitionRef) (map[metadata.PartitionRef]int16, error) {
	req := node.BrokerRequest{Op: "elect-leaders", Elect: &node.ElectRequest{Type: typ}}
	if parts != nil {
		req.Elect.Partitions = make([]controller.PartitionRef, len(parts))
		for i, p := range parts {
			req.Elect.Partitions[i] = controller.PartitionRef{Topic: p.Topic, Partition: p.Partition}
		}
	}
	reply, err := r.ask(ctx, req)
	if err != nil {
		return nil, err
	}
	out := map[metadata.PartitionRef]int16{}
	for _, e := range reply.Elected {
		out[metadata.PartitionRef{Topic: e.Topic, Partition: e.Partition}] = e.ErrorCode
	}
	return out, nil
}
