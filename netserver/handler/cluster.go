package handler

// Every broker, a single node (a cluster of one) or a member of several,
// answers from the cluster metadata image (package broker, which applies
// it from the metadata log): topics, their ids, configs and partitions,
// which brokers are alive, which broker leads each partition. Topics are
// created, deleted, grown and configured through the active controller;
// the request returns once this broker has applied the change. Partitions
// are replicated by package replica: produce on a partition leader goes
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
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/sasl"
	"github.com/rillmq/rill/replication/broker"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/metadata"
	"github.com/rillmq/rill/replication/replica"
)

// Cluster is the cluster metadata a broker serves from, and the active
// controller it changes it through.
type Cluster interface {
	Self() int32
	Brokers() []metadata.Broker
	ControllerID() int32
	// Topic, TopicByID and Topics read the topics of the image.
	Topic(name string) (metadata.Topic, bool)
	TopicByID(id [16]byte) (metadata.Topic, bool)
	Topics() []metadata.Topic
	Partition(topic string, p int32) (metadata.Partition, bool)
	// Features are the finalized feature levels and their epoch (the
	// metadata offset); UpdateFeatures changes them through the active
	// controller and waits until this broker has applied them.
	Features() (map[string]int16, int64)
	UpdateFeatures(ctx context.Context, updates []controller.FeatureUpdate, validateOnly bool) error
	// DescribeQuorum asks the active controller about the metadata quorum.
	DescribeQuorum(ctx context.Context, req *kmsg.DescribeQuorumRequest) (*kmsg.DescribeQuorumResponse, error)
	// TopicPartitions are all of a topic's partitions (index = number).
	TopicPartitions(topic string) ([]metadata.Partition, bool)
	// CreateTopic creates a topic (assignment: CreateTopics' replica
	// assignment, or nil to let the controller place it) and returns the
	// id the controller gave it.
	CreateTopic(ctx context.Context, name string, partitions int32, rf int16, configs map[string]string, assignment [][]int32) ([16]byte, error)
	// AlterTopicConfigs replaces a topic's config overrides.
	AlterTopicConfigs(ctx context.Context, name string, configs map[string]string) error
	// GroupConfig is a group's config overrides as this broker has
	// applied them (nil: none); the map is shared and must not be
	// changed. AlterGroupConfigs replaces them (none: removes them) and
	// returns once this broker has applied the change.
	GroupConfig(group string) map[string]string
	AlterGroupConfigs(ctx context.Context, group string, configs map[string]string) error
	// GroupConfigGroups are the groups with config overrides, sorted.
	GroupConfigGroups() []string
	// WaitTopic waits until cond holds for the topic as this broker has
	// applied it (ok false: absent).
	WaitTopic(ctx context.Context, name string, cond func(t metadata.Topic, ok bool) bool) error
	// Published is closed after the next time this broker applies the
	// image (creates its partitions, starts leading them).
	Published() <-chan struct{}
	// Replica is this broker's replica of a partition, or nil.
	Replica(topic string, p int32) *replica.Partition
	// PartitionFailure is why a partition assigned here has no log.
	PartitionFailure(topic string, p int32) error
	// AllocateProducerIDs takes a block of producer ids no other broker
	// hands out.
	AllocateProducerIDs(ctx context.Context) (first int64, size int32, err error)
	// ElectLeaders runs a leader election (Kafka's election type) on
	// partitions (nil: all), returning each one's error code.
	ElectLeaders(ctx context.Context, typ int8, parts []kafka.TopicPartition) (map[kafka.TopicPartition]int16, error)
	// DeleteTopic deletes a topic.
	DeleteTopic(ctx context.Context, name string) error
	// CreatePartitions grows a topic to count partitions (assignment nil:
	// placed by the controller).
	CreatePartitions(ctx context.Context, name string, count int32, assignment [][]int32) error
	// Reassign moves a partition to target replicas (nil: cancel the move).
	Reassign(ctx context.Context, topic string, p int32, target []int32) error
	// Reassignments lists the partitions being moved.
	Reassignments() map[kafka.TopicPartition]metadata.Partition
	// CreateACLs creates ACLs through the active controller; errs[i] is
	// acl i's outcome (nil: created, or equal to an ACL that exists), and
	// it returns once this broker's authorizer has them.
	CreateACLs(ctx context.Context, acls []controller.ACLBinding) (errs []error, err error)
	// DeleteACLs deletes through the active controller the ACLs each
	// filter matches, returning them per filter or the filter's error,
	// once this broker's authorizer no longer has them.
	DeleteACLs(ctx context.Context, filters []controller.ACLFilter) (matched [][]controller.ACLBinding, errs []error, err error)
	// AlterScramCredentials deletes and upserts SCRAM credentials through
	// the active controller and returns each user's outcome, once this
	// broker has applied them.
	AlterScramCredentials(ctx context.Context, deletions []controller.ScramDeletion, upsertions []controller.ScramUpsertion) ([]controller.ScramResult, error)
	// ScramCredential is a user's credential for a SCRAM mechanism (its
	// SASL name) in the metadata this broker has applied.
	ScramCredential(mechanism, user string) (controller.ScramCredential, bool)
	// ScramCredentials are the SCRAM credentials this broker has applied,
	// by user.
	ScramCredentials() map[string][]controller.ScramCredential
	// AlterClientQuotas alters client quotas through the active
	// controller and returns each entity's outcome, once this broker has
	// applied them (validateOnly: nothing is changed).
	AlterClientQuotas(ctx context.Context, alterations []controller.QuotaAlteration, validateOnly bool) ([]controller.QuotaResult, error)
	// ClientQuotas are the client quotas this broker has applied, by
	// entity; the map is shared and must not be changed.
	ClientQuotas() map[controller.QuotaEntity]map[string]float64
}

