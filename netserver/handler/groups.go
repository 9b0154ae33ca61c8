package handler

// The group coordinator's home in the broker: the offsets topic it persists
// to (created on first use, as Kafka does on the first FindCoordinator), and
// its start and stop.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/replication/metadata"
)

// OffsetsTopic is Kafka's internal topic of group metadata and offsets.
const OffsetsTopic = "__consumer_offsets"

// groupTick is how often the coordinator's timed steps run: the precision
// of session and rebalance timeouts.
const groupTick = 100 * time.Millisecond

// offsetsTopicConfigs are the offsets topic's settings: compacted like
// Kafka's, 100 MiB segments (offsets.topic.segment.bytes), and fsynced
// before every answer so a committed offset survives a crash of the host.
func offsetsTopicConfigs() map[string]string {
	return map[string]string{
		"cleanup.policy": "compact",
		"segment.bytes":  strconv.Itoa(100 << 20),
		"flush.messages": "1",
	}
}

// isInternalTopic reports topics clients may read but not write or delete.
func isInternalTopic(name string) bool { return name == OffsetsTopic }

// offsetsStore is group.Store over the broker's engine.
type offsetsStore struct{ b *Broker }

// ensureOffsetsTopic creates the offsets topic when it does not exist.
func (b *Broker) ensureOffsetsTopic() error {
	if _, ok := b.topic(OffsetsTopic); ok {
		return nil
	}
	rf := min(max(b.cfg.OffsetsReplicationFactor, 1), int16(max(len(b.cluster.Brokers()), 1)))
	_, err := b.createTopicAnywhere(OffsetsTopic, b.cfg.Groups.OffsetsPartitions, rf, offsetsTopicConfigs(), nil)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil // created concurrently
	}
	return err
}

func (s offsetsStore) Append(p int32, recs []group.Record) error {
	if err := s.b.ensureOffsetsTopic(); err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	fr := make([]format.Record, len(recs))
	for i, r := range recs {
		fr[i] = format.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	batch, err := format.BuildBatch(format.BatchHeader{
		BaseTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
	}, fr)
	if err != nil {
		return err
	}
	rep, code := s.b.replicaOf(OffsetsTopic, p)
	if code != nil {
		return code
	}
	// A group's state is as safe as acks=all makes it: every ISR member
	// has it before the coordinator answers.
	_, wait, err := rep.Append(batch, true, 10*time.Second)
	if err != nil {
		return err
	}
	s.b.appended.Notify()
	return <-wait
}

func (s offsetsStore) Load(p int32, fn func(group.Record) error) error {
	if _, ok := s.b.topic(OffsetsTopic); !ok {
		return nil
	}
	l, err := s.b.engine.Partition(engine.TopicPartition{Topic: OffsetsTopic, Partition: p})
	if errors.Is(err, engine.ErrUnknownPartition) {
		return nil // in a cluster, another broker holds it
	}
	if err != nil {
		return err
	}
	off := l.LogStartOffset()
	for off < l.LogEndOffset() {
		r, err := l.Read(off, 1<<20, -1, true)
		if err != nil {
			return err
		}
		if r.Len == 0 {
			return nil
		}
		buf := make([]byte, r.Len)
		if _, err := r.File.ReadAt(buf, r.Pos); err != nil {
			return err
		}
		for len(buf) > 0 {
			b, err := format.Parse(buf)
			if err != nil {
				return err
			}
			buf = buf[b.Size():]
			if b.NextOffset() <= off {
				continue
			}
			off = b.NextOffset()
			if b.IsControl() {
				continue
			}
			if err := b.ForEachRecord(func(rec format.Record) error {
				return fn(group.Record{Key: rec.Key, Value: rec.Value})
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// StartGroups loads the groups from the offsets topic and starts the
// coordinator's clock. Call it once, after Reconcile; Close stops it.
func (b *Broker) StartGroups() error {
	if err := b.groups.Load(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.stopGroups = func() {
		cancel()
		<-done
	}
	go func() {
		defer close(done)
		b.groups.Run(ctx, groupTick)
	}()
	return nil
}

// Close stops the group coordinator, answering parked JoinGroup and
// SyncGroup requests with NOT_COORDINATOR. The engine stays open.
func (b *Broker) Close() {
	if b.stopGroups != nil {
		b.stopGroups()
		b.stopGroups = nil
	}
}

// ownsOffsetsPartition reports whether this broker coordinates the groups
// of an offsets-topic partition: when it leads that partition and has
// loaded its groups.
func (b *Broker) ownsOffsetsPartition(p int32) bool {
	_, loaded := b.coordinated.Load(p)
	return loaded
}

// PartitionLeadership is told when this broker starts or stops leading a
// partition. For an offsets-topic partition the coordinator
// loads its groups before serving them, and drops them when another
// broker takes over.
func (b *Broker) PartitionLeadership(topic string, p int32, leading bool) {
	if topic != OffsetsTopic {
		return
	}
	if !leading {
		b.coordinated.Delete(p)
		b.groups.UnloadPartition(p)
		return
	}
	if err := b.groups.LoadPartition(p); err != nil {
		b.logf("loading the groups of %s-%d: %v", OffsetsTopic, p, err)
	}
	b.coordinated.Store(p, struct{}{})
}

// errorCode is the wire code of a coordinator outcome.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	return toKerr(err).Code
}

// groupsUnavailable describes why the offsets topic could not be made.
func groupsUnavailable(err error) string {
	return fmt.Sprintf("the offsets topic %s is not available: %v", OffsetsTopic, err)
}

// groupTopics is group.TopicSource over the metadata's topics.
type groupTopics struct{ b *Broker }

func topicInfo(t metadata.Topic) group.TopicInfo {
	return group.TopicInfo{Name: t.Name, ID: t.ID, Partitions: t.Partitions}
}

func (c groupTopics) TopicByName(name string) (group.TopicInfo, bool) {
	t, ok := c.b.topic(name)
	return topicInfo(t), ok && !isInternalTopic(name)
}

func (c groupTopics) TopicByID(id [16]byte) (group.TopicInfo, bool) {
	t, ok := c.b.topicByID(id)
	return topicInfo(t), ok
}

func (c groupTopics) AllTopics() []group.TopicInfo {
	var out []group.TopicInfo
	for _, t := range c.b.topics() {
		if !isInternalTopic(t.Name) {
			out = append(out, topicInfo(t))
		}
	}
	return out
}
