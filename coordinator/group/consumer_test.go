package group

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/internal/kafka"
)

type fakeTopics map[string]TopicInfo

func (f fakeTopics) TopicByName(name string) (TopicInfo, bool) { t, ok := f[name]; return t, ok }
func (f fakeTopics) TopicByID(id [16]byte) (TopicInfo, bool) {
	for _, t := range f {
		if t.ID == id {
			return t, true
		}
	}
	return TopicInfo{}, false
}
func (f fakeTopics) AllTopics() []TopicInfo {
	var out []TopicInfo
	for _, t := range f {
		out = append(out, t)
	}
	return out
}

func (f fakeTopics) PartitionRacks(id [16]byte) [][]string { return nil }

func topicID(b byte) [16]byte { return [16]byte{15: b} }

func newConsumerFixture(t *testing.T, topics fakeTopics) *fixture {
	f := &fixture{t: t, clock: &clock{now: time.Unix(1_700_000_000, 0)}, store: newMemStore()}
	cfg := DefaultConfig()
	cfg.OffsetsPartitions = 3
	cfg.Now = f.clock.Now
	cfg.Topics = topics
	f.c = f.start(cfg)
	return f
}

// client is a model KIP-848 member: it owns what the coordinator last gave
// it, and gives up revoked partitions at once.
type client848 struct {
	id    string
	epoch int32
	owned map[[16]byte][]int32
}

func (f *fixture) beat(cl *client848, topics ...string) ConsumerHeartbeatResult {
	f.t.Helper()
	req := ConsumerHeartbeat{Group: "cg", MemberID: cl.id, MemberEpoch: cl.epoch, Owned: cl.owned, RebalanceTimeout: 10 * time.Second}
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

func count(owned map[[16]byte][]int32) int {
	n := 0
	for _, ps := range owned {
		n += len(ps)
	}
	return n
}

// checkExclusive fails if any partition is held by two members on the
// server (assigned or still being revoked).
func checkExclusive(t *testing.T, c *Coordinator) {
	t.Helper()
	inspect(t, c, "cg", func(g *group) {
		holder := map[idPartition]string{}
		for _, m := range g.consumer.members {
			for p := range m.Assigned.union(m.Revoking) {
				if o, ok := holder[p]; ok {
					t.Errorf("partition %v held by %s and %s", p, o, m.ID)
				}
				holder[p] = m.ID
			}
		}
	})
}

func TestConsumerGroupRevokesBeforeReassigning(t *testing.T) {
	f := newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 4}})
	a, b := &client848{id: "a"}, &client848{id: "b"}
	if r := f.beat(a, "t"); r.Err != nil || r.MemberEpoch != 1 || count(a.owned) != 4 {
		t.Fatalf("first member: %+v", r)
	}
	if r := f.beat(b, "t"); r.Err != nil || r.MemberEpoch != 2 || count(b.owned) != 0 {
		t.Fatalf("second member must wait for a's partitions: %+v owned %v", r, b.owned)
	}
	checkExclusive(t, f.c)
	// a learns it must give up two partitions, keeping its epoch.
	if r := f.beat(a); r.Err != nil || r.MemberEpoch != 1 || count(a.owned) != 2 {
		t.Fatalf("revocation: %+v owned %v", r, a.owned)
	}
	checkExclusive(t, f.c)
	// Its next heartbeat shows them gone: new epoch.
	if r := f.beat(a); r.Err != nil || r.MemberEpoch != 2 {
		t.Fatalf("after revoking: %+v", r)
	}
	if r := f.beat(b); r.Err != nil || count(b.owned) != 2 {
		t.Fatalf("b gets the released partitions: %+v %v", r, b.owned)
	}
	checkExclusive(t, f.c)
	if d, _ := f.c.DescribeConsumerGroup("cg"); d.State != Stable || d.Epoch != 2 || d.AssignmentEpoch != 2 {
		t.Fatalf("describe: %+v", d)
	}
	// A heartbeat with an epoch from the future is fenced; a commit with
	// an old one is stale.
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "a", MemberEpoch: 7}); !errors.Is(r.Err, kerr.FencedMemberEpoch) {
		t.Fatalf("future epoch: %+v", r)
	}
	tp := kafka.TopicPartition{Topic: "t", Partition: 0}
	if errs := f.c.CommitOffsets("cg", 2, "a", nil, []OffsetCommit{{TopicPartition: tp, Offset: 5}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	f.beat(a) // no change
	if errs := f.c.CommitOffsets("cg", 0, "a", nil, []OffsetCommit{{TopicPartition: tp, Offset: 6}}); !errors.Is(errs[0], kerr.StaleMemberEpoch) {
		t.Fatalf("stale commit: %v", errs[0])
	}
	// a goes silent: after the session timeout b holds everything.
	f.clock.advance(30 * time.Second)
	f.beat(b)
	f.clock.advance(20 * time.Second)
	f.c.Tick()
	if r := f.beat(b); r.Err != nil || count(b.owned) != 4 {
		t.Fatalf("after a's session expired: %+v %v", r, b.owned)
	}
	// Leaving empties the group; its offsets stay.
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "b", MemberEpoch: -1}); r.Err != nil || r.MemberEpoch != -1 {
		t.Fatalf("leave: %+v", r)
	}
	if l := f.c.List(); len(l) != 1 || l[0].State != Empty || l[0].Type != "consumer" {
		t.Fatalf("list: %+v", l)
	}
	if f.c.Offsets("cg")[tp].Offset != 5 {
		t.Fatal("offsets lost")
	}
}

