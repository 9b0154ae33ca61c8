package group

import (
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// KIP-848 consumer groups: the broker assigns. Members heartbeat with
// ConsumerGroupHeartbeat, telling their subscription and the partitions
// they own; the coordinator keeps
//
//   - the group epoch, bumped by every change of membership, subscription
//     or subscribed topics' partition counts;
//   - the target assignment, recomputed by the server-side assignor when it
//     is older than the group epoch;
//   - per member, its epoch and the partitions it was given. A member
//     moves to the target in two steps, as Kafka's CurrentAssignmentBuilder
//     does: it first gives up partitions no longer its own (keeping its
//     epoch: UnrevokedPartitions) and, once its heartbeat shows them gone,
//     takes the new epoch and the target partitions no other member still
//     holds (UnreleasedPartitions until all are free, then Stable).
//
// So a partition is never held by two members. A member that does not
// revoke within its rebalance timeout, or stops heartbeating for the
// session timeout, is removed.

// TopicInfo is a topic as the assignors see it.
type TopicInfo struct {
	Name       string
	ID         [16]byte
	Partitions int32
}

// TopicSource is the broker's topic catalog.
type TopicSource interface {
	TopicByName(name string) (TopicInfo, bool)
	TopicByID(id [16]byte) (TopicInfo, bool)
	AllTopics() []TopicInfo
	// PartitionRacks is the racks (broker.rack) of the brokers holding
	// each partition's replicas, by partition number; nil when no broker
	// has a rack or the topic is unknown.
	PartitionRacks(id [16]byte) [][]string
}

// memberState is a KIP-848 member's reconciliation state.
type memberState string

const (
	memberStable     memberState = "Stable"
	memberUnrevoked  memberState = "UnrevokedPartitions"
	memberUnreleased memberState = "UnreleasedPartitions"
)

type consumerMember struct {
	ID               string
	InstanceID       *string       `json:",omitempty"`
	RackID           *string       `json:",omitempty"`
	ClientID         string        `json:",omitempty"`
	ClientHost       string        `json:",omitempty"`
	RebalanceTimeout time.Duration `json:",omitempty"`
	Subscribed       []string      `json:",omitempty"`
	Regex            string        `json:",omitempty"`
	Assignor         string        `json:",omitempty"`
	Epoch            int32
	PreviousEpoch    int32
	State            memberState
	Assigned         partitionSet `json:"-"`
	Revoking         partitionSet `json:"-"`

	// Classic is set for a member using the classic protocol
	// (JoinGroup, SyncGroup, Heartbeat) in the consumer group.
	Classic *classicMember `json:",omitempty"`

	deadline       time.Time
	revokeDeadline time.Time
	// joinDeadline is set while a classic member has been told to
	// rejoin, syncDeadline between its JoinGroup and SyncGroup.
	joinDeadline, syncDeadline time.Time
}

// consumerGroup is the KIP-848 part of a group.
type consumerGroup struct {
	epoch       int32
	targetEpoch int32
	members     map[string]*consumerMember
	target      map[string]partitionSet
	// topicsSeen is the subscribed topics' ids and partition counts the
	// target was computed for; a change bumps the epoch.
	topicsSeen string
}

// clone copies the group and its members; partition sets are never
// changed in place, so they are shared.
func (cg *consumerGroup) clone() *consumerGroup {
	out := &consumerGroup{epoch: cg.epoch, targetEpoch: cg.targetEpoch, topicsSeen: cg.topicsSeen,
		members: make(map[string]*consumerMember, len(cg.members)), target: maps.Clone(cg.target)}
	for id, m := range cg.members {
		cp := *m
		out.members[id] = &cp
	}
	return out
}

// scratch is a copy of a KIP-848 group (or of an empty classic one about
// to convert) that an operation changes and the group takes once the
// change is written: *g = *scratch.
func (g *group) scratch() *group {
	ng := *g
	if g.consumer != nil {
		ng.consumer = g.consumer.clone()
	}
	if g.share != nil {
		ng.share = g.share.clone()
	}
	return &ng
}

func newConsumerGroup() *consumerGroup {
	return &consumerGroup{members: map[string]*consumerMember{}, target: map[string]partitionSet{}}
}

func (cg *consumerGroup) sortedMembers() []*consumerMember {
	out := make([]*consumerMember, 0, len(cg.members))
	for _, m := range cg.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// state is the group's state as Kafka names consumer group states.
func (cg *consumerGroup) state() State {
	switch {
	case len(cg.members) == 0:
		return Empty
	case cg.epoch > cg.targetEpoch:
		return "Assigning"
	}
	for _, m := range cg.members {
		if m.Epoch != cg.targetEpoch || m.State != memberStable {
			return "Reconciling"
		}
	}
	return Stable
}

// ownedByOthers reports whether a member other than id holds or is still
// revoking p.
func (cg *consumerGroup) ownedByOthers(id string, p idPartition) bool {
	for _, m := range cg.members {
		if m.ID != id && (m.Assigned[p] || m.Revoking[p]) {
			return true
		}
	}
	return false
}

// ConsumerHeartbeat is a ConsumerGroupHeartbeat. Nil fields mean "as last
// time"; Owned nil likewise, and non-nil empty means the member owns
// nothing.
type ConsumerHeartbeat struct {
	Group            string
	MemberID         string
	MemberEpoch      int32
	InstanceID       *string
	RackID           *string
	RebalanceTimeout time.Duration
	SubscribedTopics []string
	SubscribedRegex  *string
	ServerAssignor   *string
	Owned            map[[16]byte][]int32
	ClientID         string
	ClientHost       string
}

// ConsumerHeartbeatResult answers it. Assignment is nil when unchanged.
type ConsumerHeartbeatResult struct {
	Err               error
	Message           string
	MemberID          string
	MemberEpoch       int32
	HeartbeatInterval time.Duration
	Assignment        map[[16]byte][]int32
}

// ConsumerHeartbeat handles ConsumerGroupHeartbeat: join (epoch 0),
// heartbeat and reconcile (epoch > 0), leave (-1, or -2 for a static
// member).
func (c *Coordinator) ConsumerHeartbeat(req ConsumerHeartbeat) ConsumerHeartbeatResult {
	fail := func(err error, msg string) ConsumerHeartbeatResult {
		return ConsumerHeartbeatResult{Err: err, Message: msg, MemberID: req.MemberID, MemberEpoch: req.MemberEpoch}
	}
	switch {
	case req.Group == "":
		return fail(kerr.InvalidGroupID, "group id is empty")
	case req.MemberEpoch < -2:
		return fail(kerr.InvalidRequest, "member epoch below -2")
	case req.MemberEpoch == 0 && req.SubscribedTopics == nil && req.SubscribedRegex == nil:
		return fail(kerr.InvalidRequest, "a joining member must subscribe to topic names or a regex")
	case req.MemberEpoch == 0 && len(req.Owned) > 0:
		return fail(kerr.InvalidRequest, "a joining member cannot own partitions")
	case req.ServerAssignor != nil && assignors[*req.ServerAssignor] == nil:
		return fail(kerr.UnsupportedAssignor, fmt.Sprintf("server assignor %q is not one of uniform, range", *req.ServerAssignor))
	}
	if req.SubscribedRegex != nil {
		if _, err := regexp.Compile(*req.SubscribedRegex); err != nil {
			return fail(kerr.InvalidRegularExpression, err.Error())
		}
	}
	if req.MemberID == "" {
		if req.MemberEpoch != 0 {
			return fail(kerr.UnknownMemberID, "member id is empty")
		}
		req.MemberID = newUUID() // v0: the coordinator names members
	}
	var res ConsumerHeartbeatResult
	err := c.do(req.Group, func(s *groups, now time.Time, w *change) {
		res = c.consumerHeartbeat(s, req, now, w, &res)
	})
	if err != nil {
		return fail(err, "")
	}
	return res
}

// consumerHeartbeat works on a copy of the group (scratch), which becomes
// the group once the snapshot it leads to is written (at once when nothing
// persistent changed). A failed write leaves the group as it was and
// answers the error (through out: the completion runs after the return).
func (c *Coordinator) consumerHeartbeat(s *groups, req ConsumerHeartbeat, now time.Time, w *change, out *ConsumerHeartbeatResult) ConsumerHeartbeatResult {
	fail := func(err error, msg string) ConsumerHeartbeatResult {
		return ConsumerHeartbeatResult{Err: err, Message: msg, MemberID: req.MemberID, MemberEpoch: req.MemberEpoch}
	}
	created := s.byID[req.Group] == nil
	g := s.lookup(req.Group, req.MemberEpoch == 0, now)
	if g == nil {
		if req.MemberEpoch < 0 {
			return ConsumerHeartbeatResult{MemberID: req.MemberID, MemberEpoch: req.MemberEpoch}
		}
		return fail(kerr.UnknownMemberID, "no such group")
	}
	if g.state == Dead {
		return fail(kerr.CoordinatorNotAvailable, "the group is being deleted")
	}
	if g.share != nil {
		return fail(kerr.GroupIDNotFound, fmt.Sprintf("group %s is not a consumer group", req.Group))
	}
	var ng *group
	var upgradedFrom *group // the classic group, when this join upgrades it
	if g.consumer == nil && (len(g.members) > 0 || len(g.pending) > 0) {
		up, err := c.upgraded(g)
		if err != nil {
			return fail(kerr.GroupIDNotFound, err.Error())
		}
		ng, upgradedFrom = up, g.scratch()
	} else {
		ng = g.scratch()
	}
	if ng.consumer == nil {
		ng.consumer = newConsumerGroup() // an empty classic group converts, keeping its offsets
		ng.protocolType, ng.protocol, ng.leader = "consumer", "", ""
	}
	persist := func(res ConsumerHeartbeatResult) ConsumerHeartbeatResult {
		// An upgraded group's snapshot follows its classic record in the
		// log, and a load takes the later of the two (a tombstone of the
		// classic record would delete the group's offsets on replay).
		w.write(consumerGroupRecord(ng), func() {
			if upgradedFrom != nil {
				// Members waiting in JoinGroup or SyncGroup are told to
				// rejoin, once the consumer group is written.
				upgradedFrom.answerAll(kerr.RebalanceInProgress)
			}
			*g = *ng
		}, func(err error) {
			*out = fail(persistError(err), "")
			if created {
				s.forgetCreated(g)
			}
		})
		return res
	}
	cg := ng.consumer
	m := cg.members[req.MemberID]
	var static *consumerMember // the member holding req.InstanceID
	if req.InstanceID != nil {
		static = cg.staticMember(*req.InstanceID)
	}
	if req.MemberEpoch < 0 {
		res := ConsumerHeartbeatResult{MemberID: req.MemberID, MemberEpoch: req.MemberEpoch}
		if req.InstanceID == nil && req.MemberEpoch == leaveStaticEpoch && m != nil && m.InstanceID != nil {
			// Kafka requires the instance id with -2 (INVALID_REQUEST
			// without it); kgo sends only the member id. The member id
			// names a static member, so it is that member's leave.
			req.InstanceID, static = m.InstanceID, m
		}
		if req.InstanceID != nil {
			switch {
			case static == nil:
				return fail(kerr.UnknownMemberID, fmt.Sprintf("instance %s is unknown", *req.InstanceID))
			case static.ID != req.MemberID:
				return fail(kerr.FencedInstanceID, fmt.Sprintf("instance %s is held by member %s", *req.InstanceID, static.ID))
			}
			if req.MemberEpoch == leaveStaticEpoch {
				// A static member leaving for a while keeps its place
				// and its partitions for a session timeout: no new group
				// epoch, its partitions stay its own (those it was
				// revoking are free), and a member rejoining with its
				// instance id takes them over.
				static.Epoch, static.State, static.Revoking = leaveStaticEpoch, memberStable, partitionSet{}
				static.deadline = now.Add(c.cfg.ConsumerSessionTimeout)
				return persist(res)
			}
		}
		if m == nil {
			return res
		}
		c.removeConsumerMember(ng, m.ID)
		c.refreshTarget(ng, true)
		c.writeConsumerChange(g, ng, now, w, nil, func(err error) { *out = fail(persistError(err), "") })
		return res
	}
	full := req.MemberEpoch == 0
	changed := false
	if req.MemberEpoch == 0 {
		switch {
		case static != nil && static.ID != req.MemberID && static.Epoch != leaveStaticEpoch:
			return fail(kerr.UnreleasedInstanceID, fmt.Sprintf("instance %s is still held by member %s", *req.InstanceID, static.ID))
		case static != nil && static.Epoch == leaveStaticEpoch:
			// The instance comes back (under a new member id, or its
			// old one): the member takes the old one's place,
			// subscription and partitions, at epoch 0 (it reconciles to
			// the current target epoch with what it already holds), and
			// the group epoch moves only if its subscription changed.
			if m != nil && m != static {
				c.removeConsumerMember(ng, m.ID)
			}
			m = c.replaceStaticMember(cg, static, req.MemberID)
		default:
			if m != nil {
				// The member lost its state: start it over.
				c.removeConsumerMember(ng, m.ID)
			}
			if c.cfg.MaxGroupSize > 0 && len(cg.members) >= c.cfg.MaxGroupSize {
				return fail(kerr.GroupMaxSizeReached, "")
			}
			m = &consumerMember{ID: req.MemberID, State: memberStable, Assigned: partitionSet{}, Revoking: partitionSet{}}
			cg.members[m.ID] = m
			changed = true
		}
	} else {
		if req.InstanceID != nil {
			switch {
			case static == nil:
				return fail(kerr.UnknownMemberID, fmt.Sprintf("instance %s is unknown", *req.InstanceID))
			case static.ID != req.MemberID:
				return fail(kerr.FencedInstanceID, fmt.Sprintf("instance %s is held by member %s", *req.InstanceID, static.ID))
			}
		}
		if m == nil {
			return fail(kerr.UnknownMemberID, "")
		}
		if req.MemberEpoch != m.Epoch {
			// A member that missed our last answer repeats its previous
			// epoch while owning no more than it was given. An epoch
			// above the member's (a static member that left with -2 and
			// heartbeats on) is fenced.
			lost := req.MemberEpoch < m.Epoch && req.MemberEpoch == m.PreviousEpoch && req.Owned != nil && setOf(req.Owned).subsetOf(m.Assigned.union(m.Revoking))
			if !lost {
				return fail(kerr.FencedMemberEpoch, fmt.Sprintf("member epoch %d is not the current %d", req.MemberEpoch, m.Epoch))
			}
			full = true
		}
	}
	m.deadline = now.Add(c.cfg.ConsumerSessionTimeout)
	m.ClientID, m.ClientHost = req.ClientID, req.ClientHost
	if req.InstanceID != nil {
		m.InstanceID = req.InstanceID
	}
	if req.RackID != nil && (m.RackID == nil || *m.RackID != *req.RackID) {
		m.RackID = req.RackID
		changed = true // the assignors place partitions by rack
	}
	if req.RebalanceTimeout > 0 {
		m.RebalanceTimeout = req.RebalanceTimeout
	}
	if req.ServerAssignor != nil {
		m.Assignor = *req.ServerAssignor
	}
	if req.SubscribedTopics != nil {
		subs := append([]string(nil), req.SubscribedTopics...)
		sort.Strings(subs)
		if strings.Join(subs, "\x00") != strings.Join(m.Subscribed, "\x00") {
			m.Subscribed = subs
			changed = true
		}
	}
	if req.SubscribedRegex != nil && *req.SubscribedRegex != m.Regex {
		m.Regex = *req.SubscribedRegex
		changed = true
	}
	// A join or a new subscription is one new group epoch.
	if c.refreshTarget(ng, changed) {
		changed = true
	}
	before := m.Assigned.clone()
	epochBefore := m.Epoch
	c.reconcile(cg, m, req.Owned, now)
	if !m.Assigned.equal(before) || m.Epoch != epochBefore {
		changed = true
	}
	res := ConsumerHeartbeatResult{MemberID: m.ID, MemberEpoch: m.Epoch, HeartbeatInterval: c.cfg.ConsumerHeartbeatInterval}
	if full || !m.Assigned.equal(before) || (req.Owned != nil && !setOf(req.Owned).equal(m.Assigned)) {
		res.Assignment = m.Assigned.byTopic()
	}
	if changed {
		return persist(res)
	}
	*g = *ng // sessions and client details: nothing the log holds
	return res
}

func (s partitionSet) subsetOf(o partitionSet) bool {
	for p := range s {
		if !o[p] {
			return false
		}
	}
	return true
}

func (s partitionSet) union(o partitionSet) partitionSet {
	out := s.clone()
	for p := range o {
		out[p] = true
	}
	return out
}

// leaveStaticEpoch is the member epoch of a static member that left for a
// while (Kafka's LEAVE_GROUP_STATIC_MEMBER_EPOCH).
const leaveStaticEpoch = -2

// staticMember is the member holding a group.instance.id, or nil.
func (cg *consumerGroup) staticMember(instance string) *consumerMember {
	for _, m := range cg.members {
		if m.InstanceID != nil && *m.InstanceID == instance {
			return m
		}
	}
	return nil
}

// replaceStaticMember puts a new member id in old's place: the same
// subscription, assignment and target, epoch 0.
func (c *Coordinator) replaceStaticMember(cg *consumerGroup, old *consumerMember, id string) *consumerMember {
	m := *old
	m.ID, m.Epoch, m.PreviousEpoch, m.State = id, 0, 0, memberStable
	m.Revoking = partitionSet{}
	target := cg.target[old.ID]
	delete(cg.members, old.ID)
	delete(cg.target, old.ID)
	cg.members[id] = &m
	cg.target[id] = target
	return &m
}

// removeConsumerMember drops a member; its partitions become free.
func (c *Coordinator) removeConsumerMember(g *group, id string) {
	cg := g.consumer
	delete(cg.members, id)
	delete(cg.target, id)
	if len(cg.members) == 0 {
		g.transition(Empty, c.cfg.Now())
	}
}

// subscribedTopicInfos resolves what a member subscribes to.
func (c *Coordinator) subscribedTopicInfos(m *consumerMember) []TopicInfo {
	if c.cfg.Topics == nil {
		return nil
	}
	var out []TopicInfo
	seen := map[string]bool{}
	for _, name := range m.Subscribed {
		if t, ok := c.cfg.Topics.TopicByName(name); ok && !seen[name] {
			seen[name] = true
			out = append(out, t)
		}
	}
	if m.Regex != "" {
		re, err := regexp.Compile("^(?:" + m.Regex + ")$")
		if err == nil {
			for _, t := range c.cfg.Topics.AllTopics() {
				if !seen[t.Name] && re.MatchString(t.Name) {
					seen[t.Name] = true
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// refreshTarget bumps the group epoch once when bump is set (membership or
// subscriptions changed) or the subscribed topics changed shape, and
// recomputes the target assignment when it is older than the group epoch.
// It reports whether anything changed.
func (c *Coordinator) refreshTarget(g *group, bump bool) bool {
	cg := g.consumer
	in := assignInput{subscribed: map[string][][16]byte{}, partitions: map[[16]byte]int32{}, previous: cg.target}
	for _, m := range cg.sortedMembers() {
		in.members = append(in.members, m.ID)
		for _, t := range c.subscribedTopicInfos(m) {
			in.subscribed[m.ID] = append(in.subscribed[m.ID], t.ID)
			in.partitions[t.ID] = t.Partitions
		}
		if m.RackID != nil && *m.RackID != "" {
			if in.memberRack == nil {
				in.memberRack = map[string]string{}
			}
			in.memberRack[m.ID] = *m.RackID
		}
	}
	// Racks count only when a member has one; then the partitions'
	// racks are part of what the target was computed for, and a change
	// (a replica moved to another rack) is a new group epoch, as Kafka
	// 4.x hashes racks into the subscribed topics' metadata (KIP-1101).
	if in.memberRack != nil && c.cfg.Topics != nil {
		in.partitionRacks = map[[16]byte][][]string{}
		for id := range in.partitions {
			if racks := c.cfg.Topics.PartitionRacks(id); len(racks) > 0 {
				in.partitionRacks[id] = racks
			}
		}
	}
	var seen []string
	for _, id := range sortedIDs(keysOf(in.partitions)) {
		s := fmt.Sprintf("%x:%d", id, in.partitions[id])
		if racks := in.partitionRacks[id]; racks != nil {
			s += fmt.Sprintf(":%v", racks)
		}
		seen = append(seen, s)
	}
	if s := strings.Join(seen, ","); s != cg.topicsSeen {
		cg.topicsSeen = s
		bump = true
	}
	if bump {
		cg.epoch++
	}
	if cg.epoch <= cg.targetEpoch {
		return bump
	}
	cg.target = assignors[cg.assignor()](in)
	cg.targetEpoch = cg.epoch
	return true
}

// assignor is the server assignor most members ask for, the default when
// none does.
func (cg *consumerGroup) assignor() string {
	votes := map[string]int{}
	for _, m := range cg.members {
		votes[m.Assignor]++
	}
	best, n := defaultAssignor, 0
	for _, name := range []string{"uniform", "range"} {
		if votes[name] > n {
			best, n = name, votes[name]
		}
	}
	return best
}

func keysOf(m map[[16]byte]int32) map[[16]byte]bool {
	out := make(map[[16]byte]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// reconcile moves m toward its target (see the comment at the top of the
// file). owned is what the member reported, nil when it did not say.
func (c *Coordinator) reconcile(cg *consumerGroup, m *consumerMember, owned map[[16]byte][]int32, now time.Time) {
	target := cg.target[m.ID]
	if m.State == memberUnrevoked {
		if owned == nil {
			return
		}
		have := setOf(owned)
		for p := range m.Revoking {
			if have[p] {
				return // still revoking
			}
		}
		m.Revoking = partitionSet{}
		m.State = memberStable
	}
	if m.Epoch == cg.targetEpoch && m.State == memberStable {
		return
	}
	keep, revoke := partitionSet{}, partitionSet{}
	for p := range m.Assigned {
		if target[p] {
			keep[p] = true
		} else {
			revoke[p] = true
		}
	}
	if len(revoke) > 0 {
		m.Assigned, m.Revoking, m.State = keep, revoke, memberUnrevoked
		timeout := m.RebalanceTimeout
		if timeout <= 0 {
			timeout = c.cfg.ConsumerSessionTimeout
		}
		m.revokeDeadline = now.Add(timeout)
		return
	}
	unreleased := false
	for p := range target {
		if keep[p] {
			continue
		}
		if cg.ownedByOthers(m.ID, p) {
			unreleased = true
			continue
		}
		keep[p] = true
	}
	m.Assigned = keep
	if m.Epoch != cg.targetEpoch {
		m.PreviousEpoch, m.Epoch = m.Epoch, cg.targetEpoch
	}
	m.State = memberStable
	if unreleased {
		m.State = memberUnreleased
	}
}

// tickConsumerGroup removes members whose session expired or who did not
// revoke in time, once the group's new snapshot is written (a failed write
// leaves them for the next tick).
func (c *Coordinator) tickConsumerGroup(g *group, now time.Time, w *change) {
	// Most ticks expire nobody: look before copying the group (a copy
	// of every group on every tick was 39% of a broker's CPU with
	// 10,000 groups, make bench-scale).
	expired := false
	for _, m := range g.consumer.members {
		expired = expired || m.expired(now)
	}
	if !expired {
		return
	}
	ng := g.scratch()
	removed := false
	for _, m := range ng.consumer.sortedMembers() {
		if m.expired(now) {
			c.removeConsumerMember(ng, m.ID)
			removed = true
		}
	}
	if removed {
		c.refreshTarget(ng, true)
		c.writeConsumerChange(g, ng, now, w, nil, nil)
	}
}

// checkConsumerCommit validates an offset commit (or a fetch naming a
// member) against a KIP-848 group: the member must exist and commit with
// its epoch, or with the one before while the new one is on its way.
func (cg *consumerGroup) checkCommit(memberID string, epoch int32) error {
	m := cg.members[memberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID
	case epoch == m.Epoch || epoch == m.PreviousEpoch:
		return nil
	case epoch > m.Epoch:
		return kerr.FencedMemberEpoch
	}
	return kerr.StaleMemberEpoch
}

// consumerSubscribedTopics is every topic name a member subscribes to,
// regexes resolved.
func (c *Coordinator) consumerSubscribedTopics(cg *consumerGroup) map[string]bool {
	out := map[string]bool{}
	for _, m := range cg.members {
		for _, t := range c.subscribedTopicInfos(m) {
			out[t.Name] = true
		}
		for _, name := range m.Subscribed {
			out[name] = true
		}
	}
	return out
}

// expired reports a member whose session ended or who did not revoke (or,
// a classic member, rejoin or sync) in time.
func (m *consumerMember) expired(now time.Time) bool {
	late := (m.Classic == nil && m.State == memberUnrevoked && !now.Before(m.revokeDeadline)) || m.classicLate(now)
	return !now.Before(m.deadline) || late
}
