package group

import (
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinRequest is a JoinGroup.
type JoinRequest struct {
	Group            string
	MemberID         string
	InstanceID       *string
	ClientID         string
	ClientHost       string
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	ProtocolType     string
	Protocols        []Protocol
	// Version is the JoinGroup version: from v4 a new dynamic member must
	// rejoin with the id it is given; from v9 a rejoining static leader is
	// told to skip the assignment.
	Version int16
}

// JoinResult answers a JoinGroup. Members is filled for the leader only.
type JoinResult struct {
	Err            error
	Generation     int32
	ProtocolType   string
	Protocol       string
	Leader         string
	MemberID       string
	SkipAssignment bool
	Members        []JoinedMember
}

// JoinedMember is a member as the leader sees it: its metadata for the
// selected protocol.
type JoinedMember struct {
	MemberID   string
	InstanceID *string
	Metadata   []byte
}

// Join handles JoinGroup, waiting until the rebalance it joins completes.
func (c *Coordinator) Join(ctx context.Context, req JoinRequest) JoinResult {
	fail := func(err error) JoinResult { return JoinResult{Err: err, MemberID: req.MemberID, Generation: -1} }
	switch {
	case req.Group == "":
		return fail(kerr.InvalidGroupID)
	case req.SessionTimeout < c.cfg.MinSessionTimeout || req.SessionTimeout > c.cfg.MaxSessionTimeout:
		return fail(kerr.InvalidSessionTimeout)
	}
	if req.RebalanceTimeout <= 0 {
		req.RebalanceTimeout = req.SessionTimeout // v0 has none
	}
	var wait <-chan JoinResult
	var res JoinResult
	err := c.do(req.Group, func(s *groups, now time.Time, w *change) {
		g := s.lookup(req.Group, req.MemberID == "", now)
		if g == nil {
			res = fail(kerr.UnknownMemberID)
			return
		}
		wait = c.join(g, req, now, w, &res)
	})
	if err != nil {
		return fail(err)
	}
	return await(ctx, wait, res, fail(kerr.RebalanceInProgress))
}

// await returns res when wait is nil, else the answer that arrives on
// wait, or canceled if ctx ends first (the connection closed: the member
// stays in the rebalance and the buffered answer is dropped).
func await[T any](ctx context.Context, wait <-chan T, res, canceled T) T {
	if wait == nil {
		return res
	}
	select {
	case r := <-wait:
		return r
	case <-ctx.Done():
		return canceled
	}
}

// join returns the channel the answer will arrive on, or nil when
// *res is the answer (set by w's completion when the join writes).
func (c *Coordinator) join(g *group, req JoinRequest, now time.Time, w *change, res *JoinResult) <-chan JoinResult {
	fail := func(err error) <-chan JoinResult {
		*res = JoinResult{Err: err, MemberID: req.MemberID, Generation: -1}
		return nil
	}
	if g.state == Dead {
		return fail(kerr.CoordinatorNotAvailable)
	}
	if g.share != nil {
		return fail(kerr.InconsistentGroupProtocol) // Kafka: a group of another type
	}
	if g.consumer != nil {
		if len(g.consumer.members) > 0 {
			// A KIP-848 group with members takes classic members of the
			// consumer protocol (consumer_classic.go).
			c.classicJoin(g, req, now, w, res)
			return nil
		}
		g.consumer = nil // an empty one converts back, keeping its offsets
	}
	if !g.supports(req.ProtocolType, req.Protocols) {
		return fail(kerr.InconsistentGroupProtocol)
	}
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	if req.MemberID == "" {
		return c.joinNewMember(g, req, now, w, res)
	}
	if _, ok := g.pending[req.MemberID]; ok {
		// The rejoin that follows MEMBER_ID_REQUIRED.
		m := newMember(req.MemberID, req, now)
		g.addMember(m)
		return c.awaitJoin(g, m, req.Version, now, w)
	}
	if req.InstanceID != nil {
		if cur, ok := g.instances[*req.InstanceID]; ok && cur != req.MemberID {
			return fail(kerr.FencedInstanceID)
		}
	}
	m := g.members[req.MemberID]
	if m == nil {
		return fail(kerr.UnknownMemberID)
	}
	m.refresh(req, now)
	switch g.state {
	case CompletingRebalance, Stable:
		// Same protocols and not the leader (whose rejoin asks for a new
		// assignment): the member missed its answer; repeat it.
		if sameProtocols(m.protocols, req.Protocols) && (g.state == CompletingRebalance || m.id != g.leader) {
			*res = c.joinAnswer(g, m)
			return nil
		}
	}
	m.protocols = req.Protocols
	return c.awaitJoin(g, m, req.Version, now, w)
}

// refresh takes a rejoining member's client and timeouts from its
// JoinGroup and restarts its session.
func (m *member) refresh(req JoinRequest, now time.Time) {
	m.clientID, m.clientHost = req.ClientID, req.ClientHost
	m.sessionTimeout, m.rebalanceTimeout = req.SessionTimeout, req.RebalanceTimeout
	m.deadline = now.Add(m.sessionTimeout)
}

func newMember(id string, req JoinRequest, now time.Time) *member {
	return &member{
		id:               id,
		instanceID:       req.InstanceID,
		clientID:         req.ClientID,
		clientHost:       req.ClientHost,
		sessionTimeout:   req.SessionTimeout,
		rebalanceTimeout: req.RebalanceTimeout,
		protocols:        req.Protocols,
		deadline:         now.Add(req.SessionTimeout),
	}
}

func (c *Coordinator) joinNewMember(g *group, req JoinRequest, now time.Time, w *change, res *JoinResult) <-chan JoinResult {
	if req.InstanceID != nil {
		if old, ok := g.instances[*req.InstanceID]; ok {
			return c.rejoinStatic(g, req, old, now, w, res)
		}
	}
	if c.cfg.MaxGroupSize > 0 && len(g.members)+len(g.pending) >= c.cfg.MaxGroupSize {
		*res = JoinResult{Err: kerr.GroupMaxSizeReached, Generation: -1}
		return nil
	}
	prefix := req.ClientID
	if req.InstanceID != nil {
		prefix = *req.InstanceID
	}
	id := prefix + "-" + newUUID()
	if req.InstanceID == nil && req.Version >= 4 {
		g.pending[id] = now.Add(req.SessionTimeout)
		*res = JoinResult{Err: kerr.MemberIDRequired, MemberID: id, Generation: -1}
		return nil
	}
	m := newMember(id, req, now)
	g.addMember(m)
	return c.awaitJoin(g, m, req.Version, now, w)
}

// rejoinStatic handles a known group.instance.id joining with no member id:
// a restarted static member. It gets a new id and the old one is fenced;
// with unchanged protocols in a Stable group it keeps its assignment and
// no rebalance happens: the generation with the new id is written first,
// and nothing changes (nobody is fenced) if that fails.
func (c *Coordinator) rejoinStatic(g *group, req JoinRequest, old string, now time.Time, w *change, res *JoinResult) <-chan JoinResult {
	prev := g.members[old]
	newID := *req.InstanceID + "-" + newUUID()
	replace := func() *member {
		prev.answerJoin(JoinResult{Err: kerr.FencedInstanceID, MemberID: old, Generation: -1})
		prev.answerSync(SyncResult{Err: kerr.FencedInstanceID})
		m := g.replaceMemberID(old, newID)
		m.refresh(req, now)
		return m
	}
	if g.state == Stable && sameProtocols(prev.protocols, req.Protocols) {
		v := groupValue(g, nil)
		for i := range v.Members {
			if vm := &v.Members[i]; vm.MemberID == old {
				vm.MemberID, vm.ClientID, vm.ClientHost = newID, req.ClientID, req.ClientHost
				vm.SessionTimeoutMillis = int32(req.SessionTimeout.Milliseconds())
				vm.RebalanceTimeoutMillis = int32(req.RebalanceTimeout.Milliseconds())
			}
		}
		if g.leader == old {
			v.Leader = kmsg.StringPtr(newID)
		}
		w.write(groupRecord(g.id, v), func() {
			m := replace()
			*res = c.joinAnswer(g, m)
			res.SkipAssignment = m.id == g.leader && req.Version >= 9
		}, func(err error) {
			*res = JoinResult{Err: persistError(err), Generation: -1}
		})
		return nil
	}
	m := replace()
	m.protocols = req.Protocols
	return c.awaitJoin(g, m, req.Version, now, w)
}

// awaitJoin parks m's JoinGroup until the rebalance completes, starting one
// if the group is not already rebalancing.
func (c *Coordinator) awaitJoin(g *group, m *member, version int16, now time.Time, w *change) <-chan JoinResult {
	if m.joinWait != nil {
		// A second JoinGroup from the same member (a retry on a new
		// connection) replaces the first.
		m.answerJoin(JoinResult{Err: kerr.RebalanceInProgress, MemberID: m.id, Generation: -1})
	}
	wait := make(chan JoinResult, 1)
	m.joinWait, m.joinVersion = wait, version
	if g.state == PreparingRebalance {
		g.joinedDuringDelay = true
	} else {
		c.prepareRebalance(g, now)
	}
	c.maybeCompleteJoin(g, now, w)
	return wait
}

// joinAnswer is the JoinGroup answer for m in the current generation.
func (c *Coordinator) joinAnswer(g *group, m *member) JoinResult {
	r := JoinResult{
		Generation:   g.generation,
		ProtocolType: g.protocolType,
		Protocol:     g.protocol,
		Leader:       g.leader,
		MemberID:     m.id,
	}
	if m.id == g.leader {
		for _, id := range g.order {
			o := g.members[id]
			r.Members = append(r.Members, JoinedMember{MemberID: o.id, InstanceID: o.instanceID, Metadata: o.metadataFor(g.protocol)})
		}
	}
	return r
}

// prepareRebalance starts a rebalance: every member must rejoin.
func (c *Coordinator) prepareRebalance(g *group, now time.Time) {
	if g.state == CompletingRebalance {
		// The assignment being handed out is void.
		for _, m := range g.members {
			m.assignment = nil
			m.answerSync(SyncResult{Err: kerr.RebalanceInProgress})
		}
	}
	wasEmpty := g.state == Empty
	g.transition(PreparingRebalance, now)
	timeout := g.maxRebalanceTimeout()
	g.rebalanceDeadline = now.Add(timeout)
	g.initialDelayUntil = time.Time{}
	if wasEmpty && c.cfg.InitialRebalanceDelay > 0 {
		g.initialDelayUntil = now.Add(min(c.cfg.InitialRebalanceDelay, timeout))
		g.initialDelayCap = now.Add(timeout)
		g.joinedDuringDelay = false
	}
}

// maybeCompleteJoin ends PreparingRebalance once every member has rejoined
// or the rebalance timeout passed; the first rebalance of an empty group
// instead waits out its initial delay, extended while members arrive.
func (c *Coordinator) maybeCompleteJoin(g *group, now time.Time, w *change) {
	if g.state != PreparingRebalance {
		return
	}
	if !g.initialDelayUntil.IsZero() {
		if now.Before(g.initialDelayUntil) {
			return
		}
		if g.joinedDuringDelay && now.Before(g.initialDelayCap) {
			g.initialDelayUntil = minTime(now.Add(c.cfg.InitialRebalanceDelay), g.initialDelayCap)
			g.joinedDuringDelay = false
			return
		}
		c.completeJoin(g, now, w)
		return
	}
	if g.allJoined() || !now.Before(g.rebalanceDeadline) {
		c.completeJoin(g, now, w)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// completeJoin starts the next generation with the members that rejoined.
// With none, the group becomes Empty at the next generation once that is
// written; if the write fails the group stays as it is and the next tick
// tries again.
func (c *Coordinator) completeJoin(g *group, now time.Time, w *change) {
	if !slices.ContainsFunc(g.order, func(id string) bool { return g.members[id].awaitingJoin() }) {
		v := kmsg.GroupMetadataValue{Version: groupValueVersion, ProtocolType: g.protocolType,
			Generation: g.generation + 1, CurrentStateTimestamp: now.UnixMilli()}
		w.write(groupRecord(g.id, v), func() {
			for _, id := range slices.Clone(g.order) {
				g.removeMember(id)
			}
			g.initialDelayUntil = time.Time{}
			g.generation++
			g.protocol, g.leader = "", ""
			g.transition(Empty, now)
		}, nil)
		return
	}
	for _, id := range slices.Clone(g.order) {
		if !g.members[id].awaitingJoin() {
			g.removeMember(id)
		}
	}
	g.initialDelayUntil = time.Time{}
	g.generation++
	g.protocol = g.selectProtocol()
	if g.members[g.leader] == nil {
		g.leader = g.order[0]
	}
	g.transition(CompletingRebalance, now)
	g.synced = map[string]bool{}
	g.syncDeadline = now.Add(g.maxRebalanceTimeout())
	for _, id := range g.order {
		m := g.members[id]
		m.deadline = now.Add(m.sessionTimeout)
		m.answerJoin(c.joinAnswer(g, m))
	}
}
