package controller

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

// Two brokers whose sessions expire in one tick are fenced in turn, the
// second on the image with the first fence applied (issue 11): each
// partition ends led by the one broker left, with no fenced broker in its
// ISR, and no epoch goes back within the batch. Deciding both fences on
// the same image made the second fence's record undo the first's: a
// partition went back to the old leader epoch with the fenced broker 1
// leading it and in its ISR.
func TestTickFencesSeveralExpiredBrokersInTurn(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, err := cl.c.CreateTopic("t", [16]byte{1}, 3, 3, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	for p := int32(0); p < 3; p++ {
		if s := cl.partition(p); s.Leader != p+1 {
			t.Fatalf("setup: partition %d led by %d", p, s.Leader)
		}
	}
	// Brokers 1 and 2 go silent; 3 keeps heartbeating.
	cl.now = cl.now.Add(11 * time.Second)
	cl.heartbeat(3)
	before := map[int32]PartitionState{}
	for p := int32(0); p < 3; p++ {
		before[p] = cl.partition(p)
	}
	recs = cl.c.Tick(cl.now)
	// Tick decided on a copy: the image changes only as records commit.
	for p := int32(0); p < 3; p++ {
		if s := cl.partition(p); !slices.Equal(s.ISR, before[p].ISR) || s.Leader != before[p].Leader || cl.im.Brokers[1].Fenced {
			t.Fatalf("Tick changed the image: partition %d %+v", p, s)
		}
	}
	for i, r := range recs {
		cl.commit([]Record{r})
		for p := int32(0); p < 3; p++ {
			s := cl.partition(p)
			if s.LeaderEpoch < before[p].LeaderEpoch || s.PartitionEpoch < before[p].PartitionEpoch {
				t.Fatalf("record %d of %d: partition %d went from %+v back to %+v", i, len(recs), p, before[p], s)
			}
			if s.Leader >= 0 && cl.im.Brokers[s.Leader].Fenced {
				t.Fatalf("record %d of %d: partition %d led by fenced broker %d: %+v", i, len(recs), p, s.Leader, s)
			}
			before[p] = s
		}
	}
	for _, id := range []int32{1, 2} {
		if !cl.im.Brokers[id].Fenced {
			t.Fatalf("broker %d not fenced", id)
		}
	}
	for p := int32(0); p < 3; p++ {
		s := cl.partition(p)
		if s.Leader != 3 || !slices.Equal(s.ISR, []int32{3}) {
			t.Fatalf("partition %d after the tick: %+v", p, s)
		}
	}
	// Partition 2 was led by 3 all along: its leader epoch stays; the
	// others each changed leader once (not once per fence).
	if s := cl.partition(2); s.LeaderEpoch != 0 {
		t.Fatalf("partition 2's leader never changed, but its epoch moved: %+v", s)
	}
	for p := int32(0); p < 2; p++ {
		if s := cl.partition(p); s.LeaderEpoch != 1 {
			t.Fatalf("partition %d changed leader once but its epoch is %d: %+v", p, s.LeaderEpoch, s)
		}
	}
}

// When every ISR member's session expires in one tick, none is elected in
// another's place (a second leader epoch for a leader fenced a record
// later): the partition goes leaderless at once, keeping its last ISR
// member, and elects the first that comes back.
func TestTickElectsNoBrokerFencedInTheSameTick(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 2, nil, nil)
	cl.commit(recs)
	s := cl.partition(0)
	cl.now = cl.now.Add(11 * time.Second)
	for id := int32(1); id <= 3; id++ {
		if !slices.Contains(s.Replicas, id) {
			cl.heartbeat(id)
		}
	}
	cl.commit(cl.c.Tick(cl.now))
	p := cl.partition(0)
	if p.Leader != -1 || p.LeaderEpoch != s.LeaderEpoch+1 || len(p.ISR) != 1 {
		t.Fatalf("both ISR members expired: %+v (was %+v)", p, s)
	}
	cl.heartbeat(p.ISR[0])
	if got := cl.partition(0); got.Leader != p.ISR[0] || got.LeaderEpoch != p.LeaderEpoch+1 {
		t.Fatalf("the last ISR member came back: %+v", got)
	}
}

// A broker registering again with the same incarnation (its reply was
// lost) keeps its fencing and its leaderships; its session is refreshed,
// and only a changed address is recorded.
func TestReregistrationOfTheSameIncarnationKeepsItsFencing(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 3, nil, nil)
	cl.commit(recs)
	lead := cl.partition(0).Leader
	info := cl.im.Brokers[lead]
	if recs := cl.c.Register(info, cl.now); len(recs) != 0 {
		t.Fatalf("an unchanged registration proposed %+v", recs)
	}
	moved := info
	moved.Port++
	moved.Fenced = true // what the broker sends does not decide its fencing
	recs = cl.c.Register(moved, cl.now.Add(8*time.Second))
	if len(recs) != 1 || recs[0].RegisterBroker == nil || recs[0].RegisterBroker.Fenced || recs[0].RegisterBroker.Port != info.Port+1 {
		t.Fatalf("a new port: %+v", recs)
	}
	cl.commit(recs)
	// The registration refreshed the session: no fence at 11 s.
	cl.now = cl.now.Add(11 * time.Second)
	for id := int32(1); id <= 3; id++ {
		if id != lead {
			cl.heartbeat(id)
		}
	}
	if recs := cl.c.Tick(cl.now); len(recs) != 0 {
		t.Fatalf("fenced within the session its registration started: %+v", recs)
	}
	if p := cl.partition(0); p.Leader != lead || cl.im.Brokers[lead].Fenced {
		t.Fatalf("after re-registering: %+v, %+v", p, cl.im.Brokers[lead])
	}
	// A fenced broker registering again stays fenced until it heartbeats.
	cl.commit(cl.c.Fence(lead))
	recs = cl.c.Register(cl.im.Brokers[lead], cl.now)
	cl.commit(recs)
	if !cl.im.Brokers[lead].Fenced {
		t.Fatal("a fenced broker re-registering was unfenced without a heartbeat")
	}
}

