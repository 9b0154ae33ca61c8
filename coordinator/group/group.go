package group

import (
	"bytes"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

// State is a classic group's state, named as Kafka names it on the wire.
type State string

// The states of a classic group.
const (
	Empty               State = "Empty"
	PreparingRebalance  State = "PreparingRebalance"
	CompletingRebalance State = "CompletingRebalance"
	Stable              State = "Stable"
	Dead                State = "Dead"
)

// Protocol is one (name, metadata) a member offers, e.g. ("range",
// ConsumerMemberMetadata bytes).
type Protocol struct {
	Name     string
	Metadata []byte
}

type member struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocols        []Protocol
	assignment       []byte

	// deadline is when the session expires without a heartbeat.
	deadline time.Time
	// joinWait / syncWait are set while a JoinGroup / SyncGroup waits.
	joinWait chan JoinResult
	syncWait chan SyncResult
	// joinVersion is the JoinGroup version of the waiting request.
	joinVersion int16
}

func (m *member) awaitingJoin() bool { return m.joinWait != nil }

// answerJoin completes a waiting JoinGroup, if there is one.
func (m *member) answerJoin(r JoinResult) {
	if m.joinWait != nil {
		m.joinWait <- r
		m.joinWait = nil
	}
}

func (m *member) answerSync(r SyncResult) {
	if m.syncWait != nil {
		m.syncWait <- r
		m.syncWait = nil
	}
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func sameProtocols(a, b []Protocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Metadata, b[i].Metadata) {
			return false
		}
	}
	return true
}

// group is one group's state, owned by its partition's shard: only
// operations of the coordinator runtime touch it, one at a time.
type group struct {
	id           string
	state        State
	stateSince   time.Time
	protocolType string
	protocol     string
	generation   int32
	leader       string

	members map[string]*member
	// order is the member ids in the order they joined: it picks the
	// protocol's tie-break and a new leader deterministically.
	order []string
	// pending are member ids handed out with MEMBER_ID_REQUIRED, each with
	// the time it lapses if the member does not rejoin with it.
	pending map[string]time.Time
	// instances maps group.instance.id to the static member's current id.
	instances map[string]string

	// rebalanceDeadline completes a PreparingRebalance with the members
	// that rejoined. initialDelayUntil is set while the first rebalance of
	// an empty group waits for more members; initialDelayCap bounds its
	// extensions; joinedDuringDelay records a join while waiting.
	rebalanceDeadline time.Time
	initialDelayUntil time.Time
	initialDelayCap   time.Time
	joinedDuringDelay bool
	// syncDeadline ends a CompletingRebalance: members that have not sent
	// SyncGroup by then are removed.
	syncDeadline time.Time
	synced       map[string]bool

	offsets map[kafka.TopicPartition]Committed

	// consumer is set for a KIP-848 group (ConsumerGroupHeartbeat); the
	// classic fields above then stay empty.
	consumer *consumerGroup
	// share is set for a share group (ShareGroupHeartbeat, share.go);
	// the classic and consumer fields then stay empty.
	share *shareGroup

	// retentionRound is the shard's retention check this group's offsets
	// last went through.
	retentionRound int
}

// timed reports whether the group has timed steps other than offset
// retention: sessions, a rebalance or handed-out member ids.
func (g *group) timed() bool {
	if g.consumer != nil {
		return len(g.consumer.members) > 0
	}
	if g.share != nil {
		return len(g.share.members) > 0
	}
	return len(g.members) > 0 || len(g.pending) > 0 || g.state == PreparingRebalance || g.state == CompletingRebalance
}

// answerAll answers every parked JoinGroup and SyncGroup with err.
func (g *group) answerAll(err error) {
	for _, m := range g.members {
		m.answerJoin(JoinResult{Err: err, MemberID: m.id, Generation: -1})
		m.answerSync(SyncResult{Err: err})
	}
}

