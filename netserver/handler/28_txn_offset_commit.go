package handler

// TxnOffsetCommit (key 28), v0-v6.
//
// v6 (KIP-1319, Kafka 4.4) names topics by id, as OffsetCommit v10: an id
// that names no topic answers UNKNOWN_TOPIC_ID on its partitions, a known
// one is authorized by its topic's name, and the answer carries the ids.
//
// Commits a group's offsets as part of a producer's transaction (KIP-98;
// v3+ names the group member, KIP-447). The records go to the group's
// offsets partition in a transactional batch of the producer, appended
// with acks=all before the answer; the offsets stay pending (OffsetFetch
// does not show them, and answers UNSTABLE_OFFSET_COMMIT for them when it
// requires stable offsets) until the transaction's marker reaches the
// partition (WriteTxnMarkers, then the group coordinator's
// CompleteTransaction). Per-partition errors: UNKNOWN_TOPIC_OR_PARTITION,
// OFFSET_METADATA_TOO_LARGE, and the group's INVALID_GROUP_ID,
// NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS (COORDINATOR_NOT_AVAILABLE
// before v2, as Kafka answers clients older than KAFKA-7296),
// COORDINATOR_NOT_AVAILABLE, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
// FENCED_INSTANCE_ID, INVALID_PRODUCER_EPOCH. The producer id and epoch
// are taken as given: the transaction coordinator's AddOffsetsToTxn
// admitted the group to the transaction, and the partition's producer
// state fences an older epoch. The group's offsets partition must be in
// the producer's transaction: checked with the transaction coordinator
// (INVALID_TXN_STATE when it is not), or from v5 under transaction
// version 2 (KIP-890 part 2, no AddOffsetsToTxn) added to it here.
//
// Authorization, before anything else: WRITE on the transactional id,
// else every partition answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
// READ on the group, else GROUP_AUTHORIZATION_FAILED; READ on each topic,
// else its partitions answer TOPIC_AUTHORIZATION_FAILED (and when no
// topic is allowed nothing is verified or written).

import (
	"cmp"
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) txnOffsetCommit(ctx context.Context, req *kmsg.TxnOffsetCommitRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	// deniedTopic[i]: the principal may not READ topic i (nil: all allowed).
	var deniedTopic []bool
	failAll := func(code int16) kmsg.Response {
		for i, rt := range req.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			c := code
			if deniedTopic != nil && deniedTopic[i] {
				c = errTopicDenied.Code
			}
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, c
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	}
	ac := b.access(ctx)
	byID := req.Version >= 6
	switch {
	case !ac.transactionalID(authz.OpWrite, req.TransactionalID):
		return failAll(errTxnIDDenied.Code)
	case !ac.group(authz.OpRead, req.Group):
		return failAll(errGroupDenied.Code)
	}
	if ac.enabled() && len(req.Topics) > 0 {
		deniedTopic = make([]bool, len(req.Topics))
		for i, rt := range req.Topics {
			// An unknown id is not denied: it has no name to check, and
			// answers UNKNOWN_TOPIC_ID below.
			t, err := b.resolveTopic(rt.Topic, rt.TopicID, byID)
			deniedTopic[i] = (err == nil || !byID) && !ac.topic(authz.OpRead, cmp.Or(t.Name, rt.Topic))
		}
		if !slices.Contains(deniedTopic, false) {
			return failAll(errTopicDenied.Code) // nothing to commit
		}
	}
	// The group's offsets partition must be in the producer's ongoing
	// transaction (added by AddOffsetsToTxn, or here under transaction
	// version 2, where the client sends no AddOffsetsToTxn), checked with
	// the transaction coordinator under the partition log's verification
	// guard as a produce is (KIP-890): a late commit of an ended
	// transaction would otherwise open one no marker ends, and the next
	// transaction would commit its offsets.
	var guard *log.VerificationGuard
	tp := kafka.TopicPartition{Topic: OffsetsTopic, Partition: b.groups.PartitionOf(req.Group)}
	if lg, err := b.engine.Partition(tp); err == nil && b.leaderHere(tp.Topic, tp.Partition) == nil {
		guard = lg.StartTxnVerification(req.ProducerID)
	}
	if guard != nil {
		add := req.Version >= 5 && b.txnV2()
		if e := b.verifyTxnPartition(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, tp, add); e != nil {
			if lg, err := b.engine.Partition(tp); err == nil {
				lg.AbandonTxnVerification(guard)
			}
			if e == kerr.NotEnoughReplicas {
				e = kerr.CoordinatorNotAvailable // retriable for a group request
			}
			return failAll(e.Code)
		}
	}
	topics := make([]commitTopic, len(req.Topics))
	for i, rt := range req.Topics {
		topics[i] = commitTopic{name: rt.Topic, id: rt.TopicID}
		for _, rp := range rt.Partitions {
			epoch := int32(-1)
			if req.Version >= 2 {
				epoch = rp.LeaderEpoch
			}
			topics[i].parts = append(topics[i].parts, commitPartition{rp.Partition, rp.Offset, epoch, rp.Metadata})
		}
	}
	commits, codes, slot := b.resolveCommits(ac, topics, byID)
	var errs []error
	if len(commits) > 0 {
		errs = b.groups.TxnOffsetCommit(req.Group, group.TxnCommit{
			TransactionalID: req.TransactionalID,
			ProducerID:      req.ProducerID,
			ProducerEpoch:   req.ProducerEpoch,
			Generation:      req.Generation,
			MemberID:        req.MemberID,
			InstanceID:      req.InstanceID,
			Verification:    guard,
		}, commits)
	}
	for i, rt := range req.Topics {
		st := kmsg.NewTxnOffsetCommitResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for j, rp := range rt.Partitions {
			sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, codes[i][j]
			if k := slot[i][j]; k >= 0 {
				sp.ErrorCode = errorCode(errs[k])
			}
			if req.Version < 2 && sp.ErrorCode == kerr.CoordinatorLoadInProgress.Code {
				sp.ErrorCode = kerr.CoordinatorNotAvailable.Code
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
