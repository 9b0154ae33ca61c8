package handler

// ElectLeaders (key 43), v0-v2.
//
// In a cluster the active controller runs the election: preferred (type 0,
// the only one before v1) moves leadership to each partition's first
// replica when it is live and in the ISR; unclean (type 1) gives a
// leaderless partition any live replica, accepting that records only the
// lost ISR had are gone. Per partition: no error, ELECTION_NOT_NEEDED,
// PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE or
// UNKNOWN_TOPIC_OR_PARTITION. Topics null means every partition; the
// answer then leaves out those that needed no election, as Kafka's does.
// On a single broker every partition already has its only possible
// leader: ELECTION_NOT_NEEDED. A controller that cannot be reached within
// the request's timeout answers REQUEST_TIMED_OUT at the top level.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) electLeaders(req *kmsg.ElectLeadersRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	var parts []PartitionRef
	if req.Topics != nil {
		parts = []PartitionRef{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, PartitionRef{Topic: t.Topic, Partition: p})
			}
		}
	}
	results := map[PartitionRef]int16{}
	if c := b.clusterView(); c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(req.TimeoutMillis, 1000))*time.Millisecond)
		defer cancel()
		var err error
		if results, err = c.ElectLeaders(ctx, req.ElectionType, parts); err != nil {
			resp.ErrorCode = toKerr(err).Code
			return resp
		}
	} else {
		if parts == nil {
			for _, t := range b.catalog.List() {
				for p := int32(0); p < t.Partitions; p++ {
					parts = append(parts, PartitionRef{Topic: t.Name, Partition: p})
				}
			}
		}
		for _, ref := range parts {
			code := kerr.ElectionNotNeeded.Code
			if t, ok := b.catalog.Get(ref.Topic); !ok || ref.Partition < 0 || ref.Partition >= t.Partitions {
				code = kerr.UnknownTopicOrPartition.Code
			}
			results[ref] = code
		}
	}
	refs := make([]PartitionRef, 0, len(results))
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
