package group

import (
	"encoding/json"
	"fmt"
	"github.com/twmb/franz-go/pkg/kerr"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Key versions of the offsets topic: 0 and 1 are offset commits, 2 is
// group metadata (Kafka's GroupMetadataManager layout).
const (
	offsetKeyVersion = 1
	groupKeyVersion  = 2
	// offsetValueVersion 3 has the leader epoch and no expire timestamp;
	// groupValueVersion 3 has group.instance.id. Both are what Kafka 2.3+
	// writes, so any Kafka tool reads them.
	offsetValueVersion = 3
	groupValueVersion  = 3
)

func offsetKey(group string, tp TopicPartition) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetKeyVersion, Group: group, Topic: tp.Topic, Partition: tp.Partition}
	return k.AppendTo(nil)
}

func offsetValue(o Committed) []byte {
	v := kmsg.OffsetCommitValue{Version: offsetValueVersion, Offset: o.Offset, LeaderEpoch: o.LeaderEpoch, Metadata: o.Metadata, CommitTimestamp: o.CommitTime}
	return v.AppendTo(nil)
}

func groupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupKeyVersion, Group: group}
	return k.AppendTo(nil)
}

func groupValue(g *group) []byte {
	v := kmsg.GroupMetadataValue{
		Version:               groupValueVersion,
		ProtocolType:          g.protocolType,
		Generation:            g.generation,
		CurrentStateTimestamp: g.stateSince.UnixMilli(),
	}
	if g.protocol != "" {
		v.Protocol = kmsg.StringPtr(g.protocol)
	}
	if g.leader != "" {
		v.Leader = kmsg.StringPtr(g.leader)
	}
	for _, id := range g.order {
		m := g.members[id]
		v.Members = append(v.Members, kmsg.GroupMetadataValueMember{
			MemberID:               m.id,
			InstanceID:             m.instanceID,
			ClientID:               m.clientID,
			ClientHost:             m.clientHost,
			RebalanceTimeoutMillis: int32(m.rebalanceTimeout.Milliseconds()),
			SessionTimeoutMillis:   int32(m.sessionTimeout.Milliseconds()),
			Subscription:           m.metadataFor(g.protocol),
			Assignment:             m.assignment,
		})
	}
	return v.AppendTo(nil)
}

// persistGroup writes g's current generation.
func (c *Coordinator) persistGroup(g *group) error {
	return c.store.Append(c.partition(g.id), []Record{{Key: groupKey(g.id), Value: groupValue(g)}})
}

// loaded is what replaying the offsets topic leaves for one group.
type loaded struct {
	meta     *kmsg.GroupMetadataValue
	consumer *consumerSnapshot
	// metaSeq and consumerSeq order the two kinds of metadata: a group
	// that changed protocol has both, and the later one is current.
	metaSeq, consumerSeq int
	offsets              map[TopicPartition]Committed
}

// Load replays every partition of the offsets topic, replacing the
// coordinator's groups. A group with members comes back Stable, its members'
// sessions starting now, so members that are still running carry on with
// their heartbeats and the others expire. Records that do not decode are
// skipped and counted in the error, which leaves the rest loaded.
func (c *Coordinator) Load() error {
	all := make([]int32, c.cfg.OffsetsPartitions)
	for p := range all {
		all[p] = int32(p)
	}
	groups, err := c.load(all)
	if groups != nil {
		c.mu.Lock()
		c.mu.groups = groups
		c.mu.Unlock()
	}
	return err
}

// LoadPartition replays one offsets partition, replacing the groups it
// holds: this broker became its leader and now coordinates them (a
// cluster moves coordination with the partition's leadership).
func (c *Coordinator) LoadPartition(p int32) error {
	groups, err := c.load([]int32{p})
	if groups == nil {
		return err
	}
	c.dropPartition(p)
	c.mu.Lock()
	for id, g := range groups {
		c.mu.groups[id] = g
	}
	c.mu.Unlock()
	return err
}

// UnloadPartition forgets the groups of an offsets partition this broker
// no longer leads; members waiting on them are answered NOT_COORDINATOR
// and find the new coordinator.
func (c *Coordinator) UnloadPartition(p int32) {
	for _, g := range c.dropPartition(p) {
		g.mu.Lock()
		for _, m := range g.members {
			m.answerJoin(JoinResult{Err: kerr.NotCoordinator, Generation: -1})
			m.answerSync(SyncResult{Err: kerr.NotCoordinator})
		}
		g.mu.Unlock()
	}
}

