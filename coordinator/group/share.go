package group

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Share groups (KIP-932): members heartbeat with ShareGroupHeartbeat
// naming the topics they subscribe to, and the coordinator assigns with
// the simple assignor (share_assign.go), where a partition may go to
// several members. There is no revocation: records are handed out per
// fetch by the partitions' leaders, so a member takes its target at once,
// at its next heartbeat, with the target's epoch. The coordinator keeps
//
//   - the group epoch, bumped by every change of membership, of a
//     member's subscription, or of the subscribed topics (created,
//     deleted, partitions added);
//   - the target assignment and its epoch, recomputed when older than the
//     group epoch;
//   - per member, its epoch and the assignment it was last given.
//
// A share group shares the group id namespace with classic and consumer
// groups: an id held by a group of another type answers
// GROUP_ID_NOT_FOUND to ShareGroupHeartbeat (and a share group's id
// answers ConsumerGroupHeartbeat GROUP_ID_NOT_FOUND, JoinGroup
// INCONSISTENT_GROUP_PROTOCOL, offset commits GROUP_ID_NOT_FOUND), as
// Kafka's GroupMetadataManager. Share groups commit no offsets here: their
// progress is share-partition state, kept by the share coordinator.

// ShareAssignor is the name of the share groups' assignor.
const ShareAssignor = "simple"

// shareMember is a member of a share group.
type shareMember struct {
	ID            string
	RackID        *string  `json:",omitempty"`
	ClientID      string   `json:",omitempty"`
	ClientHost    string   `json:",omitempty"`
	Subscribed    []string `json:",omitempty"`
	Epoch         int32
	PreviousEpoch int32
	Assigned      partitionSet `json:"-"`

	deadline time.Time
}

// shareGroup is the share part of a group.
type shareGroup struct {
	epoch       int32
	targetEpoch int32
	members     map[string]*shareMember
	target      map[string]partitionSet
	// topicsSeen is the subscribed topics' ids and partition counts the
	// target was computed for; a change bumps the epoch.
	topicsSeen string
	// stateTopics is every topic a member was ever assigned while it
	// exists: the topics the group may have share-partition state for
	// (deleted with the group).
	stateTopics map[[16]byte]bool
}

func newShareGroup() *shareGroup {
	return &shareGroup{members: map[string]*shareMember{}, target: map[string]partitionSet{}, stateTopics: map[[16]byte]bool{}}
}

// clone copies the group and its members; partition sets are never
// changed in place, so they are shared.
func (sg *shareGroup) clone() *shareGroup {
	out := &shareGroup{epoch: sg.epoch, targetEpoch: sg.targetEpoch, topicsSeen: sg.topicsSeen,
		members: make(map[string]*shareMember, len(sg.members)), target: maps.Clone(sg.target), stateTopics: maps.Clone(sg.stateTopics)}
	for id, m := range sg.members {
		cp := *m
		out.members[id] = &cp
	}
	return out
}

