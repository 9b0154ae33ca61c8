package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
)

// OffsetCommit is one partition's commit.
type OffsetCommit struct {
	kafka.TopicPartition
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

// Committed is a committed offset as OffsetFetch reports it.
type Committed struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	// CommitTime is Unix milliseconds.
	CommitTime int64
	// record is the position of the offset's record in the partition's
	// log (in log order, not the offset), for the rule by which a
	// committed transaction's offset replaces a committed one (txn.go).
	record int64
}

// CommitOffsets handles OffsetCommit and answers one error per commit (nil
// for success). A generation below 0 commits for a group that does not use
// the coordinator's membership (admin tools, manual assignment): allowed
// while the group has no members. Members commit with their generation.
// The offsets are the group's once the log acknowledged them.
func (c *Coordinator) CommitOffsets(groupID string, generation int32, memberID string, instanceID *string, commits []OffsetCommit) []error {
	errs := make([]error, len(commits))
	fill := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if groupID == "" {
		return fill(kerr.InvalidGroupID)
	}
	err := c.do(groupID, func(s *groups, now time.Time, w *change) {
		c.commit(s, groupID, generation, memberID, instanceID, commits, errs, now, w)
	})
	if err != nil {
		return fill(err)
	}
	return errs
}

// commit validates and stages groupID's offset commits on the shard's
// goroutine; errs gets each commit's answer when w's write completes.
func (c *Coordinator) commit(s *groups, groupID string, generation int32, memberID string, instanceID *string, commits []OffsetCommit, errs []error, now time.Time, w *change) {
	fill := func(err error) {
		for i := range errs {
			errs[i] = err
		}
	}
	created := s.byID[groupID] == nil
	g := s.lookup(groupID, generation < 0, now)
	if g == nil {
		fill(kerr.IllegalGeneration)
		return
	}
	switch {
	case g.state == Dead:
		fill(kerr.CoordinatorNotAvailable)
		return
	case g.share != nil:
		fill(kerr.GroupIDNotFound) // Kafka's ShareGroup.validateOffsetCommit
		return
	case g.consumer != nil:
		if generation >= 0 || len(g.consumer.members) > 0 {
			if err := g.consumer.checkCommit(memberID, generation); err != nil {
				fill(err)
				return
			}
		}
	case generation < 0 && g.state == Empty:
		if instanceID != nil {
			if cur, ok := g.instances[*instanceID]; ok && cur != memberID {
				fill(kerr.FencedInstanceID)
				return
			}
		}
	case g.state == CompletingRebalance:
		// Offsets of the old generation's assignment are void until the
		// new one is handed out.
		fill(kerr.RebalanceInProgress)
		return
	default:
		m, err := g.checkMember(memberID, instanceID, generation)
		if err != nil {
			fill(err)
			return
		}
		m.deadline = now.Add(m.sessionTimeout)
	}
	var recs []Record
	var ok []int
	for i, oc := range commits {
		if len(oc.Metadata) > c.cfg.MetadataMaxBytes {
			errs[i] = kerr.OffsetMetadataTooLarge
			continue
		}
		o := Committed{Offset: oc.Offset, LeaderEpoch: oc.LeaderEpoch, Metadata: oc.Metadata, CommitTime: now.UnixMilli()}
		recs = append(recs, Record{Key: offsetKey(g.id, oc.TopicPartition), Value: offsetValue(o)})
		ok = append(ok, i)
	}
	if len(recs) == 0 {
		return
	}
	w.write(recs, func() {
		for _, i := range ok {
			oc := commits[i]
			g.offsets[oc.TopicPartition] = Committed{Offset: oc.Offset, LeaderEpoch: oc.LeaderEpoch, Metadata: oc.Metadata, CommitTime: now.UnixMilli(), record: s.nextRecord()}
		}
	}, func(err error) {
		for _, i := range ok {
			errs[i] = persistError(err)
		}
		if created {
			s.forgetCreated(g)
		}
	})
}

// Offsets returns every committed offset of a group (none for an unknown
// group: Kafka answers those with -1 and no error).
func (c *Coordinator) Offsets(groupID string) map[kafka.TopicPartition]Committed {
	out, _ := c.OffsetsAndPending(groupID)
	return out
}

// OffsetsAndPending returns every committed offset of a group, as Offsets
// does, and the partitions that have a transactional offset pending (an
// OffsetFetch that requires stable offsets answers them
// UNSTABLE_OFFSET_COMMIT), read together.
func (c *Coordinator) OffsetsAndPending(groupID string) (map[kafka.TopicPartition]Committed, map[kafka.TopicPartition]bool) {
	out := map[kafka.TopicPartition]Committed{}
	var pending map[kafka.TopicPartition]bool
	_ = c.do(groupID, func(s *groups, now time.Time, _ *change) {
		if g := s.lookup(groupID, false, now); g != nil {
			for tp, o := range g.offsets {
				o.record = 0
				out[tp] = o
			}
		}
		pending = s.txn.partitions(groupID)
	})
	return out, pending
}