func TestConsumerGroupReload(t *testing.T) {
	topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 3}, "u": {Name: "u", ID: topicID(2), Partitions: 2}}
	f := newConsumerFixture(t, topics)
	a, b := &client848{id: "a"}, &client848{id: "b"}
	f.beat(a, "t", "u")
	f.beat(b, "t")
	for i := 0; i < 3; i++ {
		f.beat(a)
		f.beat(b)
	}
	checkExclusive(t, f.c)
	if count(a.owned)+count(b.owned) != 5 {
		t.Fatalf("owned %v %v", a.owned, b.owned)
	}
	c2 := f.start(f.c.cfg)
	f.c = c2
	// Members carry on with their epochs and assignments.
	ra, rb := f.beat(a), f.beat(b)
	if ra.Err != nil || rb.Err != nil || count(a.owned)+count(b.owned) != 5 {
		t.Fatalf("after reload: %+v %+v", ra, rb)
	}
	d, err := c2.DescribeConsumerGroup("cg")
	if err != nil || len(d.Members) != 2 || d.State != Stable {
		t.Fatalf("describe after reload: %+v %v", d, err)
	}
}

func TestClassicAndConsumerGroupsMix(t *testing.T) {
	f := newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 1}})
	f.c.cfg.InitialRebalanceDelay = 0
	f.c.cfg.MigrationPolicy = MigrationDisabled
	r := wait(f, f.joinAsync(joinReq("cg", "", 3)))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if hr := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "x", SubscribedTopics: []string{"t"}}); !errors.Is(hr.Err, kerr.GroupIDNotFound) {
		t.Fatalf("KIP-848 join of a live classic group with migration disabled: %+v", hr)
	}
	if hr := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg2", MemberID: "x", SubscribedTopics: []string{"t"}}); hr.Err != nil {
		t.Fatal(hr.Err)
	}
	// A live consumer group takes classic members of the consumer
	// protocol type, none of another.
	other := joinReq("cg2", "", 3)
	other.ProtocolType = "connect"
	if jr := f.c.Join(t.Context(), other); !errors.Is(jr.Err, kerr.InconsistentGroupProtocol) {
		t.Fatalf("classic join of another protocol type into a live consumer group: %+v", jr)
	}
	if jr := f.c.Join(t.Context(), joinReq("cg2", "", 3)); jr.Err != nil || jr.Leader != "" || jr.ProtocolType != "consumer" {
		t.Fatalf("classic join of a live consumer group: %+v", jr)
	}
}

