package controller

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

// TestControllerSimulation drives the controller with random, seeded
// sequences of what brokers and admins do: registrations (restarts with a
// new incarnation, and retries of the same one), heartbeats, ticks where
// several sessions expire at once, a leader's ISR shrinks and expansions
// (some with stale epochs or fenced replicas), topic and partition
// creation, elections, reassignments and deletions. Time is an input.
// Some steps batch several decisions on a scratch image, as the node
// does. Every batch of records is applied in order, as the metadata log
// would, and the invariants are checked after every record
// (checkPartition) and after every batch (checkBatch).
//
// RILL_CONTROLLER_SEEDS=n runs seeds 1..n (200 by default);
// RILL_CONTROLLER_SEED=k runs seed k alone.
func TestControllerSimulation(t *testing.T) {
	seeds := []uint64{}
	if v := os.Getenv("RILL_CONTROLLER_SEED"); v != "" {
		k, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("RILL_CONTROLLER_SEED=%q: %v", v, err)
		}
		seeds = append(seeds, k)
	} else {
		n := uint64(200)
		if v := os.Getenv("RILL_CONTROLLER_SEEDS"); v != "" {
			var err error
			if n, err = strconv.ParseUint(v, 10, 64); err != nil {
				t.Fatalf("RILL_CONTROLLER_SEEDS=%q: %v", v, err)
			}
		}
		for k := uint64(1); k <= n; k++ {
			seeds = append(seeds, k)
		}
	}
	for _, seed := range seeds {
		s := newSim(seed)
		for step := 0; step < simSteps; step++ {
			if err := s.step(); err != nil {
				t.Fatalf("seed %d (rerun with RILL_CONTROLLER_SEED=%d), step %d: %v\nlast steps:\n  %s",
					seed, seed, step, err, strings.Join(s.trace, "\n  "))
			}
		}
	}
}

const (
	simSteps          = 300
	simSessionTimeout = 10 * time.Second
	simTraceLength    = 30
)

type simBroker struct {
	registered  bool
	up          bool // heartbeating: running and reachable
	incarnation int
	port        int32
}

type simPartition struct {
	topic [16]byte
	index int
}

type sim struct {
	rng     *rand.Rand
	im      *Image // the committed image
	ctl     *Controller
	now     time.Time
	brokers []simBroker // broker id i+1
	topics  int         // topics created so far: names and ids
	// scratch and batch are a batch being decided, as the node does:
	// decisions in turn on a copy of the image with the earlier ones
	// applied, committed together.
	scratch *Image
	batch   []Record
	seen    map[simPartition]PartitionState // each partition's last state
	trace   []string
}

func newSim(seed uint64) *sim {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	s := &sim{rng: rng, im: NewImage(), now: t0, brokers: make([]simBroker, 3+rng.IntN(4)),
		seen: map[simPartition]PartitionState{}}
	s.ctl = New(s.im, simSessionTimeout)
	s.ctl.UncleanDefault = rng.IntN(4) == 0
	return s
}

func (s *sim) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf("%s ", s.now.Sub(t0))+fmt.Sprintf(format, args...))
	if len(s.trace) > simTraceLength {
		s.trace = s.trace[1:]
	}
}

// view is the image the controller decides on.
func (s *sim) view() *Image {
	if s.scratch != nil {
		return s.scratch
	}
	return s.im
}

// step runs one operation, or a batch of two to four decided in turn.
func (s *sim) step() error {
	if s.rng.IntN(4) != 0 {
		return s.op()
	}
	s.scratch = s.im.Clone()
	s.ctl.Rebase(s.scratch)
	n := 2 + s.rng.IntN(3)
	s.logf("batch of %d:", n)
	var err error
	for i := 0; i < n && err == nil; i++ {
		err = s.op()
	}
	s.ctl.Rebase(s.im)
	recs := s.batch
	s.scratch, s.batch = nil, nil
	if err != nil {
		return err
	}
	return s.commit(recs)
}

// propose takes a decision's records: committed at once, or added to the
// batch being decided.
func (s *sim) propose(what string, recs []Record) error {
	s.logf("%s: %s", what, describe(recs))
	if s.scratch == nil {
		return s.commit(recs)
	}
	for _, r := range recs {
		if err := s.scratch.Apply(r); err != nil {
			return fmt.Errorf("%s: a record does not apply to the image it was decided on: %w", what, err)
		}
	}
	s.batch = append(s.batch, recs...)
	return nil
}

