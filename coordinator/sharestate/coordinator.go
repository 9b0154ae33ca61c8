package sharestate

// The coordinator: the pure Partition states run as shards of the
// coordinator runtime (package shard), one per __share_group_state
// partition this broker leads.

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/shard"
)

// Config is the coordinator's part of the broker config.
type Config struct {
	// StatePartitions is share.coordinator.state.topic.num.partitions
	// (50): the partition count __share_group_state is created with.
	StatePartitions int32
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config { return Config{StatePartitions: 50} }

// CoordinatorConfig wires a Coordinator to the broker.
type CoordinatorConfig struct {
	Config
	// Log is __share_group_state as the runtime writes and reads it.
	Log shard.Log
	// Partitions is __share_group_state's partition count as it exists
	// (0: not created; StatePartitions is used then).
	Partitions func() int32
	// TopicPartitions, when set, says whether a topic partition exists;
	// operations on one that does not answer UNKNOWN_TOPIC_OR_PARTITION,
	// as Kafka checks its metadata image. Called on a shard's goroutine:
	// it must not block.
	TopicPartitions func(id [16]byte, partition int32) bool
	// AppendError, when set, is the *kerr.Error a failed append of the
	// log answers as (the broker's mapping of its replication errors);
	// see appendError for the default.
	AppendError func(error) *kerr.Error
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger reports failed loads (nil discards).
	Logger *slog.Logger
}

// Coordinator runs the share coordinator of the __share_group_state
// partitions this broker leads. Its methods are safe for concurrent use
// (not from a shard's goroutine); each runs on its key's shard after the
// key's earlier writes, and returns nil or a *kerr.Error.
type Coordinator struct {
	cfg CoordinatorConfig
	rt  *shard.Runtime[*Partition]
}

// NewCoordinator returns a coordinator that leads no partition yet.
func NewCoordinator(cfg CoordinatorConfig) *Coordinator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StatePartitions <= 0 {
		cfg.StatePartitions = DefaultConfig().StatePartitions
	}
	c := &Coordinator{cfg: cfg}
	c.rt = shard.New(shard.Config[*Partition]{
		Log:    cfg.Log,
		New:    func(p int32) *Partition { return NewPartition(p, cfg.TopicPartitions) },
		Now:    func() time.Time { return c.cfg.Now() },
		Logger: cfg.Logger,
	})
	return c
}

// partitions is __share_group_state's partition count.
func (c *Coordinator) partitions() int32 {
	if c.cfg.Partitions != nil {
		if n := c.cfg.Partitions(); n > 0 {
			return n
		}
	}
	return c.cfg.StatePartitions
}

// PartitionOf is the __share_group_state partition of a coordinator key
// string (Key.String).
func (c *Coordinator) PartitionOf(key string) int32 { return PartitionFor(key, c.partitions()) }

// LoadPartition starts coordinating the share partitions of partition p
// (this broker became its leader); the channel receives the load's
// outcome.
func (c *Coordinator) LoadPartition(p int32) <-chan error { return c.rt.Load(p) }

// UnloadPartition stops coordinating partition p.
func (c *Coordinator) UnloadPartition(p int32) { c.rt.Unload(p) }

// Owns reports whether this broker coordinates k's partition.
func (c *Coordinator) Owns(k Key) bool { return c.rt.Owns(c.PartitionOf(k.String())) }

// Run runs the runtime's clock until ctx ends, then stops every
// partition. The share coordinator has no timers of its own; Run is
// there so the broker starts and stops it as the others.
func (c *Coordinator) Run(ctx context.Context, interval time.Duration) { c.rt.Run(ctx, interval) }

// Close stops every partition.
func (c *Coordinator) Close() { c.rt.Close() }

// do runs a decision on k's shard and returns the outcome once its write
// (if any) was acknowledged.
func (c *Coordinator) do(k Key, decide func(p *Partition) decision) error {
	var out error
	answered := false
	err := c.rt.Do(c.PartitionOf(k.String()), k.String(), func(p *Partition, _ time.Time) ([]shard.Record, func(error)) {
		return p.op(decide(p), func(err error) { out, answered = err, true })
	})
	if err == nil && !answered {
		err = shard.ErrNotCoordinator
	}
	if err != nil {
		return c.runtimeError(err)
	}
	var ae *appendError
	if errors.As(out, &ae) {
		return c.runtimeError(ae.err)
	}
	return out
}