// dropPartition removes and returns the groups of offsets partition p.
func (c *Coordinator) dropPartition(p int32) []*group {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*group
	for id, g := range c.mu.groups {
		if c.partition(id) == p {
			out = append(out, g)
			delete(c.mu.groups, id)
		}
	}
	return out
}

// load replays offsets partitions into groups. A read error returns no
// groups; records that do not decode are skipped and counted in the error.
func (c *Coordinator) load(parts []int32) (map[string]*group, error) {
	state := map[string]*loaded{}
	get := func(id string) *loaded {
		l := state[id]
		if l == nil {
			l = &loaded{offsets: map[TopicPartition]Committed{}}
			state[id] = l
		}
		return l
	}
	bad, seq := 0, 0
	apply := func(r Record) error {
		seq++
		if len(r.Key) < 2 {
			bad++
			return nil
		}
		switch version := int16(r.Key[0])<<8 | int16(r.Key[1]); version {
		case 0, 1:
			var k kmsg.OffsetCommitKey
			if k.ReadFrom(r.Key) != nil {
				bad++
				return nil
			}
			tp := TopicPartition{Topic: k.Topic, Partition: k.Partition}
			if r.Value == nil {
				delete(get(k.Group).offsets, tp)
				return nil
			}
			var v kmsg.OffsetCommitValue
			if v.ReadFrom(r.Value) != nil {
				bad++
				return nil
			}
			epoch := v.LeaderEpoch
			if v.Version < 3 {
				epoch = -1
			}
			get(k.Group).offsets[tp] = Committed{Offset: v.Offset, LeaderEpoch: epoch, Metadata: v.Metadata, CommitTime: v.CommitTimestamp}
		case 2:
			var k kmsg.GroupMetadataKey
			if k.ReadFrom(r.Key) != nil {
				bad++
				return nil
			}
			if r.Value == nil {
				// A deleted group: its offsets were tombstoned with it.
				delete(state, k.Group)
				return nil
			}
			v := new(kmsg.GroupMetadataValue)
			if v.ReadFrom(r.Value) != nil {
				bad++
				return nil
			}
			l := get(k.Group)
			l.meta, l.metaSeq = v, seq
		case consumerGroupKeyVersion:
			var k kmsg.GroupMetadataKey
			if k.ReadFrom(r.Key) != nil {
				bad++
				return nil
			}
			if r.Value == nil {
				if l := state[k.Group]; l != nil {
					l.consumer = nil
				}
				return nil
			}
			snap := new(consumerSnapshot)
			if json.Unmarshal(r.Value, snap) != nil {
				bad++
				return nil
			}
			l := get(k.Group)
			l.consumer, l.consumerSeq = snap, seq
		default:
			bad++
		}
		return nil
	}
	for _, p := range parts {
		if err := c.store.Load(p, apply); err != nil {
			return nil, fmt.Errorf("group: loading offsets partition %d: %w", p, err)
		}
	}
	now := c.cfg.Now()
	groups := map[string]*group{}
	for id, l := range state {
		if l.meta == nil && l.consumer == nil && len(l.offsets) == 0 {
			continue
		}
		if l.consumer != nil && l.consumerSeq > l.metaSeq {
			g := newGroup(id, now)
			g.offsets = l.offsets
			restoreConsumer(g, l.consumer, now, c.cfg.ConsumerSessionTimeout)
			groups[id] = g
			continue
		}
		groups[id] = restore(id, l, now)
	}
	if bad > 0 {
		return groups, fmt.Errorf("group: skipped %d offsets-topic records that do not decode", bad)
	}
	return groups, nil
}

func restore(id string, l *loaded, now time.Time) *group {
	g := newGroup(id, now)
	g.offsets = l.offsets
	v := l.meta
	if v == nil {
		return g
	}
	g.protocolType, g.generation = v.ProtocolType, v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	if v.Leader != nil {
		g.leader = *v.Leader
	}
	if v.Version >= 2 && v.CurrentStateTimestamp > 0 {
		g.stateSince = time.UnixMilli(v.CurrentStateTimestamp)
	}
	for _, vm := range v.Members {
		m := &member{
			id:               vm.MemberID,
			instanceID:       vm.InstanceID,
			clientID:         vm.ClientID,
			clientHost:       vm.ClientHost,
			sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocols:        []Protocol{{Name: g.protocol, Metadata: vm.Subscription}},
			assignment:       vm.Assignment,
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		m.deadline = now.Add(m.sessionTimeout)
		g.addMember(m)
	}
	if len(g.members) > 0 {
		g.state = Stable
	}
	if g.members[g.leader] == nil && len(g.order) > 0 {
		g.leader = g.order[0]
	}
	return g
}