// empty reports whether the group has no members of either protocol.
func (g *group) empty() bool {
	if g.consumer != nil {
		return len(g.consumer.members) == 0
	}
	if g.share != nil {
		return len(g.share.members) == 0
	}
	return g.state == Empty
}

// publicState is the state ListGroups and DescribeGroups show.
func (g *group) publicState() State {
	if g.consumer != nil && g.state != Dead {
		return g.consumer.state()
	}
	if g.share != nil && g.state != Dead {
		return g.share.state()
	}
	return g.state
}

// groupType is the group's type as ListGroups v5 names it.
func (g *group) groupType() string {
	if g.consumer != nil {
		return "consumer"
	}
	if g.share != nil {
		return "share"
	}
	return "classic"
}

func newGroup(id string, now time.Time) *group {
	return &group{
		id:         id,
		state:      Empty,
		stateSince: now,
		members:    map[string]*member{},
		pending:    map[string]time.Time{},
		instances:  map[string]string{},
		offsets:    map[kafka.TopicPartition]Committed{},
	}
}

func (g *group) transition(s State, now time.Time) {
	g.state = s
	g.stateSince = now
}

func (g *group) addMember(m *member) {
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	if m.instanceID != nil {
		g.instances[*m.instanceID] = m.id
	}
	delete(g.pending, m.id)
}

func (g *group) removeMember(id string) {
	m := g.members[id]
	if m == nil {
		return
	}
	delete(g.members, id)
	for i, o := range g.order {
		if o == id {
			g.order = append(g.order[:i:i], g.order[i+1:]...)
			break
		}
	}
	if m.instanceID != nil && g.instances[*m.instanceID] == id {
		delete(g.instances, *m.instanceID)
	}
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// replaceMemberID gives a static member a new id, keeping its place.
func (g *group) replaceMemberID(old, new string) *member {
	m := g.members[old]
	delete(g.members, old)
	m.id = new
	g.members[new] = m
	for i, o := range g.order {
		if o == old {
			g.order[i] = new
		}
	}
	g.instances[*m.instanceID] = new
	if g.leader == old {
		g.leader = new
	}
	return m
}

// candidateProtocols is the protocols every member supports.
func (g *group) candidateProtocols() map[string]bool {
	var out map[string]bool
	for _, id := range g.order {
		names := map[string]bool{}
		for _, p := range g.members[id].protocols {
			if out == nil || out[p.Name] {
				names[p.Name] = true
			}
		}
		out = names
	}
	return out
}

// supports reports whether a member offering protocols of protocolType may
// join: any non-empty offer joins an empty group; otherwise the type must
// match and one protocol must be one every member supports.
func (g *group) supports(protocolType string, protocols []Protocol) bool {
	if len(g.members) == 0 {
		return protocolType != "" && len(protocols) > 0
	}
	if protocolType != g.protocolType {
		return false
	}
	cand := g.candidateProtocols()
	for _, p := range protocols {
		if cand[p.Name] {
			return true
		}
	}
	return false
}

// selectProtocol is Kafka's vote: each member votes for the first protocol
// it lists that all members support; most votes wins, ties going to the
// earliest member's preference.
func (g *group) selectProtocol() string {
	cand := g.candidateProtocols()
	votes := map[string]int{}
	var first []string
	for i, id := range g.order {
		for _, p := range g.members[id].protocols {
			if cand[p.Name] {
				votes[p.Name]++
				break
			}
		}
		if i == 0 {
			for _, p := range g.members[id].protocols {
				if cand[p.Name] {
					first = append(first, p.Name)
				}
			}
		}
	}
	best, bestVotes := "", -1
	for _, name := range first {
		if votes[name] > bestVotes {
			best, bestVotes = name, votes[name]
		}
	}
	return best
}

// allJoined reports whether every member has a JoinGroup waiting and no
// handed-out member id is still expected.
func (g *group) allJoined() bool {
	if len(g.pending) > 0 {
		return false
	}
	for _, m := range g.members {
		if !m.awaitingJoin() {
			return false
		}
	}
	return true
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}
