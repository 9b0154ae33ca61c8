package group

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/internal/kafka"
)

func newShareFixture(t *testing.T, topics fakeTopics, edit func(*Config)) *fixture {
	f := &fixture{t: t, clock: &clock{now: time.Unix(1_700_000_000, 0)}, store: newMemStore()}
	cfg := DefaultConfig()
	cfg.OffsetsPartitions = 3
	cfg.Now = f.clock.Now
	cfg.Topics = topics
	if edit != nil {
		edit(&cfg)
	}
	f.c = f.start(cfg)
	return f
}

// shareClient is a model share group member: it keeps what it was last
// given.
type shareClient struct {
	id       string
	epoch    int32
	assigned map[[16]byte][]int32
}

func (f *fixture) shareBeat(group string, cl *shareClient, topics ...string) ShareHeartbeatResult {
	f.t.Helper()
	req := ShareHeartbeat{Group: group, MemberID: cl.id, MemberEpoch: cl.epoch, ClientID: "cid", ClientHost: "/127.0.0.1"}
	if cl.epoch == 0 || topics != nil {
		req.SubscribedTopics = topics
	}
	r := f.c.ShareGroupHeartbeat(req)
	if r.Err == nil {
		cl.epoch = r.MemberEpoch
		if r.Assignment != nil {
			cl.assigned = r.Assignment
		}
	}
	return r
}

func mustBeat(t *testing.T, r ShareHeartbeatResult) ShareHeartbeatResult {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("heartbeat: %v (%s)", r.Err, r.Message)
	}
	return r
}

// coverage counts how many members hold each partition of topic id.
func coverage(id [16]byte, clients ...*shareClient) map[int32]int {
	out := map[int32]int{}
	for _, cl := range clients {
		for _, p := range cl.assigned[id] {
			out[p]++
		}
	}
	return out
}

func TestShareJoinAssignsEveryPartition(t *testing.T) {
	topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 3}}
	f := newShareFixture(t, topics, nil)
	a, b := &shareClient{id: "member-a"}, &shareClient{id: "member-b"}
	r := mustBeat(t, f.shareBeat("sg", a, "t"))
	if r.MemberEpoch != 1 || count(r.Assignment) != 3 || r.HeartbeatInterval != 5*time.Second {
		t.Fatalf("first join: %+v", r)
	}
	r = mustBeat(t, f.shareBeat("sg", b, "t"))
	if r.MemberEpoch != 2 || r.Assignment == nil {
		t.Fatalf("second join: %+v", r)
	}
	// a learns of the new epoch and its smaller assignment at once: no
	// revocation step.
	r = mustBeat(t, f.shareBeat("sg", a))
	if r.MemberEpoch != 2 || r.Assignment == nil {
		t.Fatalf("a after b joined: %+v", r)
	}
	cov := coverage(topicID(1), a, b)
	if len(cov) != 3 || cov[0] != 1 || cov[1] != 1 || cov[2] != 1 {
		t.Fatalf("coverage %v (a %v, b %v)", cov, a.assigned, b.assigned)
	}
	if n, m := count(a.assigned), count(b.assigned); n+m != 3 || n == 0 || m == 0 {
		t.Fatalf("unbalanced: a %v b %v", a.assigned, b.assigned)
	}
	// Nothing changed: no assignment in the answer.
	if r := mustBeat(t, f.shareBeat("sg", b)); r.Assignment != nil || r.MemberEpoch != 2 {
		t.Fatalf("steady heartbeat: %+v", r)
	}
	d, err := f.c.DescribeShareGroup("sg")
	if err != nil || d.State != Stable || d.Epoch != 2 || d.AssignmentEpoch != 2 || d.Assignor != "simple" || len(d.Members) != 2 {
		t.Fatalf("describe: %+v, %v", d, err)
	}
	if d.Members[0].MemberID != "member-a" || !slices.Equal(d.Members[0].SubscribedTopics, []string{"t"}) || d.Members[0].ClientID != "cid" {
		t.Fatalf("member: %+v", d.Members[0])
	}
	ls := f.c.List()
	if len(ls) != 1 || ls[0].Type != "share" || ls[0].ProtocolType != "share" || ls[0].State != Stable {
		t.Fatalf("list: %+v", ls)
	}
}

