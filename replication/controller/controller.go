package controller

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

// Controller decides; it reads the image and returns records to propose.
// It never changes the image itself: the records do, once committed. Time
// is an input.
type Controller struct {
	image          *Image
	sessionTimeout time.Duration
	lastHeartbeat  map[int32]time.Time
	// UncleanDefault is the broker default of
	// unclean.leader.election.enable (false); a topic's config overrides
	// it.
	UncleanDefault bool
}

// unclean reports whether a topic may elect a leader outside its ISR.
func (c *Controller) unclean(topic string) bool {
	if t, ok := c.image.Topics[topic]; ok {
		if v, ok := t.Configs["unclean.leader.election.enable"]; ok {
			return v == "true"
		}
	}
	return c.UncleanDefault
}

// Rebase makes the controller decide on another image: a copy with the
// records decided but not yet committed applied, so decisions batched
// together each see the ones before them.
func (c *Controller) Rebase(image *Image) { c.image = image }

// ProducerIDBlockSize is how many producer ids a broker takes at a time.
const ProducerIDBlockSize = 1000

// AllocateProducerIDs hands a broker the next block of producer ids.
func (c *Controller) AllocateProducerIDs(broker int32) ([]Record, *ProducerIDBlock, error) {
	b, ok := c.image.Brokers[broker]
	if !ok || b.Fenced {
		return nil, nil, ErrBrokerNotRegistered
	}
	block := &ProducerIDBlock{Broker: broker, First: c.image.NextProducerID, Size: ProducerIDBlockSize}
	return []Record{{ProducerIDs: block}}, block, nil
}

// New returns the active controller's logic over an image that the caller
// keeps applying committed records to.
func New(image *Image, sessionTimeout time.Duration) *Controller {
	return &Controller{image: image, sessionTimeout: sessionTimeout, lastHeartbeat: map[int32]time.Time{}}
}

func fence(id int32) Record   { return Record{FenceBroker: &id} }
func unfence(id int32) Record { return Record{UnfenceBroker: &id} }

// Touch starts or refreshes a broker's session without deciding anything:
// a newly active controller gives every broker a full session.
func (c *Controller) Touch(id int32, now time.Time) { c.lastHeartbeat[id] = now }

// Register handles a broker's registration: it starts fenced and is
// unfenced by its first heartbeat. A new incarnation of a registered
// broker (the process restarted) is fenced first, as a dead broker is:
// out of the ISRs and out of leadership. Its log may have lost what it
// had not synced, and a restarted leader no longer knows its followers,
// so it must not go on at its old leader epoch. The same incarnation
// registering again (its reply was lost and it retried) keeps its fenced
// state: marking a live broker fenced without moving its leaderships
// would leave partitions led by a fenced broker. Its session is
// refreshed, and a record is proposed only if its address or rack
// changed.
func (c *Controller) Register(b BrokerInfo, now time.Time) []Record {
	c.lastHeartbeat[b.ID] = now
	old, ok := c.image.Brokers[b.ID]
	switch {
	case ok && old.Incarnation == b.Incarnation:
		b.Fenced = old.Fenced
		if b.Equal(old) {
			return nil
		}
		return []Record{{RegisterBroker: &b}}
	case ok:
		b.Fenced = true
		return append(c.Fence(b.ID), Record{RegisterBroker: &b})
	default:
		b.Fenced = true
		return []Record{{RegisterBroker: &b}}
	}
}

// Heartbeat keeps a broker's session; a fenced broker is unfenced, and
// leaderless partitions whose ISR holds it elect it.
func (c *Controller) Heartbeat(id int32, now time.Time) ([]Record, error) {
	b, ok := c.image.Brokers[id]
	if !ok {
		return nil, ErrBrokerNotRegistered
	}
	c.lastHeartbeat[id] = now
	if !b.Fenced {
		return nil, nil
	}
	recs := []Record{unfence(id)}
	for _, name := range c.topicNames() {
		for i, p := range c.image.Topics[name].Partitions {
			if p.Leader != -1 {
				continue
			}
			switch {
			case slices.Contains(p.ISR, id):
			case c.unclean(name) && slices.Contains(p.Replicas, id):
				// The whole ISR is dead and the topic allows it: this
				// replica's log becomes the partition's.
				p = p.clone()
				p.ISR = []int32{id}
			default:
				continue
			}
			p = p.clone()
			p.Leader = id
			p.LeaderEpoch++
			p.PartitionEpoch++
			recs = append(recs, change(name, int32(i), p))
		}
	}
	return recs, nil
}