// commit applies a batch as the metadata log would, checking after every
// record.
func (s *sim) commit(recs []Record) error {
	for i, r := range recs {
		if err := s.im.Apply(r); err != nil {
			return fmt.Errorf("record %d of %d (%s): %w", i, len(recs), describe([]Record{r}), err)
		}
		if err := s.checkRecord(); err != nil {
			return fmt.Errorf("after record %d of %d (%s): %w", i, len(recs), describe([]Record{r}), err)
		}
	}
	return s.checkBatch()
}

func (s *sim) checkRecord() error {
	for name, t := range s.im.Topics {
		for i, p := range t.Partitions {
			key := simPartition{t.ID, i}
			prev, had := s.seen[key]
			if err := checkPartition(s.im, prev, had, p); err != nil {
				return fmt.Errorf("%s-%d %s: %w", name, i, describePartition(p), err)
			}
			s.seen[key] = p.clone()
		}
	}
	return nil
}

// checkPartition checks one partition's state against the image's
// brokers and its previous state (had: it has one).
func checkPartition(im *Image, prev PartitionState, had bool, p PartitionState) error {
	fenced := func(r int32) bool { return !im.live(r) }
	switch {
	case len(p.ISR) == 0:
		return errors.New("empty ISR")
	case hasDuplicates(p.Replicas) || hasDuplicates(p.ISR):
		return errors.New("a broker named twice")
	case p.Leader >= 0 && !slices.Contains(p.ISR, p.Leader):
		return errors.New("leader not in the ISR")
	case p.Leader >= 0 && fenced(p.Leader):
		// Stronger than "not while an unfenced ISR member exists":
		// fencing moves leadership first, and a leaderless partition
		// with a fenced last ISR member has no leader.
		return fmt.Errorf("fenced broker %d leads", p.Leader)
	}
	for _, r := range p.ISR {
		if !slices.Contains(p.Replicas, r) {
			return fmt.Errorf("ISR member %d is not a replica", r)
		}
		if fenced(r) && len(p.ISR) > 1 {
			return fmt.Errorf("fenced broker %d is in the ISR but not its last member", r)
		}
		if fenced(r) && (!had || !slices.Contains(prev.ISR, r)) {
			if !had {
				return fmt.Errorf("a new partition with fenced broker %d in its ISR", r)
			}
			return fmt.Errorf("the ISR gained fenced broker %d (was %s)", r, describePartition(prev))
		}
	}
	if !had {
		return nil
	}
	switch {
	case p.LeaderEpoch < prev.LeaderEpoch:
		return fmt.Errorf("leader epoch went back (was %s)", describePartition(prev))
	case p.PartitionEpoch < prev.PartitionEpoch:
		return fmt.Errorf("partition epoch went back (was %s)", describePartition(prev))
	case p.Leader != prev.Leader && p.LeaderEpoch <= prev.LeaderEpoch:
		return fmt.Errorf("new leader without a new leader epoch (was %s)", describePartition(prev))
	case (p.Leader != prev.Leader || !slices.Equal(p.ISR, prev.ISR) || !slices.Equal(p.Replicas, prev.Replicas)) &&
		p.PartitionEpoch <= prev.PartitionEpoch:
		return fmt.Errorf("changed without a new partition epoch (was %s)", describePartition(prev))
	}
	return nil
}

// checkBatch checks what holds between batches: a partition without a
// leader has no live ISR member to elect.
func (s *sim) checkBatch() error {
	for name, t := range s.im.Topics {
		for i, p := range t.Partitions {
			if p.Leader != -1 {
				continue
			}
			for _, r := range p.ISR {
				if s.im.live(r) {
					return fmt.Errorf("%s-%d %s: leaderless with live ISR member %d", name, i, describePartition(p), r)
				}
			}
		}
	}
	return nil
}

func hasDuplicates(ids []int32) bool {
	for i, r := range ids {
		if slices.Contains(ids[:i], r) {
			return true
		}
	}
	return false
}

