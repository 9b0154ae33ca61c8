package handler

// DescribeShareGroupOffsets (key 90), v0-v1 (v1 adds Lag, KIP-1226).
//
// Sent to a share group's coordinator. For each group: the start offset
// of every share partition asked for (a topic list of null means every
// topic the group has share-partition state for, and only the partitions
// that have it), with the leader epoch of the leader that last loaded it
// and, from v1, its lag (records from the start offset to the
// partition's high watermark not yet acknowledged or archived; -1 when
// unknown). A partition without state answers start offset -1. A group
// unknown or of another type is GROUP_ID_NOT_FOUND; another broker's
// group NOT_COORDINATOR.
//
// Authorization: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED for
// the group), DESCRIBE on each topic (its partitions answer
// TOPIC_AUTHORIZATION_FAILED).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) describeShareGroupOffsets(ctx context.Context, req *kmsg.DescribeShareGroupOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeShareGroupOffsetsResponse)
	ac := b.access(ctx)
	for _, rg := range req.Groups {
		g := kmsg.NewDescribeShareGroupOffsetsResponseGroup()
		g.GroupID = rg.GroupID
		if !b.shareGroupsEnabled() {
			g.ErrorCode = kerr.UnsupportedVersion.Code
			resp.Groups = append(resp.Groups, g)
			continue
		}
		if !ac.group(authz.OpDescribe, rg.GroupID) {
			g.ErrorCode = errGroupDenied.Code
			resp.Groups = append(resp.Groups, g)
			continue
		}
		info, code := b.shareGroupInfo(rg.GroupID)
		if code != nil {
			g.ErrorCode = code.Code
			resp.Groups = append(resp.Groups, g)
			continue
		}
		type asked struct {
			name  string
			parts []int32
			all   bool // every partition, only those with state
		}
		var topics []asked
		if rg.Topics == nil {
			for _, id := range info.StateTopics {
				if t, ok := b.topicByID(id); ok {
					topics = append(topics, asked{name: t.Name, all: true})
				}
			}
		} else {
			for _, rt := range rg.Topics {
				topics = append(topics, asked{name: rt.Topic, parts: rt.Partitions})
			}
		}
		for _, a := range topics {
			gt := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopic()
			gt.Topic = a.name
			answer := func(p int32, start int64, epoch int32, lag int64, code *kerr.Error) {
				gp := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopicPartition()
				gp.Partition, gp.StartOffset, gp.LeaderEpoch, gp.Lag = p, start, epoch, lag
				if code != nil {
					gp.ErrorCode = code.Code
				}
				gt.Partitions = append(gt.Partitions, gp)
			}
			if !ac.topic(authz.OpDescribe, a.name) {
				for _, p := range a.parts {
					answer(p, -1, -1, -1, errTopicDenied)
				}
				g.Topics = append(g.Topics, gt)
				continue
			}
			t, ok := b.topic(a.name)
			if !ok {
				for _, p := range a.parts {
					answer(p, -1, -1, -1, kerr.UnknownTopicOrPartition)
				}
				g.Topics = append(g.Topics, gt)
				continue
			}
			gt.TopicID = t.ID
			parts := a.parts
			if a.all {
				parts = nil
				for p := range t.Partitions {
					parts = append(parts, p)
				}
			}
			for _, p := range parts {
				if p < 0 || p >= t.Partitions {
					answer(p, -1, -1, -1, kerr.UnknownTopicOrPartition)
					continue
				}
				sum, err := b.shareStateSummary(ctx, sharestate.Key{Group: rg.GroupID, TopicID: t.ID, Partition: p})
				if err != nil {
					answer(p, -1, -1, -1, toKerr(err))
					continue
				}
				if sum.StartOffset < 0 && a.all {
					continue // no state: left out of a describe of every topic
				}
				lag := int64(-1)
				if sum.StartOffset >= 0 {
					if end, err := b.partitionEnd(ctx, t.Name, p); err == nil {
						lag = shareLag(sum, end)
					}
				}
				answer(p, sum.StartOffset, sum.LeaderEpoch, lag, nil)
			}
			if len(gt.Partitions) > 0 || !a.all {
				g.Topics = append(g.Topics, gt)
			}
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}
