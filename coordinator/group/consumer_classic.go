package group

import (
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Classic members of a KIP-848 group, and the online upgrade that makes
// them (KIP-848 "Upgrade/Downgrade"; Kafka's GroupMetadataManager
// convertToConsumerGroup and classicGroup*ToConsumerGroup).
//
// A classic group whose members use the consumer protocol type becomes a
// consumer group when a ConsumerGroupHeartbeat joins it and
// group.consumer.migration.policy allows upgrades: its generation is the
// group epoch and each member's epoch, each member keeps the partitions
// its last SyncGroup gave it (they are the target), and members waiting
// in JoinGroup or SyncGroup are answered REBALANCE_IN_PROGRESS. The
// newcomer's join is then a new group epoch as any join is.
//
// The classic members keep speaking JoinGroup, SyncGroup, Heartbeat and
// LeaveGroup, and the coordinator runs them as consumer-group members:
//
//   - JoinGroup updates the member's subscription (and rack) from its
//     protocol metadata, reconciles it with the partitions it says it
//     owns, and answers at once: the generation is the member epoch, the
//     protocol its first one, no leader (the coordinator assigns).
//   - SyncGroup answers the member's current partitions, or
//     REBALANCE_IN_PROGRESS if the group epoch moved past it.
//   - Heartbeat answers REBALANCE_IN_PROGRESS while the member has to
//     rejoin: the group epoch is newer than its epoch, it must give up
//     partitions, or partitions it waits for became free.
//   - A member that does not rejoin within its rebalance timeout after
//     being told to, or does not sync within it after joining, or stops
//     heartbeating for its session timeout, is removed.
//
// Downgrade: when the last consumer-protocol member leaves (ConsumerGroup-
// Heartbeat -1, or its session or revocation time runs out) and classic
// members remain, and the policy allows downgrades, the group becomes a
// classic group again: the group epoch is its generation, each member
// keeps its partitions as its assignment, the leader is the first member
// by id, and a rebalance starts at once so that the leaving member's
// partitions are assigned by the members' own assignor. A static member's
// -2 leave does not downgrade (it keeps its place).

// MigrationPolicy is group.consumer.migration.policy.
type MigrationPolicy string

// The migration policies (Kafka's ConsumerGroupMigrationPolicy).
const (
	MigrationDisabled      MigrationPolicy = "disabled"
	MigrationUpgrade       MigrationPolicy = "upgrade"
	MigrationDowngrade     MigrationPolicy = "downgrade"
	MigrationBidirectional MigrationPolicy = "bidirectional"
)

func (p MigrationPolicy) upgrade() bool {
	return p == MigrationUpgrade || p == MigrationBidirectional
}

func (p MigrationPolicy) downgrade() bool {
	return p == MigrationDowngrade || p == MigrationBidirectional
}

// downgraded is the classic group g (a scratch consumer group its change
// applied to) becomes, if only classic members are left in it and the
// policy allows; nil otherwise.
func (c *Coordinator) downgraded(g *group, now time.Time) *group {
	cg := g.consumer
	if !c.cfg.MigrationPolicy.downgrade() || len(cg.members) == 0 {
		return nil
	}
	for _, m := range cg.members {
		if m.Classic == nil {
			return nil
		}
	}
	ng := *g
	ng.consumer = nil
	ng.members, ng.order, ng.pending, ng.instances, ng.synced = map[string]*member{}, nil, map[string]time.Time{}, map[string]string{}, nil
	ng.protocolType, ng.generation = "consumer", cg.epoch
	for _, cm := range cg.sortedMembers() {
		ng.addMember(&member{
			id: cm.ID, instanceID: cm.InstanceID, clientID: cm.ClientID, clientHost: cm.ClientHost,
			sessionTimeout: cm.Classic.SessionTimeout, rebalanceTimeout: cm.RebalanceTimeout,
			protocols: cm.Classic.Protocols, assignment: c.encodeAssignment(cm),
			deadline: now.Add(cm.Classic.SessionTimeout),
		})
	}
	if len(ng.candidateProtocols()) == 0 {
		return nil // no protocol every member speaks
	}
	ng.protocol, ng.leader = ng.selectProtocol(), ng.order[0]
	ng.transition(Stable, now)
	return &ng
}

// writeConsumerChange writes a consumer group's change: its snapshot, or,
// when only classic members are left and the policy allows, its downgrade
// to a classic group (the snapshot tombstoned, the classic generation
// written) followed by a rebalance. applied runs after either is in
// place; failed, when set, if the write fails.
func (c *Coordinator) writeConsumerChange(g, ng *group, now time.Time, w *change, applied func(), failed func(error)) {
	if dg := c.downgraded(ng, now); dg != nil {
		records := append([]Record{{Key: consumerGroupKey(g.id)}}, groupRecord(g.id, groupValue(dg, nil))...)
		w.write(records, func() {
			*g = *dg
			c.prepareRebalance(g, now)
			if applied != nil {
				applied()
			}
		}, failed)
		return
	}
	w.write(consumerGroupRecord(ng), func() {
		*g = *ng
		if applied != nil {
			applied()
		}
	}, failed)
}

// classicMember is what a consumer-group member using the classic
// protocol adds: its session timeout and the protocols it joined with.
type classicMember struct {
	SessionTimeout time.Duration
	Protocols      []Protocol
}

func (cm *classicMember) protocol() string {
	if len(cm.Protocols) == 0 {
		return ""
	}
	return cm.Protocols[0].Name
}

// classicSubscription is a consumer protocol subscription decoded.
type classicSubscription struct {
	version int16
	topics  []string
	owned   map[string][]int32
	rack    *string
}

func decodeSubscription(metadata []byte) (classicSubscription, error) {
	var meta kmsg.ConsumerMemberMetadata
	if err := meta.ReadFrom(metadata); err != nil {
		return classicSubscription{}, err
	}
	sub := classicSubscription{version: meta.Version, topics: append([]string(nil), meta.Topics...), owned: map[string][]int32{}}
	sort.Strings(sub.topics)
	for _, o := range meta.OwnedPartitions {
		sub.owned[o.Topic] = append(sub.owned[o.Topic], o.Partitions...)
	}
	if meta.Rack != nil && *meta.Rack != "" {
		sub.rack = meta.Rack
	}
	return sub, nil
}

// byName turns partitions named by topic name into a set by topic id,
// leaving out topics that do not exist.
func (c *Coordinator) byName(parts map[string][]int32) partitionSet {
	s := partitionSet{}
	if c.cfg.Topics == nil {
		return s
	}
	for name, ps := range parts {
		if t, ok := c.cfg.Topics.TopicByName(name); ok {
			for _, p := range ps {
				s[idPartition{t.ID, p}] = true
			}
		}
	}
	return s
}

// encodeAssignment is a member's partitions as the consumer protocol's
// assignment, topics by name.
func (c *Coordinator) encodeAssignment(m *consumerMember) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	if len(m.Classic.Protocols) > 0 {
		if sub, err := decodeSubscription(m.Classic.Protocols[0].Metadata); err == nil {
			a.Version = min(sub.version, 3)
		}
	}
	for _, id := range sortedIDs(keysOfSet(m.Assigned)) {
		t, ok := c.cfg.Topics.TopicByID(id)
		if !ok {
			continue
		}
		a.Topics = append(a.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: t.Name, Partitions: m.Assigned.byTopic()[id]})
	}
	return a.AppendTo(nil)
}