// Random joins, heartbeats, silences and leaves never let two members hold
// a partition, and once everyone heartbeats the group settles with every
// partition assigned.
func TestConsumerGroupRandomized(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			topics := fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 7}, "u": {Name: "u", ID: topicID(2), Partitions: 3}}
			f := newConsumerFixture(t, topics)
			var live []*client848
			for step := 0; step < 300; step++ {
				switch op := rng.Intn(10); {
				case op == 0 && len(live) < 5:
					cl := &client848{id: fmt.Sprintf("m%d", step)}
					subs := []string{"t", "u"}
					if rng.Intn(3) == 0 {
						subs = []string{"t"}
					}
					if r := f.beat(cl, subs...); r.Err != nil {
						t.Fatal(r.Err)
					}
					live = append(live, cl)
				case op == 1 && len(live) > 0:
					i := rng.Intn(len(live))
					f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: live[i].id, MemberEpoch: -1})
					live = append(live[:i], live[i+1:]...)
				case op == 2:
					f.clock.advance(time.Second)
					f.c.Tick()
				case len(live) > 0:
					cl := live[rng.Intn(len(live))]
					if r := f.beat(cl); r.Err != nil {
						t.Fatalf("step %d: %s: %v", step, cl.id, r.Err)
					}
				}
				if len(live) > 0 {
					checkExclusive(t, f.c)
				}
			}
			if len(live) == 0 {
				return
			}
			for round := 0; round < 5; round++ {
				for _, cl := range live {
					if r := f.beat(cl); r.Err != nil {
						t.Fatal(r.Err)
					}
				}
			}
			total := 0
			for _, cl := range live {
				total += count(cl.owned)
			}
			d, _ := f.c.DescribeConsumerGroup("cg")
			if d.State != Stable {
				t.Fatalf("group did not settle: %+v", d)
			}
			want := 7
			for _, m := range d.Members {
				if len(m.SubscribedTopics) == 2 {
					want = 10
				}
			}
			if total != want {
				t.Fatalf("members own %d partitions, want %d", total, want)
			}
		})
	}
}

// The uniform assignor keeps partitions where they are only up to a
// balanced share: four partitions over three members are 2, 1 and 1, also
// when the third joins after the first two split them 2 and 2 (it used to
// get nothing: each kept its ceil(4/3) = 2).
func TestUniformAssignorMakesRoomForAJoiningMember(t *testing.T) {
	tid := topicID(1)
	previous := map[string]partitionSet{
		"a": setOf(map[[16]byte][]int32{tid: {0, 1}}),
		"b": setOf(map[[16]byte][]int32{tid: {2, 3}}),
	}
	in := assignInput{members: []string{"a", "b", "c"}, partitions: map[[16]byte]int32{tid: 4}, previous: previous,
		subscribed: map[string][][16]byte{"a": {tid}, "b": {tid}, "c": {tid}}}
	out := assignUniform(in)
	if len(out["a"])+len(out["b"]) != 3 || len(out["c"]) != 1 || len(out["a"]) == 0 || len(out["b"]) == 0 {
		t.Fatalf("assignment %v", out)
	}
	// Sticky: a and b keep what they keep from their previous partitions.
	for _, m := range []string{"a", "b"} {
		for p := range out[m] {
			if !previous[m][p] {
				t.Fatalf("%s was given %v, not one of its own", m, p)
			}
		}
	}

	// The same through heartbeats: members joining one by one settle at
	// 2, 1, 1.
	f := newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: tid, Partitions: 4}})
	members := []*client848{{id: "a"}, {id: "b"}, {id: "c"}}
	for i, cl := range members {
		if r := f.beat(cl, "t"); r.Err != nil {
			t.Fatal(r.Err)
		}
		for round := 0; round < 4; round++ {
			for _, o := range members[:i+1] {
				if r := f.beat(o); r.Err != nil {
					t.Fatal(r.Err)
				}
			}
		}
	}
	var counts []int
	for _, cl := range members {
		counts = append(counts, count(cl.owned))
	}
	if fmt.Sprint(counts) != "[2 1 1]" && fmt.Sprint(counts) != "[1 2 1]" {
		t.Fatalf("members own %v partitions", counts)
	}
	checkExclusive(t, f.c)
}

// A KIP-848 regular expression is matched against whole topic names with
// RE2 semantics, as Kafka's coordinator does (Pattern.matches), and
// internal topics are candidates like any other.
func TestConsumerRegexMatchesWholeNames(t *testing.T) {
	topics := fakeTopics{}
	for i, name := range []string{"metrics", "metrics.cpu", "app.metrics", "__consumer_offsets", "logs"} {
		topics[name] = TopicInfo{Name: name, ID: topicID(byte(i + 1)), Partitions: 1}
	}
	f := newConsumerFixture(t, topics)
	for _, c := range []struct {
		regex string
		want  []string
	}{
		{`metrics`, []string{"metrics"}},
		{`metrics\..*`, []string{"metrics.cpu"}},
		{`.*metrics.*`, []string{"app.metrics", "metrics", "metrics.cpu"}},
		{`__consumer_.*`, []string{"__consumer_offsets"}},
		{`logs|metrics`, []string{"logs", "metrics"}},
	} {
		var got []string
		for _, ti := range f.c.subscribedTopicInfos(&consumerMember{Regex: c.regex}) {
			got = append(got, ti.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("regex %q resolves to %v, want %v", c.regex, got, c.want)
		}
	}
}
