package handler

// Fetch sessions (KIP-227) around the Fetch handler: the session part of a
// request is classified and applied by package fetchsession before the
// read; an incremental request is read as the full list of its session's
// partitions; and after the read the answer keeps only the partitions the
// session says changed. The cache's lock is taken only inside its Open and
// Respond, never across the log reads in between.

import (
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/fetchsession"
)

// newFetchSessions returns the cache cfg asks for (nil: Kafka's
// defaults).
func newFetchSessions(cfg *fetchsession.Config) *fetchsession.Cache {
	if cfg == nil {
		cfg = &fetchsession.Config{Slots: fetchsession.DefaultSlots, EvictionAfter: fetchsession.DefaultEvictionAfter}
	}
	c := *cfg
	if c.Seed == 0 {
		// Session ids need only differ across restarts, not be secret.
		c.Seed = uint64(time.Now().UnixNano())
	}
	return fetchsession.New(c)
}

// FetchSessionStats are the cached fetch sessions, for metrics.
func (b *Broker) FetchSessionStats() fetchsession.Stats { return b.sessions.Stats() }

// openFetchSession classifies req (v7+) and, for an incremental request,
// rewrites req.Topics to the session's partitions in the session's order,
// a topic entry per run of one topic's partitions, as Kafka answers them.
func (b *Broker) openFetchSession(req *kmsg.FetchRequest, follower bool) fetchsession.Context {
	topicIDs := req.Version >= 13
	sr := fetchsession.Request{SessionID: req.SessionID, Epoch: req.SessionEpoch, TopicIDs: topicIDs, Follower: follower}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			sr.Partitions = append(sr.Partitions, fetchsession.PartitionRequest{
				Partition: fetchsession.Partition{TopicID: t.TopicID, Topic: t.Topic, Partition: p.Partition},
				Params: fetchsession.Params{FetchOffset: p.FetchOffset, LogStartOffset: p.LogStartOffset, MaxBytes: p.PartitionMaxBytes,
					CurrentLeaderEpoch: p.CurrentLeaderEpoch, LastFetchedEpoch: p.LastFetchedEpoch},
			})
		}
	}
	for _, t := range req.ForgottenTopics {
		for _, p := range t.Partitions {
			sr.Forgotten = append(sr.Forgotten, fetchsession.Partition{TopicID: t.TopicID, Topic: t.Topic, Partition: p})
		}
	}
	sctx := b.sessions.Open(b.now(), sr)
	if sctx.Kind != fetchsession.Incremental {
		return sctx
	}
	req.Topics = req.Topics[:0]
	for i, p := range sctx.Partitions {
		if i == 0 || p.Topic != sctx.Partitions[i-1].Topic || p.TopicID != sctx.Partitions[i-1].TopicID {
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = p.Topic, p.TopicID
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = p.Partition.Partition
		rp.FetchOffset, rp.LogStartOffset, rp.PartitionMaxBytes = p.FetchOffset, p.LogStartOffset, p.MaxBytes
		rp.CurrentLeaderEpoch, rp.LastFetchedEpoch = p.CurrentLeaderEpoch, p.LastFetchedEpoch
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, rp)
	}
	return sctx
}

// fetchSessionResults are what resp's partitions, in encoding order (the
// order of sctx.Partitions), tell the session.
func fetchSessionResults(resp *FetchResponse) []fetchsession.Result {
	var out []fetchsession.Result
	first := make([]int, len(resp.Topics)) // flat index of each topic's first partition
	for i, t := range resp.Topics {
		first[i] = len(out)
		for _, p := range t.Partitions {
			out = append(out, fetchsession.Result{
				HighWatermark: p.HighWatermark, LastStableOffset: p.LastStableOffset, LogStartOffset: p.LogStartOffset,
				RecordBytes: len(p.RecordBatches), ErrorCode: p.ErrorCode,
				Always: p.DivergingEpoch.EndOffset != -1 || p.PreferredReadReplica >= 0,
			})
		}
	}
	for _, r := range resp.Ranges {
		out[first[r.Topic]+r.Partition].RecordBytes += int(r.Len)
	}
	return out
}

// answerFetchSession sets the session part of resp and drops the
// partitions an incremental answer leaves out (include is by encoding
// order; nil keeps all), renumbering the file ranges.
func answerFetchSession(resp *FetchResponse, sr fetchsession.Response) {
	resp.SessionID, resp.ErrorCode = sr.SessionID, sr.ErrorCode
	if sr.ErrorCode != 0 {
		resp.Topics, resp.Ranges = nil, nil
		return
	}
	if sr.Include == nil {
		return
	}
	type at struct{ topic, partition int }
	moved := map[at]at{}
	var topics []kmsg.FetchResponseTopic
	flat := 0
	for ti, t := range resp.Topics {
		var kept []kmsg.FetchResponseTopicPartition
		for pi, p := range t.Partitions {
			if flat < len(sr.Include) && sr.Include[flat] {
				moved[at{ti, pi}] = at{len(topics), len(kept)}
				kept = append(kept, p)
			}
			flat++
		}
		if len(kept) > 0 {
			t.Partitions = kept
			topics = append(topics, t)
		}
	}
	resp.Topics = topics
	ranges := resp.Ranges[:0]
	for _, r := range resp.Ranges {
		if to, ok := moved[at{r.Topic, r.Partition}]; ok {
			r.Topic, r.Partition = to.topic, to.partition
			ranges = append(ranges, r)
		}
	}
	resp.Ranges = ranges
}
