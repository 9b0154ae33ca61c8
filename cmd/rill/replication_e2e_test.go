package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/internal/history"
)

// cluster is three `rill serve` processes with both roles on fixed ports,
// so a restarted node comes back where clients and peers expect it.
type cluster struct {
	t     *testing.T
	addrs []string
	dirs  []string
	extra []string
	bs    []*broker
}

func startCluster(t *testing.T, extra ...string) *cluster {
	c := &cluster{t: t}
	ctl := []string{freePort(t), freePort(t), freePort(t)}
	voters := fmt.Sprintf("1@%s,2@%s,3@%s", ctl[0], ctl[1], ctl[2])
	c.extra = append([]string{"--set", "process.roles=broker,controller", "--set", "controller.quorum.voters=" + voters}, extra...)
	for i := 0; i < 3; i++ {
		c.addrs = append(c.addrs, freePort(t))
		c.dirs = append(c.dirs, t.TempDir())
		c.bs = append(c.bs, nil)
		c.start(i)
	}
	return c
}

// start (re)starts node i+1.
func (c *cluster) start(i int) {
	c.bs[i] = startBrokerAt(c.t, c.dirs[i], c.addrs[i], append([]string{"--set", fmt.Sprintf("node.id=%d", i+1)}, c.extra...)...)
}

func (c *cluster) logs() string {
	var s strings.Builder
	for i, b := range c.bs {
		fmt.Fprintf(&s, "--- node %d\n%s", i+1, b.log())
	}
	return s.String()
}

// waitFor polls cond for up to a minute.
func (c *cluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s\n%s", what, c.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// admin is a fresh admin client (kadm caches metadata per client).
func (c *cluster) admin(i int) *kadm.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs[i]))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// partitions is a topic's partitions as node i+1 describes them.
func (c *cluster) partitions(i int, topic string) map[int32]kadm.PartitionDetail {
	td, err := c.admin(i).ListTopics(context.Background(), topic)
	if err != nil {
		return nil
	}
	return td[topic].Partitions
}

var activeRe = regexp.MustCompile(`msg="controller active" component=controller node=(\d)`)

// activeController is the node id, other than dead, whose log last said
// it became the active controller and has not said it stopped (0: none).
func (c *cluster) activeController(dead int) int {
	for i, b := range c.bs {
		if i+1 == dead {
			continue
		}
		l := b.log()
		m := activeRe.FindAllStringSubmatch(l, -1)
		if len(m) == 0 || m[len(m)-1][1] != fmt.Sprint(i+1) {
			continue
		}
		if !strings.Contains(l[strings.LastIndex(l, m[len(m)-1][0]):], "no longer active") {
			return i + 1
		}
	}
	return 0
}

// fullISR reports whether every partition of topic has all three
// replicas in its ISR, as every live node answers.
func (c *cluster) fullISR(topic string, parts int, skip int) bool {
	for i := range c.bs {
		if i+1 == skip {
			continue
		}
		ps := c.partitions(i, topic)
		if len(ps) != parts {
			return false
		}
		for _, p := range ps {
			if len(p.ISR) != 3 || p.Leader < 0 {
				return false
			}
		}
	}
	return true
}

// ledWithout reports whether every partition of topic has a leader other
// than node dead, as another node answers.
func (c *cluster) ledWithout(topic string, parts int, dead int) bool {
	ps := c.partitions(dead%3, topic)
	if len(ps) != parts {
		return false
	}
	for _, p := range ps {
		if p.Leader < 0 || int(p.Leader) == dead {
			return false
		}
	}
	return true
}

// writer is an idempotent acks=all kgo producer writing numbered records
// to a topic of a cluster at about 2000 records a second, recording every
// send and acknowledgement for internal/history.
type writer struct {
	t        *testing.T
	c        *cluster
	topic    string
	prod     *kgo.Client
	h        history.History
	acked    atomic.Int64
	sent     atomic.Int64
	firstErr atomic.Pointer[error]
	wg       sync.WaitGroup
	stopped  func()
}

