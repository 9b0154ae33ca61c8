package handler

// FindCoordinator (key 10), v0-v6.
//
// A group's coordinator is the leader of the group's offsets-topic
// partition (this broker, on a single node). Looking one up creates the
// offsets topic when it does not exist yet, as Kafka does; if that fails
// the answer is COORDINATOR_NOT_AVAILABLE. v4+ batches keys
// (CoordinatorKeys) and answers each. Transaction coordinators (key type 1)
// answer COORDINATOR_NOT_AVAILABLE: transactions do not exist yet. Other key
// types (share groups) are INVALID_REQUEST.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) findCoordinator(req *kmsg.FindCoordinatorRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	host, port := b.Advertised()
	answer := func(key string) kmsg.FindCoordinatorResponseCoordinator {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Host, c.Port = key, -1, "", -1
		fail := func(e *kerr.Error, msg string) kmsg.FindCoordinatorResponseCoordinator {
			c.ErrorCode, c.ErrorMessage = e.Code, kmsg.StringPtr(msg)
			return c
		}
		switch req.CoordinatorType {
		case 0:
		case 1:
			return fail(kerr.CoordinatorNotAvailable, "transactions are not supported")
		default:
			return fail(kerr.InvalidRequest, "unknown coordinator key type")
		}
		if err := b.ensureOffsetsTopic(); err != nil {
			b.logf("find coordinator: %v", err)
			return fail(kerr.CoordinatorNotAvailable, groupsUnavailable(err))
		}
		cp, ok := b.cluster.Partition(OffsetsTopic, b.groups.PartitionOf(key))
		if !ok || cp.Leader < 0 {
			return fail(kerr.CoordinatorNotAvailable, "the group's offsets partition has no leader")
		}
		if cp.Leader == b.cfg.NodeID {
			c.NodeID, c.Host, c.Port = b.cfg.NodeID, host, port
			return c
		}
		for _, br := range b.cluster.Brokers() {
			if br.ID == cp.Leader {
				c.NodeID, c.Host, c.Port = br.ID, br.Host, br.Port
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