// A partition named twice in one ElectLeaders is decided once.
func TestElectLeadersDecidesAPartitionNamedTwiceOnce(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 3, nil, nil)
	cl.commit(recs)
	pref := cl.partition(0).Replicas[0]
	cl.commit(cl.c.Fence(pref))
	cl.heartbeat(pref)
	s := cl.partition(0)
	recs, err := cl.c.AlterPartition("t", 0, s.Leader, s.LeaderEpoch, s.PartitionEpoch, append(slices.Clone(s.ISR), pref))
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	ref := kafka.TopicPartition{Topic: "t", Partition: 0}
	recs, res := cl.c.ElectLeaders(PreferredElection, []kafka.TopicPartition{ref, ref})
	if len(recs) != 1 || res[ref] != nil {
		t.Fatalf("%d records, outcome %v", len(recs), res[ref])
	}
}

// New partitions assigned to fenced brokers: the ISR holds only the live
// ones, and an assignment with none live is refused.
func TestCreatePartitionsLeavesFencedReplicasOutOfTheISR(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 2, nil, nil)
	cl.commit(recs)
	cl.commit(cl.c.Fence(1))
	recs, err := cl.c.CreatePartitions("t", 2, [][]int32{{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	if p := cl.partition(1); p.Leader != 2 || !slices.Equal(p.ISR, []int32{2}) {
		t.Fatalf("new partition on fenced 1 and live 2: %+v", p)
	}
	cl.commit(cl.c.Fence(2))
	if _, err := cl.c.CreatePartitions("t", 3, [][]int32{{2, 1}}); !errors.Is(err, ErrInvalidAssignment) {
		t.Fatalf("every replica fenced: %v", err)
	}
}

// Undoing a move whose ISR holds only replicas being added (the old ones
// died meanwhile) would be an unclean election: refused, by a cancel and
// by a new target alike, unless the topic allows unclean elections. A
// leader among the replicas being added gives way when a new target
// replaces the move.
func TestReassignmentRevertKeepsTheISR(t *testing.T) {
	for _, unclean := range []bool{false, true} {
		cl := newCluster(t, "", "", "", "")
		cl.c.UncleanDefault = unclean
		recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 2, nil, nil)
		cl.commit(recs)
		s := cl.partition(0)
		var add []int32
		for id := int32(1); id <= 4; id++ {
			if !slices.Contains(s.Replicas, id) {
				add = append(add, id)
			}
		}
		// Move to the other two brokers; one of them catches up.
		recs, err := cl.c.Reassign("t", 0, add)
		if err != nil {
			t.Fatal(err)
		}
		cl.commit(recs)
		p := cl.partition(0)
		recs, err = cl.c.AlterPartition("t", 0, p.Leader, p.LeaderEpoch, p.PartitionEpoch, append(slices.Clone(p.ISR), add[0]))
		if err != nil {
			t.Fatal(err)
		}
		cl.commit(recs)
		// The old replicas die: the one caught up leads, alone in the ISR.
		for _, r := range s.Replicas {
			cl.commit(cl.c.Fence(r))
		}
		if p := cl.partition(0); p.Leader != add[0] || !slices.Equal(p.ISR, []int32{add[0]}) {
			t.Fatalf("setup: %+v", p)
		}
		cl.heartbeat(s.Replicas[1]) // one old replica is back (not in the ISR)
		_, errCancel := cl.c.Reassign("t", 0, nil)
		recs, errReplace := cl.c.Reassign("t", 0, []int32{add[1], s.Replicas[1]})
		if !unclean {
			if !errors.Is(errCancel, ErrInvalidAssignment) || !errors.Is(errReplace, ErrInvalidAssignment) {
				t.Fatalf("undoing with only added replicas in the ISR: %v, %v", errCancel, errReplace)
			}
			continue
		}
		if errCancel != nil || errReplace != nil {
			t.Fatalf("unclean: %v, %v", errCancel, errReplace)
		}
		cl.commit(recs)
		if p := cl.partition(0); p.Leader != s.Replicas[1] || !slices.Equal(p.ISR, []int32{s.Replicas[1]}) || slices.Contains(p.Replicas, add[0]) {
			t.Fatalf("unclean revert then a new target: %+v", p)
		}
	}
}
