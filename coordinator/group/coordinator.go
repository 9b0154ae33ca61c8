package group

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Config is the coordinator's part of the broker config, under Kafka's names.
type Config struct {
	// OffsetsPartitions is offsets.topic.num.partitions (50).
	OffsetsPartitions int32
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
	// Topics resolves subscriptions of KIP-848 groups; without it they
	// are assigned nothing.
	Topics TopicSource
	// Owns reports whether this coordinator serves the groups of an
	// offsets-topic partition (nil: all of them, as on one broker). Groups
	// of other partitions answer NOT_COORDINATOR.
	Owns func(partition int32) bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
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
	}
}

// Record is one key/value of the offsets topic; a nil Value is a tombstone.
type Record struct {
	Key, Value []byte
}

// Store is the offsets topic.
type Store interface {
	// Append writes records to partition p as one batch and returns once
	// they are as durable as the topic promises.
	Append(p int32, records []Record) error
	// Load calls fn for every record of partition p in offset order.
	// A partition (or topic) that does not exist yet has no records.
	Load(p int32, fn func(Record) error) error
}

// Coordinator runs every group whose offsets partition this broker leads
// (all of them, on one broker).
type Coordinator struct {
	cfg   Config
	store Store

	mu struct {
		sync.Mutex
		groups map[string]*group
	}
	// lastRetentionCheck is touched only by Tick, which is serialized by
	// tickMu.
	tickMu             sync.Mutex
	lastRetentionCheck time.Time
}

// New returns a coordinator with no groups; Load fills it from the store.
func New(cfg Config, store Store) *Coordinator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OffsetsPartitions <= 0 {
		cfg.OffsetsPartitions = 50
	}
	c := &Coordinator{cfg: cfg, store: store}
	c.mu.groups = map[string]*group{}
	c.lastRetentionCheck = cfg.Now()
	return c
}

// PartitionFor is the offsets-topic partition that holds a group: Kafka's
// Utils.abs(groupId.hashCode()) % partitions, so a group lands where Kafka
// would put it.
func PartitionFor(groupID string, partitions int32) int32 {
	var h int32
	for _, r := range groupID {
		// Java hashes UTF-16 code units.
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}

func (c *Coordinator) partition(groupID string) int32 {
	return PartitionFor(groupID, c.cfg.OffsetsPartitions)
}

// Owns reports whether this coordinator serves groupID.
func (c *Coordinator) Owns(groupID string) bool {
	return c.cfg.Owns == nil || c.cfg.Owns(c.partition(groupID))
}

// lookup returns a group, creating an Empty one when create is set.
func (c *Coordinator) lookup(id string, create bool) *group {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.groups[id]
	if g == nil && create {
		g = newGroup(id, c.cfg.Now())
		c.mu.groups[id] = g
	}
	return g
}

// remove drops a Dead group from the map. Called with g.mu held (the lock
// order is group, then coordinator).
func (c *Coordinator) remove(g *group) {
	c.mu.Lock()
	if c.mu.groups[g.id] == g {
		delete(c.mu.groups, g.id)
	}
	c.mu.Unlock()
}

func (c *Coordinator) snapshot() []*group {
	c.mu.Lock()
	defer c.mu.Unlock()
	gs := make([]*group, 0, len(c.mu.groups))
	for _, g := range c.mu.groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].id < gs[j].id })
	return gs
}

// Tick runs every timed step that is due.
func (c *Coordinator) Tick() {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	now := c.cfg.Now()
	expire := now.Sub(c.lastRetentionCheck) >= c.cfg.RetentionCheckInterval
	if expire {
		c.lastRetentionCheck = now
	}
	for _, g := range c.snapshot() {
		if !c.Owns(g.id) {
			continue // loaded at start-up from a replica another broker leads
		}
		g.mu.Lock()
		if g.consumer != nil {
			c.tickConsumerGroup(g, now)
		} else {
			c.tickGroup(g, now)
		}
		if expire {
			c.expireOffsets(g, now)
		}
		g.mu.Unlock()
	}
}

// Run calls Tick every interval until ctx ends, then answers every waiting
// JoinGroup and SyncGroup with NOT_COORDINATOR.
func (c *Coordinator) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.shutdown()
			return
		case <-t.C:
			c.Tick()
		}
	}
}

func (c *Coordinator) shutdown() {
	for _, g := range c.snapshot() {
		g.mu.Lock()
		for _, m := range g.members {
			m.answerJoin(JoinResult{Err: kerr.NotCoordinator, Generation: -1})
			m.answerSync(SyncResult{Err: kerr.NotCoordinator})
		}
		g.mu.Unlock()
	}
}

// persistError is the code a failed Store write answers.
func persistError(err error) error {
	if err == nil {
		return nil
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
