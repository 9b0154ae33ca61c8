// Package node runs a controller node: the quorum member of the metadata
// log (package quorum), the metadata image every node applies committed
// records to, and, while this node's member leads, the active controller's
// decisions (package controller). It is the one replication package with a
// goroutine and a clock: one loop per node serializes ticks, messages from
// peers, and requests.
//
// Requests (broker registration and heartbeats, ISR changes, topic
// creation) are answered by the active controller only (NOT_CONTROLLER
// elsewhere), after the records they caused are committed. The active
// controller decides only once it has applied an entry of its own term, and
// keeps one batch of records in flight, so every decision is made on the
// image that includes all earlier ones. A new active controller restarts
// every broker's session (brokers cannot have heartbeated to it yet).
//
// Brokers reach it through HandleRPC (rpc.go), carried by package
// transport. Every SnapshotEvery entries a node snapshots its image (JSON)
// and the metadata log drops what it covers; a restarting node loads its
// last snapshot and replays the entries after it.
package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/signal"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/quorum"
)

// Errors of a node's requests besides the controller's own (package
// controller); rpc.go maps both to Kafka codes for brokers.
var (
	// ErrNotController: this node is not (or no longer) the active
	// controller; ask another.
	ErrNotController = errors.New("node: not the active controller")
	// ErrNotCommitted: the batch holding the request's records was not
	// committed in time (lost with a leadership change); it may still be.
	ErrNotCommitted = errors.New("node: records not committed in time")
)

// Config configures a node.
type Config struct {
	ID     uint64
	Voters []uint64
	// Tick is raft's tick (100 ms); elections take 10 ticks, heartbeats 1.
	Tick time.Duration
	// SessionTimeout is broker.session.timeout.ms (9 s).
	SessionTimeout time.Duration
	// Durable and Restore are the member's WAL and what it held.
	Durable quorum.Storage
	Restore *quorum.Restored
	// Send delivers messages to peers (best effort).
	Send func([]*pb.Message)
	// UncleanLeaderElection is the broker default of
	// unclean.leader.election.enable (false).
	UncleanLeaderElection bool
	// SnapshotEvery is how many metadata log entries a node applies
	// between snapshots of its image (1000; see quorum.Member.Snapshot).
	SnapshotEvery uint64
	// RebalanceInterval is how often the active controller moves
	// leadership back to preferred replicas (auto.leader.rebalance.enable
	// with leader.imbalance.check.interval.seconds); 0 never.
	RebalanceInterval time.Duration
	// Logger reports activation, snapshots and every committed metadata
	// record (nil discards).
	Logger *slog.Logger
	// BootstrapFeatures are the levels the active controller finalizes
	// features at when the metadata log has none for them (Kafka's
	// storage format --feature; a feature not named starts at its
	// highest level).
	BootstrapFeatures map[string]int16
}

// batch is one metadata log entry: records proposed together.
type batch struct {
	Nonce   string
	Records []controller.Record
}

type request struct {
	decide func(c *controller.Controller, now time.Time) ([]controller.Record, error)
	done   chan error
}

// Node is a running controller node.
type Node struct {
	cfg    Config
	member *quorum.Member
	inbox  chan *pb.Message
	reqs   chan request
	stop   chan struct{}
	done   chan struct{}

	// mu guards image, which the loop changes and readers view.
	mu    sync.RWMutex
	image *controller.Image

	active atomic.Bool
	leader atomic.Uint64
	// applied is the last metadata log index applied; replayTo the commit
	// index restored from the WAL.
	applied  atomic.Uint64
	replayTo uint64
	// snapped is the index of the last snapshot (loop-owned).
	snapped uint64
	// changed is notified whenever the image changes.
	changed *signal.Signal

	// queries run in the loop (DescribeQuorum reads raft's state).
	queries chan func()
	// observed are the brokers' last heartbeats (DescribeQuorum).
	observed observed

	// loop-owned state
	peers         peerTimes
	ctl           *controller.Controller
	lastRebalance time.Time
	inflight      string
	inflightTerm  uint64 // raft's term when the batch in flight was proposed
	waiting       []chan error
	queued        []request
	age           int
}

