package group

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ShareDescription is a share group as ShareGroupDescribe shows it.
type ShareDescription struct {
	ID              string
	State           State // Empty or Stable
	Epoch           int32
	AssignmentEpoch int32
	Assignor        string // "simple"
	Members         []ShareMemberDescription
}

// ShareMemberDescription is one member of a share group.
type ShareMemberDescription struct {
	MemberID         string
	RackID           *string
	MemberEpoch      int32
	ClientID         string
	ClientHost       string
	SubscribedTopics []string
	// Assignment is what the member was last given, by topic id.
	Assignment map[[16]byte][]int32
}

// DescribeShareGroup returns a share group: GROUP_ID_NOT_FOUND for an
// unknown group or one of another type (Kafka's shareGroup lookup).
func (c *Coordinator) DescribeShareGroup(id string) (ShareDescription, error) {
	var d ShareDescription
	res := error(kerr.GroupIDNotFound)
	err := c.do(id, func(s *groups, now time.Time, _ *change) {
		g := s.lookup(id, false, now)
		if g == nil || g.share == nil || g.state == Dead {
			return
		}
		sg := g.share
		d = ShareDescription{ID: id, State: sg.state(), Epoch: sg.epoch, AssignmentEpoch: sg.targetEpoch, Assignor: ShareAssignor}
		for _, m := range sg.sortedMembers() {
			d.Members = append(d.Members, ShareMemberDescription{
				MemberID: m.ID, RackID: m.RackID, MemberEpoch: m.Epoch, ClientID: m.ClientID, ClientHost: m.ClientHost,
				SubscribedTopics: m.Subscribed, Assignment: m.Assigned.byTopic(),
			})
		}
		res = nil
	})
	if err != nil {
		return ShareDescription{}, err
	}
	return d, res
}

// ShareGroupInfo is what the share-group offset APIs (DescribeShareGroupOffsets,
// AlterShareGroupOffsets, DeleteShareGroupOffsets) need of a share group.
type ShareGroupInfo struct {
	// State is Empty (no members: offsets may be altered or deleted) or
	// Stable.
	State State
	// Epoch is the group epoch.
	Epoch int32
	// Members is the member count.
	Members int
	// SubscribedTopics is the sorted names every member subscribes to
	// (whether or not the topics exist).
	SubscribedTopics []string
	// AssignedTopics is the ids of the topics of which some member holds
	// partitions now.
	AssignedTopics [][16]byte
	// StateTopics is the ids of the topics the group may have
	// share-partition state for: every existing topic a member was ever
	// assigned (a superset of AssignedTopics). It is the list the share
	// state of the group is deleted for when the group is
	// (Config.OnShareGroupDeleted), and what describing the group's
	// offsets without naming topics covers.
	StateTopics [][16]byte
}

// ShareGroupInfo returns a share group's state and topics. The error is
// GROUP_ID_NOT_FOUND for an unknown group or one that is not a share
// group (a group deleted, Dead, is unknown), else NOT_COORDINATOR or
// COORDINATOR_LOAD_IN_PROGRESS when this coordinator cannot answer for
// the group.
func (c *Coordinator) ShareGroupInfo(groupID string) (ShareGroupInfo, error) {
	var info ShareGroupInfo
	res := error(kerr.GroupIDNotFound)
	err := c.do(groupID, func(s *groups, now time.Time, _ *change) {
		g := s.lookup(groupID, false, now)
		if g == nil || g.share == nil || g.state == Dead {
			return
		}
		sg := g.share
		info = ShareGroupInfo{State: sg.state(), Epoch: sg.epoch, Members: len(sg.members), StateTopics: sortedIDs(sg.stateTopics)}
		names := map[string]bool{}
		assigned := map[[16]byte]bool{}
		for _, m := range sg.members {
			for _, n := range m.Subscribed {
				names[n] = true
			}
			for p := range m.Assigned {
				assigned[p.Topic] = true
			}
		}
		for n := range names {
			info.SubscribedTopics = append(info.SubscribedTopics, n)
		}
		sort.Strings(info.SubscribedTopics)
		info.AssignedTopics = sortedIDs(assigned)
		res = nil
	})
	if err != nil {
		return ShareGroupInfo{}, err
	}
	return info, res
}

// deleteShareGroup deletes an empty share group (DeleteGroups): its
// snapshot's tombstone, then Config.OnShareGroupDeleted with the topics
// it may have share state for, once the tombstone is written.
func (c *Coordinator) deleteShareGroup(s *groups, g *group, w *change, res *error) {
	if len(g.share.members) > 0 {
		*res = kerr.NonEmptyGroup
		return
	}
	topics := sortedIDs(g.share.stateTopics)
	w.write(groupTombstones(g.id), func() {
		g.transition(Dead, c.cfg.Now())
		s.remove(g)
		if c.cfg.OnShareGroupDeleted != nil {
			id := g.id
			go c.cfg.OnShareGroupDeleted(id, topics)
		}
	}, func(err error) { *res = persistError(err) })
}