func startWriter(t *testing.T, c *cluster, topic string) *writer {
	w := &writer{t: t, c: c, topic: topic}
	w.prod = client(t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProduceRequestTimeout(5*time.Second))
	stop, producing := make(chan struct{}), make(chan struct{})
	w.stopped = sync.OnceFunc(func() { close(stop); <-producing })
	t.Cleanup(w.stopped) // a failing test stops producing before the clients close
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
			seq := i
			w.prod.Produce(context.Background(), &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
				defer w.wg.Done()
				w.h.Sent(history.Send{Seq: seq, Value: v, Acked: err == nil, Partition: r.Partition, Offset: r.Offset})
				if err == nil {
					w.acked.Add(1)
				} else {
					w.firstErr.CompareAndSwap(nil, &err)
				}
			})
			if i%10 == 0 {
				time.Sleep(5 * time.Millisecond) // bounded load
			}
		}
	}()
	return w
}

// waitAcked waits until n records are acknowledged.
func (w *writer) waitAcked(n int64) {
	w.t.Helper()
	w.c.waitFor(fmt.Sprintf("%d acknowledged records", n), func() bool { return w.acked.Load() >= n })
}

// finish stops writing, requires every record acknowledged, reads the
// topic back to each partition's end and checks the history.
func (w *writer) finish() history.Report {
	t, c, ctx := w.t, w.c, context.Background()
	t.Helper()
	w.stopped()
	if err := w.prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	w.wg.Wait()
	if w.acked.Load() != w.sent.Load() {
		t.Fatalf("%d of %d records acknowledged (first error: %v): an idempotent producer retrying forever should get every one in",
			w.acked.Load(), w.sent.Load(), *w.firstErr.Load())
	}
	ends, err := c.admin(0).ListEndOffsets(ctx, w.topic)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	cons := client(t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.ConsumeTopics(w.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	readToEnds(t, cctx, cons, want, &w.h, c.logs)
	report := w.h.Check()
	if !report.OK() {
		t.Fatalf("%v\n%s", report, c.logs())
	}
	return report
}

// readToEnds polls cons until every partition has been read up to its end
// in want, recording each record in h as read; it fails the test (with
// logs()) when ctx ends first.
func readToEnds(t *testing.T, ctx context.Context, cons *kgo.Client, want map[int32]int64, h *history.History, logs func() string) {
	t.Helper()
	next := map[int32]int64{}
	done := func() bool {
		for p, end := range want {
			if next[p] < end {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read up to %v of %v\n%s", next, want, logs())
		}
		fs.EachRecord(func(r *kgo.Record) {
			h.Saw(history.Read{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
			next[r.Partition] = r.Offset + 1
		})
	}
}

// The failover test: three nodes, a topic with replication factor
// 3 and min.insync.replicas=2, an idempotent kgo producer with acks=all
// producing throughout. SIGKILL the leader of partition 0: another ISR
// member takes over; restart it: it catches up and rejoins the ISR. Then
// SIGKILL the active controller, and restart it. Every acknowledged record
// is read back afterwards, in order, exactly once (internal/history).
func TestReplicatedFailover(t *testing.T) {
	c := startCluster(t, "--set", "broker.session.timeout.ms=2000", "--set", "broker.heartbeat.interval.ms=200",
		"--set", "replica.lag.time.max.ms=2000", "--set", "metadata.snapshot.interval.entries=10")
	ctx := context.Background()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	const topic, parts = "replicated", 3
	res, err := c.admin(0).CreateTopic(ctx, parts, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.waitFor("every partition with a full ISR", func() bool { return c.fullISR(topic, parts, 0) })

	w := startWriter(t, c, topic)
	waitAcked := w.waitAcked
	acked := &w.acked
	waitAcked(500)

	// Kill the leader of partition 0.
	leader := int(c.partitions(1, topic)[0].Leader)
	if leader < 1 {
		t.Fatalf("no leader for partition 0:\n%s", c.logs())
	}
	c.bs[leader-1].kill()
	t.Logf("killed node %d, the leader of partition 0, at %d acknowledged", leader, acked.Load())
	c.waitFor("new leaders for its partitions", func() bool { return c.ledWithout(topic, parts, leader) })
	waitAcked(acked.Load() + 500)
	c.start(leader - 1)
	c.waitFor("the restarted node back in every ISR", func() bool { return c.fullISR(topic, parts, 0) })
	waitAcked(acked.Load() + 500)

	// Kill the active controller.
	ctl := c.activeController(0)
	if ctl == 0 {
		t.Fatalf("no active controller:\n%s", c.logs())
	}
	c.bs[ctl-1].kill()
	t.Logf("killed node %d, the active controller, at %d acknowledged", ctl, acked.Load())
	c.waitFor("another active controller", func() bool { return c.activeController(ctl) != 0 })
	c.waitFor("new leaders for its partitions", func() bool { return c.ledWithout(topic, parts, ctl) })
	waitAcked(acked.Load() + 500)
	c.start(ctl - 1)
	c.waitFor("the restarted controller back in every ISR", func() bool { return c.fullISR(topic, parts, 0) })
	waitAcked(acked.Load() + 500)

	// Leadership went elsewhere during the kills: a preferred election
	// (ElectLeaders, while producing) moves it back to each first replica.
	elected, err := c.admin(0).ElectLeaders(ctx, kadm.ElectPreferredReplica, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range elected {
		for _, r := range ps {
			if r.Err != nil && !errors.Is(r.Err, kerr.ElectionNotNeeded) {
				t.Fatalf("preferred election of %s-%d: %v", r.Topic, r.Partition, r.Err)
			}
		}
	}
	c.waitFor("preferred leaders everywhere", func() bool {
		for _, p := range c.partitions(0, topic) {
			if len(p.Replicas) == 0 || p.Leader != p.Replicas[0] {
				return false
			}
		}
		return true
	})
	waitAcked(acked.Load() + 500)

	report := w.finish()
	t.Logf("%v, across a leader's and the active controller's SIGKILL", report)
	if testing.Verbose() {
		t.Log(c.logs())
	}
	for _, b := range c.bs {
		b.stop()
	}
}

// Group coordination moves with the leadership of the offsets partition:
// offsets committed through one coordinator are replicated (the offsets
// topic has replication factor 3 here), and after that broker's SIGKILL
// the new leader of the partition loads them and serves the group, so a
// new consumer resumes where the first one committed.
func TestGroupOffsetsSurviveCoordinatorDeath(t *testing.T) {
	c := startCluster(t, "--set", "broker.session.timeout.ms=2000", "--set", "broker.heartbeat.interval.ms=200",
		"--set", "group.initial.rebalance.delay.ms=0", "--set", "offsets.topic.num.partitions=6")
	ctx := context.Background()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	const topic, n = "orders", 200
	if res, err := c.admin(0).CreateTopic(ctx, 2, 3, nil, topic); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.waitFor("a full ISR", func() bool { return c.fullISR(topic, 2, 0) })
	prod := client(t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.DefaultProduceTopic(topic))
	for i := 0; i < n; i++ {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The first consumer reads part of the topic and commits it.
	first := client(t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.FetchMaxBytes(2000))
	read := 0
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for read < n/2 {
		fs := first.PollRecords(cctx, 20)
		if cctx.Err() != nil {
			t.Fatalf("first consumer read %d\n%s", read, c.logs())
		}
		read += len(fs.Records())
		if err := first.CommitUncommittedOffsets(cctx); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()
	committed, err := c.admin(1).FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	described, err := c.admin(1).DescribeGroups(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	coord := int(described["g"].Coordinator.NodeID)
	c.bs[coord-1].kill()
	t.Logf("committed %v through coordinator %d, now killed", committed, coord)
	c.waitFor("new leaders for the offsets partitions", func() bool { return c.ledWithout("__consumer_offsets", 6, coord) })
	live := coord % 3
	var got kadm.OffsetResponses
	c.waitFor("the group's offsets from the new coordinator", func() bool {
		got, err = c.admin(live).FetchOffsets(ctx, "g")
		return err == nil && got.Error() == nil
	})
	committed.Each(func(o kadm.OffsetResponse) {
		if g, ok := got.Lookup(o.Topic, o.Partition); !ok || g.At != o.At {
			t.Fatalf("partition %d: committed %d, the new coordinator has %+v", o.Partition, o.At, g)
		}
	})
	// A second consumer of the group starts where the first committed.
	second := client(t, c.addrs[live], kgo.SeedBrokers(c.addrs[live]), kgo.ConsumerGroup("g"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	rest := 0
	for rest < n-int(committedTotal(committed)) {
		fs := second.PollFetches(cctx)
		if cctx.Err() != nil {
			t.Fatalf("second consumer read %d\n%s", rest, c.logs())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if o, ok := committed.Lookup(r.Topic, r.Partition); ok && r.Offset < o.At {
				t.Fatalf("second consumer read offset %d of partition %d, below the committed %d", r.Offset, r.Partition, o.At)
			}
			rest++
		})
	}
	second.Close()
	c.start(coord - 1)
	for _, b := range c.bs {
		b.stop()
	}
}

// committedTotal is how many records the committed offsets cover.
func committedTotal(o kadm.OffsetResponses) int64 {
	var n int64
	o.Each(func(r kadm.OffsetResponse) { n += r.At })
	return n
}

// A partition moves between brokers (AlterPartitionReassignments) while a
// producer writes to it: the new replicas copy the log and join the ISR,
// the old one drops out and deletes its copy, and every acknowledged
// record is read back from the new replicas.
func TestPartitionReassignment(t *testing.T) {
	c := startCluster(t, "--set", "broker.heartbeat.interval.ms=200")
	ctx := context.Background()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	const topic = "moving"
	if res, err := c.admin(0).CreateTopic(ctx, 1, 1, nil, topic); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	var from int32
	c.waitFor("a leader", func() bool { from = c.partitions(0, topic)[0].Leader; return from > 0 })
	var to []int32
	for id := int32(1); id <= 3; id++ {
		if id != from {
			to = append(to, id)
		}
	}
	prod := client(t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.DefaultProduceTopic(topic))
	var h history.History
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			v := fmt.Sprint(i)
			r, err := prod.ProduceSync(ctx, kgo.StringRecord(v)).First()
			if err != nil {
				t.Fatalf("produce %d: %v", i, err)
			}
			h.Sent(history.Send{Seq: i, Value: v, Acked: true, Partition: r.Partition, Offset: r.Offset})
		}
	}
	produce(0, 300)
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign(topic, 0, to)
	res, err := c.admin(0).AlterPartitionAssignments(ctx, req)
	if err != nil || res.Error() != nil {
		t.Fatalf("reassign: %v %v", err, res.Error())
	}
	produce(300, 600)
	c.waitFor("the move to finish", func() bool {
		listed, err := c.admin(1).ListPartitionReassignments(ctx, nil)
		p := c.partitions(1, topic)[0]
		return err == nil && len(listed) == 0 && fmt.Sprint(p.Replicas) == fmt.Sprint(to) && len(p.ISR) == 2
	})
	c.waitFor("the old replica deleted", func() bool {
		return strings.Contains(c.bs[from-1].log(), `msg="partition deleted" component=broker partition=`+topic+`-0 reason="reassigned away`)
	})
	produce(600, 900)
	cons := client(t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for n := 0; n < 900; {
		fs := cons.PollFetches(cctx)
		if cctx.Err() != nil {
			t.Fatalf("read %d of 900\n%s", n, c.logs())
		}
		fs.EachRecord(func(r *kgo.Record) {
			h.Saw(history.Read{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
			n++
		})
	}
	if report := h.Check(); !report.OK() {
		t.Fatalf("%v\n%s", report, c.logs())
	}
	for _, b := range c.bs {
		b.stop()
	}
}

// librdkafka (kcat) on a replicated topic across a leader's SIGKILL: it
// produces with acks=all before and after the failover, and its consumer
// (which checks leader epochs, KIP-320) reads every record once.
func TestKcatAcrossLeaderFailover(t *testing.T) {
	requireTool(t, "kcat")
	c := startCluster(t, "--set", "broker.session.timeout.ms=2000", "--set", "broker.heartbeat.interval.ms=200")
	ctx := context.Background()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	const topic, parts = "kcat-replicated", 3
	if res, err := c.admin(0).CreateTopic(ctx, parts, 3, nil, topic); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.waitFor("a full ISR", func() bool { return c.fullISR(topic, parts, 0) })
	boot := strings.Join(c.addrs, ",")
	produce := func(from, to int) {
		t.Helper()
		var in strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&in, "k%d:v%05d\n", i%11, i)
		}
		cmd := toolCommand(t, "kcat", "-P", "-b", boot, "-t", topic, "-K:", "-X", "topic.request.required.acks=-1",
			"-X", "enable.idempotence=true")
		cmd.Stdin = strings.NewReader(in.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat produce: %v\n%s\n%s", err, out, c.logs())
		}
	}
	produce(0, 1000)
	leader := int(c.partitions(1, topic)[0].Leader)
	c.bs[leader-1].kill()
	c.waitFor("new leaders", func() bool { return c.ledWithout(topic, parts, leader) })
	produce(1000, 2000)
	out, err := toolCommand(t, "kcat", "-C", "-b", boot, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat consume: %v\n%s", err, out)
	}
	seen := map[string]int{}
	for _, v := range strings.Fields(string(out)) {
		seen[v]++
	}
	for i := 0; i < 2000; i++ {
		if v := fmt.Sprintf("v%05d", i); seen[v] != 1 {
			t.Fatalf("%s read %d times (%d distinct values read)\n%s", v, seen[v], len(seen), c.logs())
		}
	}
	c.start(leader - 1)
	c.waitFor("the restarted node back in every ISR", func() bool { return c.fullISR(topic, parts, 0) })
	for _, b := range c.bs {
		b.stop()
	}
}

// Five rounds of SIGKILLing a random node (leader, follower, active
// controller, whatever it is at that moment) while an idempotent acks=all
// producer writes; each comes back and rejoins every ISR before the next.
// The history must stay clean throughout. The seed is logged.
func TestReplicatedChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos rounds take about 30 s")
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	c := startCluster(t, "--set", "broker.session.timeout.ms=2000", "--set", "broker.heartbeat.interval.ms=200",
		"--set", "replica.lag.time.max.ms=2000", "--set", "metadata.snapshot.interval.entries=25")
	ctx := context.Background()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	const topic, parts = "chaos", 4
	res, err := c.admin(0).CreateTopic(ctx, parts, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.waitFor("a full ISR", func() bool { return c.fullISR(topic, parts, 0) })
	w := startWriter(t, c, topic)
	w.waitAcked(300)
	for round := 0; round < 5; round++ {
		victim := 1 + rng.Intn(3)
		c.bs[victim-1].kill()
		t.Logf("round %d: killed node %d at %d acknowledged", round, victim, w.acked.Load())
		c.waitFor("new leaders", func() bool { return c.ledWithout(topic, parts, victim) })
		w.waitAcked(w.acked.Load() + 200)
		c.start(victim - 1)
		c.waitFor("the node back in every ISR", func() bool { return c.fullISR(topic, parts, 0) })
		w.waitAcked(w.acked.Load() + 200)
	}
	t.Logf("%v, across 5 SIGKILLs", w.finish())
	for _, b := range c.bs {
		b.stop()
	}
}

// A broker-only node (process.roles=broker) joins the cluster of three
// combined nodes: it registers, copies the metadata from the controllers,
// leads and follows replicas like the others, and its death moves its
// leaderships to the surviving replicas without losing a record.
func TestBrokerOnlyNode(t *testing.T) {
	c := startCluster(t, "--set", "broker.session.timeout.ms=2000", "--set", "broker.heartbeat.interval.ms=200")
	var voters string
	for _, a := range c.extra {
		if strings.HasPrefix(a, "controller.quorum.voters=") {
			voters = a
		}
	}
	b4 := startBroker(t, t.TempDir(), "--set", "process.roles=broker", "--set", "node.id=4", "--set", voters,
		"--set", "broker.heartbeat.interval.ms=200")
	ctx := context.Background()
	c.waitFor("four brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 4
	})
	const topic, parts = "with-broker-4", 8
	if res, err := c.admin(0).CreateTopic(ctx, parts, 2, nil, topic); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	ledBy4 := 0
	c.waitFor("every partition with a leader and both replicas in sync", func() bool {
		ps := c.partitions(0, topic)
		ledBy4 = 0
		for _, p := range ps {
			if p.Leader < 0 || len(p.ISR) != 2 {
				return false
			}
			if p.Leader == 4 {
				ledBy4++
			}
		}
		return len(ps) == parts
	})
	if ledBy4 == 0 {
		t.Fatal("the broker-only node leads no partition")
	}
	prod := client(t, b4.addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const n = 400
	for i := 0; i < n; i++ {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v\n%s", i, err, b4.log())
		}
	}
	prod.Close()
	b4.kill()
	c.waitFor("leaders other than the dead broker-only node", func() bool { return c.ledWithout(topic, parts, 4) })
	cons := client(t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for len(seen) < n {
		fs := cons.PollFetches(cctx)
		if cctx.Err() != nil {
			t.Fatalf("read %d of %d after the broker-only node died\n%s", len(seen), n, c.logs())
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	for _, b := range c.bs {
		b.stop()
	}
}
