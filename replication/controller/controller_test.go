package controller

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

var t0 = time.Unix(1_700_000_000, 0)

type cluster struct {
	t   *testing.T
	im  *Image
	c   *Controller
	now time.Time
}

func newCluster(t *testing.T, racks ...string) *cluster {
	cl := &cluster{t: t, im: NewImage(), now: t0}
	cl.c = New(cl.im, 10*time.Second)
	for i, rack := range racks {
		id := int32(i + 1)
		cl.commit(cl.c.Register(BrokerInfo{ID: id, Host: "127.0.0.1", Port: 9092 + id, Rack: rack}, cl.now))
		cl.heartbeat(id)
	}
	return cl
}

// commit applies records as the metadata log would.
func (cl *cluster) commit(recs []Record) {
	cl.t.Helper()
	for _, r := range recs {
		if err := cl.im.Apply(r); err != nil {
			cl.t.Fatal(err)
		}
	}
}

func (cl *cluster) heartbeat(ids ...int32) {
	cl.t.Helper()
	for _, id := range ids {
		recs, err := cl.c.Heartbeat(id, cl.now)
		if err != nil {
			cl.t.Fatal(err)
		}
		cl.commit(recs)
	}
}

func (cl *cluster) partition(p int32) PartitionState {
	s, ok := cl.im.Partition("t", p)
	if !ok {
		cl.t.Fatalf("no partition %d", p)
	}
	return s
}

func TestPlacementSpreadsLeadersAndRacks(t *testing.T) {
	cl := newCluster(t, "a", "a", "b", "b")
	recs, err := cl.c.CreateTopic("t", [16]byte{1}, 8, 2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	leads := map[int32]int{}
	for p := int32(0); p < 8; p++ {
		s := cl.partition(p)
		leads[s.Leader]++
		r0, r1 := cl.im.Brokers[s.Replicas[0]], cl.im.Brokers[s.Replicas[1]]
		if r0.ID == r1.ID || r0.Rack == r1.Rack {
			t.Fatalf("partition %d replicas %v share a broker or rack", p, s.Replicas)
		}
		if s.Leader != s.Replicas[0] || len(s.ISR) != 2 {
			t.Fatalf("partition %d: %+v", p, s)
		}
	}
	for id := int32(1); id <= 4; id++ {
		if leads[id] != 2 {
			t.Fatalf("leaders not spread: %v", leads)
		}
	}
	if _, err := cl.c.CreateTopic("big", [16]byte{2}, 1, 5, nil, nil); !errors.Is(err, ErrInvalidReplicationFactor) {
		t.Fatalf("rf above live brokers: %v", err)
	}
}

func TestFencingMovesLeadershipWithinTheISR(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 3, nil, nil)
	cl.commit(recs)
	s := cl.partition(0)
	lead := s.Leader
	// Everyone but the leader keeps heartbeating.
	cl.now = cl.now.Add(11 * time.Second)
	for _, id := range []int32{1, 2, 3} {
		if id != lead {
			cl.heartbeat(id)
		}
	}
	cl.commit(cl.c.Tick(cl.now))
	n := cl.partition(0)
	if n.Leader == lead || n.Leader == -1 || slices.Contains(n.ISR, lead) || n.LeaderEpoch != s.LeaderEpoch+1 || n.PartitionEpoch <= s.PartitionEpoch {
		t.Fatalf("after fencing leader %d: %+v (was %+v)", lead, n, s)
	}
	// Fence the rest one by one: the last ISR member stays in the ISR and
	// the partition goes leaderless rather than electing outside it.
	for _, id := range []int32{1, 2, 3} {
		if id != lead && cl.partition(0).Leader != -1 {
			cl.commit(cl.c.Fence(cl.partition(0).Leader))
		}
	}
	last := cl.partition(0)
	if last.Leader != -1 || len(last.ISR) != 1 {
		t.Fatalf("with no live ISR member: %+v", last)
	}
	// The first fenced broker returns: not in the ISR, so no election.
	cl.heartbeat(lead)
	if cl.partition(0).Leader != -1 {
		t.Fatalf("unclean election of %d: %+v", lead, cl.partition(0))
	}
	// The last ISR member returns and leads again.
	cl.heartbeat(last.ISR[0])
	if got := cl.partition(0); got.Leader != last.ISR[0] || got.LeaderEpoch != last.LeaderEpoch+1 {
		t.Fatalf("after the last ISR member came back: %+v", got)
	}
}