// Start runs a node.
func Start(cfg Config) (*Node, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 9 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 1000
	}
	n := &Node{cfg: cfg, inbox: make(chan *pb.Message, 1024), reqs: make(chan request), queries: make(chan func()), stop: make(chan struct{}),
		done: make(chan struct{}), image: controller.NewImage(), changed: signal.New()}
	m, err := quorum.New(quorum.Config{ID: cfg.ID, Peers: cfg.Voters, ElectionTicks: 10, HeartbeatTicks: 1,
		Durable: cfg.Durable, Restore: cfg.Restore, Apply: n.apply, Load: n.load})
	if err != nil {
		return nil, err
	}
	n.member = m
	if cfg.Restore != nil && cfg.Restore.HardState != nil {
		n.replayTo = cfg.Restore.HardState.GetCommit()
	}
	go n.loop()
	return n, nil
}

// Deliver hands the node a message from a peer; it is dropped when the
// inbox is full (raft retries).
func (n *Node) Deliver(m *pb.Message) {
	select {
	case n.inbox <- m:
	default:
	}
}

// Stop ends the loop; pending requests fail.
func (n *Node) Stop() {
	close(n.stop)
	<-n.done
}

// View calls fn with the current image; fn must not keep it.
func (n *Node) View(fn func(*controller.Image)) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	fn(n.image)
}

// IsActive reports whether this node is the active controller.
func (n *Node) IsActive() bool { return n.active.Load() }

func (n *Node) loop() {
	defer close(n.done)
	t := time.NewTicker(n.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			n.fail(ErrNotController)
			return
		case <-t.C:
			n.member.Tick()
			n.age++
		case m := <-n.inbox:
			if n.member.Step(m) == nil {
				n.heardFrom(m)
			}
		case q := <-n.queries:
			q()
			continue
		case r := <-n.reqs:
			n.queued = append(n.queued, r)
		}
		n.drive()
		n.campaignAlone()
		n.decide()
		n.drive()
	}
}

// campaignAlone makes a single voter elect itself without waiting for an
// election timeout (raft campaigns only once its bootstrap configuration
// is applied, so this runs after each drive until it leads).
func (n *Node) campaignAlone() {
	if len(n.cfg.Voters) == 1 && !n.member.IsLeader() {
		if err := n.member.Campaign(); err == nil {
			n.drive()
		}
	}
}

func (n *Node) drive() {
	n.leader.Store(n.member.Leader())
	msgs, err := n.member.Drive()
	if err != nil {
		n.cfg.Logger.Warn("controller quorum step failed", "node", n.cfg.ID, "err", err)
	}
	if len(msgs) > 0 {
		n.cfg.Send(msgs)
	}
	n.maybeSnapshot()
}

// maybeSnapshot snapshots the image every SnapshotEvery applied entries,
// which lets the metadata log (and its WAL) drop what it covers.
func (n *Node) maybeSnapshot() {
	applied := n.applied.Load()
	if applied-n.snapped < n.cfg.SnapshotEvery {
		return
	}
	n.mu.RLock()
	data, err := json.Marshal(n.image)
	n.mu.RUnlock()
	if err == nil {
		err = n.member.Snapshot(applied, data)
	}
	if err != nil {
		n.cfg.Logger.Warn("metadata snapshot failed", "node", n.cfg.ID, "index", applied, "err", err)
		return
	}
	n.snapped = applied
}

