package group

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
)

// classicClient is a model cooperative classic consumer: it reports what
// it owns when it joins, drops what a SyncGroup no longer gives it, and
// rejoins when a heartbeat says so.
type classicClient struct {
	id    string
	gen   int32
	owned map[string][]int32
}

func cooperativeMeta(owned map[string][]int32, topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Version = 1
	m.Topics = topics
	for t, ps := range owned {
		m.OwnedPartitions = append(m.OwnedPartitions, kmsg.ConsumerMemberMetadataOwnedPartition{Topic: t, Partitions: ps})
	}
	return m.AppendTo(nil)
}

func encodeClassicAssignment(parts map[string][]int32) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	for t, ps := range parts {
		a.Topics = append(a.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: t, Partitions: ps})
	}
	return a.AppendTo(nil)
}

func decodeClassicAssignment(t *testing.T, b []byte) map[string][]int32 {
	t.Helper()
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	out := map[string][]int32{}
	for _, tp := range a.Topics {
		out[tp.Topic] = append(out[tp.Topic], tp.Partitions...)
	}
	return out
}

func classicJoinReq(cl *classicClient) JoinRequest {
	req := joinReq("cg", cl.id, 9)
	req.Protocols = []Protocol{{Name: "cooperative-sticky", Metadata: cooperativeMeta(cl.owned, "t")}}
	return req
}

// rejoin is the classic client's JoinGroup and SyncGroup, again while told
// a rebalance is in progress.
// Between its JoinGroup and SyncGroup the members of between heartbeat.
func (f *fixture) rejoin(cl *classicClient, between ...*client848) {
	f.t.Helper()
	for i := 0; i < 5; i++ {
		jr := f.c.Join(context.Background(), classicJoinReq(cl))
		if jr.Err != nil {
			f.t.Fatalf("%s join: %v", cl.id, jr.Err)
		}
		if jr.Leader == cl.id || jr.ProtocolType != "consumer" || jr.Protocol != "cooperative-sticky" {
			f.t.Fatalf("%s join answer: %+v", cl.id, jr)
		}
		cl.gen = jr.Generation
		// Between its JoinGroup and SyncGroup the client still owns what
		// it owned: no other member may have been given any of it.
		for _, o := range between {
			if r := f.beat(o); r.Err != nil {
				f.t.Fatal(r.Err)
			}
		}
		inspect(f.t, f.c, "cg", func(g *group) {
			for _, m := range g.consumer.members {
				for p := range m.Assigned {
					if m.ID != cl.id && p.Partition >= 0 && containsInt32(cl.owned["t"], p.Partition) {
						f.t.Errorf("partition %d given to %s while %s still owns it", p.Partition, m.ID, cl.id)
					}
				}
			}
		})
		proto, typ := jr.Protocol, "consumer"
		sr := f.c.Sync(context.Background(), SyncRequest{Group: "cg", Generation: cl.gen, MemberID: cl.id, ProtocolType: &typ, Protocol: &proto})
		if errors.Is(sr.Err, kerr.RebalanceInProgress) {
			continue
		}
		if sr.Err != nil {
			f.t.Fatalf("%s sync: %v", cl.id, sr.Err)
		}
		cl.owned = decodeClassicAssignment(f.t, sr.Assignment)
		return
	}
	f.t.Fatalf("%s never synced", cl.id)
}

func (f *fixture) classicBeat(cl *classicClient, between ...*client848) {
	f.t.Helper()
	err := f.c.Heartbeat("cg", cl.gen, cl.id, nil)
	switch {
	case errors.Is(err, kerr.RebalanceInProgress):
		f.rejoin(cl, between...)
	case err != nil:
		f.t.Fatalf("%s heartbeat: %v", cl.id, err)
	}
}

// checkClientsExclusive fails if two clients own one partition, and
// reports how many partitions they own together.
func checkClientsExclusive(t *testing.T, classic []*classicClient, tid [16]byte, modern ...*client848) int {
	t.Helper()
	seen := map[int32]string{}
	own := func(who string, p int32) {
		if o, ok := seen[p]; ok {
			t.Fatalf("partition %d owned by %s and %s", p, o, who)
		}
		seen[p] = who
	}
	for _, cl := range classic {
		for _, p := range cl.owned["t"] {
			own(cl.id, p)
		}
	}
	for _, cl := range modern {
		for _, p := range cl.owned[tid] {
			own(cl.id, p)
		}
	}
	return len(seen)
}

