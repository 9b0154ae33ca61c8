package broker

// The handlers' view of the cluster (netserver/handler.Cluster): read from
// the metadata image, changed through the active controller with Kafka's
// admin requests (package node lists them). Errors are the controller's
// answers: Kafka errors with its message (node.Error).

import (
	"context"
	"maps"
	"math"
	"net"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/metadata"
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
				mb := metadata.Broker{ID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack}
				for _, e := range b.Listeners {
					mb.Listeners = append(mb.Listeners, metadata.Endpoint{Name: e.Name, Host: e.Host, Port: e.Port})
				}
				out = append(out, mb)
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

// TopicPartitions are a topic's partitions, index = partition number, as
// Partition gives each, read in one view of the image: a Metadata answer
// for 100,000 partitions takes one lock per topic, not per partition.
func (r *Runtime) TopicPartitions(topic string) ([]metadata.Partition, bool) {
	var out []metadata.Partition
	var ok bool
	mayLead := r.mayLead()
	r.source.View(func(im *controller.Image) {
		var t *controller.TopicInfo
		if t, ok = im.Topics[topic]; ok {
			out = make([]metadata.Partition, len(t.Partitions))
			for i, s := range t.Partitions {
				out[i] = partitionView(s) // copies its slices: the image is not ours
				out[i].Leader = r.asServed(out[i].Leader, mayLead)
			}
		}
	})
	return out, ok
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
// CreateTopics' replica assignment, or nil) and returns the id the
// controller gave it.
func (r *Runtime) CreateTopic(ctx context.Context, name string, partitions int32, rf int16, configs map[string]string, assignment [][]int32) ([16]byte, error) {
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = name, partitions, rf
	if assignment != nil { // Kafka's rule: the assignment gives both
		t.NumPartitions, t.ReplicationFactor = -1, -1
		for i, replicas := range assignment {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = int32(i), replicas
			t.ReplicaAssignment = append(t.ReplicaAssignment, a)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(configs[k])
		t.Configs = append(t.Configs, c)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Topics, req.TimeoutMillis = []kmsg.CreateTopicsRequestTopic{t}, timeoutMillis(ctx)
	resp, err := r.ask(ctx, req)
	if err != nil {
		return [16]byte{}, err
	}
	return resp.(*kmsg.CreateTopicsResponse).Topics[0].TopicID, nil
}

// timeoutMillis is a request's TimeoutMillis for ctx's deadline.
func timeoutMillis(ctx context.Context) int32 {
	if dl, ok := ctx.Deadline(); ok {
		return int32(min(max(time.Until(dl).Milliseconds(), 1), math.MaxInt32))
	}
	return 30000
}

// AlterTopicConfigs replaces a topic's config overrides through the active
// controller (AlterConfigs).
func (r *Runtime) AlterTopicConfigs(ctx context.Context, name string, configs map[string]string) error {
	res := kmsg.NewAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, name
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, kmsg.StringPtr(configs[k])
		res.Configs = append(res.Configs, c)
	}
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Resources = []kmsg.AlterConfigsRequestResource{res}
	_, err := r.ask(ctx, req)
	return err
}

// AllocateProducerIDs takes a block of producer ids from the active
// controller.
func (r *Runtime) AllocateProducerIDs(ctx context.Context) (int64, int32, error) {
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID, req.BrokerEpoch = r.self, r.lifecycle.BrokerEpoch()
	resp, err := r.ask(ctx, req)
	if err != nil {
		return 0, 0, err
	}
	block := resp.(*kmsg.AllocateProducerIDsResponse)
	return block.ProducerIDStart, block.ProducerIDLen, nil
}

// DeleteTopic deletes a topic through the active controller.
func (r *Runtime) DeleteTopic(ctx context.Context, name string) error {
	t := kmsg.NewDeleteTopicsRequestTopic()
	t.Topic = kmsg.StringPtr(name)
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Topics, req.TimeoutMillis = []kmsg.DeleteTopicsRequestTopic{t}, timeoutMillis(ctx)
	_, err := r.ask(ctx, req)
	return err
}

// CreatePartitions grows a topic through the active controller.
func (r *Runtime) CreatePartitions(ctx context.Context, name string, count int32, assignment [][]int32) error {
	t := kmsg.NewCreatePartitionsRequestTopic()
	t.Topic, t.Count = name, count
	if assignment != nil { // nil: placed by the controller
		t.Assignment = make([]kmsg.CreatePartitionsRequestTopicAssignment, len(assignment))
		for i, replicas := range assignment {
			t.Assignment[i] = kmsg.NewCreatePartitionsRequestTopicAssignment()
			t.Assignment[i].Replicas = replicas
		}
	}
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Topics, req.TimeoutMillis = []kmsg.CreatePartitionsRequestTopic{t}, timeoutMillis(ctx)
	_, err := r.ask(ctx, req)
	return err
}

// Reassign moves a partition through the active controller (nil target:
// cancel).
func (r *Runtime) Reassign(ctx context.Context, topic string, p int32, target []int32) error {
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = p, target
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic, rt.Partitions = topic, []kmsg.AlterPartitionAssignmentsRequestTopicPartition{rp}
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.Topics, req.TimeoutMillis = []kmsg.AlterPartitionAssignmentsRequestTopic{rt}, timeoutMillis(ctx)
	_, err := r.ask(ctx, req)
	return err
}

// Reassignments lists the partitions being moved, from this broker's
// image.
func (r *Runtime) Reassignments() map[kafka.TopicPartition]metadata.Partition {
	out := map[kafka.TopicPartition]metadata.Partition{}
	r.source.View(func(im *controller.Image) {
		for name, t := range im.Topics {
			for i, p := range t.Partitions {
				if p.Reassigning() {
					out[kafka.TopicPartition{Topic: name, Partition: int32(i)}] = partitionView(p)
				}
			}
		}
	})
	return out
}

// ElectLeaders runs an election through the active controller.
func (r *Runtime) ElectLeaders(ctx context.Context, typ int8, parts []kafka.TopicPartition) (map[kafka.TopicPartition]int16, error) {
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType, req.TimeoutMillis = typ, timeoutMillis(ctx)
	if parts != nil { // nil: all partitions
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		for _, p := range parts {
			if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != p.Topic {
				t := kmsg.NewElectLeadersRequestTopic()
				t.Topic = p.Topic
				req.Topics = append(req.Topics, t)
			}
			t := &req.Topics[len(req.Topics)-1]
			t.Partitions = append(t.Partitions, p.Partition)
		}
	}
	resp, err := r.ask(ctx, req)
	if err != nil {
		return nil, err
	}
	out := map[kafka.TopicPartition]int16{}
	for _, t := range resp.(*kmsg.ElectLeadersResponse).Topics {
		for _, p := range t.Partitions {
			out[kafka.TopicPartition{Topic: t.Topic, Partition: p.Partition}] = p.ErrorCode
		}
	}
	return out, nil
}

// DescribeQuorum asks the active controller for the metadata quorum's
// state (Kafka's brokers forward DescribeQuorum to it) and fills in, for
// v2, the voters' controller listeners from controller.quorum.voters.
func (r *Runtime) DescribeQuorum(ctx context.Context, req *kmsg.DescribeQuorumRequest) (*kmsg.DescribeQuorumResponse, error) {
	version := req.Version
	fwd := *req // asked at the controller link's version
	resp, err := r.ask(ctx, &fwd)
	if err != nil {
		return nil, err
	}
	out := resp.(*kmsg.DescribeQuorumResponse)
	out.Version = version
	if version >= 2 { // a single node's in-process voter has no address: no nodes
		for _, id := range r.voterIDs {
			host, port, err := net.SplitHostPort(r.cfg.Voters[id])
			p, perr := strconv.ParseUint(port, 10, 16)
			if err != nil || perr != nil {
				continue
			}
			nd := kmsg.NewDescribeQuorumResponseNode()
			nd.NodeID = int32(id)
			nd.Listeners = []kmsg.DescribeQuorumResponseNodeListener{{Name: "CONTROLLER", Host: host, Port: uint16(p)}}
			out.Nodes = append(out.Nodes, nd)
		}
	}
	return out, nil
}

// Features are the finalized feature levels this broker has applied and
// their epoch, the metadata offset of the image (ApiVersions'
// FinalizedFeaturesEpoch).
// The map is shared and must not be changed. It is read on hot paths
// (each transactional Produce), so the publisher keeps it (syncFeatures).
func (r *Runtime) Features() (map[string]int16, int64) {
	if f := r.features.Load(); f != nil {
		return f.levels, f.epoch
	}
	return r.readFeatures()
}

func (r *Runtime) readFeatures() (map[string]int16, int64) {
	epoch := int64(r.source.Applied()) // before the view: the image is at least this new
	var levels map[string]int16
	r.source.View(func(im *controller.Image) { levels = maps.Clone(im.Features) })
	return levels, epoch
}

// featureSet is the features as the publisher last read them.
type featureSet struct {
	levels map[string]int16
	epoch  int64
}

// syncFeatures rereads the features (the publisher, at each pass).
func (r *Runtime) syncFeatures() {
	levels, epoch := r.readFeatures()
	r.features.Store(&featureSet{levels: levels, epoch: epoch})
}

// UpdateFeatures asks the active controller to finalize feature levels
// (all or nothing), and waits until this broker has applied them.
func (r *Runtime) UpdateFeatures(ctx context.Context, updates []controller.FeatureUpdate, validateOnly bool) error {
	req := kmsg.NewPtrUpdateFeaturesRequest()
	req.TimeoutMillis, req.ValidateOnly = timeoutMillis(ctx), validateOnly
	for _, u := range updates {
		req.FeatureUpdates = append(req.FeatureUpdates, kmsg.UpdateFeaturesRequestFeatureUpdate{Feature: u.Name, MaxVersionLevel: u.Level, UpgradeType: u.UpgradeType})
	}
	if _, err := r.ask(ctx, req); err != nil || validateOnly {
		return err
	}
	return r.awaitFeatures(ctx, updates)
}

// awaitFeatures waits until this broker's image has the levels (or ctx
// ends: the change is committed either way).
func (r *Runtime) awaitFeatures(ctx context.Context, updates []controller.FeatureUpdate) error {
	for {
		ch := r.passes.Wait()
		levels, _ := r.readFeatures()
		done := true
		for _, u := range updates {
			if l, ok := levels[u.Name]; u.Level != 0 && (!ok || l != u.Level) || u.Level == 0 && l != 0 {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			r.cfg.Logger.Warn("finalized features not applied here before the request's deadline")
			return nil
		case <-ch:
		}
	}
}