func describePartition(p PartitionState) string {
	s := fmt.Sprintf("{replicas %v isr %v leader %d epoch %d/%d", p.Replicas, p.ISR, p.Leader, p.LeaderEpoch, p.PartitionEpoch)
	if p.Reassigning() {
		s += fmt.Sprintf(" adding %v removing %v", p.Adding, p.Removing)
	}
	return s + "}"
}

func describe(recs []Record) string {
	var out []string
	for _, r := range recs {
		switch {
		case r.RegisterBroker != nil:
			out = append(out, fmt.Sprintf("register %d (fenced %v)", r.RegisterBroker.ID, r.RegisterBroker.Fenced))
		case r.FenceBroker != nil:
			out = append(out, fmt.Sprintf("fence %d", *r.FenceBroker))
		case r.UnfenceBroker != nil:
			out = append(out, fmt.Sprintf("unfence %d", *r.UnfenceBroker))
		case r.CreateTopic != nil:
			out = append(out, fmt.Sprintf("create %s %d", r.CreateTopic.Name, len(r.CreateTopic.Partitions)))
		case r.AddPartitions != nil:
			out = append(out, fmt.Sprintf("add %d to %s", len(r.AddPartitions.Partitions), r.AddPartitions.Topic))
		case r.DeleteTopic != nil:
			out = append(out, "delete "+*r.DeleteTopic)
		case r.PartitionChange != nil:
			c := r.PartitionChange
			out = append(out, fmt.Sprintf("%s-%d %s", c.Topic, c.Partition, describePartition(c.State)))
		default:
			out = append(out, "other")
		}
	}
	if len(out) == 0 {
		return "no records"
	}
	return strings.Join(out, "; ")
}

// op runs one random operation.
func (s *sim) op() error {
	switch n := s.rng.IntN(30); {
	case n < 3:
		return s.heartbeatAll(1)
	case n < 5:
		if id, ok := s.pickBroker(func(b simBroker) bool { return b.registered && b.up }); ok {
			return s.heartbeat(id)
		}
		return nil
	case n < 8:
		return s.tick()
	case n < 10:
		return s.expireSeveral()
	case n < 12:
		return s.restart()
	case n < 14:
		return s.reregister()
	case n < 15:
		s.setUp()
		return nil
	case n < 20:
		return s.alterPartition()
	case n < 22:
		return s.createTopic()
	case n < 23:
		return s.createPartitions()
	case n < 25:
		return s.electLeaders()
	case n < 26:
		return s.propose("elect preferred", s.ctl.ElectPreferred())
	case n < 28:
		return s.reassign()
	case n < 29 && s.rng.IntN(4) == 0:
		return s.deleteTopic()
	default:
		return s.heartbeatAll(0.9)
	}
}

func (s *sim) pickBroker(ok func(simBroker) bool) (int32, bool) {
	var ids []int32
	for i, b := range s.brokers {
		if ok(b) {
			ids = append(ids, int32(i+1))
		}
	}
	if len(ids) == 0 {
		return 0, false
	}
	return ids[s.rng.IntN(len(ids))], true
}

func (s *sim) info(id int32) BrokerInfo {
	b := s.brokers[id-1]
	return BrokerInfo{ID: id, Host: "127.0.0.1", Port: b.port, Rack: fmt.Sprint("r", id%2), Incarnation: fmt.Sprint(b.incarnation)}
}

func (s *sim) heartbeat(id int32) error {
	recs, err := s.ctl.Heartbeat(id, s.now)
	if err != nil {
		return fmt.Errorf("heartbeat of registered broker %d: %w", id, err)
	}
	return s.propose(fmt.Sprintf("heartbeat %d", id), recs)
}

// heartbeatAll heartbeats each running broker with probability p.
func (s *sim) heartbeatAll(p float64) error {
	for _, i := range s.rng.Perm(len(s.brokers)) {
		if b := s.brokers[i]; b.registered && b.up && s.rng.Float64() < p {
			if err := s.heartbeat(int32(i + 1)); err != nil {
				return err
			}
		}
	}
	return nil
}

// tick lets some time pass, in which most running brokers heartbeat.
func (s *sim) tick() error {
	s.now = s.now.Add(time.Duration(s.rng.Int64N(int64(simSessionTimeout * 3 / 2))))
	if err := s.heartbeatAll(0.8); err != nil {
		return err
	}
	return s.propose("tick", s.ctl.Tick(s.now))
}

