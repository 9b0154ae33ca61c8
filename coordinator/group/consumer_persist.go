package group

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// consumerGroupKeyVersion keys a KIP-848 group's snapshot in the offsets
// topic. Kafka writes such groups as several record types (versions 3-8)
// that kmsg does not define; Rill writes the whole group as one JSON value
// under a key version Kafka does not use, so compaction keeps the latest
// snapshot and a Kafka tool reading the topic skips it as unknown.
const consumerGroupKeyVersion = 100

func consumerGroupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: consumerGroupKeyVersion, Group: group}
	return k.AppendTo(nil)
}

type consumerSnapshot struct {
	Epoch       int32
	TargetEpoch int32
	TopicsSeen  string
	// StateSince is Unix milliseconds: when the group last changed state
	// (became empty), for offset expiry.
	StateSince int64
	Members    []memberSnapshot
}

type memberSnapshot struct {
	consumerMember
	AssignedTopics map[string][]int32 `json:",omitempty"`
	RevokingTopics map[string][]int32 `json:",omitempty"`
	TargetTopics   map[string][]int32 `json:",omitempty"`
	// SessionTimeoutMillis is not restored: sessions restart on load.
}

func encodeSet(s partitionSet) map[string][]int32 {
	out := map[string][]int32{}
	for id, ps := range s.byTopic() {
		out[hex.EncodeToString(id[:])] = ps
	}
	return out
}

func decodeSet(m map[string][]int32) partitionSet {
	s := partitionSet{}
	for k, ps := range m {
		var id [16]byte
		if b, err := hex.DecodeString(k); err == nil && len(b) == 16 {
			copy(id[:], b)
			for _, p := range ps {
				s[idPartition{id, p}] = true
			}
		}
	}
	return s
}

// consumerGroupRecord is a KIP-848 group's snapshot record.
func consumerGroupRecord(g *group) []Record {
	cg := g.consumer
	snap := consumerSnapshot{Epoch: cg.epoch, TargetEpoch: cg.targetEpoch, TopicsSeen: cg.topicsSeen, StateSince: g.stateSince.UnixMilli()}
	for _, m := range cg.sortedMembers() {
		snap.Members = append(snap.Members, memberSnapshot{
			consumerMember: *m,
			AssignedTopics: encodeSet(m.Assigned),
			RevokingTopics: encodeSet(m.Revoking),
			TargetTopics:   encodeSet(cg.target[m.ID]),
		})
	}
	v, err := json.Marshal(snap)
	if err != nil {
		panic(fmt.Sprintf("group: encoding a consumer group snapshot: %v", err)) // plain data: cannot fail
	}
	return []Record{{Key: consumerGroupKey(g.id), Value: v}}
}

// restoreConsumer rebuilds a KIP-848 group; its members' sessions (and
// revocation deadlines) start now.
func restoreConsumer(g *group, snap *consumerSnapshot, now time.Time, sessionTimeout time.Duration) {
	cg := newConsumerGroup()
	cg.epoch, cg.targetEpoch, cg.topicsSeen = snap.Epoch, snap.TargetEpoch, snap.TopicsSeen
	for _, ms := range snap.Members {
		m := ms.consumerMember
		m.Assigned, m.Revoking = decodeSet(ms.AssignedTopics), decodeSet(ms.RevokingTopics)
		m.deadline = now.Add(sessionTimeout)
		if m.Classic != nil {
			m.deadline = now.Add(m.Classic.SessionTimeout)
		}
		timeout := m.RebalanceTimeout
		if timeout <= 0 {
			timeout = sessionTimeout
		}
		m.revokeDeadline = now.Add(timeout)
		if m.State == "" {
			m.State = memberStable
		}
		cg.members[m.ID] = &m
		cg.target[m.ID] = decodeSet(ms.TargetTopics)
	}
	g.consumer = cg
	g.protocolType = "consumer"
	g.state = Stable
	if len(cg.members) == 0 {
		g.state = Empty
	}
	if snap.StateSince > 0 {
		g.stateSince = time.UnixMilli(snap.StateSince)
	}
}
