package handler

// FindCoordinator (key 10), v0-v6.
//
// A group's coordinator (key type 0) is the leader of the group's
// offsets-topic partition; a transactional id's (key type 1) is the leader
// of its __transaction_state partition; a share partition's (key type 2,
// v6+, "group:topicId:partition": share_state_find.go) of its
// __share_group_state partition. Looking one up creates the internal
// topic when it does not exist yet, as Kafka does; if that fails the
// answer is COORDINATOR_NOT_AVAILABLE. v4+ batches keys
// (CoordinatorKeys) and answers each. Other key types are
// INVALID_REQUEST. The coordinator is given at its address on the
// client's listener; one without that listener is COORDINATOR_NOT_AVAILABLE.
//
// Authorization: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or
// the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), per key,
// before anything is looked up or created; CLUSTER_ACTION on the cluster
// for share keys (CLUSTER_AUTHORIZATION_FAILED: brokers ask, not clients).

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/metadata"
)

func (b *Broker) findCoordinator(ctx context.Context, req *kmsg.FindCoordinatorRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	listener := ListenerOf(ctx)
	ac := b.access(ctx)
	answer := func(key string) kmsg.FindCoordinatorResponseCoordinator {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Host, c.Port = key, -1, "", -1
		fail := func(e *kerr.Error, msg string) kmsg.FindCoordinatorResponseCoordinator {
			c.ErrorCode, c.ErrorMessage = e.Code, kmsg.StringPtr(msg)
			return c
		}
		var topic string
		var partition int32
		switch req.CoordinatorType {
		case 0:
			if !ac.group(authz.OpDescribe, key) {
				return fail(errGroupDenied, "not authorized to describe group "+key)
			}
			if err := b.ensureOffsetsTopic(); err != nil {
				b.log.Warn("find coordinator: the offsets topic is not available", "err", err)
				return fail(kerr.CoordinatorNotAvailable, groupsUnavailable(err))
			}
			topic, partition = OffsetsTopic, b.groups.PartitionOf(key)
		case 1:
			if !ac.transactionalID(authz.OpDescribe, key) {
				return fail(errTxnIDDenied, "not authorized to describe transactional id "+key)
			}
			if key == "" {
				return fail(kerr.InvalidRequest, "empty transactional id")
			}
			if err := b.ensureTxnStateTopic(); err != nil {
				b.log.Warn("find coordinator: the transaction state topic is not available", "err", err)
				return fail(kerr.CoordinatorNotAvailable, fmt.Sprintf("the transaction state topic %s is not available: %v", TransactionStateTopic, err))
			}
			topic, partition = TransactionStateTopic, b.txns.PartitionOf(key)
		case 2:
			p, e, msg := b.findShareCoordinator(req.Version, ac, key)
			if e != nil {
				return fail(e, msg)
			}
			topic, partition = ShareStateTopic, p
		default:
			return fail(kerr.InvalidRequest, "unknown coordinator key type")
		}
		cp, ok := b.cluster.Partition(topic, partition)
		if !ok || cp.Leader < 0 {
			return fail(kerr.CoordinatorNotAvailable, fmt.Sprintf("the coordinator's partition %s-%d has no leader", topic, partition))
		}
		brokers := b.cluster.Brokers()
		if cp.Leader == b.cfg.NodeID && !slices.ContainsFunc(brokers, func(br metadata.Broker) bool { return br.ID == b.cfg.NodeID }) {
			brokers = append(brokers, metadata.Broker{ID: b.cfg.NodeID}) // this broker, not yet in the image
		}
		for _, br := range brokers {
			if br.ID == cp.Leader {
				host, port, ok := b.address(listener, br)
				if !ok {
					return fail(kerr.CoordinatorNotAvailable, fmt.Sprintf("the coordinator, broker %d, has no listener %s", br.ID, listener))
				}
				c.NodeID, c.Host, c.Port = br.ID, host, port
				return c
			}
		}
		return fail(kerr.CoordinatorNotAvailable, "the group's coordinator is not alive")
	}
	if req.Version >= 4 {
		for _, key := range req.CoordinatorKeys {
			resp.Coordinators = append(resp.Coordinators, answer(key))
		}
		return resp
	}
	c := answer(req.CoordinatorKey)
	resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
	resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
	return resp
}