func TestAlterPartitionIsFencedByEpochs(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 3, nil, nil)
	cl.commit(recs)
	s := cl.partition(0)
	shrunk := []int32{s.Leader}
	if _, err := cl.c.AlterPartition("t", 0, s.Leader, s.LeaderEpoch, s.PartitionEpoch+1, shrunk); !errors.Is(err, ErrStalePartitionEpoch) {
		t.Fatalf("stale partition epoch: %v", err)
	}
	if _, err := cl.c.AlterPartition("t", 0, s.Leader, s.LeaderEpoch-1, s.PartitionEpoch, shrunk); !errors.Is(err, ErrStaleLeader) {
		t.Fatalf("old leader epoch: %v", err)
	}
	recs, err := cl.c.AlterPartition("t", 0, s.Leader, s.LeaderEpoch, s.PartitionEpoch, shrunk)
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	s = cl.partition(0)
	if len(s.ISR) != 1 {
		t.Fatalf("ISR %v", s.ISR)
	}
	other := s.Replicas[1]
	cl.commit(cl.c.Fence(other))
	s = cl.partition(0)
	if _, err := cl.c.AlterPartition("t", 0, s.Leader, s.LeaderEpoch, s.PartitionEpoch, []int32{s.Leader, other}); !errors.Is(err, ErrIneligibleReplica) {
		t.Fatalf("adding a fenced broker: %v", err)
	}
}

func TestPreferredLeaderElection(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 3, 3, nil, nil)
	cl.commit(recs)
	pref := cl.partition(0).Replicas[0]
	cl.commit(cl.c.Fence(pref))
	if cl.partition(0).Leader == pref {
		t.Fatal("fenced broker still leads")
	}
	cl.heartbeat(pref)
	if recs := cl.c.ElectPreferred(); len(recs) != 0 {
		t.Fatalf("preferred replica is not in the ISR yet, but %d elections were proposed", len(recs))
	}
	// The leader adds it back once it caught up.
	s := cl.partition(0)
	recs, err := cl.c.AlterPartition("t", 0, s.Leader, s.LeaderEpoch, s.PartitionEpoch, append(slices.Clone(s.ISR), pref))
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	cl.commit(cl.c.ElectPreferred())
	if got := cl.partition(0); got.Leader != pref || got.LeaderEpoch != s.LeaderEpoch+1 {
		t.Fatalf("preferred election: %+v", got)
	}
}

func TestApplyRejectsRecordsThatDoNotFit(t *testing.T) {
	im := NewImage()
	id := int32(7)
	for _, r := range []Record{{}, {FenceBroker: &id}, {PartitionChange: &PartitionChange{Topic: "x"}}} {
		if err := im.Apply(r); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("%+v applied: %v", r, err)
		}
	}
}

