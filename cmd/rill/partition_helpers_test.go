package main

import (
	"bufio"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/internal/history"
	"github.com/rillmq/rill/internal/netns"
)

// The network-partition tests run three `rill serve` nodes, each in its
// own network namespace (internal/netns) at S.1-3 (S the network's subnet,
// usually 10.213.0), Kafka on :9092 and the controller quorum on :19093.
// The test process reaches them from S.100 over the namespaces' bridge,
// where links are cut.

const (
	partitionSession = 6 * time.Second
	// partitionRecovery is how long after a fault every partition must
	// accept writes again: the session timeout plus an election, with
	// slack for race-built brokers on a loaded two-core machine.
	partitionRecovery = partitionSession + 5*time.Second
)

// netCluster is a cluster (replication_e2e_test.go) whose nodes run in
// network namespaces; the embedded cluster's addrs, bs and the helpers
// that only read them (activeController, logs, waitFor, admin) work
// unchanged. Its own describe asks one node itself, where kadm may send a
// metadata request to any broker it knows.
type netCluster struct {
	*cluster
	net    *netns.Net
	direct *kgo.Client // requests to one node at a time (Broker(id))
}

func startNetCluster(t *testing.T, extra ...string) *netCluster {
	t.Helper()
	netns.Require(t)
	n, err := netns.New(netns.Config{Hosts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered first, so it runs after the nodes are killed
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	var voters []string
	for _, h := range n.Hosts() {
		voters = append(voters, fmt.Sprintf("%d@%s:19093", h.Index, h.Addr))
	}
	c := &netCluster{cluster: &cluster{t: t}, net: n}
	c.extra = append([]string{"--set", "process.roles=broker,controller", "--set", "controller.quorum.voters=" + strings.Join(voters, ","),
		"--set", "default.replication.factor=3", "--set", "min.insync.replicas=2",
		"--set", fmt.Sprintf("broker.session.timeout.ms=%d", partitionSession.Milliseconds()), "--set", "broker.heartbeat.interval.ms=1000"},
		extra...)
	for _, h := range n.Hosts() {
		c.addrs = append(c.addrs, h.Addr+":9092")
		c.dirs = append(c.dirs, t.TempDir())
	}
	// Started together, which shortens the start-up.
	c.bs = make([]*broker, 3)
	var wg sync.WaitGroup
	for i := range c.bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.bs[i] = startBrokerIn(t, n.Host(i+1), c.dirs[i], c.addrs[i], append([]string{"--set", fmt.Sprintf("node.id=%d", i+1)}, c.extra...)...)
		}()
	}
	wg.Wait()
	for i, b := range c.bs {
		if b == nil {
			t.Fatalf("node %d did not start", i+1)
		}
	}
	c.direct = netClient(t, c)
	// Broker(id) needs the brokers' ids, from a metadata answer.
	c.waitFor("three brokers", func() bool {
		m, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), c.direct)
		return err == nil && len(m.Brokers) == 3
	})
	return c
}

// describe is topic's partitions as node id itself answers Metadata
// (within 2 s; nil when it does not).
func (c *netCluster) describe(id int, topic string) map[int32]kmsg.MetadataResponseTopicPartition {
	return c.describeCtx(context.Background(), id, topic)
}

func (c *netCluster) describeCtx(ctx context.Context, id int, topic string) map[int32]kmsg.MetadataResponseTopicPartition {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, c.direct.Broker(id))
	if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		return nil
	}
	out := map[int32]kmsg.MetadataResponseTopicPartition{}
	for _, p := range resp.Topics[0].Partitions {
		out[p.Partition] = p
	}
	return out
}

// leaders is each partition's leader as node id answers.
func (c *netCluster) leaders(id int, topic string) map[int32]int {
	out := map[int32]int{}
	for p, d := range c.describe(id, topic) {
		out[p] = int(d.Leader)
	}
	return out
}

// allInSync reports whether every node answers that every partition of
// topic has a leader and all three replicas in its ISR.
func (c *netCluster) allInSync(topic string, parts int) bool {
	for id := 1; id <= 3; id++ {
		ps := c.describe(id, topic)
		if len(ps) != parts {
			return false
		}
		for _, p := range ps {
			if p.ErrorCode != 0 || p.Leader < 0 || len(p.ISR) != 3 {
				return false
			}
		}
	}
	return true
}

