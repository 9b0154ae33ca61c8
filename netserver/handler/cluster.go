package handler

// A broker of a multi-node cluster answers from the cluster metadata its
// controller node applies (replication/node): which brokers are alive,
// which broker leads each partition. Topics are created through the active
// controller and appear on each broker when its copy of the metadata does
// (EnsureTopic, called by the reconciler in cmd/rill). Partitions are
// replicated by package replica: produce on a partition leader goes
// through its replica (leader epoch, acks=all waits), consumers read below
// its high watermark, and followers' fetches (replica id >= 0) feed its
// ISR.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/replication/metadata"
	"github.com/rillmq/rill/replication/replica"
)

// ClusterBroker is a live broker.
type ClusterBroker struct {
	ID   int32
	Host string
	Port int32
	Rack string
}

// ClusterPartition is a partition's leadership.
type ClusterPartition struct {
	Leader, LeaderEpoch int32
	Replicas, ISR       []int32
	// Adding and Removing are a reassignment in progress.
	Adding, Removing []int32
}

// Cluster is the cluster metadata a broker serves from.
type Cluster interface {
	Self() int32
	Brokers() []ClusterBroker
	ControllerID() int32
	Partition(topic string, p int32) (ClusterPartition, bool)
	CreateTopic(ctx context.Context, name string, id [16]byte, partitions int32, rf int16, configs map[string]string) error
	// Replica is this broker's replica of a partition, or nil.
	Replica(topic string, p int32) *replica.Partition
	// AllocateProducerIDs takes a block of producer ids no other broker
	// hands out.
	AllocateProducerIDs(ctx context.Context) (first int64, size int32, err error)
	// ElectLeaders runs a leader election (Kafka's election type) on
	// partitions (nil: all), returning each one's error code.
	ElectLeaders(ctx context.Context, typ int8, parts []PartitionRef) (map[PartitionRef]int16, error)
	// DeleteTopic deletes a topic.
	DeleteTopic(ctx context.Context, name string) error
	// CreatePartitions grows a topic to count partitions (assignment nil:
	// placed by the controller).
	CreatePartitions(ctx context.Context, name string, count int32, assignment [][]int32) error
	// Reassign moves a partition to target replicas (nil: cancel the move).
	Reassign(ctx context.Context, topic string, p int32, target []int32) error
	// Reassignments lists the partitions being moved.
	Reassignments() map[PartitionRef]ClusterPartition
}

// PartitionRef names a partition.
type PartitionRef struct {
	Topic     string
	Partition int32
}