// DeleteOffsets handles OffsetDelete: the first error is the request's,
// then one per partition. Offsets of topics the members of a consumer
// group are subscribed to stay (GROUP_SUBSCRIBED_TO_TOPIC).
func (c *Coordinator) DeleteOffsets(groupID string, tps []kafka.TopicPartition) (error, []error) {
	errs := make([]error, len(tps))
	var top error
	err := c.do(groupID, func(s *groups, now time.Time, w *change) {
		g := s.lookup(groupID, false, now)
		if g == nil || g.state == Dead || g.share != nil {
			top = kerr.GroupIDNotFound
			return
		}
		var subscribed map[string]bool
		if g.consumer != nil {
			subscribed = c.consumerSubscribedTopics(g.consumer)
		} else if g.state != Empty {
			if g.protocolType != "consumer" {
				top = kerr.NonEmptyGroup
				return
			}
			subscribed = g.subscribedTopics()
		}
		var recs []Record
		var gone []kafka.TopicPartition
		for i, tp := range tps {
			if subscribed[tp.Topic] {
				errs[i] = kerr.GroupSubscribedToTopic
				continue
			}
			// A pending transactional offset is deleted too (Kafka).
			if _, ok := g.offsets[tp]; ok || s.txn.pending(g.id, tp) {
				recs = append(recs, Record{Key: offsetKey(g.id, tp)})
				gone = append(gone, tp)
			}
		}
		w.write(recs, func() {
			for _, tp := range gone {
				delete(g.offsets, tp)
				s.txn.drop(g.id, tp)
			}
		}, func(err error) { top = persistError(err) })
	})
	if err != nil {
		return err, errs
	}
	return top, errs
}

// subscribedTopics is the topics a consumer group's members subscribe to,
// read from their metadata for the selected protocol. A subscription that
// does not decode counts as subscribed to nothing.
func (g *group) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if md.ReadFrom(m.metadataFor(g.protocol)) != nil {
			continue
		}
		for _, t := range md.Topics {
			out[t] = true
		}
	}
	return out
}

// expireOffsets drops offsets older than offsets.retention.minutes (Kafka's
// KIP-211 rule): for an empty group, counted from when it became empty (or
// from the commit, for groups that never had members); for a consumer group
// with members, only offsets of topics no member subscribes to, counted from
// the commit. An offset with a transactional one pending stays, and so
// does a group with a transaction open (Kafka's cleanupExpiredOffsets). An
// empty group with no offsets left is removed. A failed write is tried
// again at the next check.
func (c *Coordinator) expireOffsets(s *groups, g *group, now time.Time, w *change) {
	if g.state == Dead {
		return
	}
	retention := c.cfg.OffsetsRetention.Milliseconds()
	nowMs := now.UnixMilli()
	var subscribed map[string]bool
	switch {
	case g.consumer != nil:
		subscribed = c.consumerSubscribedTopics(g.consumer)
	case g.state == Empty:
	case g.protocolType == "consumer":
		subscribed = g.subscribedTopics()
	default:
		return
	}
	var recs []Record
	var gone []kafka.TopicPartition
	for tp, o := range g.offsets {
		base := o.CommitTime
		if g.empty() && g.protocolType != "" {
			base = max(base, g.stateSince.UnixMilli())
		}
		if subscribed[tp.Topic] || nowMs-base < retention || s.txn.pending(g.id, tp) {
			continue
		}
		recs = append(recs, Record{Key: offsetKey(g.id, tp)})
		gone = append(gone, tp)
	}
	removeGroup := g.empty() && len(g.offsets) == len(gone) && len(g.pending) == 0 && !s.txn.open(g.id)
	if removeGroup {
		recs = append(recs, groupTombstones(g.id)...)
	}
	w.write(recs, func() {
		for _, tp := range gone {
			delete(g.offsets, tp)
			s.txn.drop(g.id, tp)
		}
		if removeGroup {
			g.transition(Dead, now)
			s.remove(g)
		}
	}, nil)
}

// CheckMemberEpoch validates an OffsetFetch (v9+) that names a member of a
// KIP-848 group, as a commit is validated. Classic and unknown groups pass.
func (c *Coordinator) CheckMemberEpoch(groupID, memberID string, epoch int32) error {
	var res error
	err := c.do(groupID, func(s *groups, now time.Time, _ *change) {
		g := s.lookup(groupID, false, now)
		if g != nil && g.share != nil && g.state != Dead {
			res = kerr.GroupIDNotFound // Kafka's ShareGroup.validateOffsetFetch
			return
		}
		if g == nil || g.consumer == nil || g.state == Dead {
			return
		}
		res = g.consumer.checkCommit(memberID, epoch)
	})
	if err != nil {
		return err
	}
	return res
}