// load replaces the image with a snapshot's: at start-up, or when the
// leader sent one because this node lacks entries the others compacted.
func (n *Node) load(index uint64, data []byte) error {
	im := controller.NewImage()
	if err := json.Unmarshal(data, im); err != nil {
		return fmt.Errorf("metadata snapshot at %d: %w", index, err)
	}
	n.mu.Lock()
	*n.image = *im // the active controller keeps its pointer
	n.mu.Unlock()
	n.applied.Store(index)
	n.snapped = index
	n.changed.Notify()
	n.cfg.Logger.Info("metadata loaded from a snapshot", "node", n.cfg.ID, "index", index, "brokers", len(im.Brokers),
		"topics", len(im.Topics), "acls", len(im.ACLs), "scram_users", len(im.Scram), "quota_entities", len(im.ClientQuotas))
	return nil
}

// fail answers every queued and waiting request with err.
func (n *Node) fail(err error) {
	for _, r := range n.queued {
		r.done <- err
	}
	for _, w := range n.waiting {
		w <- err
	}
	n.queued, n.waiting, n.inflight = nil, nil, ""
}

// decide runs the active controller: session expiry, then queued
// requests, one batch in flight at a time.
func (n *Node) decide() {
	if !n.member.CaughtUp() {
		if n.ctl != nil {
			n.cfg.Logger.Info("controller no longer active", "node", n.cfg.ID)
			n.ctl = nil
		}
		n.active.Store(false)
		n.fail(ErrNotController)
		return
	}
	n.active.Store(true)
	now := time.Now()
	if n.ctl == nil {
		n.mu.RLock()
		n.ctl = controller.New(n.image, n.cfg.SessionTimeout)
		n.ctl.UncleanDefault = n.cfg.UncleanLeaderElection
		for id := range n.image.Brokers {
			n.ctl.Touch(id, now)
		}
		n.mu.RUnlock()
		n.cfg.Logger.Info("controller active", "node", n.cfg.ID)
		n.lastRebalance = now
	}
	if n.inflight != "" {
		switch {
		case n.member.Term() != n.inflightTerm:
			// Leadership changed and came back: had the batch committed,
			// it would have been applied before this term's first entry,
			// which CaughtUp needs. It was lost; decide again.
			n.fail(ErrNotCommitted)
		case n.age > 100 && len(n.waiting) > 0:
			// Slow to commit: answer the requests, but decide nothing
			// more until it applies (or the term changes), so no decision
			// builds on an image without it.
			for _, w := range n.waiting {
				w <- ErrNotCommitted
			}
			n.waiting = nil
			return
		default:
			return
		}
	}
	var recs []controller.Record
	var waiting []chan error
	// Session expiry is decided on the image itself (Tick copies it
	// before changing anything); an idle tick, with nothing expired or
	// queued, then costs no copy of the image, which is O(partitions).
	n.mu.RLock()
	n.ctl.Rebase(n.image)
	expired := n.ctl.Tick(now)
	// Features the log has no level for yet (a new cluster, or one
	// older than them) are finalized first.
	boot := n.ctl.BootstrapFeatures(n.cfg.BootstrapFeatures)
	n.mu.RUnlock()
	rebalance := n.cfg.RebalanceInterval > 0 && now.Sub(n.lastRebalance) >= n.cfg.RebalanceInterval
	if len(expired) == 0 && len(boot) == 0 && len(n.queued) == 0 && !rebalance {
		return
	}
	// Decisions of one batch are made in turn on a copy of the image with
	// the earlier ones applied: two changes to one partition, or two
	// producer id blocks, must not both be decided on the same state.
	n.mu.RLock()
	scratch := n.image.Clone()
	n.mu.RUnlock()
	n.ctl.Rebase(scratch)
	defer n.ctl.Rebase(n.image)
	pending := func(rs []controller.Record) {
		for _, r := range rs {
			scratch.Apply(r) // a record that does not apply is skipped on commit too
		}
		recs = append(recs, rs...)
	}
	pending(expired)
	pending(boot)
	if rebalance {
		n.lastRebalance = now
		pending(n.ctl.ElectPreferred())
	}
	for _, r := range n.queued {
		rs, err := r.decide(n.ctl, now)
		switch {
		case err != nil:
			r.done <- err
		case len(rs) == 0:
			r.done <- nil
		default:
			pending(rs)
			waiting = append(waiting, r.done)
		}
	}
	n.queued = nil
	if len(recs) == 0 {
		return
	}
	nonce := make([]byte, 8)
	rand.Read(nonce)
	b, err := json.Marshal(batch{Nonce: hex.EncodeToString(nonce), Records: recs})
	if err == nil {
		err = n.member.Propose(b)
	}
	if err != nil {
		for _, w := range waiting {
			w <- ErrNotController
		}
		return
	}
	n.inflight, n.waiting, n.age, n.inflightTerm = hex.EncodeToString(nonce), waiting, 0, n.member.Term()
}