// A non-empty classic group is upgraded to a consumer group when a
// KIP-848 member joins it (group.consumer.migration.policy bidirectional,
// the default): the classic members keep their partitions and speak the
// classic protocol on, told by their heartbeats to rejoin; the partitions
// move to the new member without ever being owned twice; a restart keeps
// the migrated group; when the classic members leave, the group is a
// plain consumer group.
func TestClassicGroupUpgradesToConsumerGroup(t *testing.T) {
	tid := topicID(1)
	f := newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: tid, Partitions: 6}})
	cfg := f.c.cfg
	cfg.InitialRebalanceDelay = 0
	f.c = f.start(cfg)

	// A classic generation: a leads and gives a 0-2 and b 3-5.
	a, b := &classicClient{id: f.newMemberID("cg")}, &classicClient{id: f.newMemberID("cg")}
	ca, cb := f.joinAsync(classicJoinReq(a)), f.joinAsync(classicJoinReq(b))
	ra, rb := wait(f, ca), wait(f, cb)
	if ra.Err != nil || rb.Err != nil {
		t.Fatal(ra.Err, rb.Err)
	}
	leader := a
	if ra.Leader == b.id {
		leader = b
	}
	a.gen, b.gen = ra.Generation, rb.Generation
	plan := map[string][]byte{a.id: encodeClassicAssignment(map[string][]int32{"t": {0, 1, 2}}), b.id: encodeClassicAssignment(map[string][]int32{"t": {3, 4, 5}})}
	sa := make(chan SyncResult, 1)
	go func() {
		req := SyncRequest{Group: "cg", Generation: a.gen, MemberID: a.id}
		if leader == a {
			req.Assignments = plan
		}
		sa <- f.c.Sync(context.Background(), req)
	}()
	reqB := SyncRequest{Group: "cg", Generation: b.gen, MemberID: b.id}
	if leader == b {
		reqB.Assignments = plan
	}
	sb := f.c.Sync(context.Background(), reqB)
	sra := <-sa
	if sra.Err != nil || sb.Err != nil {
		t.Fatal(sra.Err, sb.Err)
	}
	a.owned, b.owned = decodeClassicAssignment(t, sra.Assignment), decodeClassicAssignment(t, sb.Assignment)
	classicGen := a.gen
	committed := kafka.TopicPartition{Topic: "t", Partition: 0}
	if errs := f.c.CommitOffsets("cg", a.gen, a.id, nil, []OffsetCommit{{TopicPartition: committed, Offset: 42}}); errs[0] != nil {
		t.Fatal(errs[0])
	}

	// The KIP-848 member joins: the group is a consumer group at once.
	n := &client848{id: "n"}
	if r := f.beat(n, "t"); r.Err != nil {
		t.Fatalf("KIP-848 join of a classic group: %+v", r)
	}
	if l := f.c.List(); len(l) != 1 || l[0].Type != "consumer" {
		t.Fatalf("list after the upgrade: %+v", l)
	}
	d, err := f.c.DescribeConsumerGroup("cg")
	if err != nil || len(d.Members) != 3 || d.Epoch != classicGen+1 {
		t.Fatalf("describe after the upgrade (classic generation %d): %+v %v", classicGen, d, err)
	}
	checkExclusive(t, f.c)
	if checkClientsExclusive(t, []*classicClient{a, b}, tid, n) != 6 {
		t.Fatal("partitions lost in the upgrade")
	}
	// The classic members' old generation still heartbeats, told to rejoin.
	if err := f.c.Heartbeat("cg", a.gen, a.id, nil); !errors.Is(err, kerr.RebalanceInProgress) {
		t.Fatalf("classic heartbeat after the upgrade: %v", err)
	}
	if err := f.c.Heartbeat("cg", a.gen+7, a.id, nil); !errors.Is(err, kerr.IllegalGeneration) {
		t.Fatalf("classic heartbeat with a wrong generation: %v", err)
	}

	// A classic member rejoining twice before its SyncGroup (it never
	// saw the revocation) still reports the partition it is to give up:
	// nobody else gets it meanwhile.
	for i := 0; i < 2; i++ {
		if jr := f.c.Join(context.Background(), classicJoinReq(a)); jr.Err != nil {
			t.Fatal(jr.Err)
		}
		if r := f.beat(n); r.Err != nil {
			t.Fatal(r.Err)
		}
		if checkClientsExclusive(t, []*classicClient{a, b}, tid, n) != 6 {
			t.Fatal("partitions lost")
		}
	}

	restarted := false
	for round := 0; round < 8; round++ {
		f.classicBeat(a, n)
		f.classicBeat(b, n)
		if r := f.beat(n); r.Err != nil {
			t.Fatal(r.Err)
		}
		checkExclusive(t, f.c)
		checkClientsExclusive(t, []*classicClient{a, b}, tid, n)
		if round == 2 && !restarted {
			f.c = f.start(f.c.cfg) // the migrated group survives a restart
			restarted = true
			if o := f.c.Offsets("cg")[committed]; o.Offset != 42 {
				t.Fatalf("the offset committed before the upgrade after a restart: %+v", o)
			}
		}
	}
	if got := checkClientsExclusive(t, []*classicClient{a, b}, tid, n); got != 6 || count(n.owned) != 2 || len(a.owned["t"]) != 2 || len(b.owned["t"]) != 2 {
		t.Fatalf("after reconciling: a %v b %v n %v", a.owned, b.owned, n.owned)
	}
	if d, _ := f.c.DescribeConsumerGroup("cg"); d.State != Stable {
		t.Fatalf("group did not settle: %+v", d)
	}
	// Classic members commit offsets with their member epoch.
	if errs := f.c.CommitOffsets("cg", a.gen, a.id, nil, []OffsetCommit{{TopicPartition: kafka.TopicPartition{Topic: "t", Partition: a.owned["t"][0]}, Offset: 3}}); errs[0] != nil {
		t.Fatalf("classic member's commit: %v", errs[0])
	}

	// A classic member that stops heartbeating is removed after its
	// session timeout; the other leaves with LeaveGroup.
	_, errs := f.c.Leave("cg", []LeaveMember{{MemberID: a.id}})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	for i := 0; i < 12; i++ {
		f.clock.advance(time.Second)
		f.c.Tick()
		if r := f.beat(n); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if count(n.owned) != 6 {
		t.Fatalf("the consumer member owns %v after the classic members left", n.owned)
	}
	d, _ = f.c.DescribeConsumerGroup("cg")
	if len(d.Members) != 1 || d.State != Stable {
		t.Fatalf("describe: %+v", d)
	}
	inspect(t, f.c, "cg", func(g *group) {
		for _, m := range g.consumer.members {
			if m.Classic != nil {
				t.Errorf("classic member %s left in the group", m.ID)
			}
		}
	})
}

