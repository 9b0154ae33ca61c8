package handler

// OffsetFetch (key 9), v1-v10.
//
// Answers committed offsets; a partition with none (or an unknown group)
// answers offset -1, leader epoch -1, empty metadata and no error, as Kafka
// does. Null topics (v2+) ask for every offset the group has. v8+ batches
// groups; v10 names topics by id (offsets of a topic that no longer exists
// are left out of an all-topics answer there). With RequireStable (v7+) a
// partition that has a transactional offset pending (TxnOffsetCommit of a
// transaction not ended yet) answers UNSTABLE_OFFSET_COMMIT with offset
// -1, as Kafka's OffsetMetadataManager.fetchOffsets does; the client
// retries. An all-topics answer lists the partitions with a committed
// offset, as Kafka's does. A v9+ group naming a member of a KIP-848 group
// is checked like a commit (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH,
// FENCED_MEMBER_EPOCH).
//
// Authorization: DESCRIBE on each group, else the group answers
// GROUP_AUTHORIZATION_FAILED (v8+ per group, v2-v7 at the top, v1 on
// every requested partition, which has no other place for it), before
// the coordinator is looked up. Named topics the principal may not
// DESCRIBE answer TOPIC_AUTHORIZATION_FAILED (offset -1); an all-topics
// answer leaves them out.

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

// fetchTopic is one topic of an OffsetFetch, in any version's shape.
type fetchTopic struct {
	name       string
	id         [16]byte
	partitions []int32
}

// fetchedPartition is one answered partition.
type fetchedPartition struct {
	partition   int32
	offset      int64
	leaderEpoch int32
	metadata    string
	code        int16
}

// fetchOffsets answers one group: topics nil means all of its offsets.
// requireStable answers UNSTABLE_OFFSET_COMMIT for partitions with a
// transactional offset pending.
func (b *Broker) fetchOffsets(ac access, groupID string, topics []fetchTopic, byID, requireStable bool) ([]fetchTopic, [][]fetchedPartition) {
	committed, pending := b.groups.OffsetsAndPending(groupID)
	if topics == nil {
		byTopic := map[string][]int32{}
		for tp := range committed {
			byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
		}
		for name, parts := range byTopic {
			if !ac.topic(authz.OpDescribe, name) {
				continue // not disclosed
			}
			ft := fetchTopic{name: name, partitions: parts}
			if byID {
				t, ok := b.topic(name)
				if !ok {
					continue
				}
				ft.id = t.ID
			}
			sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
			topics = append(topics, ft)
		}
		sort.Slice(topics, func(i, j int) bool { return topics[i].name < topics[j].name })
	}
	out := make([][]fetchedPartition, len(topics))
	for i, ft := range topics {
		name := ft.name
		var terr *kerr.Error
		if byID {
			t, e := b.resolveTopic("", ft.id, true)
			name, terr = t.Name, e
		}
		if terr == nil && !ac.topic(authz.OpDescribe, name) {
			terr = errTopicDenied
		}
		for _, p := range ft.partitions {
			fp := fetchedPartition{partition: p, offset: -1, leaderEpoch: -1}
			tp := kafka.TopicPartition{Topic: name, Partition: p}
			if terr != nil {
				fp.code = terr.Code
			} else if requireStable && pending[tp] {
				fp.code = kerr.UnstableOffsetCommit.Code
			} else if c, ok := committed[tp]; ok {
				fp.offset, fp.leaderEpoch, fp.metadata = c.Offset, c.LeaderEpoch, c.Metadata
			}
			out[i] = append(out[i], fp)
		}
	}
	return topics, out
}

func (b *Broker) offsetFetch(ctx context.Context, req *kmsg.OffsetFetchRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	ac := b.access(ctx)
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			var topics []fetchTopic
			if rg.Topics != nil {
				topics = []fetchTopic{}
				for _, rt := range rg.Topics {
					topics = append(topics, fetchTopic{name: rt.Topic, id: rt.TopicID, partitions: rt.Partitions})
				}
			}
			sg := kmsg.NewOffsetFetchResponseGroup()
			sg.Group = rg.Group
			if !ac.group(authz.OpDescribe, rg.Group) {
				sg.ErrorCode = errGroupDenied.Code
				resp.Groups = append(resp.Groups, sg)
				continue
			}
			if !b.groups.Owns(rg.Group) {
				sg.ErrorCode = kerr.NotCoordinator.Code
				resp.Groups = append(resp.Groups, sg)
				continue
			}
			if rg.MemberID != nil {
				if err := b.groups.CheckMemberEpoch(rg.Group, *rg.MemberID, rg.MemberEpoch); err != nil {
					sg.ErrorCode = errorCode(err)
					resp.Groups = append(resp.Groups, sg)
					continue
				}
			}
			topics, parts := b.fetchOffsets(ac, rg.Group, topics, req.Version >= 10, req.RequireStable)
			for i, ft := range topics {
				st := kmsg.NewOffsetFetchResponseGroupTopic()
				st.Topic, st.TopicID = ft.name, ft.id
				for _, fp := range parts[i] {
					sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata, sp.ErrorCode = fp.partition, fp.offset, fp.leaderEpoch, kmsg.StringPtr(fp.metadata), fp.code
					st.Partitions = append(st.Partitions, sp)
				}
				sg.Topics = append(sg.Topics, st)
			}
			resp.Groups = append(resp.Groups, sg)
		}
		return resp
	}
	var topics []fetchTopic
	if req.Topics != nil {
		topics = []fetchTopic{}
		for _, rt := range req.Topics {
			topics = append(topics, fetchTopic{name: rt.Topic, partitions: rt.Partitions})
		}
	}
	if !ac.group(authz.OpDescribe, req.Group) {
		resp.ErrorCode = errGroupDenied.Code
		if req.Version < 2 {
			for _, ft := range topics {
				st := kmsg.NewOffsetFetchResponseTopic()
				st.Topic = ft.name
				for _, p := range ft.partitions {
					sp := kmsg.NewOffsetFetchResponseTopicPartition()
					sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata, sp.ErrorCode = p, -1, -1, kmsg.StringPtr(""), errGroupDenied.Code
					st.Partitions = append(st.Partitions, sp)
				}
				resp.Topics = append(resp.Topics, st)
			}
		}
		return resp
	}
	if !b.groups.Owns(req.Group) {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	topics, parts := b.fetchOffsets(ac, req.Group, topics, false, req.Version >= 7 && req.RequireStable)
	for i, ft := range topics {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = ft.name
		for _, fp := range parts[i] {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata, sp.ErrorCode = fp.partition, fp.offset, fp.leaderEpoch, kmsg.StringPtr(fp.metadata), fp.code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
