package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/isr"
)

// testCluster is three brokers' replica managers of one partition ("t",
// 0) over in-memory logs, with the real controller logic deciding on an
// image that is "committed" at once and synced to every manager. A
// follower's Fetch reaches the leader's Partition directly (what the
// Fetch handler does: FollowerFetch, then read up to the log end).
type testCluster struct {
	t       *testing.T
	mu      sync.Mutex
	image   *controller.Image
	ctl     *controller.Controller
	logs    map[int32]*log.Log
	mgrs    map[int32]*Manager
	offline map[int32]bool // a broker neither fetching nor answering
}

var tp = kafka.TopicPartition{Topic: "t", Partition: 0}

func newTestCluster(t *testing.T, minISR int) *testCluster {
	c := &testCluster{t: t, image: controller.NewImage(), logs: map[int32]*log.Log{}, mgrs: map[int32]*Manager{}, offline: map[int32]bool{}}
	c.ctl = controller.New(c.image, time.Hour)
	now := time.Now()
	for id := int32(1); id <= 3; id++ {
		c.commit(c.ctl.Register(controller.BrokerInfo{ID: id}, now))
		recs, err := c.ctl.Heartbeat(id, now)
		if err != nil {
			t.Fatal(err)
		}
		c.commit(recs)
		cfg := log.DefaultConfig()
		cfg.MinInsyncReplicas = minISR
		l, err := log.Open(log.Options{FS: vfs.NewMemFS(), Dir: fmt.Sprintf("/b%d/t-0", id), Config: cfg, Clock: func() int64 { return time.Now().UnixMilli() }})
		if err != nil {
			t.Fatal(err)
		}
		c.logs[id] = l
	}
	recs, err := c.ctl.CreateTopic("t", [16]byte{1}, 1, 3, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.commit(recs)
	for id := int32(1); id <= 3; id++ {
		self := id
		c.mgrs[id] = NewManager(Config{
			Self: id, LagTimeMax: 300 * time.Millisecond, FetchMaxWait: 20 * time.Millisecond,
			Log: func(kafka.TopicPartition) (*log.Log, error) { return c.logs[self], nil },
			AlterPartition: func(_ context.Context, tp kafka.TopicPartition, _ [16]byte, leader, leaderEpoch, partitionEpoch int32, isr []int32) error {
				return c.alterPartition(tp, leader, leaderEpoch, partitionEpoch, isr)
			},
			Fetch: func(ctx context.Context, addr string, req *kmsg.FetchRequest) (*kmsg.FetchResponse, error) {
				return c.serveFetch(ctx, self, addr, req)
			},
		})
		t.Cleanup(c.mgrs[id].Close)
	}
	c.sync()
	return c
}

func (c *testCluster) commit(recs []controller.Record) {
	c.t.Helper()
	for _, r := range recs {
		if err := c.image.Apply(r); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *testCluster) state() controller.PartitionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, _ := c.image.Partition("t", 0)
	return p
}

// sync publishes the image to every online manager.
func (c *testCluster) sync() {
	p := c.state()
	s := State{TopicID: [16]byte{1}, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, Replicas: p.Replicas, ISR: p.ISR}
	addrs := map[int32]string{1: "b1", 2: "b2", 3: "b3"}
	for id, m := range c.mgrs {
		c.mu.Lock()
		off := c.offline[id]
		c.mu.Unlock()
		if !off {
			m.Sync(map[kafka.TopicPartition]State{tp: s}, addrs)
		}
	}
}

func (c *testCluster) alterPartition(_ kafka.TopicPartition, leader, leaderEpoch, partitionEpoch int32, isr []int32) error {
	c.mu.Lock()
	recs, err := c.ctl.AlterPartition("t", 0, leader, leaderEpoch, partitionEpoch, isr)
	if err == nil {
		for _, r := range recs {
			c.image.Apply(r)
		}
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrISRChangeRefused, err) // the controller's answer
	}
	go c.sync()
	return nil
}

// setOffline cuts a broker off: its fetches fail and fetches to it fail.
func (c *testCluster) setOffline(id int32, off bool) {
	c.mu.Lock()
	c.offline[id] = off
	c.mu.Unlock()
}

