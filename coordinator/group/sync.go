package group

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// SyncRequest is a SyncGroup. Assignments is the leader's, by member id.
type SyncRequest struct {
	Group      string
	Generation int32
	MemberID   string
	InstanceID *string
	// ProtocolType and Protocol (v5+) must match the group's when set.
	ProtocolType *string
	Protocol     *string
	Assignments  map[string][]byte
}

// SyncResult answers a SyncGroup.
type SyncResult struct {
	Err          error
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// checkMember is the validation Heartbeat, SyncGroup and OffsetCommit share:
// the static instance is not fenced, the member is known and the
// generation is current.
func (g *group) checkMember(memberID string, instanceID *string, generation int32) (*member, error) {
	if g.state == Dead {
		return nil, kerr.CoordinatorNotAvailable
	}
	if instanceID != nil {
		if cur, ok := g.instances[*instanceID]; ok && cur != memberID {
			return nil, kerr.FencedInstanceID
		}
	}
	m := g.members[memberID]
	if m == nil {
		return nil, kerr.UnknownMemberID
	}
	if generation != g.generation {
		return nil, kerr.IllegalGeneration
	}
	return m, nil
}

// Sync handles SyncGroup: members wait for the leader's assignment, which
// is written before anyone is answered.
func (c *Coordinator) Sync(ctx context.Context, req SyncRequest) SyncResult {
	var wait <-chan SyncResult
	var res SyncResult
	err := c.do(req.Group, func(s *groups, now time.Time, w *change) {
		g := s.lookup(req.Group, false, now)
		if g == nil {
			res = SyncResult{Err: kerr.UnknownMemberID}
			return
		}
		if g.consumer != nil && g.state != Dead {
			res = c.classicSync(g, req, now)
			return
		}
		wait, res = c.sync(g, req, now, w)
	})
	if err != nil {
		return SyncResult{Err: err}
	}
	return await(ctx, wait, res, SyncResult{Err: kerr.RebalanceInProgress})
}

// sync handles a SyncGroup on the shard's goroutine: the answer, or the
// channel it will arrive on once the leader's assignment is written.
func (c *Coordinator) sync(g *group, req SyncRequest, now time.Time, w *change) (<-chan SyncResult, SyncResult) {
	m, err := g.checkMember(req.MemberID, req.InstanceID, req.Generation)
	if err != nil {
		return nil, SyncResult{Err: err}
	}
	if (req.ProtocolType != nil && *req.ProtocolType != g.protocolType) || (req.Protocol != nil && *req.Protocol != g.protocol) {
		return nil, SyncResult{Err: kerr.InconsistentGroupProtocol}
	}
	m.deadline = now.Add(m.sessionTimeout)
	switch g.state {
	case PreparingRebalance:
		return nil, SyncResult{Err: kerr.RebalanceInProgress}
	case Stable:
		return nil, g.syncAnswer(m)
	case CompletingRebalance:
	default:
		return nil, SyncResult{Err: kerr.UnknownMemberID}
	}
	m.answerSync(SyncResult{Err: kerr.RebalanceInProgress}) // a retry replaces the first
	wait := make(chan SyncResult, 1)
	m.syncWait = wait
	g.synced[m.id] = true
	if m.id != g.leader {
		return wait, SyncResult{}
	}
	w.write(groupRecord(g.id, groupValue(g, req.Assignments)), func() {
		for id, o := range g.members {
			o.assignment = req.Assignments[id]
		}
		g.transition(Stable, c.cfg.Now())
		for _, o := range g.members {
			o.answerSync(g.syncAnswer(o))
		}
	}, func(err error) {
		for _, o := range g.members {
			o.answerSync(SyncResult{Err: persistError(err)})
		}
		c.prepareRebalance(g, c.cfg.Now())
	})
	return wait, SyncResult{}
}

func (g *group) syncAnswer(m *member) SyncResult {
	a := m.assignment
	if a == nil {
		a = []byte{}
	}
	return SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: a}
}