func TestShareAssignorShapes(t *testing.T) {
	id := topicID(1)
	check := func(members, parts int, prev map[string]partitionSet) map[string]partitionSet {
		t.Helper()
		in := shareAssignInput{subscribed: map[string][][16]byte{}, partitions: map[[16]byte]int32{id: int32(parts)}, previous: prev}
		for i := range members {
			m := fmt.Sprintf("m%02d", i)
			in.members = append(in.members, m)
			in.subscribed[m] = [][16]byte{id}
		}
		out := assignShare(in)
		sharing := (members + parts - 1) / parts
		per := map[int32]int{}
		lo, hi := parts, 0
		for _, m := range in.members {
			n := len(out[m])
			lo, hi = min(lo, n), max(hi, n)
			for p := range out[m] {
				per[p.Partition]++
			}
		}
		for p := range int32(parts) {
			if per[p] != sharing {
				t.Fatalf("%d members, %d partitions: partition %d has %d members, want %d", members, parts, p, per[p], sharing)
			}
		}
		if lo == 0 || hi-lo > 1 {
			t.Fatalf("%d members, %d partitions: loads from %d to %d", members, parts, lo, hi)
		}
		return out
	}
	for _, c := range [][2]int{{1, 1}, {1, 5}, {2, 3}, {3, 3}, {4, 3}, {5, 2}, {7, 3}, {10, 1}, {3, 10}} {
		check(c[0], c[1], nil)
	}
	// Sticky: a fourth member of a 3-partition topic shares one partition
	// and the others keep theirs; the member leaving again gives back.
	three := check(3, 3, nil)
	four := check(4, 3, three)
	for _, m := range []string{"m00", "m01", "m02"} {
		if !three[m].subsetOf(four[m]) {
			t.Fatalf("%s moved: %v -> %v", m, three[m], four[m])
		}
	}
	back := check(3, 3, four)
	for _, m := range []string{"m00", "m01", "m02"} {
		if !back[m].equal(three[m]) {
			t.Fatalf("%s after the fourth left: %v, had %v", m, back[m], three[m])
		}
	}
	// A member leaving a 6-partition, 3-member group moves only its own.
	six := check(3, 6, nil)
	in := shareAssignInput{members: []string{"m00", "m01"}, subscribed: map[string][][16]byte{"m00": {id}, "m01": {id}}, partitions: map[[16]byte]int32{id: 6}, previous: six}
	two := assignShare(in)
	for _, m := range in.members {
		if !six[m].subsetOf(two[m]) || len(two[m]) != 3 {
			t.Fatalf("%s: %v -> %v", m, six[m], two[m])
		}
	}
	// Different subscriptions: each topic among its own subscribers.
	id2 := topicID(2)
	in = shareAssignInput{members: []string{"a", "b"}, subscribed: map[string][][16]byte{"a": {id, id2}, "b": {id}},
		partitions: map[[16]byte]int32{id: 2, id2: 2}}
	out := assignShare(in)
	if len(out["b"]) != 1 || len(out["a"]) != 3 || out["b"][idPartition{id2, 0}] || out["b"][idPartition{id2, 1}] {
		t.Fatalf("heterogeneous: %v", out)
	}
}