// apply is the quorum's Apply: every node applies every committed batch.
func (n *Node) apply(index uint64, data []byte) error {
	var b batch
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("metadata entry %d: %w", index, err)
	}
	// Each record's outcome is logged after the unlock, so the image's
	// lock is never held across a log write.
	errs := make([]error, len(b.Records))
	n.mu.Lock()
	for i, r := range b.Records {
		// A record decided on a stale image by a deposed controller
		// fails: skip it, as every node does, so images stay equal.
		errs[i] = n.image.Apply(r)
	}
	n.mu.Unlock()
	for i, r := range b.Records {
		if errs[i] != nil {
			n.cfg.Logger.Warn("skipped a metadata record that does not apply", "node", n.cfg.ID, "index", index, "err", errs[i])
			continue
		}
		n.logRecord(r)
	}
	n.applied.Store(index)
	n.changed.Notify()
	if b.Nonce != "" && b.Nonce == n.inflight {
		for _, w := range n.waiting {
			w <- nil
		}
		n.waiting, n.inflight = nil, ""
	}
	return nil
}

// call submits a decision and waits for its records to commit.
func (n *Node) call(ctx context.Context, decide func(*controller.Controller, time.Time) ([]controller.Record, error)) error {
	r := request{decide: decide, done: make(chan error, 1)}
	select {
	case n.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrNotController
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RegisterBroker registers a broker (fenced until its first heartbeat).
func (n *Node) RegisterBroker(ctx context.Context, b controller.BrokerInfo) error {
	return n.call(ctx, func(c *controller.Controller, now time.Time) ([]controller.Record, error) {
		return c.Register(b, now), nil
	})
}

// Heartbeat keeps a broker's session.
func (n *Node) Heartbeat(ctx context.Context, id int32) error {
	return n.call(ctx, func(c *controller.Controller, now time.Time) ([]controller.Record, error) {
		return c.Heartbeat(id, now)
	})
}

// CreateTopic places and creates a topic.
func (n *Node) CreateTopic(ctx context.Context, name string, id [16]byte, partitions int32, rf int16, configs map[string]string, assignment [][]int32) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		return c.CreateTopic(name, id, partitions, rf, configs, assignment)
	})
}

// AlterTopicConfigs replaces a topic's config overrides.
func (n *Node) AlterTopicConfigs(ctx context.Context, name string, configs map[string]string) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		return c.AlterTopicConfigs(name, configs)
	})
}

// AlterGroupConfigs replaces a group's config overrides.
func (n *Node) AlterGroupConfigs(ctx context.Context, group string, configs map[string]string) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		return c.AlterGroupConfigs(group, configs)
	})
}

// Import records a single broker's pre-metadata-log topic catalog (see
// controller.Import).
func (n *Node) Import(ctx context.Context, broker int32, topics []controller.TopicInfo, nextProducerID int64) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		return c.Import(broker, topics, nextProducerID)
	})
}

// Changed returns a channel that is closed at the image's next change.
func (n *Node) Changed() <-chan struct{} { return n.changed.Wait() }