func (c *testCluster) serveFetch(ctx context.Context, self int32, addr string, req *kmsg.FetchRequest) (*kmsg.FetchResponse, error) {
	var leader int32
	fmt.Sscanf(addr, "b%d", &leader)
	c.mu.Lock()
	off := c.offline[self] || c.offline[leader]
	c.mu.Unlock()
	if off {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
		return nil, errors.New("unreachable")
	}
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	got := false
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			p := c.mgrs[leader].Partition(rt.Topic, rp.Partition)
			hw, div, err := p.FollowerFetch(req.ReplicaID, rp.FetchOffset, rp.LastFetchedEpoch, rp.CurrentLeaderEpoch)
			switch {
			case err != nil:
				sp.ErrorCode = fetchErrorCode(err)
			case div != nil:
				sp.HighWatermark = hw
				sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset = div.Epoch, max(div.EndOffset, 0)
				got = true
			default:
				sp.HighWatermark = hw
				r, err := p.Log().Read(rp.FetchOffset, int(rp.PartitionMaxBytes), -1, true)
				if err != nil {
					sp.ErrorCode = kerr.OffsetOutOfRange.Code
					break
				}
				data := make([]byte, r.Len)
				if r.Len > 0 {
					n, err := r.File.ReadAt(data, r.Pos)
					if err != nil && !errors.Is(err, io.EOF) {
						return nil, err
					}
					data = data[:n]
				}
				sp.RecordBatches = data
				got = got || len(data) > 0
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if !got {
		time.Sleep(time.Duration(req.MaxWaitMillis) * time.Millisecond / 4) // a short long poll
	}
	return resp, nil
}

func batch(t *testing.T, value string) []byte {
	t.Helper()
	b, err := format.BuildBatch(format.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]format.Record{{Value: []byte(value)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (c *testCluster) leader() *Partition {
	return c.mgrs[c.state().Leader].Partition("t", 0)
}

// leaderISRSize is the ISR size the leader p acts on (-1: not leading).
func leaderISRSize(p *Partition) int {
	p.role.RLock()
	defer p.role.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lead == nil {
		return -1
	}
	return len(p.lead.ISR())
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readAll is every batch of a log as bytes, for comparing replicas.
func readAll(t *testing.T, l *log.Log) []byte {
	t.Helper()
	r, err := l.Read(l.LogStartOffset(), 1<<30, -1, true)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, r.Len)
	if r.Len > 0 {
		if _, err := r.File.ReadAt(data, r.Pos); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
	}
	return data
}

// acks=all answers once every ISR member has the batch; a follower that
// stops fetching leaves the ISR after replica.lag.time.max.ms, after which
// acks=all with min.insync.replicas=2 still succeeds, and with the second
// follower gone too it is refused with NOT_ENOUGH_REPLICAS.
func TestAcksAllWaitsForTheISR(t *testing.T) {
	c := newTestCluster(t, 2)
	waitFor(t, "a leader", func() bool { return c.leader() != nil })
	p := c.leader()
	res, wait, err := p.Append(batch(t, "a"), true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wait; err != nil {
		t.Fatalf("acks=all: %v", err)
	}
	for id, l := range c.logs {
		if l.LogEndOffset() <= res.LastOffset {
			t.Fatalf("acknowledged at %d but broker %d ends at %d", res.LastOffset, id, l.LogEndOffset())
		}
	}
	if hw, _ := p.HighWatermark(); hw != res.LastOffset+1 {
		t.Fatalf("HW %d after an acknowledged batch ending at %d", hw, res.LastOffset)
	}
	followers := []int32{}
	for _, r := range c.state().Replicas {
		if r != c.state().Leader {
			followers = append(followers, r)
		}
	}
	c.setOffline(followers[0], true)
	_, wait, err = p.Append(batch(t, "b"), true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wait; err != nil {
		t.Fatalf("acks=all after the ISR shrank to two: %v", err)
	}
	waitFor(t, "the ISR to shrink", func() bool { return len(c.state().ISR) == 2 })
	c.setOffline(followers[1], true)
	// A follower leaves only once it is behind (Kafka's rule: an idle
	// partition keeps its ISR; a dead broker is fenced by the controller).
	if _, _, err := p.Append(batch(t, "c"), false, time.Second); err != nil {
		t.Fatal(err)
	}
	// The metadata shows the shrink before the leader's own view does
	// (the test cluster publishes it asynchronously), and the leader
	// checks acks=all against its own view: wait for both.
	waitFor(t, "the ISR to shrink to the leader", func() bool { return len(c.state().ISR) == 1 && leaderISRSize(p) == 1 })
	if _, _, err := p.Append(batch(t, "d"), true, time.Second); !errors.Is(err, isr.ErrNotEnoughReplicas) {
		t.Fatalf("acks=all with an ISR of 1 and min.insync.replicas=2: %v", err)
	}
	if _, _, err := p.Append(batch(t, "d"), false, time.Second); err != nil {
		t.Fatalf("acks=1 with an ISR of 1: %v", err)
	}
	// Both come back, catch up and rejoin.
	c.setOffline(followers[0], false)
	c.setOffline(followers[1], false)
	c.sync()
	waitFor(t, "the ISR to grow back", func() bool { return len(c.state().ISR) == 3 })
	for _, f := range followers {
		if !bytes.Equal(readAll(t, c.logs[f]), readAll(t, c.logs[c.state().Leader])) {
			t.Fatalf("follower %d differs from the leader after rejoining", f)
		}
	}
}

// A leader that wrote batches its followers never got is replaced; when it
// returns as a follower, the new leader's DivergingEpoch makes it cut
// those batches and take the new leader's in their place.
func TestFollowerTruncatesWhatTheNewLeaderNeverHad(t *testing.T) {
	c := newTestCluster(t, 1)
	waitFor(t, "a leader", func() bool { return c.leader() != nil })
	old := c.state().Leader
	p := c.leader()
	_, wait, err := p.Append(batch(t, "committed"), true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wait; err != nil {
		t.Fatal(err)
	}
	// The leader is cut off, but still writes (acks=1) before it learns.
	c.setOffline(old, true)
	for i := 0; i < 3; i++ {
		if _, _, err := p.Append(batch(t, fmt.Sprint("lost-", i)), false, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	for _, r := range c.ctl.Fence(old) {
		c.image.Apply(r)
	}
	c.mu.Unlock()
	c.sync()
	waitFor(t, "a new leader", func() bool { s := c.state(); return s.Leader > 0 && s.Leader != old })
	nl := c.leader()
	waitFor(t, "the new leader to lead", func() bool { _, err := nl.HighWatermark(); return err == nil })
	res, wait, err := nl.Append(batch(t, "new"), true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wait; err != nil {
		t.Fatal(err)
	}
	if c.logs[old].LogEndOffset() != 4 || res.BaseOffset != 1 {
		t.Fatalf("setup: old leader ends at %d, new batch at %d", c.logs[old].LogEndOffset(), res.BaseOffset)
	}
	// The old leader returns, as a follower.
	c.setOffline(old, false)
	c.mu.Lock()
	recs, _ := c.ctl.Heartbeat(old, time.Now())
	for _, r := range recs {
		c.image.Apply(r)
	}
	c.mu.Unlock()
	c.sync()
	waitFor(t, "the old leader to hold the new leader's log", func() bool {
		return bytes.Equal(readAll(t, c.logs[old]), readAll(t, c.logs[c.state().Leader]))
	})
	waitFor(t, "the old leader back in the ISR", func() bool { return len(c.state().ISR) == 3 })
	es := c.logs[old].LeaderEpochs()
	if len(es) != 2 || es[1].Epoch != c.state().LeaderEpoch || es[1].StartOffset != 1 {
		t.Fatalf("old leader's epochs after truncation: %+v", es)
	}
}

// A partition this broker does not lead refuses produce and follower
// fetches; epochs older or newer than the leader's are fenced or unknown.
func TestNotLeaderAndEpochChecks(t *testing.T) {
	c := newTestCluster(t, 1)
	waitFor(t, "a leader", func() bool { return c.leader() != nil })
	s := c.state()
	var follower int32
	for _, r := range s.Replicas {
		if r != s.Leader {
			follower = r
		}
	}
	fp := c.mgrs[follower].Partition("t", 0)
	if _, _, err := fp.Append(batch(t, "x"), false, time.Second); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("produce on a follower: %v", err)
	}
	if _, err := fp.HighWatermark(); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("consumer read on a follower: %v", err)
	}
	lp := c.leader()
	if err := lp.CheckEpoch(s.LeaderEpoch + 1); !errors.Is(err, ErrUnknownLeaderEpoch) {
		t.Fatalf("newer epoch: %v", err)
	}
	if _, _, err := lp.FollowerFetch(follower, 0, -1, s.LeaderEpoch-1); s.LeaderEpoch > 0 && !errors.Is(err, ErrFencedLeaderEpoch) {
		t.Fatalf("older epoch: %v", err)
	}
	if err := lp.CheckEpoch(-1); err != nil {
		t.Fatalf("no epoch: %v", err)
	}
}

// High watermarks are checkpointed at Close (and every interval) and a
// new manager's replicas start from the checkpoint, capped at their log
// end.
func TestHighWatermarkCheckpoint(t *testing.T) {
	l, err := log.Open(log.Options{FS: vfs.NewMemFS(), Dir: "/b1/t-0", Config: log.DefaultConfig(), Clock: func() int64 { return time.Now().UnixMilli() }})
	if err != nil {
		t.Fatal(err)
	}
	var saved map[kafka.TopicPartition]int64
	cfg := Config{Self: 1, Log: func(kafka.TopicPartition) (*log.Log, error) { return l, nil },
		AlterPartition: func(context.Context, kafka.TopicPartition, [16]byte, int32, int32, int32, []int32) error { return nil },
		Fetch: func(context.Context, string, *kmsg.FetchRequest) (*kmsg.FetchResponse, error) {
			return nil, errors.New("no network here")
		},
		SaveHighWatermarks: func(hws map[kafka.TopicPartition]int64) error { saved = hws; return nil }}
	m := NewManager(cfg)
	m.Sync(map[kafka.TopicPartition]State{tp: {Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}}, nil)
	for i := 0; i < 3; i++ {
		if _, _, err := m.Partition("t", 0).Append(batch(t, "x"), false, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()
	if saved[tp] != 3 {
		t.Fatalf("checkpointed %v, want HW 3", saved)
	}
	cfg.HighWatermarks = map[kafka.TopicPartition]int64{tp: 5} // past the log end: capped
	m = NewManager(cfg)
	defer m.Close()
	m.Sync(map[kafka.TopicPartition]State{tp: {Leader: 2, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}}, map[int32]string{2: "b2"})
	if hw := m.Partition("t", 0).highWatermark(); hw != 3 {
		t.Fatalf("restored HW %d, want 3", hw)
	}
}

// fetchErrorCode is the code a leader's Fetch handler answers a follower
// with for a replica error (netserver/handler's toKerr).
func fetchErrorCode(err error) int16 {
	for _, e := range []struct {
		err  error
		code *kerr.Error
	}{
		{ErrNotLeader, kerr.NotLeaderForPartition},
		{ErrLeaderNotAvailable, kerr.LeaderNotAvailable},
		{ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
		{ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
	} {
		if errors.Is(err, e.err) {
			return e.code.Code
		}
	}
	return kerr.UnknownServerError.Code
}

// Consumers long-polling a partition are woken (Advanced) whenever its
// high watermark moves, whatever moved it: here the controller shrinking
// the ISR to the leader alone, with no append or follower fetch at that
// moment. And when this broker stops leading, so their wait ends with
// NOT_LEADER at once.
func TestAdvancedOnEveryHighWatermarkMove(t *testing.T) {
	l, err := log.Open(log.Options{FS: vfs.NewMemFS(), Dir: "/b1/t-0", Config: log.DefaultConfig(), Clock: func() int64 { return time.Now().UnixMilli() }})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	woken := 0
	cfg := Config{Self: 1, Log: func(kafka.TopicPartition) (*log.Log, error) { return l, nil },
		AlterPartition: func(context.Context, kafka.TopicPartition, [16]byte, int32, int32, int32, []int32) error { return nil },
		Fetch: func(context.Context, string, *kmsg.FetchRequest) (*kmsg.FetchResponse, error) {
			return nil, errors.New("no network here")
		},
		Advanced: func(got kafka.TopicPartition) {
			if got != tp {
				t.Errorf("woken for %v, want %v", got, tp)
			}
			mu.Lock()
			woken++
			mu.Unlock()
		}}
	wakes := func() int { mu.Lock(); defer mu.Unlock(); return woken }
	m := NewManager(cfg)
	defer m.Close()
	addrs := map[int32]string{2: "b2"}
	m.Sync(map[kafka.TopicPartition]State{tp: {Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}}, addrs)
	for range 3 {
		if _, _, err := m.Partition("t", 0).Append(batch(t, "x"), false, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if hw := m.Partition("t", 0).highWatermark(); hw != 0 || wakes() != 0 {
		t.Fatalf("before the ISR shrank: high watermark %d, %d wakes; want 0, 0 (replica 2 has nothing)", hw, wakes())
	}
	m.Sync(map[kafka.TopicPartition]State{tp: {Leader: 1, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1}}}, addrs)
	if hw := m.Partition("t", 0).highWatermark(); hw != 3 || wakes() != 1 {
		t.Fatalf("after the ISR shrank to the leader: high watermark %d, %d wakes; want 3, 1", hw, wakes())
	}
	m.Sync(map[kafka.TopicPartition]State{tp: {Leader: 2, LeaderEpoch: 1, PartitionEpoch: 2, Replicas: []int32{1, 2}, ISR: []int32{2}}}, addrs)
	if wakes() != 2 {
		t.Fatalf("after leadership moved away: %d wakes, want 2", wakes())
	}
}

// The clock ticks only leaders time can change: a partition whose
// followers are at its end and that has nothing waiting is off it, and an
// append that puts followers behind brings it back (the ISR shrink of a
// dead follower needs the clock; TestAcksAllWaitsForTheISR checks that).
// An idle broker also writes no high watermark checkpoint.
func TestIdleLeadersAreOffTheClock(t *testing.T) {
	c := newTestCluster(t, 1)
	waitFor(t, "a leader", func() bool { return c.leader() != nil })
	m := c.mgrs[c.state().Leader]
	p := c.leader()
	_, wait, err := p.Append(batch(t, "a"), true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wait; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the caught-up leader to leave the clock", func() bool { return len(m.clock.list()) == 0 })
	for _, id := range []int32{1, 2, 3} {
		if id != c.state().Leader {
			c.setOffline(id, true)
		}
	}
	if _, _, err := p.Append(batch(t, "b"), false, time.Second); err != nil {
		t.Fatal(err)
	}
	if n := len(m.clock.list()); n != 1 {
		t.Fatalf("after an append its followers lack, %d partitions on the clock, want 1", n)
	}
	waitFor(t, "the ISR to shrink by the clock", func() bool { return len(c.state().ISR) == 1 && leaderISRSize(p) == 1 })
	waitFor(t, "the leader alone to leave the clock", func() bool { return len(m.clock.list()) == 0 })
}

func TestHighWatermarkCheckpointOnlyWhenMoved(t *testing.T) {
	l, err := log.Open(log.Options{FS: vfs.NewMemFS(), Dir: "/b1/t-0", Config: log.DefaultConfig(), Clock: func() int64 { return time.Now().UnixMilli() }})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	saves := 0
	m := NewManager(Config{Self: 1, Log: func(kafka.TopicPartition) (*log.Log, error) { return l, nil },
		AlterPartition: func(context.Context, kafka.TopicPartition, [16]byte, int32, int32, int32, []int32) error { return nil },
		Fetch: func(context.Context, string, *kmsg.FetchRequest) (*kmsg.FetchResponse, error) {
			return nil, errors.New("no network here")
		},
		HighWatermarkInterval: time.Millisecond,
		SaveHighWatermarks:    func(map[kafka.TopicPartition]int64) error { mu.Lock(); saves++; mu.Unlock(); return nil }})
	defer m.Close()
	count := func() int { mu.Lock(); defer mu.Unlock(); return saves }
	m.Sync(map[kafka.TopicPartition]State{tp: {Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}}, nil)
	waitFor(t, "the first checkpoint", func() bool { return count() == 1 })
	time.Sleep(500 * time.Millisecond) // five clock ticks
	if n := count(); n != 1 {
		t.Fatalf("%d checkpoints with no high watermark moving, want 1", n)
	}
	if _, _, err := m.Partition("t", 0).Append(batch(t, "x"), false, time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a checkpoint after the high watermark moved", func() bool { return count() == 2 })
}
