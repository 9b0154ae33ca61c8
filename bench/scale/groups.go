package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupLoad is G KIP-848 consumer groups of one member each, driven over
// conns raw connections with window requests in flight each: every group
// joins (ConsumerGroupHeartbeat, epoch 0, subscribed to topic), then, for
// duration, each connection cycles through its groups sending a
// heartbeat (the member's epoch, nothing changed) and an OffsetCommit v9
// (one partition, the member's epoch as the generation) for each in turn.
type groupLoad struct {
	topic         string
	partitions    int32
	groups        int
	conns, window int
	duration      time.Duration
}

type groupStats struct {
	JoinSeconds        float64 `json:"join_seconds"` // all groups, pipelined as the load is
	OpsPerSec          float64 `json:"ops_per_sec"`  // heartbeats + commits answered without error
	HeartbeatP99Millis float64 `json:"heartbeat_p99_ms"`
	CommitP99Millis    float64 `json:"commit_p99_ms"`
	P99Millis          float64 `json:"p99_ms"` // both kinds
	BrokerCPUSeconds   float64 `json:"broker_cpu_seconds"`
	BrokerCPUPerOp     float64 `json:"broker_cpu_us_per_op"`
	Errors             int64   `json:"errors"`
	FirstError         string  `json:"first_error,omitempty"`
}

type member struct {
	id    string
	epoch atomic.Int32
}

func runGroups(ctx context.Context, b *broker, l groupLoad) (groupStats, error) {
	var st groupStats
	if err := waitCoordinator(b.addr, "scale-group-0"); err != nil {
		return st, err
	}
	ps, err := dialPipes(b.addr, l.conns)
	if err != nil {
		return st, err
	}
	defer closePipes(ps)
	members := make([]member, l.groups)
	mine := func(c, i int) (int, bool) { // connection c's i-th group
		g := c + i*l.conns
		return g, g < l.groups
	}
	var errs atomic.Int64
	var firstErr atomic.Value
	bad := func(what string, code int16) {
		if errs.Add(1) == 1 {
			firstErr.Store(fmt.Sprintf("%s: error code %d", what, code))
		}
	}
	name := func(g int) string { return fmt.Sprintf("scale-group-%d", g) }

	t0 := time.Now()
	err = pipeline(ctx, ps, l.window, time.Now().Add(10*time.Minute), time.Minute, func(c, i int) (op, bool) {
		g, ok := mine(c, i)
		if !ok {
			return op{}, false
		}
		req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		req.Version = 0
		req.Group = name(g)
		req.MemberEpoch = 0
		req.RebalanceTimeoutMillis = 60_000
		req.SubscribedTopicNames = []string{l.topic}
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		return op{req: req, done: func(r kmsg.Response, _ time.Duration) {
			resp := r.(*kmsg.ConsumerGroupHeartbeatResponse)
			if resp.ErrorCode != 0 || resp.MemberID == nil {
				bad("join", resp.ErrorCode)
				return
			}
			members[g].id = *resp.MemberID
			members[g].epoch.Store(resp.MemberEpoch)
		}}, true
	})
	st.JoinSeconds = time.Since(t0).Seconds()
	if err != nil {
		return st, fmt.Errorf("joining: %w", err)
	}
	if n := errs.Load(); n > 0 {
		return st, fmt.Errorf("joining: %d of %d groups failed, first %v", n, l.groups, firstErr.Load())
	}

	hb, commit := newHist(), newHist()
	var hbCount, commitCount atomic.Int64
	perConn := (l.groups + l.conns - 1) / l.conns
	window := max(1, min(l.window, perConn)) // a group has one request in flight at most
	cpu0 := b.cpu()
	start := time.Now()
	err = pipeline(ctx, ps, window, start.Add(l.duration), 30*time.Second, func(c, i int) (op, bool) {
		n := (l.groups - c + l.conns - 1) / l.conns // connection c's groups: g ≡ c (mod conns)
		if n == 0 {
			return op{}, false
		}
		g, _ := mine(c, (i/2)%n)
		m := &members[g]
		if i%2 == 0 {
			req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
			req.Version = 0
			req.Group, req.MemberID, req.MemberEpoch = name(g), m.id, m.epoch.Load()
			req.RebalanceTimeoutMillis = -1
			return op{req: req, done: func(r kmsg.Response, d time.Duration) {
				resp := r.(*kmsg.ConsumerGroupHeartbeatResponse)
				if resp.ErrorCode != 0 {
					bad("heartbeat", resp.ErrorCode)
					return
				}
				m.epoch.Store(resp.MemberEpoch)
				hb.record(d)
				hbCount.Add(1)
			}}, true
		}
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = 9
		req.Group, req.MemberID, req.Generation = name(g), m.id, m.epoch.Load()
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = l.topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = int32(g)%l.partitions, int64(i), -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return op{req: req, done: func(r kmsg.Response, d time.Duration) {
			for _, t := range r.(*kmsg.OffsetCommitResponse).Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode != 0 {
						bad("commit", p.ErrorCode)
						return
					}
				}
			}
			commit.record(d)
			commitCount.Add(1)
		}}, true
	})
	wall := time.Since(start).Seconds()
	st.BrokerCPUSeconds = (b.cpu() - cpu0).Seconds()
	ops := hbCount.Load() + commitCount.Load()
	st.OpsPerSec = float64(ops) / wall
	if ops > 0 {
		st.BrokerCPUPerOp = st.BrokerCPUSeconds / float64(ops) * 1e6
	}
	st.HeartbeatP99Millis, st.CommitP99Millis = hb.p99(), commit.p99()
	hb.h.Merge(commit.h)
	st.P99Millis = hb.p99()
	st.Errors = errs.Load()
	if v := firstErr.Load(); v != nil {
		st.FirstError = v.(string)
	}
	return st, err
}

// hist is a latency histogram safe for concurrent use.
type hist struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newHist() *hist {
	return &hist{h: hdrhistogram.New(1, int64(60*time.Second/time.Microsecond), 3)}
}

func (h *hist) record(d time.Duration) {
	h.mu.Lock()
	_ = h.h.RecordValue(max(d.Microseconds(), 1))
	h.mu.Unlock()
}

func (h *hist) p99() float64 {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return float64(h.h.ValueAtQuantile(99)) / 1e3
}
