package isr

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/replication/controller"
)

// A deterministic simulation of one partition on three brokers: a client
// producing with acks=all to the leader, followers fetching (answers may
// be lost), ISR changes through the controller (package controller's
// logic over its metadata image) that may answer late, brokers crashing
// (fenced) and coming back, and leader elections from the ISR (unclean
// election off). Logs are durable (the SIGKILL case: the page cache
// survives). Invariants, checked after every step:
//
//   - every acknowledged record is in the log of every ISR member, at its
//     offset;
//   - a leader's high watermark never moves back;
//   - the leader and every ISR member agree on all records below the HW;
//   - each leader epoch has one leader.

type entry struct {
	epoch int32
	value int
}

type broker struct {
	id     ReplicaID
	log    []entry
	epochs log.EpochCache
	hw     int64
	alive  bool
	// fetchedEpoch is the leader epoch this follower last reconciled its
	// log with (OffsetForLeaderEpoch); a newer leader means truncating
	// first.
	fetchedEpoch int32
}

type sim struct {
	t       *testing.T
	rng     *rand.Rand
	now     time.Time
	brokers map[ReplicaID]*broker
	image   *controller.Image
	ctl     *controller.Controller
	// leader and leaderEpoch are the leadership the sim last acted on.
	leader      ReplicaID // 0: none
	leaderEpoch int32
	lead        *Leader
	// acked maps offset → value of every acknowledged record.
	acked map[int64]int
	// waits maps a pending acks=all wait to its records.
	waits  map[uint64][]int64
	next   int
	lastHW int64
	step   int
	// epochLeaders is every leader epoch's leader (-1: none): one each.
	epochLeaders map[int32]int32
}

var ids = []ReplicaID{1, 2, 3}