func keysOfSet(s partitionSet) map[[16]byte]bool {
	out := map[[16]byte]bool{}
	for p := range s {
		out[p.Topic] = true
	}
	return out
}

// upgraded is the consumer group a classic group with members becomes,
// as a scratch copy of g; an error when it cannot (Kafka answers
// GROUP_ID_NOT_FOUND: the group is not a consumer group).
func (c *Coordinator) upgraded(g *group) (*group, error) {
	switch {
	case !c.cfg.MigrationPolicy.upgrade():
		return nil, fmt.Errorf("group %s is a classic group with members and group.consumer.migration.policy is %s", g.id, c.cfg.MigrationPolicy)
	case g.protocolType != "consumer":
		return nil, fmt.Errorf("group %s is a classic group of protocol type %q", g.id, g.protocolType)
	case c.cfg.MaxGroupSize > 0 && len(g.members) >= c.cfg.MaxGroupSize:
		return nil, fmt.Errorf("group %s has more members than group.max.size", g.id)
	}
	cg := newConsumerGroup()
	cg.epoch, cg.targetEpoch = g.generation, g.generation
	for _, id := range g.order {
		om := g.members[id]
		sub, err := decodeSubscription(om.metadataFor(g.protocol))
		if err != nil && len(om.protocols) > 0 {
			sub, err = decodeSubscription(om.protocols[0].Metadata)
		}
		if err != nil {
			return nil, fmt.Errorf("group %s: member %s's consumer protocol metadata does not decode: %v", g.id, id, err)
		}
		assigned := partitionSet{}
		if len(om.assignment) > 0 {
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(om.assignment); err != nil {
				return nil, fmt.Errorf("group %s: member %s's assignment does not decode: %v", g.id, id, err)
			}
			parts := map[string][]int32{}
			for _, t := range a.Topics {
				parts[t.Topic] = append(parts[t.Topic], t.Partitions...)
			}
			assigned = c.byName(parts)
		}
		// The member's protocols, the group's first: its answers name
		// the protocol the group agreed on.
		protocols := append([]Protocol(nil), om.protocols...)
		sort.SliceStable(protocols, func(i, j int) bool { return protocols[i].Name == g.protocol && protocols[j].Name != g.protocol })
		m := &consumerMember{
			ID: id, InstanceID: om.instanceID, RackID: sub.rack, ClientID: om.clientID, ClientHost: om.clientHost,
			RebalanceTimeout: om.rebalanceTimeout, Subscribed: sub.topics,
			Epoch: g.generation, PreviousEpoch: g.generation, State: memberStable,
			Assigned: assigned, Revoking: partitionSet{},
			Classic:  &classicMember{SessionTimeout: om.sessionTimeout, Protocols: protocols},
			deadline: om.deadline,
		}
		cg.members[id] = m
		cg.target[id] = assigned
	}
	ng := *g
	ng.consumer = cg
	ng.members, ng.order, ng.pending, ng.instances, ng.synced = map[string]*member{}, nil, map[string]time.Time{}, map[string]string{}, nil
	ng.protocol, ng.leader = "", ""
	ng.state = Stable
	return &ng, nil
}

