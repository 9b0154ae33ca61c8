package group

import (
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
)

// Listing is a group as ListGroups shows it.
type Listing struct {
	ID           string
	ProtocolType string
	State        State
	// Type is "classic" or "consumer" (KIP-848).
	Type string
}

// List returns every group, sorted by id.
func (c *Coordinator) List() []Listing {
	var out []Listing
	c.read(func(s *groups) {
		for _, g := range s.byID {
			if g.state != Dead {
				out = append(out, Listing{ID: g.id, ProtocolType: g.protocolType, State: g.publicState(), Type: g.groupType()})
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Description is a group as DescribeGroups shows it.
type Description struct {
	ID           string
	State        State
	ProtocolType string
	// Protocol, and the members' Metadata and Assignment, are filled in
	// only when the group is Stable, as Kafka does.
	Protocol string
	Members  []MemberDescription
}

// MemberDescription is one member of a described group.
type MemberDescription struct {
	MemberID   string
	InstanceID *string
	ClientID   string
	ClientHost string
	Metadata   []byte
	Assignment []byte
}

// Describe returns a group; ok is false for an unknown group (Kafka
// describes it as Dead).
func (c *Coordinator) Describe(id string) (d Description, ok bool) {
	d = Description{ID: id, State: Dead}
	_ = c.do(id, func(s *groups, now time.Time, _ *change) {
		if g := s.lookup(id, false, now); g != nil {
			d, ok = c.describe(g)
		}
	})
	return d, ok
}

func (c *Coordinator) describe(g *group) (d Description, ok bool) {
	id := g.id
	if g.share != nil {
		// Kafka describes only classic groups here: another type is
		// Dead, GROUP_ID_NOT_FOUND from v6 (the handler's !ok).
		return Description{ID: id, State: Dead}, false
	}
	if g.consumer != nil {
		return c.describeConsumerAsClassic(g), g.state != Dead
	}
	d = Description{ID: id, State: g.state, ProtocolType: g.protocolType}
	stable := g.state == Stable
	if stable {
		d.Protocol = g.protocol
	}
	for _, mid := range g.order {
		m := g.members[mid]
		md := MemberDescription{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost}
		if stable {
			md.Metadata, md.Assignment = m.metadataFor(g.protocol), m.assignment
		}
		d.Members = append(d.Members, md)
	}
	return d, g.state != Dead
}

// Delete handles DeleteGroups for one group: only an empty group can go,
// with its offsets.
func (c *Coordinator) Delete(id string) error {
	var res error
	err := c.do(id, func(s *groups, now time.Time, w *change) {
		g := s.lookup(id, false, now)
		switch {
		case g == nil || g.state == Dead:
			res = kerr.GroupIDNotFound
			return
		case g.share != nil:
			c.deleteShareGroup(s, g, w, &res)
			return
		case !g.empty():
			res = kerr.NonEmptyGroup
			return
		}
		recs := groupTombstones(g.id)
		var gone []kafka.TopicPartition
		for tp := range g.offsets {
			gone = append(gone, tp)
		}
		// Pending transactional offsets go too (Kafka's deleteAllOffsets);
		// a transaction still open may commit offsets again, which
		// brings the group back.
		for tp := range s.txn.partitions(g.id) {
			if _, ok := g.offsets[tp]; !ok {
				gone = append(gone, tp)
			}
		}
		for _, tp := range gone {
			recs = append(recs, Record{Key: offsetKey(g.id, tp)})
		}
		w.write(recs, func() {
			for _, tp := range gone {
				s.txn.drop(g.id, tp)
			}
			g.offsets = map[kafka.TopicPartition]Committed{}
			g.transition(Dead, c.cfg.Now())
			s.remove(g)
		}, func(err error) { res = persistError(err) })
	})
	if err != nil {
		return err
	}
	return res
}

// groupTombstones deletes a group's metadata of any type.
func groupTombstones(id string) []Record {
	return []Record{{Key: groupKey(id)}, {Key: consumerGroupKey(id)}, {Key: shareGroupKey(id)}}
}

// ConsumerDescription is a KIP-848 group as ConsumerGroupDescribe shows it.
type ConsumerDescription struct {
	ID              string
	State           State
	Epoch           int32
	AssignmentEpoch int32
	Assignor        string
	Members         []ConsumerMemberDescription
}

// ConsumerMemberDescription is one member of a KIP-848 group.
type ConsumerMemberDescription struct {
	MemberID         string
	InstanceID       *string
	RackID           *string
	MemberEpoch      int32
	ClientID         string
	ClientHost       string
	SubscribedTopics []string
	SubscribedRegex  *string
	Assignment       map[[16]byte][]int32
	TargetAssignment map[[16]byte][]int32
	// Classic is set for a member using the classic protocol (JoinGroup,
	// SyncGroup) in the consumer group.
	Classic bool
}

// DescribeConsumerGroup returns a KIP-848 group: GROUP_ID_NOT_FOUND for an
// unknown group or a classic one.
func (c *Coordinator) DescribeConsumerGroup(id string) (ConsumerDescription, error) {
	var d ConsumerDescription
	res := error(kerr.GroupIDNotFound)
	err := c.do(id, func(s *groups, now time.Time, _ *change) {
		g := s.lookup(id, false, now)
		if g == nil || g.consumer == nil || g.state == Dead {
			return
		}
		cg := g.consumer
		d = ConsumerDescription{ID: id, State: cg.state(), Epoch: cg.epoch, AssignmentEpoch: cg.targetEpoch, Assignor: cg.assignor()}
		for _, m := range cg.sortedMembers() {
			md := ConsumerMemberDescription{
				MemberID: m.ID, InstanceID: m.InstanceID, RackID: m.RackID, MemberEpoch: m.Epoch,
				ClientID: m.ClientID, ClientHost: m.ClientHost, SubscribedTopics: m.Subscribed,
				Assignment: m.Assigned.byTopic(), TargetAssignment: cg.target[m.ID].byTopic(),
				Classic: m.Classic != nil,
			}
			if m.Regex != "" {
				md.SubscribedRegex = &m.Regex
			}
			d.Members = append(d.Members, md)
		}
		res = nil
	})
	if err != nil {
		return ConsumerDescription{}, err
	}
	return d, res
}

// describeConsumerAsClassic renders a KIP-848 group for DescribeGroups, so
// tools that only speak the classic API (lag calculators) still see its
// members and their assignments, encoded as the consumer protocol does.
func (c *Coordinator) describeConsumerAsClassic(g *group) Description {
	cg := g.consumer
	d := Description{ID: g.id, State: cg.state(), ProtocolType: "consumer", Protocol: cg.assignor()}
	for _, m := range cg.sortedMembers() {
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = m.Subscribed
		assignment := kmsg.NewConsumerMemberAssignment()
		for id, ps := range m.Assigned.byTopic() {
			name := fmt.Sprintf("%x", id)
			if c.cfg.Topics != nil {
				if t, ok := c.cfg.Topics.TopicByID(id); ok {
					name = t.Name
				}
			}
			assignment.Topics = append(assignment.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: name, Partitions: ps})
		}
		sort.Slice(assignment.Topics, func(i, j int) bool { return assignment.Topics[i].Topic < assignment.Topics[j].Topic })
		d.Members = append(d.Members, MemberDescription{
			MemberID: m.ID, InstanceID: m.InstanceID, ClientID: m.ClientID, ClientHost: m.ClientHost,
			Metadata: meta.AppendTo(nil), Assignment: assignment.AppendTo(nil),
		})
	}
	return d
}
