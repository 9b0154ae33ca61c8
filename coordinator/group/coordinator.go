package group

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/internal/kafka"
)

// Config is the coordinator's part of the broker config, under Kafka's names.
type Config struct {
	// OffsetsPartitions is offsets.topic.num.partitions (50): the count
	// the offsets topic is created with.
	OffsetsPartitions int32
	// Partitions, when set, is the offsets topic's partition count as it
	// exists (0: not created yet, OffsetsPartitions applies). As in Kafka,
	// a group's partition follows the topic, so changing
	// offsets.topic.num.partitions later moves no group.
	Partitions func() int32
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms (3000).
	InitialRebalanceDelay time.Duration
	// MinSessionTimeout and MaxSessionTimeout bound a member's session
	// timeout: group.min.session.timeout.ms (6000) and
	// group.max.session.timeout.ms (1800000).
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// MaxGroupSize is group.max.size (unbounded when 0).
	MaxGroupSize int
	// OffsetsRetention is offsets.retention.minutes (7 days).
	OffsetsRetention time.Duration
	// RetentionCheckInterval is offsets.retention.check.interval.ms (600000).
	RetentionCheckInterval time.Duration
	// MetadataMaxBytes is offset.metadata.max.bytes (4096).
	MetadataMaxBytes int
	// ConsumerSessionTimeout and ConsumerHeartbeatInterval are
	// group.consumer.session.timeout.ms (45000) and
	// group.consumer.heartbeat.interval.ms (5000), for KIP-848 groups.
	ConsumerSessionTimeout, ConsumerHeartbeatInterval time.Duration
	// MigrationPolicy is group.consumer.migration.policy
	// (bidirectional): whether a classic group with members becomes a
	// consumer group when a ConsumerGroupHeartbeat joins it.
	MigrationPolicy MigrationPolicy
	// ShareSessionTimeout and ShareHeartbeatInterval are
	// group.share.session.timeout.ms (45000) and
	// group.share.heartbeat.interval.ms (5000), for share groups; a
	// group's share.session.timeout.ms and share.heartbeat.interval.ms
	// (GroupConfig) override them, bounded by
	// group.share.min/max.session.timeout.ms (45000, 60000) and
	// group.share.min/max.heartbeat.interval.ms (5000, 15000).
	ShareSessionTimeout, ShareHeartbeatInterval          time.Duration
	ShareMinSessionTimeout, ShareMaxSessionTimeout       time.Duration
	ShareMinHeartbeatInterval, ShareMaxHeartbeatInterval time.Duration
	// ShareMaxGroupSize is group.share.max.size (200; unbounded when 0).
	ShareMaxGroupSize int
	// GroupConfig, when set, is the configs set on a group (ConfigResource
	// GROUP), nil when none; asked once per share group heartbeat.
	GroupConfig func(group string) map[string]string
	// OnShareGroupDeleted, when set, is called after a share group's
	// deletion (DeleteGroups) is written, with the topics it may have
	// share-partition state for (ShareGroupInfo.StateTopics), so the
	// broker deletes that state. It runs on a goroutine of its own.
	OnShareGroupDeleted func(group string, topicIDs [][16]byte)
	// OnShareMemberRemoved, when set, is called after a share group
	// member left (epoch -1) or its session expired and the group's
	// snapshot without it is written, so the broker can release the
	// records it holds and close its share sessions. It runs on a
	// goroutine of its own.
	OnShareMemberRemoved func(group, memberID string)
	// Topics resolves subscriptions of KIP-848 groups; without it they
	// are assigned nothing.
	Topics TopicSource
	// Owns, when set, is asked too before a group of a loaded partition
	// is served (the shards loaded by LoadPartition decide on their own;
	// the broker keeps this for its leadership bookkeeping). Groups of
	// other partitions answer NOT_COORDINATOR.
	Owns func(partition int32) bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger reports failed and slow partition loads; silent when nil.
	Logger *slog.Logger
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		OffsetsPartitions:         50,
		InitialRebalanceDelay:     3 * time.Second,
		MinSessionTimeout:         6 * time.Second,
		MaxSessionTimeout:         30 * time.Minute,
		OffsetsRetention:          7 * 24 * time.Hour,
		RetentionCheckInterval:    10 * time.Minute,
		MetadataMaxBytes:          4096,
		ConsumerSessionTimeout:    45 * time.Second,
		ConsumerHeartbeatInterval: 5 * time.Second,
		MigrationPolicy:           MigrationBidirectional,
		ShareSessionTimeout:       45 * time.Second,
		ShareHeartbeatInterval:    5 * time.Second,
		ShareMinSessionTimeout:    45 * time.Second,
		ShareMaxSessionTimeout:    60 * time.Second,
		ShareMinHeartbeatInterval: 5 * time.Second,
		ShareMaxHeartbeatInterval: 15 * time.Second,
		ShareMaxGroupSize:         200,
	}
}

// Record is one key/value of the offsets topic; a nil Value is a
// tombstone.
type Record = shard.Record

// Store is the offsets topic: appends acknowledged by the in-sync
// replicas, and the records of a partition for a load.
type Store = shard.Log

// Coordinator runs the groups of the offsets partitions this broker leads:
// one shard of the coordinator runtime (package shard) per partition,
// loaded by LoadPartition and dropped by UnloadPartition. A group of a
// partition with no shard here answers NOT_COORDINATOR.
type Coordinator struct {
	cfg Config
	rt  *shard.Runtime[*groups]
}