// expireSeveral stops two or more live brokers and lets their sessions
// expire in one tick, the others heartbeating.
func (s *sim) expireSeveral() error {
	var live []int32
	for _, i := range s.rng.Perm(len(s.brokers)) {
		if id := int32(i + 1); s.brokers[i].registered && s.view().live(id) {
			live = append(live, id)
		}
	}
	if len(live) < 2 {
		return nil
	}
	stop := live[:2+s.rng.IntN(len(live)-1)]
	for _, id := range stop {
		s.brokers[id-1].up = false
	}
	s.logf("stop %v", stop)
	s.now = s.now.Add(simSessionTimeout + time.Duration(1+s.rng.IntN(1000))*time.Millisecond)
	if err := s.heartbeatAll(1); err != nil {
		return err
	}
	return s.propose("tick", s.ctl.Tick(s.now))
}

// restart registers a new incarnation of a broker (or a broker's first).
func (s *sim) restart() error {
	id := int32(1 + s.rng.IntN(len(s.brokers)))
	b := &s.brokers[id-1]
	if !b.registered {
		b.port = 9000 + id
	}
	b.registered, b.up = true, true
	b.incarnation++
	return s.propose(fmt.Sprintf("register %d incarnation %d", id, b.incarnation), s.ctl.Register(s.info(id), s.now))
}

// reregister is a broker retrying its registration (the reply was lost),
// sometimes at a new port.
func (s *sim) reregister() error {
	id, ok := s.pickBroker(func(b simBroker) bool { return b.registered })
	if !ok {
		return nil
	}
	b := &s.brokers[id-1]
	if s.rng.IntN(4) == 0 {
		b.port += 100
	}
	b.up = true
	return s.propose(fmt.Sprintf("register %d again (incarnation %d)", id, b.incarnation), s.ctl.Register(s.info(id), s.now))
}

// setUp stops a broker or lets it heartbeat again (a partition heals).
func (s *sim) setUp() {
	id, ok := s.pickBroker(func(b simBroker) bool { return b.registered })
	if !ok {
		return
	}
	s.brokers[id-1].up = !s.brokers[id-1].up
	s.logf("broker %d up: %v", id, s.brokers[id-1].up)
}

func (s *sim) partitions() []kafka.TopicPartition {
	var refs []kafka.TopicPartition
	im := s.view()
	names := make([]string, 0, len(im.Topics))
	for name := range im.Topics {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for i := range im.Topics[name].Partitions {
			refs = append(refs, kafka.TopicPartition{Topic: name, Partition: int32(i)})
		}
	}
	return refs
}

// alterPartition is a leader shrinking or expanding its ISR, sometimes
// with stale epochs or a replica that is fenced (the controller must
// refuse those).
func (s *sim) alterPartition() error {
	refs := s.partitions()
	if len(refs) == 0 {
		return nil
	}
	ref := refs[s.rng.IntN(len(refs))]
	p, _ := s.view().Partition(ref.Topic, ref.Partition)
	if p.Leader < 0 || !s.brokers[p.Leader-1].up {
		return nil
	}
	isr := slices.Clone(p.ISR)
	if others := slices.DeleteFunc(slices.Clone(isr), func(r int32) bool { return r == p.Leader }); len(others) > 0 && s.rng.IntN(2) == 0 {
		drop := others[s.rng.IntN(len(others))]
		isr = slices.DeleteFunc(isr, func(r int32) bool { return r == drop })
	} else {
		out := slices.DeleteFunc(slices.Clone(p.Replicas), func(r int32) bool { return slices.Contains(p.ISR, r) })
		if len(out) == 0 {
			return nil
		}
		isr = append(isr, out[s.rng.IntN(len(out))])
	}
	le, pe := p.LeaderEpoch, p.PartitionEpoch
	switch s.rng.IntN(10) {
	case 0:
		le--
	case 1:
		pe--
	}
	recs, err := s.ctl.AlterPartition(ref.Topic, ref.Partition, p.Leader, le, pe, isr)
	if err != nil {
		s.logf("alter %s-%d isr %v at %d/%d: %v", ref.Topic, ref.Partition, isr, le, pe, err)
		return nil
	}
	if le != p.LeaderEpoch || pe != p.PartitionEpoch {
		return fmt.Errorf("alter %s-%d with stale epochs %d/%d accepted", ref.Topic, ref.Partition, le, pe)
	}
	return s.propose(fmt.Sprintf("alter %s-%d isr %v", ref.Topic, ref.Partition, isr), recs)
}