var listeningAny = regexp.MustCompile(`msg=listening .*?\baddr=(\S+)`)

// startBrokerIn is startBrokerAt for a node in a network namespace.
func startBrokerIn(t *testing.T, h *netns.Host, dataDir, addr string, extra ...string) *broker {
	args := append([]string{"serve", "--data-dir", dataDir, "--listen", addr}, extra...)
	cmd := h.Command(rillBin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return nil
	}
	b := &broker{t: t, cmd: cmd, logs: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	t.Cleanup(func() { b.kill() })
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.OnceFunc(func() { close(started) })
		for sc.Scan() {
			line := sc.Text()
			b.mu.Lock()
			b.logs.WriteString(line + "\n")
			b.mu.Unlock()
			if listeningAny.MatchString(line) {
				once()
			}
		}
		close(b.done)
	}()
	select {
	case <-started:
		b.addr = addr
		return b
	case <-b.done:
		t.Errorf("node at %s exited:\n%s", addr, b.log())
	case <-time.After(60 * time.Second):
		t.Errorf("node at %s did not start:\n%s", addr, b.log())
	}
	return nil
}

// host is node id's namespace.
func (c *netCluster) host(id int) *netns.Host { return c.net.Host(id) }

// others is every node id but the given ones.
func others(ids ...int) []int {
	var out []int
	for id := 1; id <= 3; id++ {
		in := false
		for _, x := range ids {
			in = in || x == id
		}
		if !in {
			out = append(out, id)
		}
	}
	return out
}

// The client options of every test client: the clients must notice a
// black-holed broker and a moved leader in seconds, so what is measured
// is the cluster's recovery, not kgo's defaults (a request on a silent
// connection waits its timeout plus 10 s, so a produce 20 s; metadata is
// refreshed at most every 5 s; a dial waits 10 s). The writer's produce
// timeout is 3 s: it notices a silent leader 4 s after its last request.
func netClientOpts(c *netCluster) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(c.addrs...), kgo.RequestTimeoutOverhead(time.Second),
		kgo.MetadataMinAge(250 * time.Millisecond), kgo.DialTimeout(time.Second)}
}

func netClient(t *testing.T, c *netCluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(netClientOpts(c), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// netWriter is the writer of replication_e2e_test.go (an idempotent
// acks=all producer, about 2000 records a second round robin over the
// partitions, every send and acknowledgement recorded for
// internal/history) plus what the partition tests measure: per partition,
// when a record sent after a fault was first acknowledged, and the longest
// time without an acknowledgement since the fault.
type netWriter struct {
	t        *testing.T
	c        *netCluster
	topic    string
	prod     *kgo.Client
	h        *history.History
	acked    atomic.Int64
	sent     atomic.Int64
	firstErr atomic.Pointer[error]
	wg       sync.WaitGroup
	stopped  func()

	avail availability
}

func startNetWriter(t *testing.T, c *netCluster, h *history.History, topic string) *netWriter {
	w := &netWriter{t: t, c: c, topic: topic, h: h}
	w.prod = netClient(t, c, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProduceRequestTimeout(3*time.Second))
	stop, producing := make(chan struct{}), make(chan struct{})
	w.stopped = sync.OnceFunc(func() { close(stop); <-producing })
	t.Cleanup(w.stopped)
	go func() {
		defer close(producing)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			w.wg.Add(1)
			w.sent.Add(1)
			v := fmt.Sprintf("%07d", i)
			seq, sentAt := i, time.Now()
			w.prod.Produce(context.Background(), &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
				defer w.wg.Done()
				w.h.Sent(history.Send{Seq: seq, Value: v, Acked: err == nil, Partition: r.Partition, Offset: r.Offset})
				if err != nil {
					w.firstErr.CompareAndSwap(nil, &err)
					return
				}
				w.acked.Add(1)
				w.avail.ok(r.Partition, sentAt, time.Now())
			})
			if i%10 == 0 {
				time.Sleep(5 * time.Millisecond) // bounded load
			}
		}
	}()
	return w
}