func TestShareLeaveExpiryAndFencing(t *testing.T) {
	topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 2}}
	var mu sync.Mutex
	var removed []string
	f := newShareFixture(t, topics, func(c *Config) {
		c.OnShareMemberRemoved = func(g, m string) { mu.Lock(); removed = append(removed, g+"/"+m); mu.Unlock() }
	})
	a, b := &shareClient{id: "a"}, &shareClient{id: "b"}
	mustBeat(t, f.shareBeat("sg", a, "t"))
	mustBeat(t, f.shareBeat("sg", b, "t"))
	mustBeat(t, f.shareBeat("sg", a)) // epoch 2, previous 1

	errOf := func(req ShareHeartbeat) error { t.Helper(); return f.c.ShareGroupHeartbeat(req).Err }
	for _, c := range []struct {
		req  ShareHeartbeat
		want error
	}{
		{ShareHeartbeat{Group: "sg", MemberID: "a", MemberEpoch: 3}, kerr.FencedMemberEpoch},
		{ShareHeartbeat{Group: "sg", MemberID: "b", MemberEpoch: 1}, kerr.FencedMemberEpoch}, // b joined at 2, previous 0
		{ShareHeartbeat{Group: "sg", MemberID: "x", MemberEpoch: 2}, kerr.UnknownMemberID},
		{ShareHeartbeat{Group: "sg", MemberID: "x", MemberEpoch: -1}, kerr.UnknownMemberID},
		{ShareHeartbeat{Group: "nope", MemberID: "x", MemberEpoch: 1}, kerr.GroupIDNotFound},
		{ShareHeartbeat{Group: "nope", MemberID: "x", MemberEpoch: -1}, kerr.GroupIDNotFound},
		{ShareHeartbeat{Group: "sg", MemberID: "", MemberEpoch: 0, SubscribedTopics: []string{"t"}}, kerr.InvalidRequest},
		{ShareHeartbeat{Group: "sg", MemberID: "y", MemberEpoch: 0}, kerr.InvalidRequest},
		{ShareHeartbeat{Group: "sg", MemberID: "y", MemberEpoch: -2}, kerr.InvalidRequest},
		{ShareHeartbeat{Group: "", MemberID: "y", MemberEpoch: 0, SubscribedTopics: []string{"t"}}, kerr.InvalidRequest},
		{ShareHeartbeat{Group: "sg", MemberID: "0123456789012345678901234567890123456", MemberEpoch: 0, SubscribedTopics: []string{"t"}}, kerr.InvalidRequest},
	} {
		if err := errOf(c.req); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.req, err, c.want)
		}
	}
	// The previous epoch is taken (the answer was lost), with the
	// assignment again.
	r := f.c.ShareGroupHeartbeat(ShareHeartbeat{Group: "sg", MemberID: "a", MemberEpoch: 1})
	if r.Err != nil || r.MemberEpoch != 2 || r.Assignment == nil {
		t.Fatalf("previous epoch: %+v", r)
	}
	// A rejoin at epoch 0 under a known id keeps the member.
	a.epoch = 0
	r = mustBeat(t, f.shareBeat("sg", a, "t"))
	if r.MemberEpoch != 2 || count(r.Assignment) != 1 {
		t.Fatalf("rejoin: %+v", r)
	}

	// b leaves: a takes both partitions at its next heartbeat.
	r = f.c.ShareGroupHeartbeat(ShareHeartbeat{Group: "sg", MemberID: "b", MemberEpoch: b.epoch})
	if r.Err == nil {
		r = f.c.ShareGroupHeartbeat(ShareHeartbeat{Group: "sg", MemberID: "b", MemberEpoch: -1})
	}
	if r.Err != nil || r.MemberEpoch != -1 {
		t.Fatalf("leave: %+v", r)
	}
	r = mustBeat(t, f.shareBeat("sg", a))
	if r.MemberEpoch != 3 || count(r.Assignment) != 2 {
		t.Fatalf("after b left: %+v", r)
	}
	// a's session expires.
	f.clock.advance(44 * time.Second)
	f.c.Tick()
	if d, _ := f.c.DescribeShareGroup("sg"); len(d.Members) != 1 {
		t.Fatalf("expired early: %+v", d)
	}
	f.clock.advance(2 * time.Second)
	f.c.Tick()
	d, err := f.c.DescribeShareGroup("sg")
	if err != nil || d.State != Empty || len(d.Members) != 0 || d.Epoch != 4 {
		t.Fatalf("after expiry: %+v %v", d, err)
	}
	if r := f.shareBeat("sg", a); !errors.Is(r.Err, kerr.UnknownMemberID) {
		t.Fatalf("expired member heartbeat: %+v", r)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(removed) == 2 }, "removal hooks")
	mu.Lock()
	slices.Sort(removed)
	if !slices.Equal(removed, []string{"sg/a", "sg/b"}) {
		t.Fatalf("removed %v", removed)
	}
	mu.Unlock()
}

