package handler

// The coordinators' home in the broker. A coordinator (package
// coordinator/group today; the transaction and share coordinators later)
// runs on the coordinator runtime (coordinator/shard): one shard per
// partition of its internal topic, loaded when this broker becomes the
// partition's leader (PartitionLeadership, called by the broker runtime)
// and written through the partition's replica with acks=all
// (internalLog). Here too: the offsets topic (created on first use, as
// Kafka does on the first FindCoordinator), and the coordinators' clock.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/metadata"
	"github.com/rillmq/rill/replication/replica"
)

// OffsetsTopic is Kafka's internal topic of group metadata and offsets.
const OffsetsTopic = "__consumer_offsets"

// groupTick is how often the coordinator's timed steps run: the precision
// of session and rebalance timeouts.
const groupTick = 100 * time.Millisecond

// offsetsTopicConfigs are the offsets topic's settings: compacted like
// Kafka's, 100 MiB segments (offsets.topic.segment.bytes), and fsynced
// before every answer so a committed offset survives a crash of the host;
// compression.type=producer, as Kafka sets it, whatever the broker default.
func offsetsTopicConfigs() map[string]string {
	return map[string]string{
		"cleanup.policy":   "compact",
		"segment.bytes":    strconv.Itoa(100 << 20),
		"flush.messages":   "1",
		"compression.type": "producer",
	}
}

// offsetsPartitions is the offsets topic's partition count as it exists
// (0 before it is created).
func (b *Broker) offsetsPartitions() int32 {
	if b.cluster == nil {
		return 0
	}
	t, _ := b.topic(OffsetsTopic)
	return t.Partitions
}

// isInternalTopic reports topics clients may read but not write or delete.
func isInternalTopic(name string) bool {
	return name == OffsetsTopic || name == TransactionStateTopic || name == ShareStateTopic
}

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

// coordinatorAppendTimeout bounds a coordinator's append: how long the
// in-sync replicas have to acknowledge it.
const coordinatorAppendTimeout = 10 * time.Second

// internalLog is an internal topic as a coordinator runtime writes and
// reads it (shard.Log): appends go through this broker's replica of the
// partition with acks=all, loads read the partition's local log. The
// runtime uses it only for partitions this broker leads.
type internalLog struct {
	b     *Broker
	topic string
}

// Append writes recs as one batch per run of consecutive records with the
// same producer: a plain batch (producer id -1) for records without one, a
// transactional batch of the producer (its id and epoch, no sequence, as
// Kafka's coordinators write them) for the records of a transaction. The
// batches go in order, each acknowledged by the in-sync replicas before
// the next is appended; the first that fails ends the append with its
// error (the batches before it are in the log, the ones after are not
// written).
func (l internalLog) Append(p int32, recs []shard.Record) error {
	rep, code := l.b.replicaOf(l.topic, p)
	if code != nil {
		return notCoordinator(code)
	}
	for len(recs) > 0 {
		n := 1
		for n < len(recs) && sameProducer(recs[n].Producer, recs[0].Producer) {
			n++
		}
		producer := recs[0].Producer
		batch, err := coordinatorBatch(recs[:n], producer)
		if err != nil {
			return err
		}
		recs = recs[n:]
		// A coordinator's state is as safe as acks=all makes it: every ISR
		// member has it before the coordinator applies it and answers.
		var wait <-chan error
		if producer != nil {
			// A transaction's records open it in this partition only
			// under the handler's verification with the transaction
			// coordinator (txn_verify.go): a late TxnOffsetCommit of an
			// ended transaction must not open one no marker ends.
			guard, _ := producer.Verification.(*log.VerificationGuard)
			_, wait, err = rep.AppendVerified(batch, true, coordinatorAppendTimeout, guard)
		} else {
			_, wait, err = rep.Append(batch, true, coordinatorAppendTimeout)
		}
		if err == nil {
			l.b.watch.wake(kafka.TopicPartition{Topic: l.topic, Partition: p})
			err = <-wait
		}
		if err != nil {
			return appendError(err)
		}
	}
	return nil
}