func (s *sim) createTopic() error {
	if len(s.view().Topics) >= 6 {
		return nil
	}
	s.topics++
	name := fmt.Sprint("t", s.topics)
	var configs map[string]string
	if s.rng.IntN(4) == 0 {
		configs = map[string]string{"unclean.leader.election.enable": fmt.Sprint(s.rng.IntN(2) == 0)}
	}
	recs, err := s.ctl.CreateTopic(name, [16]byte{byte(s.topics), byte(s.topics >> 8)}, int32(1+s.rng.IntN(4)), int16(1+s.rng.IntN(3)), configs, nil)
	if err != nil {
		s.logf("create %s: %v", name, err)
		return nil
	}
	return s.propose("create "+name, recs)
}

func (s *sim) pickTopic() (string, bool) {
	refs := s.partitions()
	if len(refs) == 0 {
		return "", false
	}
	return refs[s.rng.IntN(len(refs))].Topic, true
}

// createPartitions grows a topic, placed by the controller or assigned
// (to any registered brokers, fenced ones too).
func (s *sim) createPartitions() error {
	name, ok := s.pickTopic()
	if !ok {
		return nil
	}
	t := s.view().Topics[name]
	if len(t.Partitions) >= 8 {
		return nil
	}
	add := 1 + s.rng.IntN(2)
	var assignment [][]int32
	if s.rng.IntN(2) == 0 {
		rf := len(t.Partitions[0].Replicas) - len(t.Partitions[0].Removing)
		for range add {
			var replicas []int32
			for _, i := range s.rng.Perm(len(s.brokers))[:min(rf, len(s.brokers))] {
				replicas = append(replicas, int32(i+1))
			}
			assignment = append(assignment, replicas)
		}
	}
	recs, err := s.ctl.CreatePartitions(name, int32(len(t.Partitions)+add), assignment)
	if err != nil {
		s.logf("add %d to %s as %v: %v", add, name, assignment, err)
		return nil
	}
	return s.propose(fmt.Sprintf("add %d to %s as %v", add, name, assignment), recs)
}

// electLeaders runs ElectLeaders on all partitions or on a few (named
// twice sometimes, or unknown).
func (s *sim) electLeaders() error {
	typ := PreferredElection
	if s.rng.IntN(3) == 0 {
		typ = UncleanElection
	}
	var parts []kafka.TopicPartition
	if refs := s.partitions(); len(refs) > 0 && s.rng.IntN(2) == 0 {
		for range 1 + s.rng.IntN(4) {
			parts = append(parts, refs[s.rng.IntN(len(refs))])
		}
		if s.rng.IntN(5) == 0 {
			parts = append(parts, kafka.TopicPartition{Topic: "gone", Partition: 0})
		}
	}
	recs, _ := s.ctl.ElectLeaders(typ, parts)
	return s.propose(fmt.Sprintf("elect %d %v", typ, parts), recs)
}

// reassign moves a partition to random registered brokers, or cancels
// its move.
func (s *sim) reassign() error {
	refs := s.partitions()
	if len(refs) == 0 {
		return nil
	}
	ref := refs[s.rng.IntN(len(refs))]
	var target []int32
	if s.rng.IntN(3) != 0 {
		for _, i := range s.rng.Perm(len(s.brokers))[:1+s.rng.IntN(3)] {
			target = append(target, int32(i+1))
		}
	}
	recs, err := s.ctl.Reassign(ref.Topic, ref.Partition, target)
	if err != nil {
		s.logf("reassign %s-%d to %v: %v", ref.Topic, ref.Partition, target, err)
		return nil
	}
	return s.propose(fmt.Sprintf("reassign %s-%d to %v", ref.Topic, ref.Partition, target), recs)
}

func (s *sim) deleteTopic() error {
	name, ok := s.pickTopic()
	if !ok {
		return nil
	}
	recs, err := s.ctl.DeleteTopic(name)
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return s.propose("delete "+name, recs)
}
