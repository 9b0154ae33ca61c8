package group

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/shard"
)

// groups is the groups of one offsets partition: the state of one shard of
// the coordinator runtime. Its methods and the operations on it run on the
// shard's goroutine.
type groups struct {
	c    *Coordinator
	p    int32
	byID map[string]*group
	// replay is what the load has read so far (nil once loaded).
	replay *replay
	// lastRetentionCheck and retentionRound drive offset retention: every
	// offsets.retention.check.interval.ms a new round starts and each
	// group's offsets are checked once in it.
	lastRetentionCheck time.Time
	retentionRound     int
	// txn is the offsets of open transactions (txn.go).
	txn txnOffsets
	// records is the position of the last offset record applied, in log
	// order (Committed.record).
	records int64
}

var _ shard.State[*groups] = (*groups)(nil)

func newGroups(c *Coordinator, p int32) *groups {
	return &groups{c: c, p: p, byID: map[string]*group{}, replay: newReplay(), txn: txnOffsets{}}
}

// lookup returns a group, creating an Empty one when create is set.
func (s *groups) lookup(id string, create bool, now time.Time) *group {
	g := s.byID[id]
	if g == nil && create {
		g = newGroup(id, now)
		g.retentionRound = s.retentionRound
		s.byID[id] = g
	}
	return g
}

// remove drops a Dead group.
func (s *groups) remove(g *group) {
	if s.byID[g.id] == g {
		delete(s.byID, g.id)
	}
}

// forgetCreated removes a group an operation created for a write that
// failed, if nothing else came of it.
func (s *groups) forgetCreated(g *group) {
	if g.state == Empty && g.consumer == nil && g.share == nil && len(g.members) == 0 && len(g.pending) == 0 && len(g.offsets) == 0 && g.generation == 0 && !s.txn.open(g.id) {
		s.remove(g)
	}
}

func (s *groups) sorted() []*group {
	out := make([]*group, 0, len(s.byID))
	for _, g := range s.byID {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Tick returns one timed operation per group with something timed: its
// sessions and rebalance deadlines, and once per retention round its
// offsets.
func (s *groups) Tick(now time.Time) []shard.Timer[*groups] {
	if now.Sub(s.lastRetentionCheck) >= s.c.cfg.RetentionCheckInterval {
		s.lastRetentionCheck = now
		s.retentionRound++
	}
	var out []shard.Timer[*groups]
	for _, g := range s.sorted() {
		if !g.timed() && g.retentionRound == s.retentionRound {
			continue
		}
		id := g.id
		out = append(out, shard.Timer[*groups]{Key: id, Op: func(s *groups, now time.Time) ([]shard.Record, func(error)) {
			w := new(change)
			s.c.tick(s, id, now, w)
			return w.records, w.complete
		}})
	}
	return out
}

// tick runs a group's timed steps. Offsets are checked in the same
// operation only when the other steps wrote nothing (an operation writes
// once); else at the next tick.
func (c *Coordinator) tick(s *groups, id string, now time.Time, w *change) {
	g := s.byID[id]
	if g == nil || g.state == Dead {
		return
	}
	if g.share != nil {
		c.tickShareGroup(g, now, w)
		return // no offsets to expire
	}
	if g.consumer != nil {
		c.tickConsumerGroup(g, now, w)
	} else {
		c.tickGroup(g, now, w)
	}
	if len(w.records) == 0 && g.retentionRound != s.retentionRound {
		g.retentionRound = s.retentionRound
		c.expireOffsets(s, g, now, w)
	}
}

// Unloaded answers every parked JoinGroup and SyncGroup NOT_COORDINATOR:
// their members find the new coordinator.
func (s *groups) Unloaded() {
	for _, g := range s.byID {
		g.answerAll(kerr.NotCoordinator)
	}
}
