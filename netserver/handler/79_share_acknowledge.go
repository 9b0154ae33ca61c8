package handler

// ShareAcknowledge (key 79), v1-v2 (KIP-932; v2 adds IsRenewAck,
// KIP-1222).
//
// Acknowledges records a member acquired through ShareFetch, outside a
// fetch: per partition, batches of offsets with one type for the batch or
// one per offset (0 gap, 1 accept, 2 release, 3 reject; 4 renew only when
// IsRenewAck). The answer comes once the share coordinator has the
// outcome. The request belongs to the member's share session: its epoch
// must be the one the session expects (0 is INVALID_SHARE_SESSION_EPOCH:
// a session opens with a ShareFetch), and -1 closes the session after the
// acknowledgements, releasing what the member still holds on its
// partitions.
//
// Errors per partition: UNKNOWN_TOPIC_ID, TOPIC_AUTHORIZATION_FAILED,
// NOT_LEADER_OR_FOLLOWER (with the leader), INVALID_RECORD_STATE (an
// offset the member does not hold), INVALID_REQUEST (a malformed batch).
// Top level: GROUP_AUTHORIZATION_FAILED, INVALID_REQUEST,
// SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/sharesession"
)

func (b *Broker) shareAcknowledge(ctx context.Context, req *kmsg.ShareAcknowledgeRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ShareAcknowledgeResponse)
	group, member := derefString(req.GroupID), derefString(req.MemberID)
	ac := b.access(ctx)
	fail := func(e *kerr.Error, msg string) kmsg.Response {
		resp.ErrorCode = e.Code
		if msg != "" {
			resp.ErrorMessage = kmsg.StringPtr(msg)
		}
		return resp
	}
	if !b.shareGroupsEnabled() {
		return fail(kerr.UnsupportedVersion, "share groups are off (share.version 0)")
	}
	if !ac.group(authz.OpRead, group) {
		return fail(errGroupDenied, "")
	}
	if group == "" || member == "" || len(member) > 36 {
		return fail(kerr.InvalidRequest, "a share acknowledgement needs a group id and a member id of at most 36 characters")
	}
	if req.Version >= 2 {
		resp.AcquisitionLockTimeoutMillis = int32(b.sharePartConfig(group).LockDuration / time.Millisecond)
	}
	key := sharesession.Key{Group: group, Member: member}
	var closed map[sharesession.Partition]struct{}
	switch req.ShareSessionEpoch {
	case 0:
		return fail(kerr.InvalidShareSessionEpoch, "a share session opens with a ShareFetch")
	case -1:
		parts, err := b.shareSessions.Close(key)
		if err != nil {
			return fail(toKerr(err), "")
		}
		closed = parts
	default:
		if _, err := b.shareSessions.Advance(key, req.ShareSessionEpoch, nil, nil); err != nil {
			return fail(toKerr(err), "")
		}
	}
	renew := req.Version >= 2 && req.IsRenewAck
	topics := make([]kmsg.ShareFetchRequestTopic, 0, len(req.Topics))
	for _, t := range req.Topics {
		ft := kmsg.NewShareFetchRequestTopic()
		ft.TopicID = t.TopicID
		for _, p := range t.Partitions {
			fp := kmsg.NewShareFetchRequestTopicPartition()
			fp.Partition = p.Partition
			for _, a := range p.AcknowledgementBatches {
				fb := kmsg.NewShareFetchRequestTopicPartitionAcknowledgementBatch()
				fb.FirstOffset, fb.LastOffset, fb.AcknowledgeTypes = a.FirstOffset, a.LastOffset, a.AcknowledgeTypes
				fp.AcknowledgementBatches = append(fp.AcknowledgementBatches, fb)
			}
			ft.Partitions = append(ft.Partitions, fp)
		}
		topics = append(topics, ft)
	}
	topicIdx := map[[16]byte]int{}
	leaders := map[int32]bool{}
	b.shareAcks(ctx, ac, group, member, topics, renew, func(p sharesession.Partition, code *kerr.Error) {
		ti, ok := topicIdx[p.TopicID]
		if !ok {
			ti = len(resp.Topics)
			topicIdx[p.TopicID] = ti
			t := kmsg.NewShareAcknowledgeResponseTopic()
			t.TopicID = p.TopicID
			resp.Topics = append(resp.Topics, t)
		}
		rp := kmsg.NewShareAcknowledgeResponseTopicPartition()
		rp.Partition = p.Partition
		rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = -1, -1
		if code != nil {
			rp.ErrorCode = code.Code
			if code == kerr.NotLeaderForPartition {
				if t, ok := b.topicByID(p.TopicID); ok {
					tp := kafka.TopicPartition{Topic: t.Name, Partition: p.Partition}
					if cp, ok := b.cluster.Partition(tp.Topic, tp.Partition); ok && cp.Leader >= 0 {
						rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = cp.Leader, cp.LeaderEpoch
						leaders[cp.Leader] = true
					}
				}
			}
		}
		resp.Topics[ti].Partitions = append(resp.Topics[ti].Partitions, rp)
	})
	if closed != nil {
		b.shareRelease(group, member, closed)
	}
	listener := ListenerOf(ctx)
	for _, br := range b.cluster.Brokers() {
		if !leaders[br.ID] {
			continue
		}
		if host, port, ok := b.address(listener, br); ok {
			ne := kmsg.NewShareAcknowledgeResponseNodeEndpoint()
			ne.NodeID, ne.Host, ne.Port = br.ID, host, port
			if br.Rack != "" {
				ne.Rack = kmsg.StringPtr(br.Rack)
			}
			resp.NodeEndpoints = append(resp.NodeEndpoints, ne)
		}
	}
	return resp
}