func TestShareTopicChangesBumpEpoch(t *testing.T) {
	topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 2}}
	f := newShareFixture(t, topics, nil)
	a := &shareClient{id: "a"}
	mustBeat(t, f.shareBeat("sg", a, "t", "later"))
	if count(a.assigned) != 2 || a.epoch != 1 {
		t.Fatalf("join: %+v", a)
	}
	topics["t"] = TopicInfo{Name: "t", ID: topicID(1), Partitions: 4} // partitions added
	r := mustBeat(t, f.shareBeat("sg", a))
	if r.MemberEpoch != 2 || count(r.Assignment) != 4 {
		t.Fatalf("partitions added: %+v", r)
	}
	topics["later"] = TopicInfo{Name: "later", ID: topicID(2), Partitions: 1} // a subscribed topic is created
	r = mustBeat(t, f.shareBeat("sg", a))
	if r.MemberEpoch != 3 || count(r.Assignment) != 5 {
		t.Fatalf("topic created: %+v", r)
	}
	delete(topics, "t") // deleted
	r = mustBeat(t, f.shareBeat("sg", a))
	if r.MemberEpoch != 4 || count(r.Assignment) != 1 || r.Assignment[topicID(2)] == nil {
		t.Fatalf("topic deleted: %+v", r)
	}
	info, err := f.c.ShareGroupInfo("sg")
	if err != nil || info.State != Stable || info.Members != 1 || !slices.Equal(info.SubscribedTopics, []string{"later", "t"}) ||
		!slices.Equal(info.AssignedTopics, [][16]byte{topicID(2)}) || !slices.Equal(info.StateTopics, [][16]byte{topicID(2)}) {
		t.Fatalf("info: %+v %v", info, err)
	}
	// A new subscription is a new epoch; an unchanged one is not.
	r = mustBeat(t, f.shareBeat("sg", a, "later"))
	if r.MemberEpoch != 5 {
		t.Fatalf("subscription change: %+v", r)
	}
	// The same subscription sent again is a full request (as Kafka's):
	// the same epoch, the assignment answered; with none sent, nothing.
	r = mustBeat(t, f.shareBeat("sg", a, "later"))
	if r.MemberEpoch != 5 || r.Assignment == nil {
		t.Fatalf("same subscription: %+v", r)
	}
	r = mustBeat(t, f.shareBeat("sg", a))
	if r.MemberEpoch != 5 || r.Assignment != nil {
		t.Fatalf("no subscription sent: %+v", r)
	}
}

func TestShareGroupReplay(t *testing.T) {
	topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 3}}
	f := newShareFixture(t, topics, nil)
	a, b := &shareClient{id: "a"}, &shareClient{id: "b"}
	mustBeat(t, f.shareBeat("sg", a, "t"))
	mustBeat(t, f.shareBeat("sg", b, "t"))
	mustBeat(t, f.shareBeat("sg", a))
	before, _ := f.c.DescribeShareGroup("sg")

	f.clock.advance(30 * time.Second)
	cfg := DefaultConfig()
	cfg.OffsetsPartitions = 3
	cfg.Now = f.clock.Now
	cfg.Topics = topics
	f.c.Close()
	f.c = f.start(cfg)
	after, err := f.c.DescribeShareGroup("sg")
	if err != nil || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after reload:\n%+v\nbefore:\n%+v (%v)", after, before, err)
	}
	// Members carry on with their epochs; sessions restarted at the load.
	if r := mustBeat(t, f.shareBeat("sg", b)); r.MemberEpoch != 2 || r.Assignment != nil {
		t.Fatalf("b after reload: %+v", r)
	}
	f.clock.advance(44 * time.Second)
	f.c.Tick()
	if d, _ := f.c.DescribeShareGroup("sg"); len(d.Members) != 2 {
		t.Fatalf("sessions did not restart: %+v", d)
	}
	mustBeat(t, f.shareBeat("sg", b))
	f.clock.advance(2 * time.Second) // a's session (from the load) ends, b's goes on
	f.c.Tick()
	if d, _ := f.c.DescribeShareGroup("sg"); len(d.Members) != 1 || d.Members[0].MemberID != "b" {
		t.Fatalf("after a expired: %+v", d)
	}
}