// Heartbeat handles Heartbeat: it keeps the member's session alive and
// tells it when to rejoin (REBALANCE_IN_PROGRESS).
func (c *Coordinator) Heartbeat(groupID string, generation int32, memberID string, instanceID *string) error {
	var res error
	err := c.do(groupID, func(s *groups, now time.Time, _ *change) {
		g := s.lookup(groupID, false, now)
		if g != nil && g.consumer != nil && g.state != Dead {
			res = c.classicHeartbeat(g, generation, memberID, instanceID, now)
			return
		}
		if g == nil || g.state == Empty {
			res = kerr.UnknownMemberID
			return
		}
		m, err := g.checkMember(memberID, instanceID, generation)
		if err != nil {
			res = err
			return
		}
		m.deadline = now.Add(m.sessionTimeout)
		if g.state == PreparingRebalance {
			res = kerr.RebalanceInProgress
		}
	})
	if err != nil {
		return err
	}
	return res
}

// LeaveMember names a member leaving: by id, by group.instance.id, or both
// (then they must agree).
type LeaveMember struct {
	MemberID   string
	InstanceID *string
}

// Leave handles LeaveGroup. The first error is the request's own; the slice
// has one entry per member.
func (c *Coordinator) Leave(groupID string, leaving []LeaveMember) (error, []error) {
	errs := make([]error, len(leaving))
	var top error
	err := c.do(groupID, func(s *groups, now time.Time, w *change) {
		g := s.lookup(groupID, false, now)
		if g == nil {
			for i := range errs {
				errs[i] = kerr.UnknownMemberID
			}
			return
		}
		if g.consumer != nil && g.state != Dead {
			c.classicLeave(g, leaving, errs, w)
			return
		}
		top = c.leave(g, leaving, errs, now, w)
	})
	if err != nil {
		return err, errs
	}
	return top, errs
}

// leave removes the leaving members of g on the shard's goroutine; errs
// gets each member's answer, the result is the request's.
func (c *Coordinator) leave(g *group, leaving []LeaveMember, errs []error, now time.Time, w *change) error {
	if g.state == Dead {
		return kerr.CoordinatorNotAvailable
	}
	removed := false
	for i, lm := range leaving {
		id := lm.MemberID
		if lm.InstanceID != nil {
			cur, ok := g.instances[*lm.InstanceID]
			switch {
			case !ok:
				errs[i] = kerr.UnknownMemberID
				continue
			case id != "" && id != cur:
				errs[i] = kerr.FencedInstanceID
				continue
			}
			id = cur
		}
		if _, ok := g.pending[id]; ok {
			delete(g.pending, id)
			continue
		}
		m := g.members[id]
		if m == nil {
			errs[i] = kerr.UnknownMemberID
			continue
		}
		m.answerJoin(JoinResult{Err: kerr.UnknownMemberID, MemberID: id, Generation: -1})
		m.answerSync(SyncResult{Err: kerr.UnknownMemberID})
		g.removeMember(id)
		removed = true
	}
	if removed && (g.state == Stable || g.state == CompletingRebalance) {
		c.prepareRebalance(g, now)
	}
	c.maybeCompleteJoin(g, now, w)
	return nil
}

// tickGroup runs g's timed steps: lapsed member ids, expired sessions, a
// CompletingRebalance whose members did not all sync in time, and the end
// of a PreparingRebalance.
func (c *Coordinator) tickGroup(g *group, now time.Time, w *change) {
	for id, until := range g.pending {
		if !now.Before(until) {
			delete(g.pending, id)
		}
	}
	expired := false
	for _, id := range append([]string(nil), g.order...) {
		m := g.members[id]
		// A member parked in JoinGroup or SyncGroup is alive by definition;
		// the rebalance and sync deadlines bound how long it waits.
		if m.awaitingJoin() || m.syncWait != nil || now.Before(m.deadline) {
			continue
		}
		g.removeMember(id)
		expired = true
	}
	if g.state == CompletingRebalance && !expired && !now.Before(g.syncDeadline) {
		for _, id := range append([]string(nil), g.order...) {
			if !g.synced[id] {
				g.removeMember(id)
				expired = true
			}
		}
	}
	if expired && (g.state == Stable || g.state == CompletingRebalance) {
		c.prepareRebalance(g, now)
	}
	c.maybeCompleteJoin(g, now, w)
}
