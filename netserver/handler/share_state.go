package handler

// The share coordinator's home in the broker (package
// coordinator/sharestate on the coordinator runtime): __share_group_state
// (created on first use, as Kafka does: a FindCoordinator of key type 2
// or the first request of this broker's own share-partition leaders), its
// log (internalLog), and the mapping of its outcomes to wire codes.

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/netserver/authz"
)

// ShareStateTopic is Kafka's internal topic of share-partition state.
const ShareStateTopic = sharestate.TopicName

// shareStateTopicConfigs are __share_group_state's settings: compacted
// (Rill writes one whole-state record per share partition, so compaction
// keeps exactly the latest; Kafka's topic is cleanup.policy=delete because
// it prunes its snapshot+update records itself), 100 MiB segments
// (share.coordinator.state.topic.segment.bytes), min.insync.replicas from
// share.coordinator.state.topic.min.isr, fsynced before every answer like
// the other coordinators' topics, compression.type=producer.
func (b *Broker) shareStateTopicConfigs() map[string]string {
	return map[string]string{
		"compression.type":    "producer",
		"cleanup.policy":      "compact",
		"segment.bytes":       strconv.Itoa(100 << 20),
		"flush.messages":      "1",
		"min.insync.replicas": strconv.Itoa(int(max(b.cfg.ShareStateMinISR, 1))),
	}
}

// shareStatePartitions is __share_group_state's partition count as it
// exists (0 before it is created).
func (b *Broker) shareStatePartitions() int32 {
	if b.cluster == nil {
		return 0
	}
	t, _ := b.topic(ShareStateTopic)
	return t.Partitions
}

// ensureShareStateTopic creates __share_group_state when it does not
// exist.
func (b *Broker) ensureShareStateTopic() error {
	if _, ok := b.topic(ShareStateTopic); ok {
		return nil
	}
	rf := min(max(b.cfg.ShareStateReplicationFactor, 1), int16(max(len(b.cluster.Brokers()), 1)))
	cfg := b.shareStateTopicConfigs()
	if isr, _ := strconv.Atoi(cfg["min.insync.replicas"]); isr > int(rf) {
		cfg["min.insync.replicas"] = strconv.Itoa(int(rf))
	}
	parts := b.cfg.ShareState.StatePartitions
	if parts <= 0 {
		parts = sharestate.DefaultConfig().StatePartitions
	}
	_, err := b.createTopicAnywhere(ShareStateTopic, parts, rf, cfg, nil)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	return err
}

// newShareStateCoordinator builds the share coordinator over this broker.
func (b *Broker) newShareStateCoordinator() *sharestate.Coordinator {
	return sharestate.NewCoordinator(sharestate.CoordinatorConfig{
		Config:     b.cfg.ShareState,
		Log:        internalLog{b, ShareStateTopic},
		Partitions: b.shareStatePartitions,
		TopicPartitions: func(id [16]byte, p int32) bool {
			if b.cluster == nil {
				return false
			}
			t, ok := b.topicByID(id)
			return ok && p < t.Partitions
		},
		// A failed append as txnError reads it: the coordinator maps
		// leadership and storage errors to NOT_COORDINATOR, too few
		// replicas and timeouts to COORDINATOR_NOT_AVAILABLE.
		AppendError: toKerr,
		Logger:      b.log,
	})
}

// shareStateTick is the share coordinator runtime's tick: it has no
// timers of its own, so the clock only needs to run (and stop the
// partitions when the broker closes).
const shareStateTick = time.Second

// startShareState starts the share coordinator's clock; the returned func
// stops it (and every partition).
func (b *Broker) startShareState() func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.shareState.Run(ctx, shareStateTick)
	}()
	return func() {
		cancel()
		<-done
	}
}

// shareStateCode is the wire code of a share coordinator outcome.
func shareStateCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}

// shareStateResult is a per-partition outcome on the wire: the code and,
// for an error, its message.
func shareStateResult(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	code := shareStateCode(err)
	return code, kmsg.StringPtr(kerr.ErrorForCode(code).Error())
}

// shareStateRequestOK is the checks APIs 83-87 make before any key, as
// Kafka's KafkaApis and ShareCoordinatorService: allowed says whether the
// caller has CLUSTER_ACTION on the cluster (else every partition answers
// CLUSTER_AUTHORIZATION_FAILED), and serve is false when the answer is
// empty (an empty group id, no topics, or a topic with no partitions).
func shareStateRequestOK(ctx context.Context, b *Broker, group string, topics int, partitions func(i int) int) (allowed, serve bool) {
	if !b.access(ctx).cluster(authz.OpClusterAction) {
		return false, true
	}
	if group == "" || topics == 0 {
		return true, false
	}
	for i := range topics {
		if partitions(i) == 0 {
			return true, false
		}
	}
	return true, true
}