// appendError is a failed coordinator append as the coordinators read it:
// a producer fenced by the partition's producer state carries Kafka's code
// (a transactional offset commit answers it), a lost leadership is
// shard.ErrNotCoordinator.
func appendError(err error) error {
	if ke := toKerr(err); ke == kerr.InvalidProducerEpoch {
		return fmt.Errorf("%w: %w", ke, err)
	}
	return notCoordinator(err)
}

func sameProducer(a, b *shard.Producer) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// coordinatorBatch builds the batch of one run of records: plain, or
// transactional for producer.
func coordinatorBatch(recs []shard.Record, producer *shard.Producer) ([]byte, error) {
	now := time.Now().UnixMilli()
	fr := make([]format.Record, len(recs))
	for i, r := range recs {
		fr[i] = format.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	h := format.BatchHeader{
		BaseTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
	}
	if producer != nil {
		h.ProducerID, h.ProducerEpoch = producer.ID, producer.Epoch
		h.Attributes = format.AttrTransactional
	}
	return format.BuildBatch(h, fr)
}

// notCoordinator marks an append that failed because this broker does not
// (or no longer) lead the partition as shard.ErrNotCoordinator, which the
// coordinators answer NOT_COORDINATOR (Kafka's mapping of
// NOT_LEADER_OR_FOLLOWER for coordinator writes); other errors stay.
func notCoordinator(err error) error {
	if errors.Is(err, replica.ErrNotLeader) || errors.Is(err, replica.ErrLeaderNotAvailable) || errors.Is(err, kerr.LeaderNotAvailable) {
		return fmt.Errorf("%w: %w", shard.ErrNotCoordinator, err)
	}
	return err
}

// Load replays partition p from this broker's log. Records of a
// transactional batch come with their Producer; an end-transaction marker
// (a control batch, COMMIT or ABORT) comes as one Record with Control and
// Producer set and no key or value. Other control records are skipped.
func (l internalLog) Load(p int32, fn func(shard.Record) error) error {
	if _, ok := l.b.topic(l.topic); !ok {
		return nil
	}
	lg, err := l.b.engine.Partition(kafka.TopicPartition{Topic: l.topic, Partition: p})
	if errors.Is(err, engine.ErrUnknownPartition) {
		return nil // not created here yet
	}
	if err != nil {
		return err
	}
	off := lg.LogStartOffset()
	for off < lg.LogEndOffset() {
		r, err := lg.Read(off, 1<<20, -1, true)
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
			var producer *shard.Producer
			if b.IsTransactional() && b.ProducerID() >= 0 {
				producer = &shard.Producer{ID: b.ProducerID(), Epoch: b.ProducerEpoch()}
			}
			if b.IsControl() {
				if err := replayControl(b, producer, fn); err != nil {
					return err
				}
				continue
			}
			if err := b.ForEachRecord(func(rec format.Record) error {
				return fn(shard.Record{Key: rec.Key, Value: rec.Value, Producer: producer})
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// replayControl hands fn a control batch's end-transaction marker; other
// control records (and a batch compaction emptied) are nothing to a
// coordinator.
func replayControl(b format.Batch, producer *shard.Producer, fn func(shard.Record) error) error {
	c, err := b.Control()
	switch {
	case errors.Is(err, format.ErrEmptyControlBatch):
		return nil
	case err != nil:
		return err
	case producer == nil || (c.Type != format.ControlCommit && c.Type != format.ControlAbort):
		return nil
	}
	return fn(shard.Record{Producer: producer, Control: &shard.Control{Commit: c.Type == format.ControlCommit}})
}

// offsetsStore is the group coordinator's log: __consumer_offsets.
type offsetsStore struct{ b *Broker }

func (s offsetsStore) Append(p int32, recs []shard.Record) error {
	return internalLog{s.b, OffsetsTopic}.Append(p, recs)
}

func (s offsetsStore) Load(p int32, fn func(shard.Record) error) error {
	return internalLog{s.b, OffsetsTopic}.Load(p, fn)
}

// StartGroups starts the group, transaction and share coordinators'
// clocks (and the transaction marker sender). Call it once, after the
// broker runtime started (its partitions' leadership loads the groups,
// transactional ids and share partitions); Close stops them.
func (b *Broker) StartGroups() error {
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
	stopTxns := b.startTxns()
	stopShareState := b.startShareState()
	stop := b.stopGroups
	b.stopGroups = func() {
		stopShareState()
		stopTxns()
		stop()
	}
	return nil
}

// Close stops the group coordinator, answering parked JoinGroup and
// SyncGroup requests with NOT_COORDINATOR. The engine stays open.
func (b *Broker) Close() {
	b.stopAutoCreate()
	if b.stopGroups != nil {
		b.stopGroups()
		b.stopGroups = nil
	}
}

// partitionCoordinator is a coordinator whose shards are the partitions
// of an internal topic.
type partitionCoordinator interface {
	LoadPartition(p int32) <-chan error
	UnloadPartition(p int32)
}

// coordinatorOf is the coordinator of an internal topic, nil for other
// topics.
func (b *Broker) coordinatorOf(topic string) partitionCoordinator {
	switch topic {
	case OffsetsTopic:
		return b.groups
	case TransactionStateTopic:
		return b.txns
	case ShareStateTopic:
		return b.shareState
	}
	return nil
}

// PartitionLeadership is told when this broker starts or stops leading a
// partition. For a partition of a coordinator's internal topic the
// coordinator loads the partition's shard (replaying it before serving
// it) or drops it when another broker takes over; a new leader epoch
// while leading loads it again.
func (b *Broker) PartitionLeadership(topic string, p int32, leading bool) {
	// Share partitions are loaded again under the new leader epoch, or
	// by the new leader (share_partitions.go).
	epoch := int32(-1)
	if leading {
		epoch = b.leaderEpoch(topic, p)
	}
	b.shares.dropPartition(kafka.TopicPartition{Topic: topic, Partition: p}, epoch)
	c := b.coordinatorOf(topic)
	if c == nil {
		return
	}
	if !leading {
		c.UnloadPartition(p)
		return
	}
	loaded := c.LoadPartition(p)
	go func() {
		if err := <-loaded; err != nil && !errors.Is(err, shard.ErrNotCoordinator) {
			b.log.Warn("loading a coordinator partition failed", "topic", topic, "partition", p, "err", err)
		}
	}()
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

// TopicByName and AllTopics resolve KIP-848 subscriptions. Internal
// topics are included, as Kafka's coordinator resolves names and regular
// expressions against every topic of the metadata image: a consumer that
// subscribes to __consumer_offsets, by name or by a pattern matching it,
// is assigned its partitions.
func (c groupTopics) TopicByName(name string) (group.TopicInfo, bool) {
	t, ok := c.b.topic(name)
	return topicInfo(t), ok
}

func (c groupTopics) TopicByID(id [16]byte) (group.TopicInfo, bool) {
	t, ok := c.b.topicByID(id)
	return topicInfo(t), ok
}

func (c groupTopics) AllTopics() []group.TopicInfo {
	var out []group.TopicInfo
	for _, t := range c.b.topics() {
		out = append(out, topicInfo(t))
	}
	return out
}

// PartitionRacks is the racks of each partition's replicas, from the
// brokers' broker.rack, for the assignors' rack awareness (nil when no
// broker has a rack: nothing to prefer). A replica on a broker without a
// rack, or no longer registered, adds none.
func (c groupTopics) PartitionRacks(id [16]byte) [][]string {
	if c.b.cluster == nil {
		return nil
	}
	racks := map[int32]string{}
	for _, br := range c.b.cluster.Brokers() {
		if br.Rack != "" {
			racks[br.ID] = br.Rack
		}
	}
	if len(racks) == 0 {
		return nil
	}
	t, ok := c.b.topicByID(id)
	if !ok {
		return nil
	}
	parts, ok := c.b.cluster.TopicPartitions(t.Name)
	if !ok {
		return nil
	}
	out := make([][]string, len(parts))
	for i, p := range parts {
		for _, r := range p.Replicas {
			if rack, ok := racks[r]; ok && !slices.Contains(out[i], rack) {
				out[i] = append(out[i], rack)
			}
		}
		slices.Sort(out[i])
	}
	return out
}