// sortRefs orders partitions by topic, then partition: the order answers
// list them in, one topic entry per run of a topic.
func sortRefs(refs []PartitionRef) {
	slices.SortFunc(refs, func(a, b PartitionRef) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
}

type clusterHolder struct{ Cluster }

// HighWatermarkMoved wakes waiting consumer fetches: a partition leader's
// high watermark advanced.
func (b *Broker) HighWatermarkMoved() { b.appended.Notify() }

// SetCluster makes the broker a member of a multi-node cluster.
func (b *Broker) SetCluster(c Cluster) { b.cluster.Store(&clusterHolder{c}) }

// clusterView is the cluster, or nil on a single broker.
func (b *Broker) clusterView() Cluster {
	if h := b.cluster.Load(); h != nil {
		return h.Cluster
	}
	return nil
}

// createTopicAnywhere creates a topic on this broker alone, or through the
// active controller in a cluster, returning once this broker knows it.
func (b *Broker) createTopicAnywhere(name string, partitions int32, rf int16, configs map[string]string) (metadata.Topic, error) {
	c := b.clusterView()
	if c == nil {
		return b.createTopic(name, partitions, configs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := metadata.NewTopicID()
	err := c.CreateTopic(ctx, name, id, partitions, rf, configs)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return metadata.Topic{}, err
	}
	// Ours, or (created concurrently) whichever the metadata holds; never
	// a deleted topic of the same name still known here.
	var got metadata.Topic
	if werr := b.waitCatalog(ctx, name, func(t metadata.Topic, ok bool) bool {
		got = t
		return ok && (err != nil || t.ID == id)
	}); werr != nil {
		return metadata.Topic{}, werr
	}
	return got, nil
}

// EnsureTopic makes a topic of the cluster metadata known here, with the
// partitions this broker holds a replica of.
func (b *Broker) EnsureTopic(name string, id [16]byte, partitions int32, configs map[string]string, local []int32) error {
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	t, ok := b.catalog.Get(name)
	if ok && t.ID != id {
		// Deleted and created again between two looks at the metadata:
		// the old topic's replicas go first.
		b.logf("topic %s was deleted and created again in the cluster metadata", name)
		b.deleteTopicLocked(t)
		ok = false
	}
	if !ok {
		var err error
		if t, err = b.catalog.CreateWithID(name, id, partitions, configs); err != nil {
			return err
		}
		b.logf("topic %s from the cluster metadata: %d partitions, %d here", name, partitions, len(local))
	}
	if t.Partitions < partitions { // CreatePartitions
		var err error
		if t, err = b.catalog.Update(name, func(t *metadata.Topic) error { t.Partitions = partitions; return nil }); err != nil {
			return err
		}
		b.logf("topic %s from the cluster metadata: now %d partitions", name, partitions)
	}
	// Every local partition is tried; one that cannot be created is
	// remembered, so requests for it answer KAFKA_STORAGE_ERROR instead of
	// waiting, and the error makes the reconciler try again.
	lc := LogConfig(b.cfg.LogDefaults, t)
	var errs []error
	for _, p := range local {
		tp := engine.TopicPartition{Topic: name, Partition: p}
		if _, err := b.engine.CreatePartition(tp, lc); err != nil && !errors.Is(err, engine.ErrPartitionExists) {
			b.faults.failed(tp, err)
			errs = append(errs, fmt.Errorf("partition %d: %w", p, err))
			continue
		}
		b.faults.created(tp)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d local partitions not created: %w", len(errs), len(local), errors.Join(errs...))
	}
	return nil
}

// RemoveTopic forgets a topic the cluster deleted, with this broker's
// replicas of it.
func (b *Broker) RemoveTopic(name string) error {
	t, ok := b.catalog.Get(name)
	if !ok {
		return nil
	}
	b.logf("topic %s deleted in the cluster metadata", name)
	return b.deleteTopic(t)
}

// waitCatalog waits until cond holds for the catalog's copy of a topic
// (ok false: absent), as the reconciler applies the cluster's metadata.
func (b *Broker) waitCatalog(ctx context.Context, name string, cond func(t metadata.Topic, ok bool) bool) error {
	for {
		if t, ok := b.catalog.Get(name); cond(t, ok) {
			return nil
		}
		select {
		case <-ctx.Done():
			return kerr.RequestTimedOut
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// inClusterMetadata reports whether a cluster's metadata has the
// partition (false on a single broker).
func (b *Broker) inClusterMetadata(topic string, p int32) bool {
	c := b.clusterView()
	if c == nil || topic == "" {
		return false
	}
	_, ok := c.Partition(topic, p)
	return ok
}

// leaderHere reports the error for a partition this broker cannot serve
// in a cluster: another broker leads it, or none does.
func (b *Broker) leaderHere(topic string, p int32) *kerr.Error {
	c := b.clusterView()
	if c == nil {
		return nil
	}
	cp, ok := c.Partition(topic, p)
	switch {
	case !ok || cp.Leader < 0:
		return kerr.LeaderNotAvailable
	case cp.Leader != c.Self():
		return kerr.NotLeaderForPartition
	}
	return nil
}

// leaderEpoch is the partition's current leader epoch: 0 on a single
// broker, the controller's in a cluster.
func (b *Broker) leaderEpoch(topic string, p int32) int32 {
	c := b.clusterView()
	if c == nil {
		return 0
	}
	if cp, ok := c.Partition(topic, p); ok {
		return cp.LeaderEpoch
	}
	return 0
}

// replicaOf is this broker's replica of a partition in a cluster, which
// must be leading it (the handlers check leadership first); nil without
// an error on a single broker.
func (b *Broker) replicaOf(topic string, p int32) (*replica.Partition, *kerr.Error) {
	c := b.clusterView()
	if c == nil {
		return nil, nil
	}
	// Created in the metadata and here, but not yet handed to the replica
	// manager: wait for it briefly, as partitionLog does.
	var r *replica.Partition
	awaitLocal(func() bool { r = c.Replica(topic, p); return r != nil })
	if r == nil {
		return nil, kerr.LeaderNotAvailable
	}
	return r, nil
}

// awaitLocal calls ready every 5 ms until it reports true or a second
// passed: how long a request for a partition this broker leads in the
// cluster metadata waits for the reconciler to create it here.
func awaitLocal(ready func() bool) {
	for deadline := time.Now().Add(time.Second); !ready() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// producerIDBlock is the block of producer ids this broker of a cluster
// hands out.
type producerIDBlock struct {
	mu        sync.Mutex
	next, end int64
}

// clusterProducerID takes the next producer id of this broker's block,
// taking a new block from the controller when it is used up.
func (b *Broker) clusterProducerID(c Cluster) (int64, error) {
	b.pids.mu.Lock()
	defer b.pids.mu.Unlock()
	if b.pids.next >= b.pids.end {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		first, size, err := c.AllocateProducerIDs(ctx)
		if err != nil {
			return 0, err
		}
		b.pids.next, b.pids.end = first, first+int64(size)
	}
	id := b.pids.next
	b.pids.next++
	return id, nil
}