// classicJoin is a JoinGroup of a consumer group with members.
func (c *Coordinator) classicJoin(g *group, req JoinRequest, now time.Time, w *change, res *JoinResult) {
	fail := func(err error) { *res = JoinResult{Err: err, MemberID: req.MemberID, Generation: -1} }
	if req.ProtocolType != "consumer" || len(req.Protocols) == 0 {
		fail(kerr.InconsistentGroupProtocol)
		return
	}
	sub, err := decodeSubscription(req.Protocols[0].Metadata)
	if err != nil {
		fail(kerr.InconsistentGroupProtocol)
		return
	}
	id := req.MemberID
	if id == "" {
		prefix := req.ClientID
		if req.InstanceID != nil {
			prefix = *req.InstanceID
		}
		id = prefix + "-" + newUUID()
		if req.InstanceID == nil && req.Version >= 4 {
			*res = JoinResult{Err: kerr.MemberIDRequired, MemberID: id, Generation: -1}
			return
		}
	}
	ng := g.scratch()
	cg := ng.consumer
	m := cg.members[id]
	changed := false
	if req.InstanceID != nil {
		if holder := cg.staticMember(*req.InstanceID); holder != nil && holder.ID != id {
			if req.MemberID != "" {
				fail(kerr.FencedInstanceID)
				return
			}
			// A restarted static member: it takes the old one's place.
			m = c.replaceStaticMember(cg, holder, id)
			changed = true
		}
	}
	if m == nil {
		if c.cfg.MaxGroupSize > 0 && len(cg.members) >= c.cfg.MaxGroupSize {
			fail(kerr.GroupMaxSizeReached)
			return
		}
		m = &consumerMember{ID: id, State: memberStable, Assigned: partitionSet{}, Revoking: partitionSet{}}
		cg.members[id] = m
		changed = true
	}
	m.Classic = &classicMember{SessionTimeout: req.SessionTimeout, Protocols: req.Protocols}
	m.ClientID, m.ClientHost, m.RebalanceTimeout = req.ClientID, req.ClientHost, req.RebalanceTimeout
	if req.InstanceID != nil {
		m.InstanceID = req.InstanceID
	}
	if sub.rack != nil && (m.RackID == nil || *m.RackID != *sub.rack) {
		m.RackID = sub.rack
		changed = true
	}
	if !equalStrings(sub.topics, m.Subscribed) || m.Regex != "" {
		m.Subscribed, m.Regex = sub.topics, ""
		changed = true
	}
	if c.refreshTarget(ng, changed) {
		changed = true
	}
	before, epochBefore := m.Assigned.clone(), m.Epoch
	c.reconcile(cg, m, ownedByID(c.byName(sub.owned)), now)
	if !m.Assigned.equal(before) || m.Epoch != epochBefore {
		changed = true
	}
	m.deadline = now.Add(req.SessionTimeout)
	m.joinDeadline, m.syncDeadline = time.Time{}, now.Add(req.RebalanceTimeout)
	*res = JoinResult{MemberID: id, Generation: m.Epoch, ProtocolType: "consumer", Protocol: m.Classic.protocol()}
	if !changed {
		*g = *ng
		return
	}
	w.write(consumerGroupRecord(ng), func() { *g = *ng }, func(err error) {
		*res = JoinResult{Err: persistError(err), MemberID: req.MemberID, Generation: -1}
	})
}

