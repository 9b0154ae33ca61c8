package group

import (
	"sync"
	"testing"
)

// rackedTopics is a topic catalog whose partitions have replica racks,
// changeable while the coordinator runs.
type rackedTopics struct {
	fakeTopics
	mu    sync.Mutex
	racks map[[16]byte][][]string
}

func (r *rackedTopics) PartitionRacks(id [16]byte) [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.racks[id]
}

func (r *rackedTopics) set(id [16]byte, racks [][]string) {
	r.mu.Lock()
	r.racks[id] = racks
	r.mu.Unlock()
}

// rackInput is 6 partitions of one topic whose single replicas are on
// racks r0, r1, r2, r0, r1, r2, and members a (r2), b (r1), c (r0).
func rackInput() assignInput {
	tid := topicID(1)
	return assignInput{
		members:        []string{"a", "b", "c"},
		subscribed:     map[string][][16]byte{"a": {tid}, "b": {tid}, "c": {tid}},
		partitions:     map[[16]byte]int32{tid: 6},
		memberRack:     map[string]string{"a": "r2", "b": "r1", "c": "r0"},
		partitionRacks: map[[16]byte][][]string{tid: {{"r0"}, {"r1"}, {"r2"}, {"r0"}, {"r1"}, {"r2"}}},
	}
}

func checkRackAligned(t *testing.T, in assignInput, out map[string]partitionSet) {
	t.Helper()
	total := 0
	for m, ps := range out {
		total += len(ps)
		if len(ps) != 2 {
			t.Errorf("%s holds %d partitions, want 2: %v", m, len(ps), out)
		}
		for p := range ps {
			if !in.rackMatch(m, p) {
				t.Errorf("%s (rack %s) holds partition %d on racks %v", m, in.memberRack[m], p.Partition, in.racksOf(p))
			}
		}
	}
	if total != 6 {
		t.Errorf("%d partitions assigned, want 6", total)
	}
}

// Both server-side assignors put partitions on members of their replicas'
// racks when that keeps the balance (KIP-881 applied to the server-side
// assignors), and ignore racks when no member has one.
func TestAssignorsPreferTheMembersRack(t *testing.T) {
	for name, assign := range assignors {
		t.Run(name, func(t *testing.T) {
			in := rackInput()
			checkRackAligned(t, in, assign(in))

			// A previous target off the racks is not kept.
			in.previous = assignRange(assignInput{members: in.members, subscribed: in.subscribed, partitions: in.partitions})
			checkRackAligned(t, in, assign(in))

			// Without member racks the assignment is the rack-blind one.
			blind := rackInput()
			blind.memberRack, blind.partitionRacks = nil, nil
			in = rackInput()
			in.memberRack = nil
			if got, want := assign(in), assign(blind); !equalTargets(got, want) {
				t.Fatalf("partition racks alone changed the assignment: %v, want %v", got, want)
			}
		})
	}
}

// Balance comes before racks: when every replica is on one rack, the
// member there does not take them all.
func TestRackAwareAssignmentStaysBalanced(t *testing.T) {
	for name, assign := range assignors {
		t.Run(name, func(t *testing.T) {
			in := rackInput()
			tid := topicID(1)
			in.partitionRacks[tid] = [][]string{{"r0"}, {"r0"}, {"r0"}, {"r0"}, {"r0"}, {"r0"}}
			out := assign(in)
			for m, ps := range out {
				if len(ps) != 2 {
					t.Fatalf("%s holds %d partitions: %v", m, len(ps), out)
				}
			}
		})
	}
}

func equalTargets(a, b map[string]partitionSet) bool {
	if len(a) != len(b) {
		return false
	}
	for m, ps := range a {
		if !ps.equal(b[m]) {
			return false
		}
	}
	return true
}

// Through heartbeats: members' client.rack and the partitions' replica
// racks place partitions; a replica moving to another rack is a new group
// epoch and the partitions follow their racks.
func TestConsumerGroupRackAwareAssignment(t *testing.T) {
	tid := topicID(1)
	topics := &rackedTopics{fakeTopics: fakeTopics{"t": {Name: "t", ID: tid, Partitions: 4}},
		racks: map[[16]byte][][]string{tid: {{"r0"}, {"r1"}, {"r0"}, {"r1"}}}}
	f := newConsumerFixture(t, nil)
	cfg := f.c.cfg
	cfg.Topics = topics
	f.c = f.start(cfg)
	r0, r1 := "r0", "r1"
	a, b := &client848{id: "a"}, &client848{id: "b"}
	rack := map[string]*string{"a": &r1, "b": &r0}
	beat := func(cl *client848) ConsumerHeartbeatResult {
		req := ConsumerHeartbeat{Group: "cg", MemberID: cl.id, MemberEpoch: cl.epoch, Owned: cl.owned, RackID: rack[cl.id]}
		if cl.epoch == 0 {
			req.SubscribedTopics, req.Owned = []string{"t"}, map[[16]byte][]int32{}
		}
		r := f.c.ConsumerHeartbeat(req)
		if r.Err == nil {
			cl.epoch = r.MemberEpoch
			if r.Assignment != nil {
				cl.owned = r.Assignment
			}
		}
		return r
	}
	settle(t, f, beat, a, b)
	want := func(cl *client848, ps ...int32) {
		t.Helper()
		if got := setOf(cl.owned); !got.equal(setOf(map[[16]byte][]int32{tid: ps})) {
			t.Fatalf("%s owns %v, want %v", cl.id, cl.owned, ps)
		}
	}
	want(a, 1, 3)
	want(b, 0, 2)
	checkExclusive(t, f.c)

	d0, _ := f.c.DescribeConsumerGroup("cg")
	topics.set(tid, [][]string{{"r1"}, {"r0"}, {"r0"}, {"r1"}})
	settle(t, f, beat, a, b)
	d1, _ := f.c.DescribeConsumerGroup("cg")
	if d1.Epoch <= d0.Epoch {
		t.Fatalf("a rack change did not bump the group epoch: %d then %d", d0.Epoch, d1.Epoch)
	}
	want(a, 0, 3)
	want(b, 1, 2)
	checkExclusive(t, f.c)
}