// With group.consumer.migration.policy disabled or downgrade, a classic
// group with members stays classic and the KIP-848 join is refused.
func TestClassicGroupUpgradeNeedsThePolicy(t *testing.T) {
	for _, policy := range []MigrationPolicy{MigrationDisabled, MigrationDowngrade} {
		f := newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 2}})
		cfg := f.c.cfg
		cfg.InitialRebalanceDelay, cfg.MigrationPolicy = 0, policy
		f.c = f.start(cfg)
		if r := wait(f, f.joinAsync(joinReq("cg", "", 3))); r.Err != nil {
			t.Fatal(r.Err)
		}
		if r := f.beat(&client848{id: "n"}, "t"); !errors.Is(r.Err, kerr.GroupIDNotFound) {
			t.Fatalf("policy %s: %+v", policy, r)
		}
		if l := f.c.List(); l[0].Type != "classic" {
			t.Fatalf("policy %s: %+v", policy, l)
		}
	}
}

func containsInt32(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// classicMembersWithConsumer makes a consumer group of a KIP-848 member n
// and two classic members a and b (joined by JoinGroup into it), settled.
func classicMembersWithConsumer(t *testing.T, policy MigrationPolicy) (f *fixture, a, b *classicClient, n *client848) {
	tid := topicID(1)
	f = newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: tid, Partitions: 6}})
	cfg := f.c.cfg
	cfg.InitialRebalanceDelay, cfg.MigrationPolicy = 0, policy
	f.c = f.start(cfg)
	n = &client848{id: "n"}
	if r := f.beat(n, "t"); r.Err != nil {
		t.Fatal(r.Err)
	}
	a, b = &classicClient{id: "a"}, &classicClient{id: "b"}
	f.rejoin(a, n)
	f.rejoin(b, n)
	for round := 0; round < 6; round++ {
		f.classicBeat(a, n)
		f.classicBeat(b, n)
		if r := f.beat(n); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if got := checkClientsExclusive(t, []*classicClient{a, b}, tid, n); got != 6 || count(n.owned) != 2 {
		t.Fatalf("a %v b %v n %v", a.owned, b.owned, n.owned)
	}
	return f, a, b, n
}

