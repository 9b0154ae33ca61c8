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
// is persisted before anyone is answered.
func (c *Coordinator) Sync(ctx context.Context, req SyncRequest) SyncResult {
	if !c.Owns(req.Group) {
		return SyncResult{Err: kerr.NotCoordinator}
	}
	g := c.lookup(req.Group, false)
	if g == nil {
		return SyncResult{Err: kerr.UnknownMemberID}
	}
	g.mu.Lock()
	wait, res := c.syncLocked(g, req, c.cfg.Now())
	g.mu.Unlock()
	return await(ctx, wait, res, SyncResult{Err: kerr.RebalanceInProgress})
}

func (c *Coordinator) syncLocked(g *group, req SyncRequest, now time.Time) (<-chan SyncResult, SyncResult) {
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
	for id, o := range g.members {
		o.assignment = req.Assignments[id]
	}
	if err := c.persistGroup(g); err != nil {
		for _, o := range g.members {
			o.assignment = nil
			o.answerSync(SyncResult{Err: persistError(err)})
		}
		c.prepareRebalance(g, now)
		return wait, SyncResult{}
	}
	g.transition(Stable, now)
	for _, o := range g.members {
		o.answerSync(g.syncAnswer(o))
	}
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
	if !c.Owns(groupID) {
		return kerr.NotCoordinator
	}
	g := c.lookup(groupID, false)
	if g == nil {
		return kerr.UnknownMemberID
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == Empty {
		return kerr.UnknownMemberID
	}
	m, err := g.checkMember(memberID, instanceID, generation)
	if err != nil {
		return err
	}
	m.deadline = c.cfg.Now().Add(m.sessionTimeout)
	if g.state == PreparingRebalance {
		return kerr.RebalanceInProgress
	}
	return nil
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
	if !c.Owns(groupID) {
		return kerr.NotCoordinator, errs
	}
	g := c.lookup(groupID, false)
	if g == nil {
		for i := range errs {
			errs[i] = kerr.UnknownMemberID
		}
		return nil, errs
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == Dead {
		return kerr.CoordinatorNotAvailable, errs
	}
	now := c.cfg.Now()
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
	c.maybeCompleteJoin(g, now)
	return nil, errs
}

// tickGroup runs g's timed steps: lapsed member ids, expired sessions, a
// CompletingRebalance whose members did not all sync in time, and the end
// of a PreparingRebalance.
func (c *Coordinator) tickGroup(g *group, now time.Time) {
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
	c.maybeCompleteJoin(g, now)
}