// Initialize is InitializeShareGroupState for one share partition.
func (c *Coordinator) Initialize(k Key, stateEpoch int32, startOffset int64) error {
	return c.do(k, func(p *Partition) decision { return p.decideInitialize(k, stateEpoch, startOffset) })
}

// Read is ReadShareGroupState for one share partition: its state, after
// recording a higher leader epoch.
func (c *Coordinator) Read(k Key, leaderEpoch int32) (State, error) {
	var st State
	err := c.do(k, func(p *Partition) decision {
		s, d := p.decideRead(k, leaderEpoch)
		st = s
		return d
	})
	if err != nil {
		return State{}, err
	}
	return st, nil
}

// Write is WriteShareGroupState v0 for one share partition: the
// delivery-complete count becomes unknown (-1), as a v0 write carries
// none. WriteWithCount is v1.
func (c *Coordinator) Write(k Key, leaderEpoch, stateEpoch int32, startOffset int64, batches []Batch) error {
	return c.WriteWithCount(k, leaderEpoch, stateEpoch, startOffset, -1, batches)
}

// WriteWithCount is WriteShareGroupState v1 (KIP-1226): Write with the
// leader's delivery-complete count, which ReadSummary answers.
func (c *Coordinator) WriteWithCount(k Key, leaderEpoch, stateEpoch int32, startOffset int64, deliveryCompleteCount int32, batches []Batch) error {
	return c.do(k, func(p *Partition) decision {
		return p.decideWrite(k, leaderEpoch, stateEpoch, startOffset, deliveryCompleteCount, batches)
	})
}

// Delete is DeleteShareGroupState for one share partition.
func (c *Coordinator) Delete(k Key) error {
	return c.do(k, func(p *Partition) decision { return p.decideDelete(k) })
}

// ReadSummary is ReadShareGroupStateSummary for one share partition. The
// leader epoch is not checked, as in Kafka 4.2.
func (c *Coordinator) ReadSummary(k Key, leaderEpoch int32) (Summary, error) {
	var s Summary
	var serr error
	err := c.rt.Do(c.PartitionOf(k.String()), k.String(), func(p *Partition, _ time.Time) ([]shard.Record, func(error)) {
		s, serr = p.summary(k)
		return nil, nil
	})
	if err != nil {
		return Summary{}, c.runtimeError(err)
	}
	if serr != nil {
		return Summary{}, serr
	}
	return s, nil
}

// runtimeError is the *kerr.Error of an outcome: the decisions' own kerr
// values, the runtime's NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS,
// and a failed append as AppendError maps it.
func (c *Coordinator) runtimeError(err error) error {
	switch {
	case errors.Is(err, shard.ErrNotCoordinator):
		return kerr.NotCoordinator
	case errors.Is(err, shard.ErrLoading):
		return kerr.CoordinatorLoadInProgress
	}
	var ke *kerr.Error
	if c.cfg.AppendError != nil {
		ke = c.cfg.AppendError(err)
	} else if !errors.As(err, &ke) {
		ke = kerr.UnknownServerError
	}
	return coordinatorError(ke)
}

// coordinatorError is Kafka's handleOperationException mapping of an
// append's error for the caller, who retries elsewhere or later.
func coordinatorError(ke *kerr.Error) *kerr.Error {
	switch ke {
	case kerr.NotLeaderForPartition, kerr.KafkaStorageError, kerr.UnknownTopicOrPartition:
		return kerr.NotCoordinator
	case kerr.NotEnoughReplicas, kerr.NotEnoughReplicasAfterAppend, kerr.RequestTimedOut, kerr.LeaderNotAvailable:
		return kerr.CoordinatorNotAvailable
	}
	return ke
}

// ForgetTopic removes the state of every share partition of topic id that
// this broker coordinates, a tombstone each (Kafka's
// maybeCleanupShareState, run when a topic is deleted). Unlike Delete it
// does not check that the topic exists: it is for topics that no longer
// do. It returns the first error met; the keys it could not remove stay.
func (c *Coordinator) ForgetTopic(id [16]byte) error {
	var keys []Key
	for _, n := range c.rt.Partitions() {
		c.rt.Read(n, func(p *Partition) {
			for k := range p.keys {
				if k.TopicID == id {
					keys = append(keys, k)
				}
			}
		})
	}
	var first error
	for _, k := range keys {
		err := c.do(k, func(p *Partition) decision {
			if p.keys[k] == nil {
				return decision{}
			}
			return decision{write: &change{key: k}}
		})
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}