// quotaFeed is a Cluster that feeds the broker the client quotas it
// applies (the broker runtime): SetCluster hands it the broker.
type quotaFeed interface {
	SetQuotaSink(broker.QuotaSink)
}

// sortRefs orders partitions by topic, then partition: the order answers
// list them in, one topic entry per run of a topic.
func sortRefs(refs []kafka.TopicPartition) {
	slices.SortFunc(refs, func(a, b kafka.TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
}

// HighWatermarkMoved wakes the consumer fetches waiting on tp: its
// leader's high watermark advanced.
func (b *Broker) HighWatermarkMoved(tp kafka.TopicPartition) { b.watch.wake(tp) }

// SetCluster gives the broker the metadata it serves from; call it before
// serving.
// A Cluster that feeds client quotas (the broker runtime) is made to feed
// them to this broker's enforcement (SetClientQuotas).
func (b *Broker) SetCluster(c Cluster) {
	b.cluster = c
	if f, ok := c.(quotaFeed); ok {
		f.SetQuotaSink(b)
	}
}

// AddACL and RemoveACL feed the broker's authorizer (Config.Authorizer)
// the ACLs of the metadata log: the broker runtime's ACLSink
// (replication/broker), which calls them from one goroutine and has fed
// every ACL before the broker serves. Without an authorizer they do
// nothing.
func (b *Broker) AddACL(id controller.ACLID, acl controller.ACLBinding) error {
	if b.cfg.Authorizer == nil {
		return nil
	}
	return b.cfg.Authorizer.Add(authz.ID(id), authzBinding(acl))
}

func (b *Broker) RemoveACL(id controller.ACLID) error {
	if b.cfg.Authorizer == nil {
		return nil
	}
	return b.cfg.Authorizer.Remove(authz.ID(id))
}

// authzBinding and controllerBinding convert an ACL between the
// authorizer's and the metadata's types (the same Kafka codes).
func authzBinding(c controller.ACLBinding) authz.Binding {
	return authz.Binding{
		Pattern: authz.Pattern{Type: authz.ResourceType(c.ResourceType), Name: c.ResourceName, PatternType: authz.PatternType(c.PatternType)},
		Entry: authz.Entry{Principal: c.Principal, Host: c.Host, Operation: authz.Operation(c.Operation),
			Permission: authz.Permission(c.Permission)},
	}
}

func controllerBinding(b authz.Binding) controller.ACLBinding {
	return controller.ACLBinding{ResourceType: int8(b.Pattern.Type), ResourceName: b.Pattern.Name, PatternType: int8(b.Pattern.PatternType),
		Principal: b.Entry.Principal, Host: b.Entry.Host, Operation: int8(b.Entry.Operation), Permission: int8(b.Entry.Permission)}
}

// ScramStore is the SCRAM credentials of the metadata this broker has
// applied, for the SASL listeners' authenticators (sasl.Config.Scram); it
// may be installed before the listeners bind. A lookup before the broker
// serves (Serve: the metadata is applied) waits for it, as Kafka's
// brokers process no request before then, up to scramWait; then the user
// is unknown.
func (b *Broker) ScramStore() sasl.ScramStore { return scramStore{b} }

// scramWait bounds how long a SCRAM exchange waits for the broker to
// serve.
const scramWait = 10 * time.Second

type scramStore struct{ b *Broker }

// LookupScram implements sasl.ScramStore; safe from any goroutine.
func (s scramStore) LookupScram(mechanism, user string) (sasl.ScramCredential, bool) {
	select {
	case <-s.b.serving: // after SetCluster
	default:
		t := time.NewTimer(scramWait)
		defer t.Stop()
		select {
		case <-s.b.serving:
		case <-t.C:
			return sasl.ScramCredential{}, false
		}
	}
	c, ok := s.b.cluster.ScramCredential(mechanism, user)
	if !ok {
		return sasl.ScramCredential{}, false
	}
	return sasl.ScramCredential{Salt: c.Salt, Iterations: int(c.Iterations), StoredKey: c.StoredKey, ServerKey: c.ServerKey}, true
}

// securityAdminAllowed reports whether the request's principal may
// perform op on the cluster (true without an authorizer), the check of
// the ACL and SCRAM APIs.
func (b *Broker) securityAdminAllowed(ctx context.Context, op authz.Operation) bool {
	a := b.cfg.Authorizer
	if a == nil {
		return true
	}
	id := IdentityOf(ctx)
	return a.Authorize(authz.Request{Principal: id.Principal, Host: id.Host, Operation: op,
		Resource: authz.Resource{Type: authz.ResourceCluster, Name: authz.ClusterName}}).Allowed
}

// securityErrorCode is the code and message of an ACL or SCRAM item's
// error: a Kafka error (the controller's answer, an authorization
// failure) as it is, else the authorizer's mapping (INVALID_REQUEST,
// UNSUPPORTED_VERSION, SECURITY_DISABLED, UNKNOWN_SERVER_ERROR).
func securityErrorCode(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	msg := kmsg.StringPtr(err.Error())
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code, msg
	}
	return authz.ErrorCode(err), msg
}

// adminTimeout bounds how long a topic admin request waits for the
// controller and for this broker to apply the change.
const adminTimeout = 10 * time.Second

// createTopicAnywhere creates a topic through the active controller,
// returning once this broker has applied it.
func (b *Broker) createTopicAnywhere(name string, partitions int32, rf int16, configs map[string]string, assignment [][]int32) (metadata.Topic, error) {
	return b.createTopicWithin(context.Background(), name, partitions, rf, configs, assignment)
}

// createTopicWithin is createTopicAnywhere under a parent context.
func (b *Broker) createTopicWithin(parent context.Context, name string, partitions int32, rf int16, configs map[string]string, assignment [][]int32) (metadata.Topic, error) {
	ctx, cancel := context.WithTimeout(parent, adminTimeout)
	defer cancel()
	id, err := b.cluster.CreateTopic(ctx, name, partitions, rf, configs, assignment)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return metadata.Topic{}, err
	}
	// Ours, or (created concurrently) whichever the metadata holds.
	var t metadata.Topic
	if werr := b.cluster.WaitTopic(ctx, name, func(at metadata.Topic, ok bool) bool {
		t = at
		return ok && (err != nil || at.ID == id)
	}); werr != nil {
		return metadata.Topic{}, kerr.RequestTimedOut
	}
	if err != nil {
		return t, err
	}
	// All or nothing: when this broker cannot create its partitions of
	// the new topic (descriptor limit, disk), the topic goes again.
	for p := range t.Partitions {
		if ferr := b.cluster.PartitionFailure(name, p); ferr != nil {
			b.log.Warn("creating a partition of a new topic failed, deleting the topic", "topic", name, "partition", p, "partitions", t.Partitions, "err", ferr)
			if derr := b.deleteTopicAnywhere(t, int32(adminTimeout/time.Millisecond)); derr != nil {
				b.log.Error("deleting a partly created topic failed", "topic", name, "err", derr)
			}
			return t, fmt.Errorf("%w: creating partition %d of %d: %v", kerr.KafkaStorageError, p, t.Partitions, ferr)
		}
	}
	b.log.Info("topic created", "topic", name, "partitions", t.Partitions, "replication_factor", rf, "configs", configs)
	return t, nil
}