// availability keeps, per partition, the times writes to it succeeded,
// and from a fault on: when a write sent after it first succeeded, and
// the longest time without a success.
type availability struct {
	mu        sync.Mutex
	faultAt   time.Time               // zero: no fault being measured
	recovered map[int32]time.Time     // partition: first success of a write sent after faultAt
	last      map[int32]time.Time     // partition: latest success
	maxGap    map[int32]time.Duration // partition: longest time between successes since faultAt
}

// ok records a write to partition p sent at sentAt that succeeded at now.
func (a *availability) ok(p int32, sentAt, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		a.last = map[int32]time.Time{}
	}
	if a.faultAt.IsZero() {
		a.last[p] = now
		return
	}
	last := a.last[p]
	if last.Before(a.faultAt) {
		last = a.faultAt
	}
	if gap := now.Sub(last); gap > a.maxGap[p] {
		a.maxGap[p] = gap
	}
	a.last[p] = now
	if _, ok := a.recovered[p]; !ok && !sentAt.Before(a.faultAt) {
		a.recovered[p] = now
	}
}

// faultStarted starts measuring recovery from now.
func (a *availability) faultStarted() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faultAt = time.Now()
	a.recovered = map[int32]time.Time{}
	a.maxGap = map[int32]time.Duration{}
}

// recovery is, per partition of parts, how long after the fault started
// a write sent after it first succeeded (absent: none yet), and the
// longest time without a success since (up to now).
func (a *availability) recovery(parts int32) (map[int32]time.Duration, map[int32]time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, gaps := map[int32]time.Duration{}, map[int32]time.Duration{}
	for p, at := range a.recovered {
		rec[p] = at.Sub(a.faultAt)
	}
	for p := int32(0); p < parts; p++ {
		gaps[p] = a.maxGap[p]
		last := a.last[p]
		if last.Before(a.faultAt) {
			last = a.faultAt
		}
		if open := time.Since(last); open > gaps[p] {
			gaps[p] = open // still silent
		}
	}
	return rec, gaps
}

// waitAcked waits until n records are acknowledged.
func (w *netWriter) waitAcked(n int64) {
	w.t.Helper()
	w.c.waitFor(fmt.Sprintf("%d acknowledged records", n), func() bool { return w.acked.Load() >= n })
}

// finish stops writing and requires every record acknowledged.
func (w *netWriter) finish() {
	w.t.Helper()
	w.stopped()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := w.prod.Flush(ctx); err != nil {
		w.t.Fatalf("flushing the producer: %v\n%s", err, w.c.logs())
	}
	w.wg.Wait()
	if w.acked.Load() != w.sent.Load() {
		w.t.Errorf("%d of %d records acknowledged (first error: %v): an idempotent producer retrying forever should get every one in",
			w.acked.Load(), w.sent.Load(), *w.firstErr.Load())
	}
}

// prober measures when the cluster itself accepts writes to each
// partition, without a client's metadata and connection choices in
// between (a kgo producer may spend 10 s dialling a silent broker for a
// metadata refresh after the cluster has moved on): every 300 ms, per
// partition, it asks the counted nodes (all, or the majority during a
// fault) which node leads it, takes the answer with the newest leader
// epoch, and sends that node an acks=all produce of one record
// ("probe-P-N", no producer id) straight over the direct client.
type prober struct {
	c     *netCluster
	topic string
	avail availability
	stop  context.CancelFunc
	done  chan struct{}
	sent  atomic.Int64
	acked atomic.Int64

	mu      sync.Mutex
	counted map[int]bool // nil: all
}