// Replayed reports whether the node has applied everything its WAL held
// as committed at start-up: the image is no longer an earlier state this
// node already acted on, so a replica missing from it was really removed.
func (n *Node) Replayed() bool { return n.applied.Load() >= n.replayTo }

// Applied is the last metadata log index applied to the image.
func (n *Node) Applied() uint64 { return n.applied.Load() }

// Leader is the node id of the active controller as this node knows it
// (0: none known).
func (n *Node) Leader() uint64 { return n.leader.Load() }

// AlterPartition applies a leader's ISR change.
func (n *Node) AlterPartition(ctx context.Context, topic string, partition, leader, leaderEpoch, partitionEpoch int32, isr []int32) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		return c.AlterPartition(topic, partition, leader, leaderEpoch, partitionEpoch, isr)
	})
}

// AllocateProducerIDs takes the next block of producer ids for a broker.
func (n *Node) AllocateProducerIDs(ctx context.Context, broker int32) (*controller.ProducerIDBlock, error) {
	var block *controller.ProducerIDBlock
	err := n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		recs, b, err := c.AllocateProducerIDs(broker)
		block = b
		return recs, err
	})
	if err != nil {
		return nil, err
	}
	return block, nil
}

// DeleteTopic deletes a topic.
func (n *Node) DeleteTopic(ctx context.Context, name string) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		return c.DeleteTopic(name)
	})
}

// CreatePartitions grows a topic (assignment nil: placed by the
// controller).
func (n *Node) CreatePartitions(ctx context.Context, name string, count int32, assignment [][]int32) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		return c.CreatePartitions(name, count, assignment)
	})
}

// Reassign starts or (nil target) cancels a partition's reassignment.
func (n *Node) Reassign(ctx context.Context, topic string, partition int32, target []int32) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		return c.Reassign(topic, partition, target)
	})
}

// ElectLeaders runs an election on partitions (nil: all) and returns
// each one's outcome.
func (n *Node) ElectLeaders(ctx context.Context, typ int8, parts []kafka.TopicPartition) (map[kafka.TopicPartition]error, error) {
	var out map[kafka.TopicPartition]error
	err := n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		recs, res := c.ElectLeaders(typ, parts)
		out = res
		return recs, nil
	})
	return out, err
}

// CreateACLs creates ACLs (ids: one per binding, see
// controller.CreateACLs) and returns each one's outcome; the error is the
// request's (not committed, not the controller), which every binding
// shares.
func (n *Node) CreateACLs(ctx context.Context, bindings []controller.ACLBinding, ids []controller.ACLID) ([]error, error) {
	var errs []error
	err := n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		var recs []controller.Record
		recs, errs = c.CreateACLs(bindings, ids)
		return recs, nil
	})
	return errs, err
}

// DeleteACLs deletes the ACLs filters match and returns, per filter, the
// ACLs it matched or its error (see controller.DeleteACLs).
func (n *Node) DeleteACLs(ctx context.Context, filters []controller.ACLFilter) ([][]controller.ACL, []error, error) {
	var matched [][]controller.ACL
	var errs []error
	err := n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		var recs []controller.Record
		recs, matched, errs = c.DeleteACLs(filters)
		return recs, nil
	})
	return matched, errs, err
}

// AlterScramCredentials deletes and upserts SCRAM credentials and returns
// each user's outcome (see controller.AlterScramCredentials).
func (n *Node) AlterScramCredentials(ctx context.Context, deletions []controller.ScramDeletion, upsertions []controller.ScramUpsertion) ([]controller.ScramResult, error) {
	var results []controller.ScramResult
	err := n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		var recs []controller.Record
		recs, results = c.AlterScramCredentials(deletions, upsertions)
		return recs, nil
	})
	return results, err
}