// waitTopic waits, up to ctx, until cond holds for the topic as this
// broker has applied it.
func (b *Broker) waitTopic(ctx context.Context, name string, cond func(t metadata.Topic, ok bool) bool) error {
	if err := b.cluster.WaitTopic(ctx, name, cond); err != nil {
		return kerr.RequestTimedOut
	}
	return nil
}

// topic, topicByID and topics read the topics of the metadata image.
func (b *Broker) topic(name string) (metadata.Topic, bool)     { return b.cluster.Topic(name) }
func (b *Broker) topicByID(id [16]byte) (metadata.Topic, bool) { return b.cluster.TopicByID(id) }
func (b *Broker) topics() []metadata.Topic                     { return b.cluster.Topics() }
func (b *Broker) partitionFailure(tp kafka.TopicPartition) error {
	return b.cluster.PartitionFailure(tp.Topic, tp.Partition)
}

// inClusterMetadata reports whether the metadata has the partition.
func (b *Broker) inClusterMetadata(topic string, p int32) bool {
	if topic == "" {
		return false
	}
	_, ok := b.cluster.Partition(topic, p)
	return ok
}

// leaderHere reports the error for a partition this broker cannot serve:
// another broker leads it, or none does.
func (b *Broker) leaderHere(topic string, p int32) *kerr.Error {
	cp, ok := b.cluster.Partition(topic, p)
	switch {
	case !ok || cp.Leader < 0:
		return kerr.LeaderNotAvailable
	case cp.Leader != b.cluster.Self():
		return kerr.NotLeaderForPartition
	}
	return nil
}