// When the last consumer-protocol member leaves a group whose other
// members are classic, the group is downgraded to a classic group (policy
// bidirectional or downgrade): the group epoch is the generation, the
// members keep their partitions as assignments, and a rebalance starts in
// which the members' own assignor places the leaver's partitions.
func TestConsumerGroupDowngradesToClassic(t *testing.T) {
	f, a, b, n := classicMembersWithConsumer(t, MigrationBidirectional)
	d, _ := f.c.DescribeConsumerGroup("cg")
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: n.id, MemberEpoch: -1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	l := f.c.List()
	if len(l) != 1 || l[0].Type != "classic" || l[0].State != PreparingRebalance {
		t.Fatalf("list after the last consumer-protocol member left: %+v", l)
	}
	desc, _ := f.c.Describe("cg")
	if len(desc.Members) != 2 {
		t.Fatalf("describe: %+v", desc)
	}
	inspect(t, f.c, "cg", func(g *group) {
		if g.protocol != "cooperative-sticky" || g.leader == "" {
			t.Errorf("protocol %q leader %q", g.protocol, g.leader)
		}
		if g.generation != d.Epoch+1 {
			t.Errorf("generation %d, group epoch was %d (one more for the leave)", g.generation, d.Epoch)
		}
		for _, cl := range []*classicClient{a, b} {
			got := decodeClassicAssignment(t, g.members[cl.id].assignment)
			if fmt.Sprint(got) != fmt.Sprint(cl.owned) {
				t.Errorf("%s's assignment %v, it owns %v", cl.id, got, cl.owned)
			}
		}
	})
	// The downgrade is durable.
	f.c = f.start(f.c.cfg)
	if l := f.c.List(); l[0].Type != "classic" {
		t.Fatalf("after a restart: %+v", l)
	}
	// The members rejoin the classic group and its leader assigns.
	if err := f.c.Heartbeat("cg", a.gen, a.id, nil); err == nil {
		t.Fatal("a classic member was not told to rejoin after the downgrade")
	}
	ca, cb := f.joinAsync(classicJoinReq(a)), f.joinAsync(classicJoinReq(b))
	ra, rb := wait(f, ca), wait(f, cb)
	if ra.Err != nil || rb.Err != nil || ra.Generation != rb.Generation || ra.Leader == "" || (ra.Leader != a.id && ra.Leader != b.id) {
		t.Fatalf("classic rejoin after the downgrade: %+v %+v", ra, rb)
	}
	if leader := ra; leader.Leader == a.id && len(leader.Members) != 2 {
		t.Fatalf("leader's join: %+v", leader)
	}
}

// With group.consumer.migration.policy upgrade, the group stays a
// consumer group of classic members.
func TestConsumerGroupDowngradeNeedsThePolicy(t *testing.T) {
	f, _, _, n := classicMembersWithConsumer(t, MigrationUpgrade)
	if r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: n.id, MemberEpoch: -1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if l := f.c.List(); len(l) != 1 || l[0].Type != "consumer" {
		t.Fatalf("list: %+v", l)
	}
	if d, _ := f.c.DescribeConsumerGroup("cg"); len(d.Members) != 2 {
		t.Fatalf("describe: %+v", d)
	}
}
