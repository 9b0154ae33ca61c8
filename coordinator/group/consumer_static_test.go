package group

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

func (f *fixture) staticBeat(cl *client848, instance string, topics ...string) ConsumerHeartbeatResult {
	f.t.Helper()
	req := ConsumerHeartbeat{Group: "cg", MemberID: cl.id, MemberEpoch: cl.epoch, Owned: cl.owned, InstanceID: &instance, RebalanceTimeout: 10 * time.Second}
	if cl.epoch == 0 {
		req.SubscribedTopics = topics
		req.Owned = map[[16]byte][]int32{}
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

func settle(t *testing.T, f *fixture, beat func(*client848) ConsumerHeartbeatResult, cls ...*client848) {
	t.Helper()
	for round := 0; round < 4; round++ {
		for _, cl := range cls {
			if r := beat(cl); r.Err != nil {
				t.Fatalf("%s: %v", cl.id, r.Err)
			}
		}
	}
}

// A static member that leaves with epoch -2 keeps its partitions and its
// place for the session timeout: the group epoch does not move, nobody
// else is given its partitions, a new member id with its instance id takes
// them over without a rebalance, and the old id is fenced. Kafka's
// GroupMetadataManager (consumerGroupStaticMemberGroupLeave,
// getOrMaybeSubscribeStaticConsumerGroupMember).
func TestConsumerStaticMemberLeavesAndComesBack(t *testing.T) {
	tid := topicID(1)
	f := newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: tid, Partitions: 4}})
	a, b := &client848{id: "a"}, &client848{id: "b"}
	sbeat := func(inst string) func(*client848) ConsumerHeartbeatResult {
		return func(cl *client848) ConsumerHeartbeatResult { return f.staticBeat(cl, inst, "t") }
	}
	f.staticBeat(a, "ia", "t")
	f.staticBeat(b, "ib", "t")
	settle(t, f, func(cl *client848) ConsumerHeartbeatResult {
		if cl == a {
			return sbeat("ia")(cl)
		}
		return sbeat("ib")(cl)
	}, a, b)
	if count(a.owned) != 2 || count(b.owned) != 2 {
		t.Fatalf("owned %v %v", a.owned, b.owned)
	}
	aOwned := setOf(a.owned)
	d0, _ := f.c.DescribeConsumerGroup("cg")

	// A static member cannot leave under another member's id.
	ia := "ia"
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "b", MemberEpoch: -2, InstanceID: &ia}); !errors.Is(r.Err, kerr.FencedInstanceID) {
		t.Fatalf("leave with a's instance id under b's id: %+v", r)
	}
	// kgo leaves with the member id alone; the coordinator knows its
	// instance id.
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "a", MemberEpoch: -2}); r.Err != nil || r.MemberEpoch != -2 {
		t.Fatalf("static leave: %+v", r)
	}
	d1, _ := f.c.DescribeConsumerGroup("cg")
	if d1.Epoch != d0.Epoch || len(d1.Members) != 2 {
		t.Fatalf("a static leave changed the group: before %+v after %+v", d0, d1)
	}
	// b goes on and is given none of a's partitions.
	settle(t, f, sbeat("ib"), b)
	if count(b.owned) != 2 {
		t.Fatalf("b took a's partitions while a was away: %v", b.owned)
	}
	// The old id heartbeating on is fenced.
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "a", MemberEpoch: a.epoch, InstanceID: &ia, Owned: a.owned}); !errors.Is(r.Err, kerr.FencedMemberEpoch) {
		t.Fatalf("heartbeat after a static leave: %+v", r)
	}

	var prev int32
	inspect(t, f.c, "cg", func(g *group) { prev = g.consumer.members["a"].PreviousEpoch })
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "a", MemberEpoch: prev, InstanceID: &ia, Owned: map[[16]byte][]int32{}}); !errors.Is(r.Err, kerr.FencedMemberEpoch) {
		t.Fatalf("heartbeat with the previous epoch after a static leave: %+v", r)
	}

	// Restart across the away time: the leave is durable.
	f.c = f.start(f.c.cfg)

	// A new process with the same instance id replaces a.
	a2 := &client848{id: "a2"}
	r := f.staticBeat(a2, "ia", "t")
	if r.Err != nil || !setOf(a2.owned).equal(aOwned) {
		t.Fatalf("rejoin with the instance id: %+v owned %v, want %v", r, a2.owned, aOwned)
	}
	d2, _ := f.c.DescribeConsumerGroup("cg")
	if d2.Epoch != d0.Epoch || len(d2.Members) != 2 || r.MemberEpoch != d0.Epoch {
		t.Fatalf("the replacement was a rebalance: before %+v after %+v (member epoch %d)", d0, d2, r.MemberEpoch)
	}
	for _, m := range d2.Members {
		if m.MemberID == "a" {
			t.Fatal("the replaced member is still in the group")
		}
	}
	checkExclusive(t, f.c)
	// The old member id, rejoining or heartbeating with the instance id,
	// is fenced; a third process while a2 holds it is refused.
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "a", MemberEpoch: 3, InstanceID: &ia}); !errors.Is(r.Err, kerr.FencedInstanceID) {
		t.Fatalf("old member id: %+v", r)
	}
	if r := f.staticBeat(&client848{id: "a3"}, "ia", "t"); !errors.Is(r.Err, kerr.UnreleasedInstanceID) {
		t.Fatalf("instance id still held: %+v", r)
	}
	if r := f.staticBeat(&client848{id: "x", epoch: 1}, "nobody"); !errors.Is(r.Err, kerr.UnknownMemberID) {
		t.Fatalf("unknown instance id: %+v", r)
	}
}

// A static member that does not come back within the session timeout is
// removed and its partitions go to the others.
func TestConsumerStaticMemberAwayPastSessionTimeout(t *testing.T) {
	f := newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 4}})
	a, b := &client848{id: "a"}, &client848{id: "b"}
	beat := func(cl *client848) ConsumerHeartbeatResult { return f.staticBeat(cl, "i"+cl.id, "t") }
	settle(t, f, beat, a, b)
	settle(t, f, beat, a, b)
	ia := "ia"
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "a", MemberEpoch: -2, InstanceID: &ia}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for elapsed := time.Duration(0); elapsed < 40*time.Second; elapsed += 5 * time.Second {
		f.clock.advance(5 * time.Second)
		f.c.Tick()
		settle(t, f, beat, b)
	}
	if count(b.owned) != 2 {
		t.Fatalf("a's partitions moved before its session timeout: b owns %v", b.owned)
	}
	f.clock.advance(10 * time.Second)
	f.c.Tick()
	settle(t, f, beat, b)
	if count(b.owned) != 4 {
		t.Fatalf("after a's session timeout b owns %v", b.owned)
	}
	if d, _ := f.c.DescribeConsumerGroup("cg"); len(d.Members) != 1 {
		t.Fatalf("members %+v", d.Members)
	}
}