func ownedByID(s partitionSet) map[[16]byte][]int32 {
	out := s.byTopic()
	if out == nil {
		out = map[[16]byte][]int32{}
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// classicMemberOf validates a classic member's SyncGroup, Heartbeat or
// LeaveGroup in a consumer group: the instance is the member's, the member
// exists and uses the classic protocol.
func (cg *consumerGroup) classicMemberOf(memberID string, instanceID *string) (*consumerMember, error) {
	if instanceID != nil {
		holder := cg.staticMember(*instanceID)
		switch {
		case holder == nil:
			return nil, kerr.UnknownMemberID
		case holder.ID != memberID:
			return nil, kerr.FencedInstanceID
		}
	}
	m := cg.members[memberID]
	if m == nil || m.Classic == nil {
		return nil, kerr.UnknownMemberID
	}
	return m, nil
}

// mustRejoin reports whether a classic member has to rejoin: the group
// epoch moved past it, it has partitions to give up, or partitions it
// waits for are free now.
func (cg *consumerGroup) mustRejoin(m *consumerMember) bool {
	switch {
	case m.Epoch < cg.epoch && m.State != memberUnrevoked:
		return true
	case m.State == memberUnrevoked:
		return true
	case m.State == memberUnreleased:
		for p := range cg.target[m.ID] {
			if !m.Assigned[p] && cg.ownedByOthers(m.ID, p) {
				return false
			}
		}
		return true
	}
	return false
}

// askRejoin starts the member's rejoin deadline (its rebalance timeout)
// unless one runs.
func (c *Coordinator) askRejoin(m *consumerMember, now time.Time) {
	if m.joinDeadline.IsZero() {
		timeout := m.RebalanceTimeout
		if timeout <= 0 {
			timeout = m.Classic.SessionTimeout
		}
		m.joinDeadline = now.Add(timeout)
	}
}

// classicSync is a SyncGroup of a classic member of a consumer group.
func (c *Coordinator) classicSync(g *group, req SyncRequest, now time.Time) SyncResult {
	cg := g.consumer
	m, err := cg.classicMemberOf(req.MemberID, req.InstanceID)
	switch {
	case err != nil:
		return SyncResult{Err: err}
	case req.Generation != m.Epoch:
		return SyncResult{Err: kerr.IllegalGeneration}
	case (req.ProtocolType != nil && *req.ProtocolType != "consumer") || (req.Protocol != nil && *req.Protocol != m.Classic.protocol()):
		return SyncResult{Err: kerr.InconsistentGroupProtocol}
	case cg.epoch > m.Epoch && m.State != memberUnrevoked:
		c.askRejoin(m, now)
		return SyncResult{Err: kerr.RebalanceInProgress}
	}
	m.syncDeadline = time.Time{}
	m.deadline = now.Add(m.Classic.SessionTimeout)
	return SyncResult{ProtocolType: "consumer", Protocol: m.Classic.protocol(), Assignment: c.encodeAssignment(m)}
}

// classicHeartbeat is a Heartbeat of a classic member of a consumer group.
func (c *Coordinator) classicHeartbeat(g *group, generation int32, memberID string, instanceID *string, now time.Time) error {
	cg := g.consumer
	m, err := cg.classicMemberOf(memberID, instanceID)
	switch {
	case err != nil:
		return err
	case generation != m.Epoch:
		return kerr.IllegalGeneration
	}
	m.deadline = now.Add(m.Classic.SessionTimeout)
	if cg.mustRejoin(m) {
		c.askRejoin(m, now)
		return kerr.RebalanceInProgress
	}
	return nil
}

// classicLeave is a LeaveGroup of a consumer group: classic members
// leave (an administrative leave by instance id too); consumer-protocol
// members are UNKNOWN_MEMBER_ID, as Kafka answers.
func (c *Coordinator) classicLeave(g *group, leaving []LeaveMember, errs []error, w *change) {
	ng := g.scratch()
	cg := ng.consumer
	removed := false
	for i, lm := range leaving {
		id := lm.MemberID
		if lm.InstanceID != nil {
			holder := cg.staticMember(*lm.InstanceID)
			switch {
			case holder == nil:
				errs[i] = kerr.UnknownMemberID
				continue
			case id != "" && id != holder.ID:
				errs[i] = kerr.FencedInstanceID
				continue
			}
			id = holder.ID
		}
		m := cg.members[id]
		if m == nil || m.Classic == nil {
			errs[i] = kerr.UnknownMemberID
			continue
		}
		c.removeConsumerMember(ng, id)
		removed = true
	}
	if !removed {
		return
	}
	c.refreshTarget(ng, true)
	w.write(consumerGroupRecord(ng), func() { *g = *ng }, func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = persistError(err)
			}
		}
	})
}

// classicLate reports whether a classic member missed its rejoin or sync
// deadline.
func (m *consumerMember) classicLate(now time.Time) bool {
	if m.Classic == nil {
		return false
	}
	return (!m.joinDeadline.IsZero() && !now.Before(m.joinDeadline)) || (!m.syncDeadline.IsZero() && !now.Before(m.syncDeadline))
}
