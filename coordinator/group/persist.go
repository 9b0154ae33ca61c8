package group

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
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

func offsetKey(group string, tp kafka.TopicPartition) []byte {
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

// groupValue is g's current generation as GroupMetadataValue;
// assignments, when set, stand for the members' own (the leader's
// SyncGroup, before it is written).
func groupValue(g *group, assignments map[string][]byte) kmsg.GroupMetadataValue {
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
		assignment := m.assignment
		if assignments != nil {
			assignment = assignments[id]
		}
		v.Members = append(v.Members, kmsg.GroupMetadataValueMember{
			MemberID:               m.id,
			InstanceID:             m.instanceID,
			ClientID:               m.clientID,
			ClientHost:             m.clientHost,
			RebalanceTimeoutMillis: int32(m.rebalanceTimeout.Milliseconds()),
			SessionTimeoutMillis:   int32(m.sessionTimeout.Milliseconds()),
			Subscription:           m.metadataFor(g.protocol),
			Assignment:             assignment,
		})
	}
	return v
}

// groupRecord is the record of a group's generation.
func groupRecord(id string, v kmsg.GroupMetadataValue) []Record {
	return []Record{{Key: groupKey(id), Value: v.AppendTo(nil)}}
}

// loaded is what replaying the offsets topic leaves for one group.
type loaded struct {
	meta     *kmsg.GroupMetadataValue
	consumer *consumerSnapshot
	share    *shareSnapshot
	// metaSeq, consumerSeq and shareSeq order the kinds of metadata: a
	// group that changed type has several, and the latest is current.
	metaSeq, consumerSeq, shareSeq int
	offsets                        map[kafka.TopicPartition]Committed
}

// replay is a partition's records read so far, by group.
type replay struct {
	state    map[string]*loaded
	bad, seq int
}

func newReplay() *replay { return &replay{state: map[string]*loaded{}} }

func (r *replay) get(id string) *loaded {
	l := r.state[id]
	if l == nil {
		l = &loaded{offsets: map[kafka.TopicPartition]Committed{}}
		r.state[id] = l
	}
	return l
}

// decodeSnapshot decodes a record of a group kept as one JSON snapshot
// (KIP-848 consumer groups, share groups): the group and its snapshot, nil
// for a tombstone. ok is false, and the record counted bad, when its key
// or value does not decode.
func decodeSnapshot[T any](r *replay, rec Record) (group string, snap *T, ok bool) {
	var k kmsg.GroupMetadataKey
	if k.ReadFrom(rec.Key) != nil {
		r.bad++
		return "", nil, false
	}
	if rec.Value == nil {
		return k.Group, nil, true
	}
	snap = new(T)
	if json.Unmarshal(rec.Value, snap) != nil {
		r.bad++
		return "", nil, false
	}
	return k.Group, snap, true
}

// Replay applies one record of the partition while it loads. Records that
// do not decode are counted and skipped. An offset commit of a
// transactional batch is pending for its producer, and an end-transaction
// marker applies or drops the producer's pending offsets (txn.go); other
// records of a transactional batch are read as any other (Kafka writes
// none).
func (s *groups) Replay(rec Record) {
	r := s.replay
	r.seq++
	if rec.Control != nil {
		if rec.Producer != nil {
			s.endTxn(rec.Producer.ID, rec.Control.Commit, func(id string) map[kafka.TopicPartition]Committed {
				return r.get(id).offsets
			})
		}
		return
	}
	if len(rec.Key) < 2 {
		r.bad++
		return
	}
	switch version := int16(rec.Key[0])<<8 | int16(rec.Key[1]); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if k.ReadFrom(rec.Key) != nil {
			r.bad++
			return
		}
		tp := kafka.TopicPartition{Topic: k.Topic, Partition: k.Partition}
		if rec.Value == nil {
			delete(r.get(k.Group).offsets, tp)
			s.txn.drop(k.Group, tp)
			return
		}
		var v kmsg.OffsetCommitValue
		if v.ReadFrom(rec.Value) != nil {
			r.bad++
			return
		}
		epoch := v.LeaderEpoch
		if v.Version < 3 {
			epoch = -1
		}
		o := Committed{Offset: v.Offset, LeaderEpoch: epoch, Metadata: v.Metadata, CommitTime: v.CommitTimestamp, record: int64(r.seq)}
		if rec.Producer != nil {
			// The group is there from the commit on, as Kafka's simple
			// group (Loaded keeps it while the transaction is open).
			r.get(k.Group)
			s.txn.add(k.Group, rec.Producer.ID, tp, o)
			return
		}
		r.get(k.Group).offsets[tp] = o
	case 2:
		var k kmsg.GroupMetadataKey
		if k.ReadFrom(rec.Key) != nil {
			r.bad++
			return
		}
		if rec.Value == nil {
			// A deleted group: its offsets were tombstoned with it.
			delete(r.state, k.Group)
			return
		}
		v := new(kmsg.GroupMetadataValue)
		if v.ReadFrom(rec.Value) != nil {
			r.bad++
			return
		}
		l := r.get(k.Group)
		l.meta, l.metaSeq = v, r.seq
	case consumerGroupKeyVersion:
		// A tombstone drops the snapshot and leaves its sequence number.
		switch group, snap, ok := decodeSnapshot[consumerSnapshot](r, rec); {
		case ok && snap == nil:
			if l := r.state[group]; l != nil {
				l.consumer = nil
			}
		case ok:
			l := r.get(group)
			l.consumer, l.consumerSeq = snap, r.seq
		}
	case shareGroupKeyVersion:
		switch group, snap, ok := decodeSnapshot[shareSnapshot](r, rec); {
		case ok && snap == nil:
			if l := r.state[group]; l != nil {
				l.share = nil
			}
		case ok:
			l := r.get(group)
			l.share, l.shareSeq = snap, r.seq
		}
	default:
		r.bad++
	}
}

// Loaded builds the partition's groups from what was replayed. A group
// with members comes back Stable, its members' sessions starting now, so
// members that are still running carry on with their heartbeats and the
// others expire.
func (s *groups) Loaded(now time.Time) error {
	r := s.replay
	s.replay = nil
	s.lastRetentionCheck = now
	s.records = int64(r.seq)
	for id, l := range r.state {
		if l.meta == nil && l.consumer == nil && l.share == nil && len(l.offsets) == 0 && !s.txn.open(id) {
			continue
		}
		if l.share != nil && l.shareSeq > l.metaSeq && l.shareSeq > l.consumerSeq {
			g := newGroup(id, now)
			restoreShare(g, l.share, now, s.c.cfg.ShareSessionTimeout)
			s.byID[id] = g
			continue
		}
		if l.consumer != nil && l.consumerSeq > l.metaSeq {
			g := newGroup(id, now)
			g.offsets = l.offsets
			restoreConsumer(g, l.consumer, now, s.c.cfg.ConsumerSessionTimeout)
			s.byID[id] = g
			continue
		}
		s.byID[id] = restore(id, l, now)
	}
	if r.bad > 0 {
		return fmt.Errorf("group: skipped %d records of offsets partition %d that do not decode", r.bad, s.p)
	}
	return nil
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