func TestShareDeleteOnlyWhenEmpty(t *testing.T) {
	topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 1}, "u": {Name: "u", ID: topicID(2), Partitions: 1}}
	type deleted struct {
		group  string
		topics [][16]byte
	}
	got := make(chan deleted, 1)
	f := newShareFixture(t, topics, func(c *Config) {
		c.OnShareGroupDeleted = func(g string, ids [][16]byte) { got <- deleted{g, ids} }
	})
	a := &shareClient{id: "a"}
	mustBeat(t, f.shareBeat("sg", a, "t", "u"))
	if err := f.c.Delete("sg"); !errors.Is(err, kerr.NonEmptyGroup) {
		t.Fatalf("delete with a member: %v", err)
	}
	if r := f.c.ShareGroupHeartbeat(ShareHeartbeat{Group: "sg", MemberID: "a", MemberEpoch: -1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	info, err := f.c.ShareGroupInfo("sg")
	if err != nil || info.State != Empty || info.Members != 0 || len(info.StateTopics) != 2 {
		t.Fatalf("empty group info: %+v %v", info, err)
	}
	if err := f.c.Delete("sg"); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.group != "sg" || !slices.Equal(d.topics, [][16]byte{topicID(1), topicID(2)}) {
			t.Fatalf("hook: %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnShareGroupDeleted not called")
	}
	if _, err := f.c.DescribeShareGroup("sg"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("describe deleted: %v", err)
	}
	if _, err := f.c.ShareGroupInfo("sg"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("info of deleted: %v", err)
	}
	if err := f.c.Delete("sg"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	// The deletion is durable, and the id is free for any type.
	c2 := f.coordinator(0)
	if len(c2.List()) != 0 {
		t.Fatalf("after reload: %+v", c2.List())
	}
}

func TestShareGroupIDsOfOtherTypes(t *testing.T) {
	topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 1}}
	f := newShareFixture(t, topics, nil)
	// A consumer group's id.
	cl := &client848{id: "c1"}
	if r := f.beat(cl, "t"); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := f.c.ShareGroupHeartbeat(ShareHeartbeat{Group: "cg", MemberID: "s", SubscribedTopics: []string{"t"}}); !errors.Is(r.Err, kerr.GroupIDNotFound) {
		t.Fatalf("share heartbeat on a consumer group: %+v", r)
	}
	// A classic group's id (only offsets committed).
	tp := kafka.TopicPartition{Topic: "t"}
	if errs := f.c.CommitOffsets("simple", -1, "", nil, []OffsetCommit{{TopicPartition: tp, Offset: 1}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if r := f.c.ShareGroupHeartbeat(ShareHeartbeat{Group: "simple", MemberID: "s", SubscribedTopics: []string{"t"}}); !errors.Is(r.Err, kerr.GroupIDNotFound) {
		t.Fatalf("share heartbeat on a classic group: %+v", r)
	}
	// A share group's id, to the other APIs.
	mustBeat(t, f.shareBeat("sg", &shareClient{id: "s"}, "t"))
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "sg", MemberID: "c", SubscribedTopics: []string{"t"}}); !errors.Is(r.Err, kerr.GroupIDNotFound) {
		t.Fatalf("consumer heartbeat on a share group: %+v", r)
	}
	if r := f.c.Join(context.Background(), joinReq("sg", "", 4)); !errors.Is(r.Err, kerr.InconsistentGroupProtocol) {
		t.Fatalf("join on a share group: %+v", r)
	}
	if err := f.c.Heartbeat("sg", 1, "s", nil); !errors.Is(err, kerr.UnknownMemberID) {
		t.Fatalf("classic heartbeat on a share group: %v", err)
	}
	if errs := f.c.CommitOffsets("sg", -1, "", nil, []OffsetCommit{{TopicPartition: tp, Offset: 1}}); !errors.Is(errs[0], kerr.GroupIDNotFound) {
		t.Fatalf("commit to a share group: %v", errs[0])
	}
	if err, _ := f.c.DeleteOffsets("sg", []kafka.TopicPartition{tp}); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("offset delete on a share group: %v", err)
	}
	if d, ok := f.c.Describe("sg"); ok || d.State != Dead {
		t.Fatalf("classic describe of a share group: %+v %v", d, ok)
	}
	if _, err := f.c.DescribeConsumerGroup("sg"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("consumer describe of a share group: %v", err)
	}
	if _, err := f.c.DescribeShareGroup("cg"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("share describe of a consumer group: %v", err)
	}
	if _, err := f.c.ShareGroupInfo("simple"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("share info of a classic group: %v", err)
	}
	// A failed join leaves no group behind.
	if r := f.c.ShareGroupHeartbeat(ShareHeartbeat{Group: "fresh", MemberID: "s", MemberEpoch: 0}); !errors.Is(r.Err, kerr.InvalidRequest) {
		t.Fatal(r.Err)
	}
	for _, l := range f.c.List() {
		if l.ID == "fresh" {
			t.Fatalf("a group was left: %+v", l)
		}
	}
}