// A broker process that restarted registers a new incarnation: it loses
// its leaderships and ISR places as a dead broker would, and is elected
// again only once unfenced. The same incarnation registering again (a
// lost reply) changes nothing but its fencing.
func TestReregistrationFencesANewIncarnation(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, err := cl.c.CreateTopic("t", [16]byte{1}, 1, 3, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	before := cl.partition(0)
	cl.commit(cl.c.Register(BrokerInfo{ID: before.Leader, Host: "127.0.0.1", Port: 9092 + before.Leader}, cl.now))
	if p := cl.partition(0); p.Leader != before.Leader || p.LeaderEpoch != before.LeaderEpoch || !slices.Equal(p.ISR, before.ISR) {
		t.Fatalf("same incarnation re-registering changed the partition: %+v -> %+v", before, p)
	}
	cl.heartbeat(before.Leader)
	cl.commit(cl.c.Register(BrokerInfo{ID: before.Leader, Host: "127.0.0.1", Port: 9092 + before.Leader, Incarnation: "second"}, cl.now))
	after := cl.partition(0)
	if after.Leader == before.Leader || after.Leader < 0 || after.LeaderEpoch != before.LeaderEpoch+1 || slices.Contains(after.ISR, before.Leader) {
		t.Fatalf("new incarnation of leader %d: %+v -> %+v", before.Leader, before, after)
	}
	if !cl.im.Brokers[before.Leader].Fenced {
		t.Fatal("a new incarnation starts fenced")
	}
}

// Producer id blocks never overlap, also when two are decided before
// either commits (on a scratch image, as the node batches decisions), and
// a stale controller's overlapping block does not apply.
func TestProducerIDBlocksAreDisjoint(t *testing.T) {
	cl := newCluster(t, "", "")
	scratch := cl.im.Clone()
	cl.c.Rebase(scratch)
	r1, b1, err := cl.c.AllocateProducerIDs(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range r1 {
		scratch.Apply(r)
	}
	r2, b2, err := cl.c.AllocateProducerIDs(2)
	if err != nil {
		t.Fatal(err)
	}
	cl.c.Rebase(cl.im)
	cl.commit(append(r1, r2...))
	if b1.First != 0 || b2.First != b1.First+int64(b1.Size) || cl.im.NextProducerID != b2.First+int64(b2.Size) {
		t.Fatalf("blocks %+v %+v, next %d", b1, b2, cl.im.NextProducerID)
	}
	if err := cl.im.Apply(Record{ProducerIDs: &ProducerIDBlock{Broker: 1, First: b2.First, Size: 10}}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("overlapping block applied: %v", err)
	}
	if _, _, err := cl.c.AllocateProducerIDs(9); !errors.Is(err, ErrBrokerNotRegistered) {
		t.Fatalf("unknown broker: %v", err)
	}
}

// ElectLeaders' outcomes: preferred elections that are not needed or not
// possible say so; an unclean election gives a partition whose whole ISR
// is dead a live replica outside it, which becomes the whole ISR.
func TestElectLeadersOutcomes(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 2, nil, nil)
	cl.commit(recs)
	s := cl.partition(0)
	ref := kafka.TopicPartition{Topic: "t", Partition: 0}
	if _, res := cl.c.ElectLeaders(PreferredElection, []kafka.TopicPartition{ref, {Topic: "nope", Partition: 0}}); !errors.Is(res[ref], ErrElectionNotNeeded) ||
		!errors.Is(res[kafka.TopicPartition{Topic: "nope", Partition: 0}], ErrUnknownTopic) {
		t.Fatalf("preferred on a preferred leader: %v", res)
	}
	// The follower falls out of the ISR, then the leader dies: leaderless,
	// the last ISR member kept.
	follower := s.Replicas[1]
	recs, err := cl.c.AlterPartition("t", 0, s.Leader, s.LeaderEpoch, s.PartitionEpoch, []int32{s.Leader})
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	cl.commit(cl.c.Fence(s.Leader))
	if p := cl.partition(0); p.Leader != -1 {
		t.Fatalf("elected outside the ISR without being asked: %+v", p)
	}
	if _, res := cl.c.ElectLeaders(PreferredElection, []kafka.TopicPartition{ref}); !errors.Is(res[ref], ErrPreferredLeaderNotAvailable) {
		t.Fatalf("preferred with the preferred replica dead: %v", res)
	}
	recs, res := cl.c.ElectLeaders(UncleanElection, []kafka.TopicPartition{ref})
	if res[ref] != nil {
		t.Fatalf("unclean: %v", res)
	}
	cl.commit(recs)
	if p := cl.partition(0); p.Leader != follower || !slices.Equal(p.ISR, []int32{follower}) || p.LeaderEpoch <= s.LeaderEpoch {
		t.Fatalf("after unclean election: %+v", p)
	}
}

// A reassignment keeps the old replicas until every target replica is in
// the ISR, then drops them and moves leadership into the target; a
// cancelled one goes back to the old replicas; a shrink within the ISR
// completes at once.
func TestReassignment(t *testing.T) {
	cl := newCluster(t, "", "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 2, nil, nil)
	cl.commit(recs)
	s := cl.partition(0)
	var target []int32
	for id := int32(1); id <= 4 && len(target) < 2; id++ {
		if !slices.Contains(s.Replicas, id) {
			target = append(target, id)
		}
	}
	if _, err := cl.c.Reassign("t", 0, nil); !errors.Is(err, ErrNoReassignment) {
		t.Fatalf("cancel with nothing moving: %v", err)
	}
	if _, err := cl.c.Reassign("t", 0, []int32{target[0], target[0]}); !errors.Is(err, ErrInvalidAssignment) {
		t.Fatalf("a replica named twice: %v", err)
	}
	recs, err := cl.c.Reassign("t", 0, target)
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	moving := cl.partition(0)
	if !moving.Reassigning() || len(moving.Replicas) != 4 || !slices.Equal(moving.Target(), target) || moving.Leader != s.Leader {
		t.Fatalf("moving: %+v", moving)
	}
	// Cancel, then start again.
	recs, _ = cl.c.Reassign("t", 0, nil)
	cl.commit(recs)
	if p := cl.partition(0); p.Reassigning() || !slices.Equal(p.Replicas, s.Replicas) {
		t.Fatalf("cancelled: %+v", p)
	}
	recs, _ = cl.c.Reassign("t", 0, target)
	cl.commit(recs)
	// The leader adds the new replicas as they catch up.
	for _, r := range target {
		p := cl.partition(0)
		recs, err := cl.c.AlterPartition("t", 0, p.Leader, p.LeaderEpoch, p.PartitionEpoch, append(slices.Clone(p.ISR), r))
		if err != nil {
			t.Fatal(err)
		}
		cl.commit(recs)
	}
	done := cl.partition(0)
	if done.Reassigning() || !slices.Equal(done.Replicas, target) || !slices.Contains(target, done.Leader) || len(done.ISR) != 2 {
		t.Fatalf("completed: %+v", done)
	}
	// Shrinking to one replica of the ISR completes at once.
	recs, _ = cl.c.Reassign("t", 0, target[:1])
	cl.commit(recs)
	if p := cl.partition(0); p.Reassigning() || !slices.Equal(p.Replicas, target[:1]) || p.Leader != target[0] {
		t.Fatalf("shrunk: %+v", p)
	}
}

// CreatePartitions keeps the topic's replication factor and checks manual
// assignments; DeleteTopic removes the topic.
func TestCreatePartitionsAndDeleteTopic(t *testing.T) {
	cl := newCluster(t, "", "", "")
	recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 2, 2, nil, nil)
	cl.commit(recs)
	if _, err := cl.c.CreatePartitions("t", 2, nil); !errors.Is(err, ErrInvalidPartitions) {
		t.Fatalf("same count: %v", err)
	}
	if _, err := cl.c.CreatePartitions("t", 3, [][]int32{{1}}); !errors.Is(err, ErrInvalidAssignment) {
		t.Fatalf("an assignment short of the replication factor: %v", err)
	}
	if _, err := cl.c.CreatePartitions("t", 4, [][]int32{{3, 1}}); !errors.Is(err, ErrInvalidAssignment) {
		t.Fatalf("one assignment for two partitions: %v", err)
	}
	recs, err := cl.c.CreatePartitions("t", 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	for p := int32(2); p < 4; p++ {
		if s := cl.partition(p); len(s.Replicas) != 2 || s.Leader != s.Replicas[0] || len(s.ISR) != 2 {
			t.Fatalf("new partition %d: %+v", p, s)
		}
	}
	recs, err = cl.c.DeleteTopic("t")
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	if _, ok := cl.im.Topics["t"]; ok {
		t.Fatal("topic still there")
	}
	if _, err := cl.c.DeleteTopic("t"); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("deleting twice: %v", err)
	}
}

// With unclean.leader.election.enable (the topic's config or the broker
// default) a partition whose whole ISR is dead elects a live replica
// outside it; without it the partition stays leaderless.
func TestUncleanLeaderElection(t *testing.T) {
	for _, tc := range []struct {
		name          string
		topicConfig   map[string]string
		brokerDefault bool
		wantNewLeader bool
	}{
		{"off by default", nil, false, false},
		{"topic config", map[string]string{"unclean.leader.election.enable": "true"}, false, true},
		{"broker default", nil, true, true},
		{"topic overrides the default", map[string]string{"unclean.leader.election.enable": "false"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t, "", "")
			cl.c.UncleanDefault = tc.brokerDefault
			recs, _ := cl.c.CreateTopic("t", [16]byte{1}, 1, 2, tc.topicConfig, nil)
			cl.commit(recs)
			s := cl.partition(0)
			follower := s.Replicas[1]
			// The follower falls out of the ISR, then the leader dies.
			recs, err := cl.c.AlterPartition("t", 0, s.Leader, s.LeaderEpoch, s.PartitionEpoch, []int32{s.Leader})
			if err != nil {
				t.Fatal(err)
			}
			cl.commit(recs)
			cl.commit(cl.c.Fence(s.Leader))
			p := cl.partition(0)
			if got := p.Leader == follower; got != tc.wantNewLeader {
				t.Fatalf("after the ISR died: %+v", p)
			}
			if tc.wantNewLeader && !slices.Equal(p.ISR, []int32{follower}) {
				t.Fatalf("an unclean leader's ISR: %+v", p)
			}
		})
	}
}