// New returns a coordinator that leads no partition yet.
func New(cfg Config, store Store) *Coordinator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OffsetsPartitions <= 0 {
		cfg.OffsetsPartitions = 50
	}
	c := &Coordinator{cfg: cfg}
	c.rt = shard.New(shard.Config[*groups]{
		Log:    store,
		New:    func(p int32) *groups { return newGroups(c, p) },
		Now:    func() time.Time { return c.cfg.Now() },
		Logger: cfg.Logger,
	})
	return c
}

// PartitionFor is the offsets-topic partition that holds a group, where
// Kafka would put it (kafka.PartitionFor).
func PartitionFor(groupID string, partitions int32) int32 {
	return kafka.PartitionFor(groupID, partitions)
}

func (c *Coordinator) partition(groupID string) int32 {
	return PartitionFor(groupID, c.partitions())
}

// partitions is the offsets topic's partition count.
func (c *Coordinator) partitions() int32 {
	if c.cfg.Partitions != nil {
		if n := c.cfg.Partitions(); n > 0 {
			return n
		}
	}
	return c.cfg.OffsetsPartitions
}

// PartitionOf is the offsets partition that holds groupID.
func (c *Coordinator) PartitionOf(groupID string) int32 { return c.partition(groupID) }

// owns reports whether this coordinator serves the groups of partition p.
func (c *Coordinator) owns(p int32) bool {
	return c.rt.Owns(p) && (c.cfg.Owns == nil || c.cfg.Owns(p))
}

// Owns reports whether this coordinator serves groupID: it has loaded (or
// is loading) the group's offsets partition.
func (c *Coordinator) Owns(groupID string) bool {
	return c.owns(c.partition(groupID))
}

// LoadPartition starts coordinating the groups of offsets partition p:
// this broker became its leader. The partition is replayed before any of
// its groups is served (requests for them wait); the channel receives the
// load's outcome (records that did not decode are skipped and counted in
// the error, leaving the rest loaded).
func (c *Coordinator) LoadPartition(p int32) <-chan error {
	return c.rt.Load(p)
}

// UnloadPartition stops coordinating the groups of offsets partition p:
// another broker leads it now. Requests waiting on its groups are answered
// NOT_COORDINATOR and find the new coordinator.
func (c *Coordinator) UnloadPartition(p int32) {
	c.rt.Unload(p)
}

// Load loads every offsets partition and waits for them: a coordinator of
// every group (tests and tools; a broker loads what it leads).
func (c *Coordinator) Load() error {
	var errs []error
	var waits []<-chan error
	for p := range c.partitions() {
		waits = append(waits, c.rt.Load(p))
	}
	for _, w := range waits {
		if err := <-w; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Tick runs every timed step that is due (session expiry, rebalance and
// sync deadlines, the initial delay, offset retention) and returns once
// they completed, except steps of groups with a write in flight, which
// run after it.
func (c *Coordinator) Tick() { c.rt.Tick() }

// Run runs the timed steps every interval until ctx ends, then stops
// coordinating every partition (waiting JoinGroup and SyncGroup requests
// are answered NOT_COORDINATOR).
func (c *Coordinator) Run(ctx context.Context, interval time.Duration) {
	c.rt.Run(ctx, interval)
}

// Close stops coordinating every partition, as Run does when it ends.
func (c *Coordinator) Close() { c.rt.Close() }

// do runs op on the shard of groupID's partition after every earlier
// operation on the group completed, and returns once op's write (if any)
// completed. The error is NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS
// when op did not run.
func (c *Coordinator) do(groupID string, op func(s *groups, now time.Time, w *change)) error {
	p := c.partition(groupID)
	if c.cfg.Owns != nil && !c.cfg.Owns(p) {
		return kerr.NotCoordinator
	}
	err := c.rt.Do(p, groupID, func(s *groups, now time.Time) ([]shard.Record, func(error)) {
		w := new(change)
		op(s, now, w)
		return w.records, w.complete
	})
	return runtimeError(err)
}

// read runs fn on every shard, for a view across groups.
func (c *Coordinator) read(fn func(s *groups)) {
	for _, p := range c.rt.Partitions() {
		if c.owns(p) {
			_ = c.rt.Read(p, fn) // a shard that went away shows nothing
		}
	}
}

func runtimeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, shard.ErrLoading):
		return kerr.CoordinatorLoadInProgress
	case errors.Is(err, shard.ErrNotCoordinator):
		return kerr.NotCoordinator
	}
	return err
}

// change is what one operation writes: records, and what to do when the
// log acknowledged them (applied) or did not (failed). An operation
// leaves the state its records describe alone; applied changes it.
type change struct {
	records []shard.Record
	applied []func()
	failed  []func(error)
}

// write adds records with their outcomes (either may be nil). Every part
// is computed against the state before the operation: an operation writes
// once.
func (w *change) write(records []shard.Record, applied func(), failed func(error)) {
	w.records = append(w.records, records...)
	if applied != nil {
		w.applied = append(w.applied, applied)
	}
	if failed != nil {
		w.failed = append(w.failed, failed)
	}
}

func (w *change) complete(err error) {
	if err == nil {
		for _, f := range w.applied {
			f()
		}
		return
	}
	for _, f := range w.failed {
		f(err)
	}
}

// persistError is the code a failed write answers: NOT_COORDINATOR when
// the partition's leadership moved, else COORDINATOR_NOT_AVAILABLE.
func persistError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, shard.ErrNotCoordinator):
		return kerr.NotCoordinator
	}
	return kerr.CoordinatorNotAvailable
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
