package handler

// ElectLeaders (key 43), v0-v2.
//
// The active controller runs the election: preferred (type 0,
// the only one before v1) moves leadership to each partition's first
// replica when it is live and in the ISR; unclean (type 1) gives a
// leaderless partition any live replica, accepting that records only the
// lost ISR had are gone. Per partition: no error, ELECTION_NOT_NEEDED,
// PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE or
// UNKNOWN_TOPIC_OR_PARTITION. Topics null means every partition; the
// answer then leaves out those that needed no election, as Kafka's does
// (on a single node every partition already has its only possible leader:
// ELECTION_NOT_NEEDED). A controller that cannot be reached within
// the request's timeout answers REQUEST_TIMED_OUT at the top level.
//
// Authorization: ALTER on the cluster (Kafka's KafkaApis; its protocol
// table says CLUSTER_ACTION), else CLUSTER_AUTHORIZATION_FAILED at the
// top (v1+) and on every requested partition.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) electLeaders(ctx context.Context, req *kmsg.ElectLeadersRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	if !b.access(ctx).cluster(authz.OpAlter) {
		e := errClusterDenied
		resp.ErrorCode = e.Code
		for _, t := range req.Topics {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewElectLeadersResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.ErrorMessage = p, e.Code, kmsg.StringPtr(e.Description)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	var parts []kafka.TopicPartition
	if req.Topics != nil {
		parts = []kafka.TopicPartition{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, kafka.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(req.TimeoutMillis, 1000))*time.Millisecond)
	defer cancel()
	results, err := b.cluster.ElectLeaders(ctx, req.ElectionType, parts)
	if err != nil {
		resp.ErrorCode = toKerr(err).Code
		return resp
	}
	refs := make([]kafka.TopicPartition, 0, len(results))
	for ref, code := range results {
		if req.Topics == nil && code == kerr.ElectionNotNeeded.Code {
			continue
		}
		refs = append(refs, ref)
	}
	sortRefs(refs)
	for _, ref := range refs {
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != ref.Topic {
			t := kmsg.NewElectLeadersResponseTopic()
			t.Topic = ref.Topic
			resp.Topics = append(resp.Topics, t)
		}
		p := kmsg.NewElectLeadersResponseTopicPartition()
		p.Partition, p.ErrorCode = ref.Partition, results[ref]
		if p.ErrorCode != 0 {
			if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
				p.ErrorMessage = kmsg.StringPtr(e.Error())
			}
		}
		t := &resp.Topics[len(resp.Topics)-1]
		t.Partitions = append(t.Partitions, p)
	}
	return resp
}
