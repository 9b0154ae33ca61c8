package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
)

// memStore is an in-memory offsets topic with an injectable failure, and
// appends that can be held (a slow disk or a lagging ISR).
type memStore struct {
	mu      sync.Mutex
	parts   map[int32][]Record
	fail    error
	gate    chan struct{}
	started chan struct{}
}

func newMemStore() *memStore {
	return &memStore{parts: map[int32][]Record{}, started: make(chan struct{}, 100)}
}

func (s *memStore) Append(p int32, recs []Record) error {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		s.started <- struct{}{}
		<-gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.parts[p] = append(s.parts[p], recs...)
	return nil
}

func (s *memStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// hold makes appends wait until the returned function is called.
func (s *memStore) hold() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.gate = nil
			s.mu.Unlock()
			close(gate)
		})
	}
}

func (s *memStore) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-s.started:
	case <-time.After(5 * time.Second):
		t.Fatal("no append started")
	}
}

func (s *memStore) Load(p int32, fn func(Record) error) error {
	s.mu.Lock()
	recs := append([]Record(nil), s.parts[p]...)
	s.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	clock *clock
	store *memStore
	c     *Coordinator
}

func newFixture(t *testing.T, delay time.Duration) *fixture {
	f := &fixture{t: t, clock: &clock{now: time.Unix(1_700_000_000, 0)}, store: newMemStore()}
	f.c = f.coordinator(delay)
	return f
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// coordinator returns a coordinator of every partition, loaded from the
// fixture's store.
func (f *fixture) coordinator(delay time.Duration) *Coordinator {
	cfg := DefaultConfig()
	cfg.OffsetsPartitions = 3
	cfg.InitialRebalanceDelay = delay
	cfg.Now = f.clock.Now
	return f.start(cfg)
}

// start returns a coordinator that leads every partition of the store.
func (f *fixture) start(cfg Config) *Coordinator {
	f.t.Helper()
	c := New(cfg, f.store)
	f.t.Cleanup(c.Close)
	if err := c.Load(); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// unloaded returns a coordinator that leads no partition yet.
func (f *fixture) unloaded() *Coordinator {
	cfg := DefaultConfig()
	cfg.OffsetsPartitions = 3
	cfg.InitialRebalanceDelay = 0
	cfg.Now = f.clock.Now
	c := New(cfg, f.store)
	f.t.Cleanup(c.Close)
	return c
}

// inspect runs fn on a group on its shard's goroutine.
func inspect(t *testing.T, c *Coordinator, id string, fn func(g *group)) {
	t.Helper()
	err := c.do(id, func(s *groups, now time.Time, _ *change) {
		if g := s.lookup(id, false, now); g != nil {
			fn(g)
		} else {
			t.Errorf("no group %s", id)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func consumerMeta(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Topics = topics
	return m.AppendTo(nil)
}

func joinReq(group, member string, version int16) JoinRequest {
	return JoinRequest{
		Group: group, MemberID: member, ClientID: "client", ClientHost: "/127.0.0.1",
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 20 * time.Second,
		ProtocolType: "consumer", Protocols: []Protocol{{Name: "range", Metadata: consumerMeta("t")}},
		Version: version,
	}
}

// joinAsync starts a JoinGroup and returns where its answer arrives.
func (f *fixture) joinAsync(req JoinRequest) <-chan JoinResult {
	ch := make(chan JoinResult, 1)
	go func() { ch <- f.c.Join(context.Background(), req) }()
	return ch
}

// wait receives an answer, ticking the coordinator until it comes.
func wait[T any](f *fixture, ch <-chan T) T {
	f.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-ch:
			return r
		case <-deadline:
			f.t.Fatal("no answer")
		case <-time.After(time.Millisecond):
			f.c.Tick()
		}
	}
}

// newMemberID does the v4 MEMBER_ID_REQUIRED round.
func (f *fixture) newMemberID(group string) string {
	f.t.Helper()
	r := f.c.Join(context.Background(), joinReq(group, "", 4))
	if !errors.Is(r.Err, kerr.MemberIDRequired) || r.MemberID == "" {
		f.t.Fatalf("first v4 join: %+v", r)
	}
	return r.MemberID
}

func (f *fixture) syncAll(group string, gen int32, leader string, members ...string) map[string]SyncResult {
	f.t.Helper()
	out := map[string]SyncResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	assign := map[string][]byte{}
	for _, m := range members {
		assign[m] = []byte("assignment-of-" + m)
	}
	for _, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := SyncRequest{Group: group, Generation: gen, MemberID: m}
			if m == leader {
				req.Assignments = assign
			}
			r := f.c.Sync(context.Background(), req)
			mu.Lock()
			out[m] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// stableGroup brings two members to a Stable generation.
func (f *fixture) stableGroup(group string) (a, b string, gen int32) {
	f.t.Helper()
	a, b = f.newMemberID(group), f.newMemberID(group)
	ca, cb := f.joinAsync(joinReq(group, a, 4)), f.joinAsync(joinReq(group, b, 4))
	ra, rb := wait(f, ca), wait(f, cb)
	if ra.Err != nil || rb.Err != nil || ra.Generation != rb.Generation || ra.Leader != rb.Leader {
		f.t.Fatalf("joins: %+v %+v", ra, rb)
	}
	leader := ra.Leader
	lr := ra
	if leader == b {
		lr = rb
	}
	if len(lr.Members) != 2 || lr.Protocol != "range" {
		f.t.Fatalf("leader's join answer: %+v", lr)
	}
	res := f.syncAll(group, ra.Generation, leader, a, b)
	for _, m := range []string{a, b} {
		if res[m].Err != nil || string(res[m].Assignment) != "assignment-of-"+m {
			f.t.Fatalf("sync of %s: %+v", m, res[m])
		}
	}
	return a, b, ra.Generation
}

func state(t *testing.T, c *Coordinator, group string) State {
	t.Helper()
	d, _ := c.Describe(group)
	return d.State
}

func TestJoinSyncHeartbeat(t *testing.T) {
	f := newFixture(t, 0)
	a, b, gen := f.stableGroup("g")
	if s := state(t, f.c, "g"); s != Stable {
		t.Fatalf("state %s", s)
	}
	if err := f.c.Heartbeat("g", gen, a, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Heartbeat("g", gen-1, b, nil); !errors.Is(err, kerr.IllegalGeneration) {
		t.Fatalf("old generation heartbeat: %v", err)
	}
	if err := f.c.Heartbeat("g", gen, "nobody", nil); !errors.Is(err, kerr.UnknownMemberID) {
		t.Fatalf("unknown member heartbeat: %v", err)
	}
	// A member of another protocol type cannot join.
	bad := joinReq("g", "", 4)
	bad.ProtocolType = "connect"
	if r := f.c.Join(context.Background(), bad); !errors.Is(r.Err, kerr.InconsistentGroupProtocol) {
		t.Fatalf("foreign protocol type: %+v", r)
	}
	// Session timeout bounds.
	short := joinReq("g", "", 4)
	short.SessionTimeout = time.Second
	if r := f.c.Join(context.Background(), short); !errors.Is(r.Err, kerr.InvalidSessionTimeout) {
		t.Fatalf("short session: %+v", r)
	}
}

func TestSessionExpiryRebalances(t *testing.T) {
	f := newFixture(t, 0)
	a, b, gen := f.stableGroup("g")
	// a keeps heartbeating; b goes silent.
	for i := 0; i < 3; i++ {
		f.clock.advance(4 * time.Second)
		if err := f.c.Heartbeat("g", gen, a, nil); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		f.c.Tick()
	}
	if err := f.c.Heartbeat("g", gen, a, nil); !errors.Is(err, kerr.RebalanceInProgress) {
		t.Fatalf("after b's session expired a should rejoin, got %v", err)
	}
	r := wait(f, f.joinAsync(joinReq("g", a, 4)))
	if r.Err != nil || r.Generation != gen+1 || r.Leader != a || len(r.Members) != 1 {
		t.Fatalf("rejoin: %+v", r)
	}
	if err := f.c.Heartbeat("g", gen, b, nil); !errors.Is(err, kerr.UnknownMemberID) {
		t.Fatalf("expired member: %v", err)
	}
}

func TestRebalanceTimeoutDropsMembersThatDoNotRejoin(t *testing.T) {
	f := newFixture(t, 0)
	a, b, gen := f.stableGroup("g")
	// a rejoins with a new subscription; b keeps heartbeating but never rejoins.
	req := joinReq("g", a, 4)
	req.Protocols = []Protocol{{Name: "range", Metadata: consumerMeta("t", "u")}}
	ch := f.joinAsync(req)
	for i := 0; i < 5; i++ {
		time.Sleep(5 * time.Millisecond)
		f.clock.advance(5 * time.Second)
		_ = f.c.Heartbeat("g", gen, b, nil)
		f.c.Tick()
	}
	r := wait(f, ch)
	if r.Err != nil || r.Generation != gen+1 || len(r.Members) != 1 {
		t.Fatalf("join after rebalance timeout: %+v", r)
	}
}

func TestInitialDelayGathersMembers(t *testing.T) {
	f := newFixture(t, 3*time.Second)
	ca := f.joinAsync(joinReq("g", "", 3))
	time.Sleep(10 * time.Millisecond)
	f.clock.advance(2 * time.Second)
	f.c.Tick()
	cb := f.joinAsync(joinReq("g", "", 3))
	time.Sleep(10 * time.Millisecond)
	f.clock.advance(1500 * time.Millisecond) // past the first delay; b extends it
	f.c.Tick()
	select {
	case r := <-ca:
		t.Fatalf("join completed inside the extended delay: %+v", r)
	default:
	}
	f.clock.advance(3 * time.Second)
	ra, rb := wait(f, ca), wait(f, cb)
	if ra.Generation != 1 || rb.Generation != 1 {
		t.Fatalf("both should land in generation 1: %+v %+v", ra, rb)
	}
}

func TestLeaveAndDelete(t *testing.T) {
	f := newFixture(t, 0)
	a, b, gen := f.stableGroup("g")
	if errs := f.c.CommitOffsets("g", gen, a, nil, []OffsetCommit{{TopicPartition: kafka.TopicPartition{Topic: "t", Partition: 0}, Offset: 42}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if err := f.c.Delete("g"); !errors.Is(err, kerr.NonEmptyGroup) {
		t.Fatalf("delete of a live group: %v", err)
	}
	top, errs := f.c.Leave("g", []LeaveMember{{MemberID: a}, {MemberID: "ghost"}})
	if top != nil || errs[0] != nil || !errors.Is(errs[1], kerr.UnknownMemberID) {
		t.Fatalf("leave: %v %v", top, errs)
	}
	if s := state(t, f.c, "g"); s != PreparingRebalance {
		t.Fatalf("state after a leave: %s", s)
	}
	if _, errs := f.c.Leave("g", []LeaveMember{{MemberID: b}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if s := state(t, f.c, "g"); s != Empty {
		t.Fatalf("state after everyone left: %s", s)
	}
	if err := f.c.Delete("g"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Delete("g"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// The tombstones keep it deleted across a reload.
	c2 := f.coordinator(0)
	if len(c2.List()) != 0 || len(c2.Offsets("g")) != 0 {
		t.Fatalf("deleted group came back: %+v %+v", c2.List(), c2.Offsets("g"))
	}
}

func TestCommitRules(t *testing.T) {
	f := newFixture(t, 0)
	tp := kafka.TopicPartition{Topic: "t", Partition: 1}
	// A group with no coordinator membership commits with generation -1.
	if errs := f.c.CommitOffsets("simple", -1, "", nil, []OffsetCommit{{TopicPartition: tp, Offset: 7, LeaderEpoch: 3, Metadata: "m"}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	got := f.c.Offsets("simple")[tp]
	if got.Offset != 7 || got.LeaderEpoch != 3 || got.Metadata != "m" {
		t.Fatalf("committed %+v", got)
	}
	if errs := f.c.CommitOffsets("nogroup", 5, "m", nil, []OffsetCommit{{TopicPartition: tp}}); !errors.Is(errs[0], kerr.IllegalGeneration) {
		t.Fatalf("commit with a generation to an unknown group: %v", errs[0])
	}
	a, _, gen := f.stableGroup("g")
	if errs := f.c.CommitOffsets("g", -1, "", nil, []OffsetCommit{{TopicPartition: tp}}); !errors.Is(errs[0], kerr.UnknownMemberID) {
		t.Fatalf("generation -1 commit to a live group: %v", errs[0])
	}
	if errs := f.c.CommitOffsets("g", gen+1, a, nil, []OffsetCommit{{TopicPartition: tp}}); !errors.Is(errs[0], kerr.IllegalGeneration) {
		t.Fatalf("wrong generation: %v", errs[0])
	}
	long := make([]byte, 5000)
	errs := f.c.CommitOffsets("g", gen, a, nil, []OffsetCommit{{TopicPartition: tp, Offset: 1}, {TopicPartition: kafka.TopicPartition{Topic: "t", Partition: 2}, Offset: 2, Metadata: string(long)}})
	if errs[0] != nil || !errors.Is(errs[1], kerr.OffsetMetadataTooLarge) {
		t.Fatalf("per-partition errors: %v", errs)
	}
	f.store.setFail(errors.New("disk gone"))
	errs = f.c.CommitOffsets("g", gen, a, nil, []OffsetCommit{{TopicPartition: tp, Offset: 99}})
	if !errors.Is(errs[0], kerr.CoordinatorNotAvailable) || f.c.Offsets("g")[tp].Offset != 1 {
		t.Fatalf("failed write must not change the offset: %v %+v", errs, f.c.Offsets("g")[tp])
	}
}

func TestReloadKeepsGroupsAndOffsets(t *testing.T) {
	f := newFixture(t, 0)
	a, b, gen := f.stableGroup("g")
	tp := kafka.TopicPartition{Topic: "t", Partition: 0}
	for _, o := range []int64{10, 20, 30} {
		if errs := f.c.CommitOffsets("g", gen, a, nil, []OffsetCommit{{TopicPartition: tp, Offset: o}}); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	c2 := f.coordinator(0)
	if got := c2.Offsets("g")[tp].Offset; got != 30 {
		t.Fatalf("offset after reload %d", got)
	}
	d, _ := c2.Describe("g")
	if d.State != Stable || len(d.Members) != 2 || d.Protocol != "range" {
		t.Fatalf("group after reload: %+v", d)
	}
	// Members carry on: heartbeats with the old generation work, and so does
	// the stored assignment.
	f.c = c2
	if err := c2.Heartbeat("g", gen, b, nil); err != nil {
		t.Fatal(err)
	}
	r := c2.Sync(context.Background(), SyncRequest{Group: "g", Generation: gen, MemberID: b})
	if r.Err != nil || string(r.Assignment) != "assignment-of-"+b {
		t.Fatalf("sync after reload: %+v", r)
	}
}

func TestStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	f := newFixture(t, 0)
	inst := "instance-1"
	req := joinReq("g", "", 5)
	req.InstanceID = &inst
	r := wait(f, f.joinAsync(req))
	if r.Err != nil || r.Leader != r.MemberID {
		t.Fatalf("static join: %+v", r)
	}
	old, gen := r.MemberID, r.Generation
	res := f.syncAll("g", gen, old, old)
	if res[old].Err != nil {
		t.Fatal(res[old].Err)
	}
	// The process restarts: same instance id, no member id.
	r2 := f.c.Join(context.Background(), req)
	if r2.Err != nil || r2.Generation != gen || r2.MemberID == old {
		t.Fatalf("static rejoin should keep the generation with a new id: %+v", r2)
	}
	if err := f.c.Heartbeat("g", gen, old, &inst); !errors.Is(err, kerr.FencedInstanceID) {
		t.Fatalf("old id must be fenced: %v", err)
	}
	s := f.c.Sync(context.Background(), SyncRequest{Group: "g", Generation: gen, MemberID: r2.MemberID, InstanceID: &inst})
	if s.Err != nil || string(s.Assignment) != "assignment-of-"+old {
		t.Fatalf("static member keeps its assignment: %+v", s)
	}
	if st := state(t, f.c, "g"); st != Stable {
		t.Fatalf("state %s", st)
	}
	// v9: the rejoining leader is told to skip the assignment.
	req.Version = 9
	if r3 := f.c.Join(context.Background(), req); r3.Err != nil || !r3.SkipAssignment {
		t.Fatalf("v9 static leader rejoin: %+v", r3)
	}
}

func TestLeaderSyncFailureRebalances(t *testing.T) {
	f := newFixture(t, 0)
	a, b := f.newMemberID("g"), f.newMemberID("g")
	ca, cb := f.joinAsync(joinReq("g", a, 4)), f.joinAsync(joinReq("g", b, 4))
	ra, rb := wait(f, ca), wait(f, cb)
	f.store.setFail(errors.New("disk gone"))
	res := f.syncAll("g", ra.Generation, ra.Leader, a, b)
	if !errors.Is(res[ra.Leader].Err, kerr.CoordinatorNotAvailable) {
		t.Fatalf("leader sync with a failing store: %+v (joins %+v, %+v)", res, ra, rb)
	}
	if st := state(t, f.c, "g"); st != PreparingRebalance {
		t.Fatalf("state %s", st)
	}
}

func TestOffsetExpiry(t *testing.T) {
	f := newFixture(t, 0)
	tp := kafka.TopicPartition{Topic: "t", Partition: 0}
	if errs := f.c.CommitOffsets("old", -1, "", nil, []OffsetCommit{{TopicPartition: tp, Offset: 1}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	f.clock.advance(6 * 24 * time.Hour)
	if errs := f.c.CommitOffsets("young", -1, "", nil, []OffsetCommit{{TopicPartition: tp, Offset: 1}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	f.clock.advance(2 * 24 * time.Hour)
	f.c.Tick()
	if len(f.c.Offsets("old")) != 0 || len(f.c.Offsets("young")) != 1 {
		t.Fatalf("after 8 days: old %v young %v", f.c.Offsets("old"), f.c.Offsets("young"))
	}
	if l := f.c.List(); len(l) != 1 || l[0].ID != "young" {
		t.Fatalf("groups %+v", l)
	}
	c2 := f.coordinator(0)
	if len(c2.Offsets("old")) != 0 {
		t.Fatal("expired offsets came back after a reload")
	}
}

func TestDeleteOffsetsKeepsSubscribedTopics(t *testing.T) {
	f := newFixture(t, 0)
	a, _, gen := f.stableGroup("g")
	commits := []OffsetCommit{{TopicPartition: kafka.TopicPartition{Topic: "t", Partition: 0}, Offset: 1}, {TopicPartition: kafka.TopicPartition{Topic: "other", Partition: 0}, Offset: 2}}
	if errs := f.c.CommitOffsets("g", gen, a, nil, commits); errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	top, errs := f.c.DeleteOffsets("g", []kafka.TopicPartition{{Topic: "t", Partition: 0}, {Topic: "other", Partition: 0}})
	if top != nil || !errors.Is(errs[0], kerr.GroupSubscribedToTopic) || errs[1] != nil {
		t.Fatalf("delete offsets: %v %v", top, errs)
	}
	if o := f.c.Offsets("g"); len(o) != 1 {
		t.Fatalf("offsets left %v", o)
	}
}

func TestPartitionForMatchesJava(t *testing.T) {
	// Java: "hello".hashCode() == 99162322; "polygenelubricants".hashCode()
	// == Integer.MIN_VALUE, which Kafka's Utils.abs maps to 0.
	if p := PartitionFor("hello", 1<<30); p != 99162322 {
		t.Fatalf("hello → %d", p)
	}
	if p := PartitionFor("polygenelubricants", 50); p != 0 {
		t.Fatalf("polygenelubricants → %d", p)
	}
	// "Aa" and "BB" collide in Java.
	if PartitionFor("Aa", 50) != PartitionFor("BB", 50) {
		t.Fatal("Aa and BB must collide as in Java")
	}
}

// Coordination moving with an offsets partition's leadership: a
// coordinator that becomes leader loads just that partition's groups,
// leaving others alone, and one that loses it forgets them.
func TestLoadAndUnloadOnePartition(t *testing.T) {
	f := newFixture(t, 0)
	// Two groups in different offsets partitions (3 of them here).
	var g1, g2 string
	for i := 0; g1 == "" || g2 == ""; i++ {
		id := fmt.Sprint("group-", i)
		switch PartitionFor(id, 3) {
		case 0:
			if g1 == "" {
				g1 = id
			}
		case 1:
			if g2 == "" {
				g2 = id
			}
		}
	}
	tp := kafka.TopicPartition{Topic: "t", Partition: 0}
	a1, _, gen1 := f.stableGroup(g1)
	if errs := f.c.CommitOffsets(g1, gen1, a1, nil, []OffsetCommit{{TopicPartition: tp, Offset: 7}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	// Another broker's coordinator becomes leader of partition 0.
	other := f.unloaded()
	if other.Owns(g1) {
		t.Fatal("a coordinator that loaded nothing owns a group")
	}
	if err := <-other.LoadPartition(PartitionFor(g1, 3)); err != nil {
		t.Fatal(err)
	}
	if !other.Owns(g1) || other.Owns(g2) {
		t.Fatal("ownership after loading one partition")
	}
	if got := other.Offsets(g1)[tp].Offset; got != 7 {
		t.Fatalf("offset after loading the partition: %d", got)
	}
	if d, _ := other.Describe(g1); d.State != Stable || len(d.Members) != 2 {
		t.Fatalf("group after loading its partition: %+v", d)
	}
	// The first coordinator loses partition 1: its group there is gone,
	// and a member waiting in JoinGroup is sent to the new coordinator.
	a2, _, _ := f.stableGroup(g2)
	req := joinReq(g2, a2, 4)
	req.Protocols = []Protocol{{Name: "range", Metadata: consumerMeta("t", "u")}} // a new subscription rebalances
	rejoin := f.joinAsync(req)
	waitFor(t, func() bool {
		d, _ := f.c.Describe(g2)
		return d.State == PreparingRebalance
	}, "the rejoin to start a rebalance")
	f.c.UnloadPartition(PartitionFor(g2, 3))
	if r := <-rejoin; !errors.Is(r.Err, kerr.NotCoordinator) {
		t.Fatalf("JoinGroup parked at unload: %+v", r)
	}
	if d, _ := f.c.Describe(g2); len(d.Members) != 0 {
		t.Fatalf("unloaded group still described with members: %+v", d)
	}
	if err := f.c.Heartbeat(g2, 1, a2, nil); !errors.Is(err, kerr.NotCoordinator) {
		t.Fatalf("heartbeat to an unloaded group: %v", err)
	}
	// The first coordinator keeps the group of partition 0.
	if got := f.c.Offsets(g1)[tp].Offset; got != 7 {
		t.Fatalf("unloading partition 1 dropped partition 0's offsets: %d", got)
	}
}

// groupsIn returns n group ids that share an offsets partition (of 3),
// sorted.
func groupsIn(n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		if id := fmt.Sprint("group-", i); PartitionFor(id, 3) == 0 {
			out = append(out, id)
		}
	}
	return out
}

// async runs fn on its own goroutine; the channel closes when it returned.
func async(fn func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	return done
}

func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

// A commit stuck in the log (an ISR that does not acknowledge) must not
// hold up the other groups of its partition: their heartbeats are
// answered and their sessions expire on time. Before the coordinator
// runtime, CommitOffsets appended with its group's lock held and Tick
// took every group's lock in turn, so Tick (and every later session
// expiry) waited behind the slow append.
func TestSlowAppendDoesNotStallOtherGroups(t *testing.T) {
	f := newFixture(t, 0)
	ids := groupsIn(2)
	slow, other := ids[0], ids[1] // the slow group comes first in a Tick
	if err := f.c.CommitOffsets(slow, -1, "", nil, []OffsetCommit{{TopicPartition: kafka.TopicPartition{Topic: "t", Partition: 0}, Offset: 1}}); err[0] != nil {
		t.Fatal(err[0])
	}
	a, _, gen := f.stableGroup(other)
	release := f.store.hold()
	defer release()
	var errs []error
	committed := async(func() {
		errs = f.c.CommitOffsets(slow, -1, "", nil, []OffsetCommit{{TopicPartition: kafka.TopicPartition{Topic: "t", Partition: 0}, Offset: 5}})
	})
	f.store.waitStarted(t)
	// a heartbeats, b goes silent: after its session (10 s) the group
	// rebalances, while the slow commit still waits for the log.
	for i := 0; i < 3; i++ {
		f.clock.advance(4 * time.Second)
		if err := f.c.Heartbeat(other, gen, a, nil); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		within(t, async(f.c.Tick), "Tick during a slow append")
	}
	if err := f.c.Heartbeat(other, gen, a, nil); !errors.Is(err, kerr.RebalanceInProgress) {
		t.Fatalf("b's session did not expire during the slow append: %v", err)
	}
	select {
	case <-committed:
		t.Fatal("the commit was answered before the log acknowledged it")
	default:
	}
	release()
	within(t, committed, "the slow commit")
	if errs[0] != nil || f.c.Offsets(slow)[kafka.TopicPartition{Topic: "t", Partition: 0}].Offset != 5 {
		t.Fatalf("slow commit: %v, offsets %v", errs, f.c.Offsets(slow))
	}
}

// committed reads a group's offsets as the shard holds them now, without
// waiting for the group's write in flight.
func committed(t *testing.T, c *Coordinator, id string) map[kafka.TopicPartition]Committed {
	t.Helper()
	out := map[kafka.TopicPartition]Committed{}
	if err := c.rt.Read(c.partition(id), func(s *groups) {
		if g := s.byID[id]; g != nil {
			for tp, o := range g.offsets {
				out[tp] = o
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// State changes and answers wait for the log: a commit, and the leader's
// assignment (SyncGroup), are neither in memory nor answered while their
// append is in flight, and the group's next request waits for it.
func TestWritesApplyAfterTheLogAcknowledged(t *testing.T) {
	f := newFixture(t, 0)
	tp := kafka.TopicPartition{Topic: "t", Partition: 0}
	a, b := f.newMemberID("g"), f.newMemberID("g")
	ca, cb := f.joinAsync(joinReq("g", a, 4)), f.joinAsync(joinReq("g", b, 4))
	ra := wait(f, ca)
	wait(f, cb)
	gen, leader, follower := ra.Generation, ra.Leader, b
	if leader == b {
		follower = a
	}

	release := f.store.hold()
	syncs := map[string]<-chan struct{}{}
	results := map[string]*SyncResult{}
	for _, m := range []string{follower, leader} {
		res := new(SyncResult)
		results[m] = res
		req := SyncRequest{Group: "g", Generation: gen, MemberID: m}
		if m == leader {
			req.Assignments = map[string][]byte{a: []byte("A"), b: []byte("B")}
		}
		syncs[m] = async(func() { *res = f.c.Sync(context.Background(), req) })
		if m == follower {
			waitFor(t, func() bool {
				synced := false
				f.c.rt.Read(f.c.partition("g"), func(s *groups) { synced = s.byID["g"].synced[follower] })
				return synced
			}, "the follower to wait in SyncGroup")
		}
	}
	f.store.waitStarted(t)
	f.c.rt.Read(f.c.partition("g"), func(s *groups) {
		g := s.byID["g"]
		if g.state != CompletingRebalance || g.members[leader].assignment != nil {
			t.Errorf("the assignment is in memory before it was written: %s %q", g.state, g.members[leader].assignment)
		}
	})
	hb := async(func() { f.c.Heartbeat("g", gen, follower, nil) })
	time.Sleep(20 * time.Millisecond)
	for m, ch := range syncs {
		select {
		case <-ch:
			t.Fatalf("%s answered before the assignment was written", m)
		default:
		}
	}
	select {
	case <-hb:
		t.Fatal("the group's heartbeat ran while its write was in flight")
	default:
	}
	release()
	for m, ch := range syncs {
		within(t, ch, "SyncGroup of "+m)
		if want := map[string]string{a: "A", b: "B"}[m]; results[m].Err != nil || string(results[m].Assignment) != want {
			t.Fatalf("sync of %s: %+v", m, results[m])
		}
	}
	within(t, hb, "the heartbeat")

	release = f.store.hold()
	done := async(func() { f.c.CommitOffsets("g", gen, a, nil, []OffsetCommit{{TopicPartition: tp, Offset: 9}}) })
	f.store.waitStarted(t)
	if o := committed(t, f.c, "g"); len(o) != 0 {
		t.Fatalf("the commit is in memory before the log has it: %v", o)
	}
	release()
	within(t, done, "the commit")
	if o := committed(t, f.c, "g"); o[tp].Offset != 9 {
		t.Fatalf("after the acknowledgement: %v", o)
	}
}

// A KIP-848 heartbeat whose snapshot cannot be written changes nothing:
// the member is not in the group (a join) or keeps its subscription.
func TestConsumerGroupFailedWriteChangesNothing(t *testing.T) {
	f := newConsumerFixture(t, fakeTopics{"t": {Name: "t", ID: topicID(1), Partitions: 2}, "u": {Name: "u", ID: topicID(2), Partitions: 2}})
	f.store.setFail(errors.New("not enough replicas"))
	if r := f.beat(&client848{id: "a"}, "t"); !errors.Is(r.Err, kerr.CoordinatorNotAvailable) {
		t.Fatalf("join with a failing log: %+v", r)
	}
	if _, err := f.c.DescribeConsumerGroup("cg"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("a join that was not written left a group: %v", err)
	}
	f.store.setFail(nil)
	a := &client848{id: "a"}
	if r := f.beat(a, "t"); r.Err != nil {
		t.Fatal(r.Err)
	}
	f.store.setFail(errors.New("not enough replicas"))
	r := f.c.ConsumerHeartbeat(ConsumerHeartbeat{Group: "cg", MemberID: "a", MemberEpoch: a.epoch, SubscribedTopics: []string{"t", "u"}})
	if !errors.Is(r.Err, kerr.CoordinatorNotAvailable) {
		t.Fatalf("resubscribe with a failing log: %+v", r)
	}
	d, err := f.c.DescribeConsumerGroup("cg")
	if err != nil || len(d.Members) != 1 || len(d.Members[0].SubscribedTopics) != 1 || d.Epoch != 1 {
		t.Fatalf("a failed write changed the group: %+v %v", d, err)
	}
}