// leaderEpoch is the partition's current leader epoch in the metadata.
func (b *Broker) leaderEpoch(topic string, p int32) int32 {
	if cp, ok := b.cluster.Partition(topic, p); ok {
		return cp.LeaderEpoch
	}
	return 0
}

// replicaOf is this broker's replica of a partition, which must be
// leading it (the handlers check leadership first).
func (b *Broker) replicaOf(topic string, p int32) (*replica.Partition, *kerr.Error) {
	// Led here in the metadata but not yet handed to the replica manager:
	// wait for the publisher's pass, as partitionLog does.
	var r *replica.Partition
	b.awaitLocal(func() bool { r = b.cluster.Replica(topic, p); return r != nil })
	if r == nil {
		return nil, kerr.LeaderNotAvailable
	}
	return r, nil
}

// localWait is how long a request for a partition this broker leads in
// the metadata waits for the publisher to create it here.
const localWait = time.Second

// awaitLocal waits until ready reports true, looking again after each
// pass of the publisher, for at most localWait.
func (b *Broker) awaitLocal(ready func() bool) {
	var deadline <-chan time.Time
	for {
		passed := b.cluster.Published() // before looking, so no pass is missed
		if ready() {
			return
		}
		if deadline == nil {
			t := time.NewTimer(localWait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-passed:
		case <-deadline:
			return
		}
	}
}

// producerIDBlock is the block of producer ids this broker hands out.
type producerIDBlock struct {
	mu sync.Mutex
	// start, next and end are the current block: [start, end), next the
	// id handed out next.
	start, next, end int64
	// refill is closed when a block being fetched from the controller
	// has arrived (or failed); nil when none is being fetched.
	refill chan struct{}
	// spare is the next block, fetched ahead once half of the current
	// one is used (spareEnd 0: none), so a caller rarely waits for the
	// controller: the transaction coordinator takes ids on its shards'
	// goroutines, where a wait stalls every transactional id of the
	// partition.
	spareNext, spareEnd int64
	prefetching         bool
}

// producerID takes the next producer id of this broker's block. When the
// block is used up, one caller asks the controller for a new one, without
// holding the lock across the request; the others wait for it.
func (b *Broker) producerID() (int64, error) {
	for {
		b.pids.mu.Lock()
		if b.pids.next >= b.pids.end && b.pids.spareEnd > 0 {
			b.pids.start, b.pids.next, b.pids.end, b.pids.spareEnd = b.pids.spareNext, b.pids.spareNext, b.pids.spareEnd, 0
		}
		if b.pids.next < b.pids.end {
			id := b.pids.next
			b.pids.next++
			if left := b.pids.end - b.pids.next; left*2 < b.pids.size() && b.pids.spareEnd == 0 && !b.pids.prefetching {
				b.pids.prefetching = true
				go b.prefetchProducerIDs()
			}
			b.pids.mu.Unlock()
			return id, nil
		}
		if wait := b.pids.refill; wait != nil {
			b.pids.mu.Unlock()
			<-wait
			continue
		}
		done := make(chan struct{})
		b.pids.refill = done
		b.pids.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		first, size, err := b.cluster.AllocateProducerIDs(ctx)
		cancel()
		b.pids.mu.Lock()
		if err == nil {
			b.pids.start, b.pids.next, b.pids.end = first, first, first+int64(size)
		}
		b.pids.refill = nil
		b.pids.mu.Unlock()
		close(done)
		if err != nil {
			return 0, err
		}
	}
}

// size is the current block's length; the caller holds mu.
func (p *producerIDBlock) size() int64 { return max(p.end-p.start, 1) }

// prefetchProducerIDs fetches the next block ahead of need.
func (b *Broker) prefetchProducerIDs() {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	first, size, err := b.cluster.AllocateProducerIDs(ctx)
	cancel()
	b.pids.mu.Lock()
	b.pids.prefetching = false
	if err == nil {
		b.pids.spareNext, b.pids.spareEnd = first, first+int64(size)
	}
	b.pids.mu.Unlock()
	if err != nil {
		b.log.Warn("fetching the next block of producer ids ahead failed (fetched when needed)", "err", err)
	}
}
