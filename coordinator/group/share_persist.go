package group

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// shareGroupKeyVersion keys a share group's snapshot in the offsets
// topic. Kafka writes share groups as several record types (versions
// 9-15 in Kafka 4.x) that kmsg does not define; Rill writes the whole
// group as one JSON value under a key version Kafka does not use, as it
// does consumer groups (consumerGroupKeyVersion), so compaction keeps the
// latest snapshot and a Kafka tool reading the topic skips it.
const shareGroupKeyVersion = 101

func shareGroupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: shareGroupKeyVersion, Group: group}
	return k.AppendTo(nil)
}

type shareSnapshot struct {
	Epoch       int32
	TargetEpoch int32
	TopicsSeen  string
	// StateSince is Unix milliseconds: when the group last changed state.
	StateSince int64
	// StateTopics is the hex ids of the topics the group may have
	// share-partition state for.
	StateTopics []string `json:",omitempty"`
	Members     []shareMemberSnapshot
}

type shareMemberSnapshot struct {
	shareMember
	AssignedTopics map[string][]int32 `json:",omitempty"`
	TargetTopics   map[string][]int32 `json:",omitempty"`
	// TargetIsAssigned stands for TargetTopics when the target is what
	// the member has (every member once it heartbeats after a change):
	// the snapshot, rewritten at each member's move, does not carry every
	// assignment twice.
	TargetIsAssigned bool `json:",omitempty"`
	// Sessions are not stored: they restart on load.
}

// shareGroupRecord is a share group's snapshot record.
func shareGroupRecord(g *group) []Record {
	sg := g.share
	snap := shareSnapshot{Epoch: sg.epoch, TargetEpoch: sg.targetEpoch, TopicsSeen: sg.topicsSeen, StateSince: g.stateSince.UnixMilli()}
	for _, id := range sortedIDs(sg.stateTopics) {
		snap.StateTopics = append(snap.StateTopics, hex.EncodeToString(id[:]))
	}
	for _, m := range sg.sortedMembers() {
		ms := shareMemberSnapshot{shareMember: *m, AssignedTopics: encodeSet(m.Assigned)}
		if target := sg.target[m.ID]; target.equal(m.Assigned) {
			ms.TargetIsAssigned = true
		} else {
			ms.TargetTopics = encodeSet(target)
		}
		snap.Members = append(snap.Members, ms)
	}
	v, err := json.Marshal(snap)
	if err != nil {
		panic(fmt.Sprintf("group: encoding a share group snapshot: %v", err)) // plain data: cannot fail
	}
	return []Record{{Key: shareGroupKey(g.id), Value: v}}
}

// restoreShare rebuilds a share group; its members' sessions start now.
func restoreShare(g *group, snap *shareSnapshot, now time.Time, sessionTimeout time.Duration) {
	sg := newShareGroup()
	sg.epoch, sg.targetEpoch, sg.topicsSeen = snap.Epoch, snap.TargetEpoch, snap.TopicsSeen
	for _, s := range snap.StateTopics {
		var id [16]byte
		if b, err := hex.DecodeString(s); err == nil && len(b) == 16 {
			copy(id[:], b)
			sg.stateTopics[id] = true
		}
	}
	for _, ms := range snap.Members {
		m := ms.shareMember
		m.Assigned = decodeSet(ms.AssignedTopics)
		m.deadline = now.Add(sessionTimeout)
		sg.members[m.ID] = &m
		sg.target[m.ID] = decodeSet(ms.TargetTopics)
		if ms.TargetIsAssigned {
			sg.target[m.ID] = decodeSet(ms.AssignedTopics)
		}
	}
	g.share = sg
	g.protocolType = "share"
	g.state = Stable
	if len(sg.members) == 0 {
		g.state = Empty
	}
	if snap.StateSince > 0 {
		g.stateSince = time.UnixMilli(snap.StateSince)
	}
}
