package handler

// Building a ShareFetch answer: one entry per partition with records, an
// error or an acknowledgement outcome, and the leaders of partitions led
// elsewhere.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/sharesession"
)

// shareFetchAnswer builds a ShareFetch answer: one entry per partition
// that has records, an error or an acknowledgement outcome.
type shareFetchAnswer struct {
	resp    *kmsg.ShareFetchResponse
	topics  map[[16]byte]int
	leaders map[int32]bool
}

func newShareFetchAnswer(resp *kmsg.ShareFetchResponse) *shareFetchAnswer {
	return &shareFetchAnswer{resp: resp, topics: map[[16]byte]int{}, leaders: map[int32]bool{}}
}

// partition is p's entry, added when it has none.
func (a *shareFetchAnswer) partition(p sharesession.Partition) *kmsg.ShareFetchResponseTopicPartition {
	ti, ok := a.topics[p.TopicID]
	if !ok {
		ti = len(a.resp.Topics)
		a.topics[p.TopicID] = ti
		t := kmsg.NewShareFetchResponseTopic()
		t.TopicID = p.TopicID
		a.resp.Topics = append(a.resp.Topics, t)
	}
	t := &a.resp.Topics[ti]
	for i := range t.Partitions {
		if t.Partitions[i].Partition == p.Partition {
			return &t.Partitions[i]
		}
	}
	sp := kmsg.NewShareFetchResponseTopicPartition()
	sp.Partition = p.Partition
	sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = -1, -1
	t.Partitions = append(t.Partitions, sp)
	return &t.Partitions[len(t.Partitions)-1]
}

func (a *shareFetchAnswer) ackResult(p sharesession.Partition, code *kerr.Error) {
	sp := a.partition(p)
	if code != nil {
		sp.AcknowledgeErrorCode = code.Code
	}
}

// ackLeaders fills CurrentLeader (and NodeEndpoints, through endpoints)
// for the partitions whose acknowledgement found another leader.
func (a *shareFetchAnswer) ackLeaders(b *Broker) {
	for ti := range a.resp.Topics {
		t := &a.resp.Topics[ti]
		for pi := range t.Partitions {
			sp := &t.Partitions[pi]
			if sp.AcknowledgeErrorCode != kerr.NotLeaderForPartition.Code || sp.CurrentLeader.LeaderID >= 0 {
				continue
			}
			if topic, ok := b.topicByID(t.TopicID); ok {
				if cp, ok := b.cluster.Partition(topic.Name, sp.Partition); ok && cp.Leader >= 0 {
					sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = cp.Leader, cp.LeaderEpoch
					a.leaders[cp.Leader] = true
				}
			}
		}
	}
}

// notLeader answers p with code and, when another broker leads it, the
// leader (CurrentLeader, and its endpoint in NodeEndpoints).
func (a *shareFetchAnswer) notLeader(b *Broker, p sharesession.Partition, tp kafka.TopicPartition, code *kerr.Error) {
	sp := a.partition(p)
	sp.ErrorCode = code.Code
	if cp, ok := b.cluster.Partition(tp.Topic, tp.Partition); ok && cp.Leader >= 0 {
		sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = cp.Leader, cp.LeaderEpoch
		a.leaders[cp.Leader] = true
	}
}

// endpoints fills NodeEndpoints with the leaders named in CurrentLeader.
func (a *shareFetchAnswer) endpoints(b *Broker, listener string) {
	for _, br := range b.cluster.Brokers() {
		if !a.leaders[br.ID] {
			continue
		}
		host, port, ok := b.address(listener, br)
		if !ok {
			continue
		}
		ne := kmsg.NewShareFetchResponseNodeEndpoint()
		ne.NodeID, ne.Host, ne.Port = br.ID, host, port
		if br.Rack != "" {
			ne.Rack = kmsg.StringPtr(br.Rack)
		}
		a.resp.NodeEndpoints = append(a.resp.NodeEndpoints, ne)
	}
}