// AlterClientQuotas alters client quotas and returns each entity's
// outcome (see controller.AlterClientQuotas); validateOnly decides and
// commits nothing.
func (n *Node) AlterClientQuotas(ctx context.Context, alterations []controller.QuotaAlteration, validateOnly bool) ([]controller.QuotaResult, error) {
	var results []controller.QuotaResult
	err := n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		var recs []controller.Record
		recs, results = c.AlterClientQuotas(alterations)
		if validateOnly {
			recs = nil
		}
		return recs, nil
	})
	return results, err
}

// UpdateFeatures finalizes feature levels (all or nothing; validateOnly
// decides and commits nothing).
func (n *Node) UpdateFeatures(ctx context.Context, updates []controller.FeatureUpdate, validateOnly bool) error {
	return n.call(ctx, func(c *controller.Controller, _ time.Time) ([]controller.Record, error) {
		recs, err := c.UpdateFeatures(updates)
		if validateOnly {
			recs = nil
		}
		return recs, err
	})
}

// logRecord says what a committed record changed.
func (n *Node) logRecord(r controller.Record) {
	switch {
	case r.RegisterBroker != nil:
		n.cfg.Logger.Info("broker registered", "broker", r.RegisterBroker.ID, "host", r.RegisterBroker.Host, "port", r.RegisterBroker.Port, "listeners", r.RegisterBroker.Listeners)
	case r.FenceBroker != nil:
		n.cfg.Logger.Info("broker fenced", "broker", *r.FenceBroker)
	case r.UnfenceBroker != nil:
		n.cfg.Logger.Info("broker unfenced", "broker", *r.UnfenceBroker)
	case r.CreateTopic != nil:
		n.cfg.Logger.Info("topic created", "topic", r.CreateTopic.Name, "partitions", len(r.CreateTopic.Partitions))
	case r.DeleteTopic != nil:
		n.cfg.Logger.Info("topic deleted", "topic", *r.DeleteTopic)
	case r.AddPartitions != nil:
		n.cfg.Logger.Info("partitions added", "topic", r.AddPartitions.Topic, "added", len(r.AddPartitions.Partitions))
	case r.PartitionChange != nil:
		c := r.PartitionChange
		n.cfg.Logger.Info("partition changed", "topic", c.Topic, "partition", c.Partition, "leader", c.State.Leader, "epoch", c.State.LeaderEpoch, "isr", c.State.ISR)
	case r.CreateACL != nil:
		b := r.CreateACL.Binding
		n.cfg.Logger.Info("acl added", "acl", r.CreateACL.ID, "resource_type", b.ResourceType, "resource", b.ResourceName,
			"pattern_type", b.PatternType, "principal", b.Principal, "host", b.Host, "operation", b.Operation, "permission", b.Permission)
	case r.RemoveACL != nil:
		n.cfg.Logger.Info("acl removed", "acl", *r.RemoveACL)
	case r.UserScramCredential != nil:
		c := r.UserScramCredential
		n.cfg.Logger.Info("scram credential set", "mechanism", controller.ScramMechanismName(c.Mechanism), "user", c.User, "iterations", c.Iterations)
	case r.RemoveUserScramCredential != nil:
		k := r.RemoveUserScramCredential
		n.cfg.Logger.Info("scram credential removed", "mechanism", controller.ScramMechanismName(k.Mechanism), "user", k.User)
	case r.FeatureLevel != nil:
		n.cfg.Logger.Info("feature finalized", "feature", r.FeatureLevel.Name, "feature_level", r.FeatureLevel.Level)
	case r.GroupConfigs != nil:
		n.cfg.Logger.Info("group configs set", "group", r.GroupConfigs.Group, "configs", r.GroupConfigs.Configs)
	case r.ClientQuota != nil:
		q := r.ClientQuota
		if q.Remove {
			n.cfg.Logger.Info("client quota removed", "quota", q.Key, "entity", q.Entity)
		} else {
			n.cfg.Logger.Info("client quota set", "quota", q.Key, "entity", q.Entity, "value", q.Value)
		}
	}
}