func newSim(t *testing.T, seed int64) *sim {
	s := &sim{t: t, rng: rand.New(rand.NewSource(seed)), now: time.Unix(1_700_000_000, 0),
		brokers: map[ReplicaID]*broker{}, acked: map[int64]int{}, waits: map[uint64][]int64{}, epochLeaders: map[int32]int32{}}
	s.image = controller.NewImage()
	s.ctl = controller.New(s.image, time.Hour) // fencing is driven by crashes here
	for _, id := range ids {
		s.brokers[id] = &broker{id: id, alive: true, fetchedEpoch: -1}
		s.commit(s.ctl.Register(controller.BrokerInfo{ID: int32(id)}, s.now))
		recs, err := s.ctl.Heartbeat(int32(id), s.now)
		if err != nil {
			t.Fatal(err)
		}
		s.commit(recs)
	}
	recs, err := s.ctl.CreateTopic("p", [16]byte{1}, 1, int16(len(ids)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.commit(recs)
	s.sync()
	return s
}

// commit applies records as the metadata log would.
func (s *sim) commit(recs []controller.Record) {
	s.t.Helper()
	for _, r := range recs {
		if err := s.image.Apply(r); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *sim) state() controller.PartitionState {
	p, _ := s.image.Partition("p", 0)
	return p
}

func toIDs(rs []int32) []ReplicaID {
	out := make([]ReplicaID, len(rs))
	for i, r := range rs {
		out[i] = ReplicaID(r)
	}
	return out
}

func (s *sim) isr() []ReplicaID { return toIDs(s.state().ISR) }

// sync makes the brokers act on the published partition state: a new
// leader epoch makes its leader start leading; otherwise the leader learns
// the ISR and partition epoch.
func (s *sim) sync() {
	p := s.state()
	if p.LeaderEpoch != s.leaderEpoch || ReplicaID(p.Leader) != s.leader {
		s.elect(p)
		return
	}
	if s.lead != nil {
		s.lead.PartitionState(toIDs(p.ISR), p.PartitionEpoch)
		s.collect()
	}
}

func (s *sim) cfg(id ReplicaID) Config {
	return Config{Self: id, LagTimeMax: 10 * time.Second, MinInSync: 2}
}

// elect makes the published leader (if any) start leading its epoch.
func (s *sim) elect(p controller.PartitionState) {
	if prev, ok := s.epochLeaders[p.LeaderEpoch]; ok && prev != p.Leader {
		s.t.Fatalf("step %d: leader epoch %d had leader %d and now %d", s.step, p.LeaderEpoch, prev, p.Leader)
	}
	s.epochLeaders[p.LeaderEpoch] = p.Leader
	s.lead, s.leader, s.leaderEpoch = nil, ReplicaID(p.Leader), p.LeaderEpoch
	s.waits = map[uint64][]int64{} // the old leader's waits are lost: never acknowledged
	if p.Leader < 0 {
		s.leader = 0
		return
	}
	b := s.brokers[s.leader]
	b.epochs.Assign(p.LeaderEpoch, int64(len(b.log)))
	b.fetchedEpoch = p.LeaderEpoch
	s.lead = NewLeader(s.cfg(s.leader), p.LeaderEpoch, p.PartitionEpoch, toIDs(p.Replicas), toIDs(p.ISR), int64(len(b.log)), b.hw, s.now)
	s.lastHW = b.hw
}

func (s *sim) leaderBroker() *broker { return s.brokers[s.leader] }

func (s *sim) produce() {
	if s.lead == nil {
		return
	}
	if s.lead.CheckAppend(true) != nil {
		return
	}
	b := s.leaderBroker()
	n := 1 + s.rng.Intn(3)
	var offs []int64
	for i := 0; i < n; i++ {
		offs = append(offs, int64(len(b.log)))
		s.next++
		b.log = append(b.log, entry{epoch: s.leaderEpoch, value: s.next})
	}
	id := s.lead.Appended(int64(len(b.log)), true, s.now.Add(30*time.Second))
	s.waits[id] = offs
	s.collect()
}

// collect records acknowledgements.
func (s *sim) collect() {
	b := s.leaderBroker()
	for _, d := range s.lead.TakeDone() {
		offs := s.waits[d.ID]
		delete(s.waits, d.ID)
		if d.Err != nil {
			continue
		}
		for _, o := range offs {
			s.acked[o] = b.log[o].value
		}
	}
	b.hw = s.lead.HighWatermark()
}

func (s *sim) fetch(id ReplicaID, lossy bool) {
	f := s.brokers[id]
	if s.lead == nil || id == s.leader || !f.alive {
		return
	}
	l := s.leaderBroker()
	if f.fetchedEpoch < s.leaderEpoch {
		// OffsetForLeaderEpoch, then truncate (KIP-279).
		le, end := l.epochs.EndOffsetFor(f.epochs.Latest(), int64(len(l.log)))
		local := func(e int32) (int32, int64) { return f.epochs.EndOffsetFor(e, int64(len(f.log))) }
		cut := Divergence(local, le, end, int64(len(f.log)), f.hw)
		f.log = f.log[:cut]
		f.epochs.TruncateFrom(cut)
		f.hw = min(f.hw, cut)
		f.fetchedEpoch = s.leaderEpoch
	}
	at := int64(len(f.log))
	hw := s.lead.Fetched(id, at, s.now)
	s.collect()
	if lossy && s.rng.Intn(4) == 0 {
		return // the answer is lost
	}
	n := min(int64(len(l.log))-at, int64(1+s.rng.Intn(5)))
	for i := int64(0); i < n; i++ {
		e := l.log[at+i]
		f.epochs.Assign(e.epoch, at+i)
		f.log = append(f.log, e)
	}
	f.hw = max(f.hw, min(hw, int64(len(f.log))))
}

// alterPartition lets the controller answer the leader's pending change.
func (s *sim) alterPartition() {
	if s.lead == nil || s.lead.Pending() == nil {
		return
	}
	ch := s.lead.Pending()
	isr := make([]int32, len(ch.ISR))
	for i, r := range ch.ISR {
		isr[i] = int32(r)
	}
	recs, err := s.ctl.AlterPartition("p", 0, int32(s.leader), s.leaderEpoch, ch.PartitionEpoch, isr)
	if err == nil {
		s.commit(recs)
	}
	// Committed or refused, the leader acts on what is published.
	p := s.state()
	s.lead.PartitionState(toIDs(p.ISR), p.PartitionEpoch)
	s.collect()
}

func (s *sim) crash(id ReplicaID) {
	b := s.brokers[id]
	if !b.alive {
		return
	}
	b.alive = false
	s.commit(s.ctl.Fence(int32(id)))
	s.sync()
}

func (s *sim) restart(id ReplicaID) {
	b := s.brokers[id]
	if b.alive {
		return
	}
	b.alive = true
	b.fetchedEpoch = -1
	recs, err := s.ctl.Heartbeat(int32(id), s.now)
	if err != nil {
		s.t.Fatal(err)
	}
	s.commit(recs)
	s.sync()
}

func (s *sim) check() {
	s.t.Helper()
	if s.lead != nil {
		hw := s.lead.HighWatermark()
		if hw < s.lastHW {
			s.t.Fatalf("step %d: leader %d HW went back from %d to %d", s.step, s.leader, s.lastHW, hw)
		}
		s.lastHW = hw
		l := s.leaderBroker()
		for _, id := range s.isr() {
			b := s.brokers[id]
			upTo := min(hw, int64(len(b.log)))
			for o := int64(0); o < upTo; o++ {
				if b.log[o] != l.log[o] {
					s.t.Fatalf("step %d: ISR member %d differs from leader %d at offset %d below HW %d: %v vs %v",
						s.step, id, s.leader, o, hw, b.log[o], l.log[o])
				}
			}
		}
	}
	for o, v := range s.acked {
		for _, id := range s.isr() {
			b := s.brokers[id]
			if int64(len(b.log)) <= o || b.log[o].value != v {
				got := "nothing"
				if int64(len(b.log)) > o {
					got = fmt.Sprint(b.log[o])
				}
				s.t.Fatalf("step %d: acknowledged offset %d (value %d) is %s on ISR member %d (leader %d, ISR %v)",
					s.step, o, v, got, id, s.leader, s.isr())
			}
		}
	}
}

func TestSimulation(t *testing.T) {
	for seed := int64(0); seed < 200; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newSim(t, seed)
			for s.step = 0; s.step < 400; s.step++ {
				switch op := s.rng.Intn(20); {
				case op < 6:
					s.produce()
				case op < 14:
					s.fetch(ids[s.rng.Intn(len(ids))], true)
				case op < 16:
					if s.rng.Intn(2) == 0 {
						s.alterPartition()
					}
				case op == 16:
					s.now = s.now.Add(time.Duration(s.rng.Intn(6)) * time.Second)
					if s.lead != nil {
						s.lead.Tick(s.now)
						s.collect()
					}
				case op == 17:
					s.crash(ids[s.rng.Intn(len(ids))])
				case op == 18:
					s.restart(ids[s.rng.Intn(len(ids))])
				default:
					s.now = s.now.Add(time.Second)
				}
				s.check()
				// An idle leader is off the broker's clock: no tick, however
				// late, may change it (Leader.Idle's promise).
				if s.lead != nil && s.lead.Idle() {
					s.lead.Tick(s.now.Add(time.Hour))
					if ch, done := s.lead.Pending(), s.lead.TakeDone(); ch != nil || len(done) > 0 {
						t.Fatalf("step %d: an idle leader changed on a tick: pending %+v, done %+v", s.step, ch, done)
					}
				}
			}
			// Heal: everyone back, no loss, until all logs hold every
			// acknowledged record.
			for _, id := range ids {
				s.restart(id)
			}
			for i := 0; i < 2000; i++ {
				for _, id := range ids {
					s.fetch(id, false)
				}
				s.alterPartition()
				s.check()
			}
			if s.lead == nil {
				t.Fatal("no leader after healing")
			}
			if got := len(s.lead.ISR()); got != len(ids) {
				t.Fatalf("ISR did not grow back to all replicas: %v", s.lead.ISR())
			}
			for o, v := range s.acked {
				for _, id := range ids {
					if b := s.brokers[id]; int64(len(b.log)) <= o || b.log[o].value != v {
						t.Fatalf("after healing, broker %d lacks acknowledged offset %d", id, o)
					}
				}
			}
		})
	}
}
