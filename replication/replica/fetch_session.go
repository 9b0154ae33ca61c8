package replica

// A follower's side of a fetch session (KIP-227) with one leader: the
// first request is full (epoch 0) and lists every partition; once the
// leader answers with a session id, each request names only the
// partitions whose fetch parameters changed, added or forgotten since the
// last, and the leader answers only partitions that changed. Any failure
// (a transport error, a session error, an answer without the session)
// drops the session: the next request is full again.
//
// followerSession is owned by one fetcher goroutine and does no I/O.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
)

// sentParams are a partition's fetch parameters as the leader's session
// holds them.
type sentParams struct {
	topicID     [16]byte
	offset      int64
	leaderEpoch int32
	lastEpoch   int32
	maxBytes    int32
}

type followerSession struct {
	addr  string // the leader's address the session is with
	id    int32  // 0: none; the next request is full
	epoch int32  // the next incremental request's epoch
	// sent is what the leader's session holds once the pending request
	// is answered: sent replaces held on success.
	held, sent map[kafka.TopicPartition]sentParams
}

// request builds the Fetch for positions at addr, full or incremental.
func (s *followerSession) request(addr string, positions []fetchPosition, maxBytes int32) *kmsg.FetchRequest {
	if addr != s.addr {
		s.reset()
		s.addr = addr
	}
	req := kmsg.NewPtrFetchRequest()
	req.SessionID, req.SessionEpoch = s.id, s.epoch
	s.sent = make(map[kafka.TopicPartition]sentParams, len(positions))
	byTopic := map[string]int{}
	for _, pos := range positions {
		sp := sentParams{topicID: pos.topicID, offset: pos.offset, leaderEpoch: pos.leaderEpoch, lastEpoch: pos.lastEpoch, maxBytes: maxBytes}
		s.sent[pos.p.tp] = sp
		if old, ok := s.held[pos.p.tp]; s.id != 0 && ok && old == sp {
			continue // the leader reads it with what it holds
		}
		i, ok := byTopic[pos.p.tp.Topic]
		if !ok {
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = pos.p.tp.Topic, pos.topicID
			req.Topics = append(req.Topics, t)
			i = len(req.Topics) - 1
			byTopic[pos.p.tp.Topic] = i
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = pos.p.tp.Partition
		rp.CurrentLeaderEpoch = pos.leaderEpoch
		rp.FetchOffset = pos.offset
		rp.LastFetchedEpoch = pos.lastEpoch
		rp.LogStartOffset = -1
		rp.PartitionMaxBytes = maxBytes
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	if s.id == 0 {
		return req
	}
	forgotten := map[kafka.TopicPartition]int{}
	for tp, old := range s.held {
		if _, ok := s.sent[tp]; ok {
			continue
		}
		key := kafka.TopicPartition{Topic: tp.Topic}
		i, ok := forgotten[key]
		if !ok {
			ft := kmsg.NewFetchRequestForgottenTopic()
			ft.Topic, ft.TopicID = tp.Topic, old.topicID
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
			i = len(req.ForgottenTopics) - 1
			forgotten[key] = i
		}
		req.ForgottenTopics[i].Partitions = append(req.ForgottenTopics[i].Partitions, tp.Partition)
	}
	return req
}

// answered records the leader's answer to the last request (nil: it
// failed in transport).
func (s *followerSession) answered(resp *kmsg.FetchResponse) {
	switch {
	case resp == nil || resp.ErrorCode != 0 || resp.SessionID == 0:
		// No session (any more): the leader has none, or cannot be
		// trusted to hold what was sent.
		s.reset()
	case s.id == 0 || resp.SessionID == s.id:
		if s.id == 0 {
			s.epoch = 0
		}
		s.id, s.epoch, s.held = resp.SessionID, nextSessionEpoch(s.epoch), s.sent
	default:
		s.reset() // an answer for another session: start over
	}
	s.sent = nil
}

func (s *followerSession) reset() { s.id, s.epoch, s.held, s.sent = 0, 0, nil, nil }

// nextSessionEpoch runs 1 to MaxInt32, then wraps to 1 (KIP-227).
func nextSessionEpoch(e int32) int32 {
	if e == 1<<31-1 {
		return 1
	}
	return e + 1
}