func change(topic string, p int32, s PartitionState) Record {
	return Record{PartitionChange: &PartitionChange{Topic: topic, Partition: p, State: s}}
}

func (c *Controller) topicNames() []string {
	names := make([]string, 0, len(c.image.Topics))
	for n := range c.image.Topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Tick fences brokers whose session expired. Several expiring in one
// tick are fenced in turn, in id order, each decided on a copy of the
// image with the earlier fences applied, so no fence undoes another (the
// controller's own image is not changed: the records do that once
// committed). None of them is elected leader in another's place: a broker
// fenced in this tick is no candidate.
func (c *Controller) Tick(now time.Time) []Record {
	var expired []int32
	for _, id := range c.brokerIDs() {
		if c.image.Brokers[id].Fenced || now.Sub(c.lastHeartbeat[id]) <= c.sessionTimeout {
			continue
		}
		expired = append(expired, id)
	}
	if len(expired) == 0 {
		return nil
	}
	base := c.image
	scratch := base.Clone()
	c.image = scratch
	defer func() { c.image = base }()
	var recs []Record
	for _, id := range expired {
		for _, r := range c.fence(id, expired) {
			scratch.Apply(r) // records decided on this image apply to it
			recs = append(recs, r)
		}
	}
	return recs
}

func (c *Controller) brokerIDs() []int32 {
	ids := make([]int32, 0, len(c.image.Brokers))
	for id := range c.image.Brokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Fence takes a broker out: out of every ISR it is in (unless it is the
// last member) and out of leadership, with a new leader from the ISR's
// live members where there is one. The partition changes come before the
// FenceBroker record (Kafka's order too), so no prefix of the batch shows
// a fenced broker leading or sharing an ISR.
func (c *Controller) Fence(id int32) []Record { return c.fence(id, nil) }

// fence is Fence where the brokers in leaving are being fenced by the
// same decision (sessions that expired in one tick): none of them is
// elected leader.
func (c *Controller) fence(id int32, leaving []int32) []Record {
	eligible := func(r int32) bool { return r != id && c.image.live(r) && !slices.Contains(leaving, r) }
	var recs []Record
	for _, name := range c.topicNames() {
		for i, p := range c.image.Topics[name].Partitions {
			if p.Leader != id && !slices.Contains(p.ISR, id) {
				continue
			}
			next := p.clone()
			if len(next.ISR) > 1 {
				next.ISR = slices.DeleteFunc(next.ISR, func(r int32) bool { return r == id })
			}
			if next.Leader == id {
				next.Leader = -1
				for _, r := range next.Replicas { // preferred order
					if slices.Contains(next.ISR, r) && eligible(r) {
						next.Leader = r
						break
					}
				}
				if next.Leader == -1 && c.unclean(name) {
					for _, r := range next.Replicas {
						if eligible(r) {
							next.Leader, next.ISR = r, []int32{r}
							break
						}
					}
				}
				next.LeaderEpoch++
			}
			if next.Leader == p.Leader && slices.Equal(next.ISR, p.ISR) {
				continue // the last ISR member of a leaderless partition: nothing changes
			}
			next.PartitionEpoch++
			recs = append(recs, change(name, int32(i), next))
		}
	}
	return append(recs, fence(id))
}

// AlterPartition handles a leader's ISR change.
func (c *Controller) AlterPartition(topic string, partition, leader, leaderEpoch, partitionEpoch int32, isr []int32) ([]Record, error) {
	p, ok := c.image.Partition(topic, partition)
	switch {
	case !ok:
		return nil, ErrUnknownTopic
	case p.Leader != leader || p.LeaderEpoch != leaderEpoch:
		return nil, ErrStaleLeader
	case p.PartitionEpoch != partitionEpoch:
		return nil, ErrStalePartitionEpoch
	case !slices.Contains(isr, leader):
		return nil, ErrInvalidISR
	}
	for _, r := range isr {
		if !slices.Contains(p.Replicas, r) {
			return nil, ErrInvalidISR
		}
		if !slices.Contains(p.ISR, r) && !c.image.live(r) {
			return nil, ErrIneligibleReplica
		}
	}
	next := p.clone()
	next.ISR = slices.Clone(isr)
	slices.Sort(next.ISR)
	next.PartitionEpoch++
	recs := []Record{change(topic, partition, next)}
	if done, ok := c.completeReassignment(next); ok {
		recs = append(recs, change(topic, partition, done))
	}
	return recs, nil
}

// completeReassignment finishes a reassignment whose target replicas are
// all in the ISR: the removed replicas leave, and leadership moves into
// the target set if it was outside. The leader epoch changes with the
// replica set, so the leader starts over with its new followers.
func (c *Controller) completeReassignment(p PartitionState) (PartitionState, bool) {
	if !p.Reassigning() {
		return p, false
	}
	target := p.Target()
	for _, r := range target {
		if !slices.Contains(p.ISR, r) {
			return p, false
		}
	}
	next := p.clone()
	next.Replicas, next.Adding, next.Removing = target, nil, nil
	next.ISR = slices.DeleteFunc(next.ISR, func(r int32) bool { return !slices.Contains(target, r) })
	if !slices.Contains(target, next.Leader) {
		next.Leader = -1
		for _, r := range target {
			if c.image.live(r) {
				next.Leader = r
				break
			}
		}
	}
	next.LeaderEpoch++
	next.PartitionEpoch++
	return next, true
}

// Reassign starts moving a partition to target replicas (Kafka's
// AlterPartitionReassignments), or with a nil target cancels the move in
// progress. Target replicas must be registered brokers, each named once.
// The partition keeps every old replica until all target replicas have
// joined the ISR (AlterPartition then completes it); a target within the
// ISR completes at once. A new target replaces the move in progress,
// which is reverted first (see revert).
func (c *Controller) Reassign(topic string, partition int32, target []int32) ([]Record, error) {
	p, ok := c.image.Partition(topic, partition)
	if !ok {
		return nil, ErrUnknownTopic
	}
	if target == nil {
		if !p.Reassigning() {
			return nil, ErrNoReassignment
		}
		next, err := c.revert(topic, partition, p)
		if err != nil {
			return nil, err
		}
		next.LeaderEpoch++
		next.PartitionEpoch++
		return []Record{change(topic, partition, next)}, nil
	}
	if len(target) == 0 {
		return nil, fmt.Errorf("%w: no replicas", ErrInvalidAssignment)
	}
	for i, r := range target {
		if _, ok := c.image.Brokers[r]; !ok || slices.Contains(target[:i], r) {
			return nil, fmt.Errorf("%w: replica %d is not a registered broker or is named twice", ErrInvalidAssignment, r)
		}
	}
	base := p.clone()
	if p.Reassigning() { // a new target replaces the move in progress
		var err error
		if base, err = c.revert(topic, partition, p); err != nil {
			return nil, err
		}
	}
	if slices.Equal(base.Replicas, target) && !p.Reassigning() {
		return nil, nil
	}
	next := base
	next.Adding, next.Removing = nil, nil
	next.Replicas = slices.Clone(target)
	for _, r := range base.Replicas {
		if !slices.Contains(target, r) {
			next.Replicas = append(next.Replicas, r)
			next.Removing = append(next.Removing, r)
		}
	}
	for _, r := range target {
		if !slices.Contains(base.Replicas, r) {
			next.Adding = append(next.Adding, r)
		}
	}
	next.LeaderEpoch++
	next.PartitionEpoch++
	if done, ok := c.completeReassignment(next); ok {
		next = done
	}
	return []Record{change(topic, partition, next)}, nil
}

// revert undoes a move in progress: the replicas being added leave the
// replica set and the ISR, and a leader among them gives way to a live
// ISR member (in replica order; none: no leader). When only replicas
// being added are in the ISR, reverting is an unclean election (Kafka's
// rule): refused unless the topic allows one, and then the first live
// remaining replica becomes the whole ISR and the leader.
func (c *Controller) revert(topic string, partition int32, p PartitionState) (PartitionState, error) {
	adding := func(r int32) bool { return slices.Contains(p.Adding, r) }
	next := p.clone()
	next.Replicas = slices.DeleteFunc(next.Replicas, adding)
	next.ISR = slices.DeleteFunc(next.ISR, adding)
	next.Adding, next.Removing = nil, nil
	if len(next.ISR) == 0 {
		next.Leader = -1
		if c.unclean(topic) {
			for _, r := range next.Replicas {
				if c.image.live(r) {
					next.Leader, next.ISR = r, []int32{r}
					break
				}
			}
		}
		if next.Leader == -1 {
			return p, fmt.Errorf("%w: only replicas being added to %s-%d are in its ISR: undoing the move would need an unclean leader election",
				ErrInvalidAssignment, topic, partition)
		}
		return next, nil
	}
	if adding(next.Leader) {
		next.Leader = -1
		for _, r := range next.Replicas {
			if slices.Contains(next.ISR, r) && c.image.live(r) {
				next.Leader = r
				break
			}
		}
	}
	return next, nil
}

// Reassignments lists the partitions being moved.
func (c *Controller) Reassignments() map[kafka.TopicPartition]PartitionState {
	out := map[kafka.TopicPartition]PartitionState{}
	for name, t := range c.image.Topics {
		for i, p := range t.Partitions {
			if p.Reassigning() {
				out[kafka.TopicPartition{Topic: name, Partition: int32(i)}] = p.clone()
			}
		}
	}
	return out
}

// CreateTopic places a new topic's replicas on unfenced brokers.
func (c *Controller) CreateTopic(name string, id [16]byte, partitions int32, replicationFactor int16, configs map[string]string, assignment [][]int32) ([]Record, error) {
	if _, ok := c.image.Topics[name]; ok {
		return nil, ErrTopicExists
	}
	if assignment != nil {
		// CreateTopics' replica assignment: partition count and
		// replication factor follow from it.
		partitions = int32(len(assignment))
		if partitions > 0 {
			replicationFactor = int16(len(assignment[0]))
		}
	}
	if partitions <= 0 {
		return nil, ErrInvalidPartitions
	}
	brokers := c.placementOrder()
	if assignment == nil && (int(replicationFactor) > len(brokers) || replicationFactor <= 0) {
		return nil, fmt.Errorf("%w: replication factor %d with %d live brokers", ErrInvalidReplicationFactor, replicationFactor, len(brokers))
	}
	t := TopicInfo{Name: name, ID: id, Configs: configs}
	for p := int32(0); p < partitions; p++ {
		var replicas []int32
		if assignment != nil {
			var err error
			if replicas, err = c.checkAssignment(assignment[p], int(replicationFactor)); err != nil {
				return nil, fmt.Errorf("%w (partition %d)", err, p)
			}
		} else {
			for r := 0; r < int(replicationFactor); r++ {
				replicas = append(replicas, brokers[(int(p)+r)%len(brokers)])
			}
		}
		// The ISR is the live replicas (a fenced one joins once it is
		// back, as any follower does); the leader the first of them.
		isr := slices.DeleteFunc(slices.Clone(replicas), func(r int32) bool { return !c.image.live(r) })
		if len(isr) == 0 {
			return nil, fmt.Errorf("%w: every replica of partition %d is fenced", ErrInvalidAssignment, p)
		}
		leader := isr[0]
		slices.Sort(isr)
		t.Partitions = append(t.Partitions, PartitionState{Replicas: replicas, ISR: isr, Leader: leader})
	}
	return []Record{{CreateTopic: &t}}, nil
}

// checkAssignment checks one partition's manual replica assignment: rf
// distinct registered brokers.
func (c *Controller) checkAssignment(replicas []int32, rf int) ([]int32, error) {
	if len(replicas) != rf || rf == 0 {
		return nil, fmt.Errorf("%w: %d replicas where the replication factor is %d", ErrInvalidAssignment, len(replicas), rf)
	}
	for i, r := range replicas {
		if _, ok := c.image.Brokers[r]; !ok || slices.Contains(replicas[:i], r) {
			return nil, fmt.Errorf("%w: replica %d is not a registered broker or is named twice", ErrInvalidAssignment, r)
		}
	}
	return slices.Clone(replicas), nil
}

// AlterTopicConfigs replaces a topic's config overrides (AlterConfigs,
// IncrementalAlterConfigs); the caller has validated them.
func (c *Controller) AlterTopicConfigs(name string, configs map[string]string) ([]Record, error) {
	if _, ok := c.image.Topics[name]; !ok {
		return nil, ErrUnknownTopic
	}
	return []Record{{TopicConfigs: &TopicConfigs{Topic: name, Configs: maps.Clone(configs)}}}, nil
}

// Import turns a single broker's topic catalog, written before the
// metadata log existed, into records: each topic not yet in the image,
// with its id, partition count and configs, has broker as its one replica
// and leader; producer ids up to nextProducerID are taken, so none is
// handed out again. A topic already in the image under the same id is
// skipped (an import interrupted and run again); under another id it is
// refused.
func (c *Controller) Import(broker int32, topics []TopicInfo, nextProducerID int64) ([]Record, error) {
	var recs []Record
	for _, t := range topics {
		if have, ok := c.image.Topics[t.Name]; ok {
			if have.ID != t.ID {
				return nil, fmt.Errorf("%w: topic %s exists under another id", ErrTopicExists, t.Name)
			}
			continue
		}
		ti := TopicInfo{Name: t.Name, ID: t.ID, Configs: maps.Clone(t.Configs)}
		for range t.Partitions {
			ti.Partitions = append(ti.Partitions, PartitionState{Replicas: []int32{broker}, ISR: []int32{broker}, Leader: broker})
		}
		recs = append(recs, Record{CreateTopic: &ti})
	}
	if nextProducerID > c.image.NextProducerID {
		first := c.image.NextProducerID
		recs = append(recs, Record{ProducerIDs: &ProducerIDBlock{Broker: broker, First: first, Size: int32(min(nextProducerID-first, 1<<30))}})
	}
	return recs, nil
}

// DeleteTopic deletes a topic; brokers delete their replicas of it.
func (c *Controller) DeleteTopic(name string) ([]Record, error) {
	if _, ok := c.image.Topics[name]; !ok {
		return nil, ErrUnknownTopic
	}
	return []Record{{DeleteTopic: &name}}, nil
}

// CreatePartitions grows a topic to count partitions, with the topic's
// replication factor, placed like a new topic's (continuing where its
// partitions left off) or as assigned: one replica list per new
// partition, of registered brokers named once each. A new partition's
// ISR is its unfenced replicas (Kafka's rule): an assignment whose
// replicas are all fenced is refused.
func (c *Controller) CreatePartitions(name string, count int32, assignment [][]int32) ([]Record, error) {
	t, ok := c.image.Topics[name]
	if !ok {
		return nil, ErrUnknownTopic
	}
	have := int32(len(t.Partitions))
	if count <= have {
		return nil, fmt.Errorf("%w: topic has %d partitions; the new count must be larger, got %d", ErrInvalidPartitions, have, count)
	}
	rf := len(t.Partitions[0].Replicas) - len(t.Partitions[0].Removing)
	if assignment != nil && int32(len(assignment)) != count-have {
		return nil, fmt.Errorf("%w: one assignment per new partition is required", ErrInvalidAssignment)
	}
	brokers := c.placementOrder()
	if assignment == nil && rf > len(brokers) {
		return nil, fmt.Errorf("%w: replication factor %d with %d live brokers", ErrInvalidReplicationFactor, rf, len(brokers))
	}
	add := &AddPartitions{Topic: name}
	for p := have; p < count; p++ {
		var replicas []int32
		if assignment != nil {
			replicas = assignment[p-have]
			for i, r := range replicas {
				if _, ok := c.image.Brokers[r]; !ok || slices.Contains(replicas[:i], r) {
					return nil, fmt.Errorf("%w: replica %d is not a registered broker or is named twice", ErrInvalidAssignment, r)
				}
			}
			if len(replicas) != rf {
				return nil, fmt.Errorf("%w: %d replicas for a topic with replication factor %d", ErrInvalidAssignment, len(replicas), rf)
			}
		} else {
			for r := 0; r < rf; r++ {
				replicas = append(replicas, brokers[(int(p)+r)%len(brokers)])
			}
		}
		// The ISR is the live replicas (a fenced one joins once it is
		// back, as any follower does); the leader the first of them.
		isr := slices.DeleteFunc(slices.Clone(replicas), func(r int32) bool { return !c.image.live(r) })
		if len(isr) == 0 {
			return nil, fmt.Errorf("%w: every replica of new partition %d is fenced", ErrInvalidAssignment, p)
		}
		leader := isr[0]
		slices.Sort(isr)
		add.Partitions = append(add.Partitions, PartitionState{Replicas: replicas, ISR: isr, Leader: leader})
	}
	return []Record{{AddPartitions: add}}, nil
}

// placementOrder lists unfenced brokers alternating racks (brokers without
// a rack form one rack), so consecutive replicas land on different racks
// when there are several.
func (c *Controller) placementOrder() []int32 {
	byRack := map[string][]int32{}
	var racks []string
	for id, b := range c.image.Brokers {
		if b.Fenced {
			continue
		}
		if _, ok := byRack[b.Rack]; !ok {
			racks = append(racks, b.Rack)
		}
		byRack[b.Rack] = append(byRack[b.Rack], id)
	}
	sort.Strings(racks)
	for _, ids := range byRack {
		slices.Sort(ids)
	}
	var out []int32
	for i := 0; ; i++ {
		added := false
		for _, r := range racks {
			if i < len(byRack[r]) {
				out = append(out, byRack[r][i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// Election types of ElectLeaders, as Kafka numbers them.
const (
	PreferredElection int8 = 0
	UncleanElection   int8 = 1
)

// ElectLeaders runs Kafka's ElectLeaders on the named partitions (nil: all
// of them). A preferred election moves leadership to the first replica
// when it is live and in the ISR; an unclean one gives a leaderless
// partition any live replica, in the ISR or not, which the admin asking
// for it accepts may lose records. Each partition's outcome is nil (a new
// leader), ErrElectionNotNeeded, ErrPreferredLeaderNotAvailable,
// ErrEligibleLeadersNotAvailable, ErrUnknownTopic or
// ErrInvalidElectionType. A
// partition named twice is decided once: two elections decided on the
// same state would not build on each other.
func (c *Controller) ElectLeaders(typ int8, parts []kafka.TopicPartition) ([]Record, map[kafka.TopicPartition]error) {
	if parts == nil {
		for _, name := range c.topicNames() {
			for i := range c.image.Topics[name].Partitions {
				parts = append(parts, kafka.TopicPartition{Topic: name, Partition: int32(i)})
			}
		}
	}
	var recs []Record
	out := map[kafka.TopicPartition]error{}
	for _, ref := range parts {
		if _, done := out[ref]; done {
			continue
		}
		p, ok := c.image.Partition(ref.Topic, ref.Partition)
		if !ok {
			out[ref] = ErrUnknownTopic
			continue
		}
		leader := int32(-1)
		switch typ {
		case PreferredElection:
			pref := p.Replicas[0]
			switch {
			case p.Leader == pref:
				out[ref] = ErrElectionNotNeeded
				continue
			case !slices.Contains(p.ISR, pref) || !c.image.live(pref):
				out[ref] = ErrPreferredLeaderNotAvailable
				continue
			}
			leader = pref
		case UncleanElection:
			if p.Leader >= 0 {
				out[ref] = ErrElectionNotNeeded
				continue
			}
			for _, r := range p.Replicas {
				if c.image.live(r) {
					leader = r
					break
				}
			}
			if leader < 0 {
				out[ref] = ErrEligibleLeadersNotAvailable
				continue
			}
		default:
			out[ref] = ErrInvalidElectionType
			continue
		}
		next := p.clone()
		next.Leader = leader
		if !slices.Contains(next.ISR, leader) {
			next.ISR = []int32{leader} // unclean: the new leader's log is the truth now
		}
		next.LeaderEpoch++
		next.PartitionEpoch++
		recs = append(recs, change(ref.Topic, ref.Partition, next))
		out[ref] = nil
	}
	return recs, out
}

// ElectPreferred moves leadership of partitions to their first replica
// where it is live, in the ISR and not already leading (the periodic
// rebalance of auto.leader.rebalance.enable).
func (c *Controller) ElectPreferred() []Record {
	recs, _ := c.ElectLeaders(PreferredElection, nil)
	return recs
}