func TestShareGroupConfigAndSize(t *testing.T) {
	topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 1}}
	f := newShareFixture(t, topics, func(c *Config) {
		c.ShareMaxGroupSize = 2
		c.GroupConfig = func(g string) map[string]string {
			if g == "tuned" {
				return map[string]string{"share.session.timeout.ms": "55000", "share.heartbeat.interval.ms": "7000"}
			}
			if g == "wild" {
				return map[string]string{"share.session.timeout.ms": "1", "share.heartbeat.interval.ms": "999999"}
			}
			return nil
		}
	})
	r := mustBeat(t, f.shareBeat("tuned", &shareClient{id: "a"}, "t"))
	if r.HeartbeatInterval != 7*time.Second {
		t.Fatalf("interval %v", r.HeartbeatInterval)
	}
	r = mustBeat(t, f.shareBeat("wild", &shareClient{id: "a"}, "t"))
	if r.HeartbeatInterval != 15*time.Second {
		t.Fatalf("interval above the broker's bound: %v", r.HeartbeatInterval)
	}
	f.clock.advance(50 * time.Second)
	f.c.Tick()
	if d, _ := f.c.DescribeShareGroup("tuned"); len(d.Members) != 1 {
		t.Fatalf("tuned session ended before 55 s: %+v", d)
	}
	if d, _ := f.c.DescribeShareGroup("wild"); len(d.Members) != 0 {
		t.Fatalf("wild session (bounded to 45 s) did not end: %+v", d)
	}
	f.clock.advance(6 * time.Second)
	f.c.Tick()
	if d, _ := f.c.DescribeShareGroup("tuned"); len(d.Members) != 0 {
		t.Fatalf("tuned session did not end: %+v", d)
	}
	mustBeat(t, f.shareBeat("sg", &shareClient{id: "a"}, "t"))
	mustBeat(t, f.shareBeat("sg", &shareClient{id: "b"}, "t"))
	if r := f.shareBeat("sg", &shareClient{id: "c"}, "t"); !errors.Is(r.Err, kerr.GroupMaxSizeReached) {
		t.Fatalf("third member: %+v", r)
	}
}

func TestShareAssignBalancesAcrossTopics(t *testing.T) {
	in := shareAssignInput{members: []string{"a", "b"}, subscribed: map[string][][16]byte{}, partitions: map[[16]byte]int32{}}
	for i := byte(1); i <= 5; i++ {
		id := [16]byte{i}
		in.partitions[id] = 3
		in.subscribed["a"] = append(in.subscribed["a"], id)
		in.subscribed["b"] = append(in.subscribed["b"], id)
	}
	out := assignShare(in)
	if d := len(out["a"]) - len(out["b"]); d > 1 || d < -1 || len(out["a"])+len(out["b"]) != 15 {
		t.Fatalf("15 partitions, 2 members: a has %d, b has %d", len(out["a"]), len(out["b"]))
	}
}

func TestShareAssignNoSharingWhenPartitionsSuffice(t *testing.T) {
	in := shareAssignInput{members: []string{"a", "b", "c"}, subscribed: map[string][][16]byte{}, partitions: map[[16]byte]int32{}}
	for i := byte(1); i <= 2; i++ {
		id := [16]byte{i}
		in.partitions[id] = 2
		for _, m := range in.members {
			in.subscribed[m] = append(in.subscribed[m], id)
		}
	}
	out := assignShare(in)
	if n := len(out["a"]) + len(out["b"]) + len(out["c"]); n != 4 {
		t.Fatalf("4 partitions, 3 members: %d assignments (a=%d b=%d c=%d)", n, len(out["a"]), len(out["b"]), len(out["c"]))
	}
	for _, m := range in.members {
		if len(out[m]) == 0 {
			t.Fatalf("member %s has nothing: %v", m, out)
		}
	}
}

func TestShareNotOnIDWithPendingTxnOffsets(t *testing.T) {
	f := newShareFixture(t, fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 1}}, nil)
	f.txnCommit(f.c, "sg", 7, map[kafka.TopicPartition]int64{{Topic: "t", Partition: 0}: 42})
	if r := f.shareBeat("sg", &shareClient{id: "a"}, "t"); r.Err == nil {
		t.Fatal("share group took an id with pending transactional offsets")
	}
}