func startProber(t *testing.T, c *netCluster, topic string, parts int32) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	pr := &prober{c: c, topic: topic, stop: cancel, done: make(chan struct{})}
	var probing sync.WaitGroup
	for p := int32(0); p < parts; p++ {
		probing.Add(1)
		go func() {
			defer probing.Done()
			tick := time.NewTicker(300 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				pr.probe(ctx, p, n)
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	go func() { probing.Wait(); close(pr.done) }()
	t.Cleanup(pr.close)
	return pr
}

func (pr *prober) close() { pr.stop(); <-pr.done }

// countOnly asks these nodes only (nil: all) who leads, from now.
func (pr *prober) countOnly(ids []int) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.counted = nil
	if ids != nil {
		pr.counted = map[int]bool{}
		for _, id := range ids {
			pr.counted[id] = true
		}
	}
}

// leader is partition p's leader as the counted nodes answer (0: none).
func (pr *prober) leader(ctx context.Context, p int32) int {
	pr.mu.Lock()
	counted := pr.counted
	pr.mu.Unlock()
	var mu sync.Mutex
	var wg sync.WaitGroup
	leader, epoch := 0, int32(-1)
	for id := 1; id <= 3; id++ {
		if counted != nil && !counted[id] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, ok := pr.c.describeCtx(ctx, id, pr.topic)[p]
			mu.Lock()
			defer mu.Unlock()
			if ok && d.ErrorCode == 0 && d.Leader > 0 && d.LeaderEpoch > epoch {
				leader, epoch = int(d.Leader), d.LeaderEpoch
			}
		}()
	}
	wg.Wait()
	return leader
}

func (pr *prober) probe(ctx context.Context, p int32, n int) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	sentAt := time.Now()
	leader := pr.leader(ctx, p)
	if leader == 0 {
		return
	}
	req := produceOne(ctx, pr.c.direct, pr.topic, p, nil, 2000, format.SimpleBatch(format.CodecNone, time.Now().UnixMilli(), nil, [][]byte{[]byte(fmt.Sprintf("probe-%d-%d", p, n))}))
	pr.sent.Add(1)
	resp, err := req.RequestWith(ctx, pr.c.direct.Broker(leader))
	if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		return
	}
	pr.acked.Add(1)
	pr.avail.ok(p, sentAt, time.Now())
}

// tailer is a consumer reading the topic from its start while the test
// runs, each record recorded for internal/history as consumer 1 (so its
// reads must never go backwards in a partition, and must agree with every
// other read of the same offset).
type tailer struct {
	cl   *kgo.Client
	read atomic.Int64
	done chan struct{}
	stop context.CancelFunc
}

func startTailer(t *testing.T, c *netCluster, h *history.History, topic string) *tailer {
	ctx, cancel := context.WithCancel(context.Background())
	tl := &tailer{done: make(chan struct{}), stop: cancel}
	tl.cl = netClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	go func() {
		defer close(tl.done)
		for ctx.Err() == nil {
			fs := tl.cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				h.Saw(history.Read{Consumer: 1, Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
				tl.read.Add(1)
			})
		}
	}()
	t.Cleanup(tl.close)
	return tl
}

func (tl *tailer) close() { tl.stop(); <-tl.done }

// readBack reads the topic from its start to each partition's end (as
// ListOffsets answers after the faults), recorded as consumer 0.
func readBack(t *testing.T, c *netCluster, h *history.History, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	want := map[int32]int64{}
	c.waitFor("the end offsets", func() bool {
		ends, err := c.admin(0).ListEndOffsets(ctx, topic)
		if err != nil || ends.Error() != nil {
			return false
		}
		ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
		return true
	})
	cons := netClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	readToEnds(t, ctx, cons, want, h, c.logs)
	cons.Close()
}

// hwWatch polls every node that answers (ListOffsets latest, which is the
// high watermark, straight to each node, no leader epoch) twice a second
// and checks that, per partition, the high watermark never goes back in
// the answers of the nodes counted as the majority. The answers of the
// others (a minority that clients still reach) are kept apart: each one
// is that node still acting as the partition's leader, which it must stop
// doing within partitionRecovery of the fault.
type hwWatch struct {
	t     *testing.T
	c     *netCluster
	topic string
	parts int32
	cl    *kgo.Client // the cluster's direct client
	stop  context.CancelFunc
	done  chan struct{}

	mu         sync.Mutex
	majority   map[int]bool // node ids counted; nil: all
	faultAt    time.Time
	healedAt   time.Time // zero while the fault lasts
	high       map[int32]int64
	highFrom   map[int32]string
	violations []string
	minority   map[string]*leaderAnswers // "node 2 partition 1"
	polls      int
}