func (sg *shareGroup) sortedMembers() []*shareMember {
	out := make([]*shareMember, 0, len(sg.members))
	for _, m := range sg.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// state is Kafka's ShareGroupState: Empty or Stable (Dead once deleted).
func (sg *shareGroup) state() State {
	if len(sg.members) == 0 {
		return Empty
	}
	return Stable
}

// blank reports a group that holds nothing of any type: an id an
// operation created and never used, which a share group may take.
func (g *group) blank() bool {
	return g.share == nil && g.consumer == nil && g.state == Empty && len(g.members) == 0 &&
		len(g.pending) == 0 && len(g.offsets) == 0 && g.generation == 0 && g.protocolType == ""
}

// ShareHeartbeat is a ShareGroupHeartbeat (v1: the member names itself).
// SubscribedTopics nil means "as last time".
type ShareHeartbeat struct {
	Group            string
	MemberID         string
	MemberEpoch      int32
	RackID           *string
	SubscribedTopics []string
	ClientID         string
	ClientHost       string
}

// ShareHeartbeatResult answers it. Assignment is nil when the member's
// assignment did not change (see ShareGroupHeartbeat).
type ShareHeartbeatResult struct {
	Err               error
	Message           string
	MemberID          string
	MemberEpoch       int32
	HeartbeatInterval time.Duration
	Assignment        map[[16]byte][]int32
}

// shareTimeouts is a group's session timeout and heartbeat interval: the
// group's configs share.session.timeout.ms and share.heartbeat.interval.ms
// when set (and within the broker's bounds), else the broker's.
func (c *Coordinator) shareTimeouts(groupID string) (session, interval time.Duration) {
	session, interval = c.cfg.ShareSessionTimeout, c.cfg.ShareHeartbeatInterval
	if c.cfg.GroupConfig == nil {
		return session, interval
	}
	cfg := c.cfg.GroupConfig(groupID)
	read := func(key string, dst *time.Duration, lo, hi time.Duration) {
		v, ok := cfg[key]
		if !ok {
			return
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return
		}
		d := time.Duration(n) * time.Millisecond
		if lo > 0 && d < lo {
			d = lo
		}
		if hi > 0 && d > hi {
			d = hi
		}
		*dst = d
	}
	read("share.session.timeout.ms", &session, c.cfg.ShareMinSessionTimeout, c.cfg.ShareMaxSessionTimeout)
	read("share.heartbeat.interval.ms", &interval, c.cfg.ShareMinHeartbeatInterval, c.cfg.ShareMaxHeartbeatInterval)
	return session, interval
}

// ShareGroupHeartbeat handles ShareGroupHeartbeat: epoch 0 joins (the
// member names the topics it subscribes to), a positive epoch heartbeats,
// -1 leaves. As Kafka, the answer carries the member's assignment when it
// joins and when the assignment changed; Rill also carries it when the
// member comes back with its previous epoch (it missed the answer that
// moved it on, which may have carried the assignment). A member rejoining
// (epoch 0) under an id the group still has keeps its place and is given
// its assignment again (kgo rejoins with its own id after being fenced).
// Errors: INVALID_REQUEST, GROUP_ID_NOT_FOUND (no such share group for a
// heartbeat or leave, or the id is a classic or consumer group),
// UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, GROUP_MAX_SIZE_REACHED,
// NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE.
func (c *Coordinator) ShareGroupHeartbeat(req ShareHeartbeat) ShareHeartbeatResult {
	fail := func(err error, msg string) ShareHeartbeatResult {
		return ShareHeartbeatResult{Err: err, Message: msg, MemberID: req.MemberID, MemberEpoch: req.MemberEpoch}
	}
	switch {
	case strings.TrimSpace(req.Group) == "":
		return fail(kerr.InvalidRequest, "group id is empty")
	case req.MemberID == "":
		return fail(kerr.InvalidRequest, "member id is empty: a share group member names itself")
	case len(req.MemberID) > 36:
		return fail(kerr.InvalidRequest, "member id is longer than 36 characters")
	case req.MemberEpoch < -1:
		return fail(kerr.InvalidRequest, "member epoch below -1")
	case req.RackID != nil && strings.TrimSpace(*req.RackID) == "":
		return fail(kerr.InvalidRequest, "rack id is empty")
	case req.MemberEpoch == 0 && len(req.SubscribedTopics) == 0:
		return fail(kerr.InvalidRequest, "a joining member must subscribe to topic names")
	}
	session, interval := c.shareTimeouts(req.Group)
	var res ShareHeartbeatResult
	var removed string
	err := c.do(req.Group, func(s *groups, now time.Time, w *change) {
		res = c.shareHeartbeat(s, req, session, interval, now, w, &res, &removed)
	})
	if err != nil {
		return fail(err, "")
	}
	if removed != "" && res.Err == nil {
		c.shareMembersRemoved(req.Group, []string{removed})
	}
	return res
}

// shareHeartbeat works on a copy of the group, which becomes the group
// once its snapshot is written (at once when nothing persistent changed).
func (c *Coordinator) shareHeartbeat(s *groups, req ShareHeartbeat, session, interval time.Duration, now time.Time, w *change, out *ShareHeartbeatResult, removed *string) ShareHeartbeatResult {
	created := s.byID[req.Group] == nil
	g := s.lookup(req.Group, req.MemberEpoch == 0, now)
	fail := func(err error, msg string) ShareHeartbeatResult {
		if created && g != nil && g.share == nil {
			s.forgetCreated(g) // an id this request made up and did not keep
		}
		return ShareHeartbeatResult{Err: err, Message: msg, MemberID: req.MemberID, MemberEpoch: req.MemberEpoch}
	}
	switch {
	case g == nil:
		return fail(kerr.GroupIDNotFound, fmt.Sprintf("share group %s not found", req.Group))
	case g.state == Dead:
		return fail(kerr.CoordinatorNotAvailable, "the group is being deleted")
	case g.share == nil && !(req.MemberEpoch == 0 && g.blank() && !s.txn.open(g.id)):
		// An id with pending transactional offsets is a classic group's
		// (Kafka makes one on TxnOffsetCommit).
		if g.blank() && !s.txn.open(g.id) {
			return fail(kerr.GroupIDNotFound, fmt.Sprintf("share group %s not found", req.Group))
		}
		return fail(kerr.GroupIDNotFound, fmt.Sprintf("group %s is not a share group", req.Group))
	}
	ng := g.scratch()
	if ng.share == nil {
		ng.share = newShareGroup()
		ng.protocolType = "share"
	}
	sg := ng.share
	persist := func(res ShareHeartbeatResult) ShareHeartbeatResult {
		w.write(shareGroupRecord(ng), func() { *g = *ng }, func(err error) {
			*out = fail(persistError(err), "")
			if created {
				s.forgetCreated(g)
			}
		})
		return res
	}
	m := sg.members[req.MemberID]
	if req.MemberEpoch == -1 {
		if m == nil {
			return fail(kerr.UnknownMemberID, fmt.Sprintf("member %s is not in share group %s", req.MemberID, req.Group))
		}
		c.removeShareMember(ng, m.ID, now)
		c.refreshShareTarget(ng, true)
		*removed = m.ID
		return persist(ShareHeartbeatResult{MemberID: req.MemberID, MemberEpoch: -1, HeartbeatInterval: interval})
	}
	changed := false
	// As Kafka: the assignment goes back on a join, on a full request
	// (the subscription sent), and when it changed.
	full := req.MemberEpoch == 0 || req.SubscribedTopics != nil
	switch {
	case m == nil && req.MemberEpoch != 0:
		return fail(kerr.UnknownMemberID, fmt.Sprintf("member %s is not in share group %s", req.MemberID, req.Group))
	case m == nil:
		if c.cfg.ShareMaxGroupSize > 0 && len(sg.members) >= c.cfg.ShareMaxGroupSize {
			return fail(kerr.GroupMaxSizeReached, fmt.Sprintf("share group %s has reached its maximum size of %d members", req.Group, c.cfg.ShareMaxGroupSize))
		}
		m = &shareMember{ID: req.MemberID, Assigned: partitionSet{}}
		sg.members[m.ID] = m
		if len(sg.members) == 1 {
			ng.transition(Stable, now)
		}
		changed = true
	case req.MemberEpoch == 0:
		// A member that lost its epoch (fenced, or its coordinator
		// moved) rejoins under its own id: it keeps its place.
	case req.MemberEpoch > m.Epoch:
		return fail(kerr.FencedMemberEpoch, fmt.Sprintf("member epoch %d is above the current %d", req.MemberEpoch, m.Epoch))
	case req.MemberEpoch < m.Epoch:
		if req.MemberEpoch != m.PreviousEpoch {
			return fail(kerr.FencedMemberEpoch, fmt.Sprintf("member epoch %d is not the current %d", req.MemberEpoch, m.Epoch))
		}
		full = true // it missed our answer
	}
	m.deadline = now.Add(session)
	m.ClientID, m.ClientHost = req.ClientID, req.ClientHost
	bump := changed // a new member is a new group epoch
	if req.RackID != nil && (m.RackID == nil || *m.RackID != *req.RackID) {
		// Shown by ShareGroupDescribe, so part of the snapshot; the
		// simple assignor does not place by rack, so no new epoch.
		m.RackID = req.RackID
		changed = true
	}
	if req.SubscribedTopics != nil {
		subs := slices.Clone(req.SubscribedTopics)
		sort.Strings(subs)
		subs = slices.Compact(subs)
		if !slices.Equal(subs, m.Subscribed) {
			m.Subscribed = subs
			changed, bump = true, true
		}
	}
	if c.refreshShareTarget(ng, bump) {
		changed = true
	}
	before := m.Assigned
	if m.Epoch != sg.targetEpoch {
		m.PreviousEpoch, m.Epoch = m.Epoch, sg.targetEpoch
		m.Assigned = sg.target[m.ID]
		if m.Assigned == nil {
			m.Assigned = partitionSet{}
		}
		for p := range m.Assigned {
			sg.stateTopics[p.Topic] = true
		}
		changed = true
	}
	res := ShareHeartbeatResult{MemberID: m.ID, MemberEpoch: m.Epoch, HeartbeatInterval: interval}
	if full || !m.Assigned.equal(before) {
		res.Assignment = m.Assigned.byTopic()
	}
	if changed {
		return persist(res)
	}
	*g = *ng // sessions and client details: nothing the log holds
	return res
}

// removeShareMember drops a member.
func (c *Coordinator) removeShareMember(g *group, id string, now time.Time) {
	sg := g.share
	delete(sg.members, id)
	delete(sg.target, id)
	if len(sg.members) == 0 {
		g.transition(Empty, now)
	}
}

// shareSubscribed resolves a member's subscription to existing topics.
func (c *Coordinator) shareSubscribed(m *shareMember) []TopicInfo {
	if c.cfg.Topics == nil {
		return nil
	}
	var out []TopicInfo
	for _, name := range m.Subscribed {
		if t, ok := c.cfg.Topics.TopicByName(name); ok {
			out = append(out, t)
		}
	}
	return out
}

// refreshShareTarget bumps the group epoch once when bump is set
// (membership or subscriptions changed) or the subscribed topics changed
// shape (created, deleted, partitions added), and recomputes the target
// when it is older than the group epoch. It reports whether anything
// changed.
func (c *Coordinator) refreshShareTarget(g *group, bump bool) bool {
	sg := g.share
	in := shareAssignInput{subscribed: map[string][][16]byte{}, partitions: map[[16]byte]int32{}, previous: sg.target}
	for _, m := range sg.sortedMembers() {
		in.members = append(in.members, m.ID)
		for _, t := range c.shareSubscribed(m) {
			in.subscribed[m.ID] = append(in.subscribed[m.ID], t.ID)
			in.partitions[t.ID] = t.Partitions
		}
	}
	var seen []string
	for _, id := range sortedIDs(keysOf(in.partitions)) {
		seen = append(seen, fmt.Sprintf("%x:%d", id, in.partitions[id]))
	}
	changed := false
	if s := strings.Join(seen, ","); s != sg.topicsSeen {
		sg.topicsSeen = s
		bump = true
	}
	// A deleted topic's share state goes with it.
	if c.cfg.Topics != nil {
		for id := range sg.stateTopics {
			if _, ok := c.cfg.Topics.TopicByID(id); !ok {
				delete(sg.stateTopics, id)
				changed = true
			}
		}
	}
	if bump {
		sg.epoch++
		changed = true
	}
	if sg.epoch <= sg.targetEpoch {
		return changed
	}
	sg.target = assignShare(in)
	sg.targetEpoch = sg.epoch
	return true
}

// tickShareGroup removes members whose session expired, once the group's
// new snapshot is written (a failed write leaves them for the next tick).
func (c *Coordinator) tickShareGroup(g *group, now time.Time, w *change) {
	expired := false
	for _, m := range g.share.members {
		expired = expired || !now.Before(m.deadline)
	}
	if !expired {
		return
	}
	ng := g.scratch()
	var gone []string
	for _, m := range ng.share.sortedMembers() {
		if !now.Before(m.deadline) {
			c.removeShareMember(ng, m.ID, now)
			gone = append(gone, m.ID)
		}
	}
	c.refreshShareTarget(ng, true)
	w.write(shareGroupRecord(ng), func() {
		*g = *ng
		c.shareMembersRemoved(g.id, gone)
	}, nil)
}

// shareMembersRemoved tells Config.OnShareMemberRemoved, off the shard's
// goroutine (the hook reaches the share partitions, which may take time).
func (c *Coordinator) shareMembersRemoved(groupID string, ids []string) {
	if c.cfg.OnShareMemberRemoved == nil || len(ids) == 0 {
		return
	}
	go func() {
		for _, id := range ids {
			c.cfg.OnShareMemberRemoved(groupID, id)
		}
	}()
}
