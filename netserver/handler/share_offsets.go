package handler

// What the share-group offset APIs (DescribeShareGroupOffsets 90,
// AlterShareGroupOffsets 91, DeleteShareGroupOffsets 92) share: the
// group's check at its coordinator, a partition's end offset for lag
// (here or from its leader), and the reset of the leaders' cached share
// partitions.

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/sharesession"
	"github.com/rillmq/rill/replication/controller"
)

// shareGroupsEnabled reports whether share groups are on: the finalized
// share.version feature is 1 (a cluster's controller finalizes it at 1;
// before it has, they are on). Off, the share-group APIs are left out of
// ApiVersions and answer UNSUPPORTED_VERSION, as Kafka's.
func (b *Broker) shareGroupsEnabled() bool {
	if b.cluster == nil {
		return true
	}
	levels, _ := b.cluster.Features()
	level, ok := levels[controller.FeatureShareVersion]
	return !ok || level >= 1
}

// shareGatedKeys are the APIs share.version turns on: the share groups'
// own (the share coordinator's 83-87 are between brokers).
var shareGatedKeys = map[int16]bool{76: true, 77: true, 78: true, 79: true, 90: true, 91: true, 92: true}

// shareGroupInfo is the share group as its coordinator, this broker,
// knows it: NOT_COORDINATOR elsewhere, GROUP_ID_NOT_FOUND for an unknown
// group or one of another type.
func (b *Broker) shareGroupInfo(groupID string) (group.ShareGroupInfo, *kerr.Error) {
	info, err := b.groups.ShareGroupInfo(groupID)
	if err != nil {
		return info, toKerr(err)
	}
	return info, nil
}

// emptyShareGroup checks a change of a share group's offsets (Alter and
// DeleteShareGroupOffsets): share groups on (UNSUPPORTED_VERSION), op on
// the group allowed (GROUP_AUTHORIZATION_FAILED), the group a share group
// this broker coordinates, with no members (NON_EMPTY_GROUP).
func (b *Broker) emptyShareGroup(ac access, op authz.Operation, groupID string) *kerr.Error {
	switch {
	case !b.shareGroupsEnabled():
		return kerr.UnsupportedVersion
	case !ac.group(op, groupID):
		return errGroupDenied
	}
	info, code := b.shareGroupInfo(groupID)
	if code == nil && info.State != group.Empty {
		code = kerr.NonEmptyGroup
	}
	return code
}

// partitionEnd is a partition's high watermark: this broker's replica's
// when it leads the partition, else its leader's (ListOffsets latest).
func (b *Broker) partitionEnd(ctx context.Context, topic string, p int32) (int64, error) {
	if b.leaderHere(topic, p) == nil {
		rep, code := b.replicaOf(topic, p)
		if code != nil {
			return -1, code
		}
		return rep.HighWatermark()
	}
	cp, ok := b.cluster.Partition(topic, p)
	if !ok || cp.Leader < 0 {
		return -1, kerr.LeaderNotAvailable
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kresp, err := b.peerRequest(ctx, cp.Leader, req)
	if err != nil {
		return -1, err
	}
	resp := kresp.(*kmsg.ListOffsetsResponse)
	for _, t := range resp.Topics {
		for _, sp := range t.Partitions {
			if err := kerr.ErrorForCode(sp.ErrorCode); err != nil {
				return -1, err
			}
			return sp.Offset, nil
		}
	}
	return -1, errors.New("list offsets answered no partition")
}

// shareLag is a share partition's lag (KIP-1226): the records between its
// start offset and the partition's end not yet acknowledged or archived;
// -1 when either is unknown.
func shareLag(sum sharestate.Summary, end int64) int64 {
	if sum.StartOffset < 0 || end < 0 || sum.DeliveryCompleteCount < 0 {
		return -1
	}
	return max(end-sum.StartOffset-int64(sum.DeliveryCompleteCount), 0)
}

// shareGroupDeleteTimeout bounds the deletion of a deleted share group's
// state (OnShareGroupDeleted runs on its own goroutine).
const shareGroupDeleteTimeout = 30 * time.Second

// shareGroupDeleted deletes the share-partition state of a share group
// DeleteGroups deleted: every partition of each topic it may have state
// for. A failure leaves state that a group of the same name would find;
// it is logged.
func (b *Broker) shareGroupDeleted(groupID string, topicIDs [][16]byte) {
	ctx, cancel := context.WithTimeout(context.Background(), shareGroupDeleteTimeout)
	defer cancel()
	if code := b.deleteShareGroupStates(ctx, groupID, topicIDs); code != nil {
		b.log.Warn("deleting a deleted share group's state failed", "group", groupID, "err", code)
	}
}

// deleteShareGroupStates deletes group's share-partition state on every
// partition of the topics (those that still exist) and returns the first
// error.
func (b *Broker) deleteShareGroupStates(ctx context.Context, groupID string, topicIDs [][16]byte) *kerr.Error {
	var first *kerr.Error
	for _, id := range topicIDs {
		t, ok := b.topicByID(id)
		if !ok {
			continue
		}
		if code := b.deleteShareTopicState(ctx, groupID, id, t.Partitions); code != nil && first == nil {
			first = code
		}
	}
	return first
}

// shareMemberRemoved closes a member's share session here when its group
// coordinator removed it (it left, or its session timed out), releasing
// the records it held on this broker's partitions at once.
func (b *Broker) shareMemberRemoved(groupID, memberID string) {
	key := sharesession.Key{Group: groupID, Member: memberID}
	if parts, err := b.shareSessions.Close(key); err == nil {
		b.shareRelease(groupID, memberID, parts)
	}
}