// leaderAnswers is a minority node's answers as a partition's leader.
type leaderAnswers struct {
	n           int
	first, last time.Duration // after the fault, when asked
}

func startHWWatch(t *testing.T, c *netCluster, topic string, parts int32) *hwWatch {
	ctx, cancel := context.WithCancel(context.Background())
	wt := &hwWatch{t: t, c: c, topic: topic, parts: parts, stop: cancel, done: make(chan struct{}),
		high: map[int32]int64{}, highFrom: map[int32]string{}, minority: map[string]*leaderAnswers{}}
	wt.cl = c.direct
	var polling sync.WaitGroup
	for id := 1; id <= 3; id++ { // one loop per node, so a silent one delays no other
		polling.Add(1)
		go func() {
			defer polling.Done()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				wt.poll(ctx, id)
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	go func() { polling.Wait(); close(wt.done) }()
	t.Cleanup(wt.close)
	return wt
}

func (wt *hwWatch) close() { wt.stop(); <-wt.done }

// faultStarted counts the answers of the majority's nodes only from now
// (nil: all nodes are the majority).
func (wt *hwWatch) faultStarted(majority []int) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	wt.faultAt, wt.healedAt = time.Now(), time.Time{}
	wt.majority = nil
	if majority != nil {
		wt.majority = map[int]bool{}
		for _, id := range majority {
			wt.majority[id] = true
		}
	}
}

// healed ends the fault: answers asked from now on are not the
// minority's answers as leader any more (its nodes may lead again).
func (wt *hwWatch) healed() {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	wt.healedAt = time.Now()
}

// countAll counts every node's answers again (once the healed cluster
// agrees on its leaders).
func (wt *hwWatch) countAll() {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	wt.majority = nil
}

// poll asks node id for every partition's high watermark.
func (wt *hwWatch) poll(ctx context.Context, id int) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = wt.topic
	for p := int32(0); p < wt.parts; p++ {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p, -1, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	asked := time.Now()
	resp, err := req.RequestWith(rctx, wt.cl.Broker(id))
	wt.mu.Lock()
	wt.polls++
	wt.mu.Unlock()
	if err != nil {
		return // unreachable
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode == 0 {
				wt.saw(id, rp.Partition, rp.Offset, asked)
			}
		}
	}
}

func (wt *hwWatch) saw(id int, p int32, hw int64, asked time.Time) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	if wt.majority != nil && !wt.majority[id] {
		if wt.healedAt.IsZero() || asked.Before(wt.healedAt) {
			k := fmt.Sprintf("node %d partition %d", id, p)
			a := wt.minority[k]
			if a == nil {
				a = &leaderAnswers{first: asked.Sub(wt.faultAt)}
				wt.minority[k] = a
			}
			a.n++
			a.last = asked.Sub(wt.faultAt)
		}
		return
	}
	from := fmt.Sprintf("node %d at %s", id, time.Now().Format("15:04:05.000"))
	if high, ok := wt.high[p]; ok && hw < high {
		wt.violations = append(wt.violations, fmt.Sprintf("partition %d: high watermark %d from %s after %d from %s", p, hw, from, high, wt.highFrom[p]))
		return
	}
	wt.high[p], wt.highFrom[p] = hw, from
}

// report returns the high watermark's violations, the minority's answers
// as leader during the fault, and those answered later than
// partitionRecovery after it.
func (wt *hwWatch) report() (violations []string, minority string, lingering []string) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	var ms []string
	for k, a := range wt.minority {
		ms = append(ms, fmt.Sprintf("%s: %d answers, asked %v to %v after the fault", k, a.n, a.first.Round(time.Millisecond), a.last.Round(time.Millisecond)))
		if a.last > partitionRecovery {
			lingering = append(lingering, fmt.Sprintf("%s: answered ListOffsets as the leader %v after it was cut off (%d answers)",
				k, a.last.Round(time.Millisecond), a.n))
		}
	}
	sort.Strings(ms)
	sort.Strings(lingering)
	return append([]string(nil), wt.violations...), strings.Join(ms, "; "), lingering
}
