package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/internal/history"
)

// Network partitions of a real three-node cluster (issue 11, item 5).
// Each test runs the nodes in network namespaces
// (partition_helpers_test.go), writes with an idempotent acks=all
// producer while a consumer tails the topic, a watcher polls every node's
// high watermark and a prober writes to every partition's leader, cuts
// links for partitionFault, heals, waits for every ISR to be full again,
// and checks:
//
//   - availability: when the fault leaves a majority the clients reach,
//     every partition acknowledges a write sent after the fault began
//     within partitionRecovery (the session timeout plus an election),
//     and no partition goes longer than that without one while the fault
//     lasts. The prober (partition_helpers_test.go) measures it with
//     direct produce requests to the leader the majority names; the
//     writer's view, which adds kgo's own metadata and connection
//     choices, is logged beside it;
//   - the high watermark never goes back in any partition, as the nodes
//     of the majority answer ListOffsets;
//   - a node cut off from the quorum stops acting as a leader (answering
//     ListOffsets as one) within partitionRecovery of the fault;
//   - internal/history over every send, the tailing consumer's reads and
//     a final read-back: nothing acknowledged lost, duplicated, reordered
//     or read differently at one offset.
//
// The leader-cut and controller-minority tests run in `make test`; the
// others only with RILL_CHAOS=1 (`make chaos`). Among those,
// TestNetworkPartitionAdminWithFirstVoterDown checks the requests brokers
// pass on to the active controller while the first voter is unreachable.

const partitionFault = 20 * time.Second

// availabilityReport logs, per partition, when writes sent after the
// fault first succeeded and the longest time without a success, as who
// measured them, and returns the partitions over partitionRecovery (when
// strict; else none).
func availabilityReport(t *testing.T, who string, a *availability, parts int32, strict bool) []string {
	rec, gaps := a.recovery(parts)
	var slowest, silence time.Duration
	var lines, over []string
	for p := int32(0); p < parts; p++ {
		r, ok := rec[p]
		line := fmt.Sprintf("partition %d: first success of a write sent after the fault %v after it; longest silence %v",
			p, r.Round(time.Millisecond), gaps[p].Round(time.Millisecond))
		if !ok {
			r = partitionFault
			line = fmt.Sprintf("partition %d: no write sent after the fault succeeded in %v", p, partitionFault)
		}
		lines = append(lines, line)
		if strict && (!ok || r > partitionRecovery || gaps[p] > partitionRecovery) {
			over = append(over, line)
		}
		slowest, silence = max(slowest, r), max(silence, gaps[p])
	}
	t.Logf("%s: time to recovery %v, longest silence %v (limit %v):\n%s", who, slowest.Round(time.Millisecond), silence.Round(time.Millisecond),
		partitionRecovery, strings.Join(lines, "\n"))
	return over
}

// faultPlan is a scenario's fault: what applies it, the node ids whose
// answers count as the majority's view while it lasts (nil: all), and a
// description for the log, written before the fault while every node
// answers.
type faultPlan struct {
	apply    func() error
	majority []int
	what     string
}

// A partition leader (not the active controller) is cut from both other
// nodes; clients still reach it. Its partitions must move to the other
// two, and it must stop acting as their leader.
func TestNetworkPartitionLeaderCut(t *testing.T) {
	runPartition(t, func(c *netCluster, topic string) faultPlan {
		ctl := c.activeControllerNow()
		l := c.leaderOtherThan(topic, ctl)
		apply := func() error { return c.net.Isolate(c.host(l), false) }
		return faultPlan{apply, others(l), fmt.Sprintf("node %d (leader of %v; node %d is the active controller) cut from nodes %v; clients reach all",
			l, c.ledBy(topic, l), ctl, others(l))}
	})
}

// The active controller is cut from both other nodes; clients still
// reach it. The other two elect a controller, fence it, and its
// partitions move.
func TestNetworkPartitionControllerMinority(t *testing.T) {
	runPartition(t, func(c *netCluster, topic string) faultPlan {
		ctl := c.activeControllerNow()
		apply := func() error { return c.net.Isolate(c.host(ctl), false) }
		return faultPlan{apply, others(ctl), fmt.Sprintf("node %d (the active controller, leader of %v) cut from nodes %v; clients reach all",
			ctl, c.ledBy(topic, ctl), others(ctl))}
	})
}

// A partition leader (not the active controller) is cut from everyone,
// the clients included.
func TestNetworkPartitionIsolatedNode(t *testing.T) {
	requireChaos(t)
	runPartition(t, func(c *netCluster, topic string) faultPlan {
		ctl := c.activeControllerNow()
		l := c.leaderOtherThan(topic, ctl)
		apply := func() error { return c.net.Isolate(c.host(l), true) }
		return faultPlan{apply, others(l), fmt.Sprintf("node %d (leader of %v; node %d is the active controller) cut from everyone, clients included",
			l, c.ledBy(topic, l), ctl)}
	})
}

// A bridge: the active controller A and a partition leader C cannot talk
// to each other; B talks to both; clients reach all. C cannot heartbeat
// to the controller, and A's followers on C cannot fetch from A.
func TestNetworkPartitionBridge(t *testing.T) {
	requireChaos(t)
	runPartition(t, func(c *netCluster, topic string) faultPlan {
		a := c.activeControllerNow()
		cc := c.leaderOtherThan(topic, a)
		b := others(a, cc)[0]
		apply := func() error { return c.net.Cut(c.host(a), c.host(cc)) }
		return faultPlan{apply, []int{a, b}, fmt.Sprintf("nodes %d (active controller, leader of %v) and %d (leader of %v) cut from each other; node %d (leader of %v) reaches both",
			a, c.ledBy(topic, a), cc, c.ledBy(topic, cc), b, c.ledBy(topic, b))}
	})
}

// A lossy link (20% of packets dropped each way, so TCP is slow too)
// between a partition's leader and one of its followers. The kernels
// these tests run on have no netem, so there is no added delay.
func TestNetworkPartitionLossyLink(t *testing.T) {
	requireChaos(t)
	runPartition(t, func(c *netCluster, topic string) faultPlan {
		l := c.leaders(1, topic)[0]
		f := others(l)[0]
		apply := func() error { return c.net.Lossy(c.host(l), c.host(f), 20) }
		return faultPlan{apply, nil, fmt.Sprintf("20%% loss between node %d (leader of %v) and node %d (leader of %v)",
			l, c.ledBy(topic, l), f, c.ledBy(topic, f))}
	})
}

func requireChaos(t *testing.T) {
	if os.Getenv("RILL_CHAOS") == "" {
		t.Skip("RILL_CHAOS=1 (make chaos) runs the full set of network-partition scenarios")
	}
}

// runPartition runs one scenario: fault applies the fault.
func runPartition(t *testing.T, fault func(c *netCluster, topic string) faultPlan) {
	if testing.Short() {
		t.Skip("a network-partition scenario takes about a minute")
	}
	c := startNetCluster(t, "--set", "replica.lag.time.max.ms=6000")
	ctx := context.Background()
	const topic, parts = "partitioned", 3
	res, err := c.admin(0).CreateTopic(ctx, parts, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.waitFor("every partition with a full ISR", func() bool { return c.allInSync(topic, parts) })
	c.waitFor("an active controller", func() bool { return c.activeController(0) != 0 })

	h := &history.History{}
	w := startNetWriter(t, c, h, topic)
	tl := startTailer(t, c, h, topic)
	hw := startHWWatch(t, c, topic, parts)
	pr := startProber(t, c, topic, parts)
	w.waitAcked(1000)

	plan := fault(c, topic)
	before := time.Now()
	if err := plan.apply(); err != nil {
		t.Fatal(err)
	}
	w.avail.faultStarted()
	pr.avail.faultStarted()
	hw.faultStarted(plan.majority)
	pr.countOnly(plan.majority)
	t.Logf("fault at %s, %d acknowledged: %s", before.Format("15:04:05.000"), w.acked.Load(), plan.what)
	time.Sleep(partitionFault)

	unavailable := availabilityReport(t, "the cluster (direct probes)", &pr.avail, parts, true)
	availabilityReport(t, "the writer (kgo)", &w.avail, parts, false)
	t.Logf("during the fault:\n%s", c.timeline(before))

	healed := time.Now()
	pr.countOnly(nil)
	if err := c.net.HealAll(); err != nil {
		t.Fatal(err)
	}
	hw.healed()
	c.waitFor("every ISR full again after healing", func() bool { return c.allInSync(topic, parts) })
	t.Logf("healed: every ISR full %v later; leaders %v", time.Since(healed).Round(time.Millisecond), c.leaders(1, topic))
	hw.countAll()
	w.waitAcked(w.acked.Load() + 500)

	w.finish()
	time.Sleep(time.Second) // the tailer's last fetch
	tl.close()
	readBack(t, c, h, topic)
	hw.close()
	pr.close()
	violations, minority, lingering := hw.report()
	if minority != "" {
		t.Logf("answers as leader from outside the majority during the fault: %s", minority)
	}
	report := h.Check()
	t.Logf("%v (the tailing consumer read %d; %d of %d probes acknowledged); %d high watermark polls", report, tl.read.Load(),
		pr.acked.Load(), pr.sent.Load(), hw.polls)
	if len(unavailable) > 0 {
		t.Errorf("not every partition accepted writes again within %v of the fault:\n%s", partitionRecovery, strings.Join(unavailable, "\n"))
	}
	if len(lingering) > 0 {
		t.Errorf("a node cut off from the quorum went on acting as leader past the session timeout plus %v:\n%s",
			partitionRecovery-partitionSession, strings.Join(lingering, "\n"))
	}
	if len(violations) > 0 {
		t.Errorf("the high watermark went back:\n%s", strings.Join(violations, "\n"))
	}
	if !report.OK() {
		t.Errorf("history: %v", report)
	}
	if t.Failed() {
		t.Logf("after healing:\n%s", c.timeline(healed))
		if os.Getenv("RILL_PARTITION_LOGS") != "" {
			t.Log(c.logs())
		}
	}
}

// activeControllerNow is the active controller, waiting for one.
func (c *netCluster) activeControllerNow() int {
	c.t.Helper()
	var id int
	c.waitFor("an active controller", func() bool { id = c.activeController(0); return id != 0 })
	return id
}

// leaderOtherThan is the leader of a partition of topic that is not node
// not, as node 1 describes it (the leader of partition 0 if every
// partition is led by not).
func (c *netCluster) leaderOtherThan(topic string, not int) int {
	c.t.Helper()
	ls := c.leaders(1, topic)
	ps := make([]int32, 0, len(ls))
	for p := range ls {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	for _, p := range ps {
		if ls[p] > 0 && ls[p] != not {
			return ls[p]
		}
	}
	if len(ps) == 0 || ls[0] < 1 {
		c.t.Fatalf("no leaders for %s: %v\n%s", topic, ls, c.logs())
	}
	return ls[0]
}

// ledBy is the partitions of topic node id leads, as node 1 describes it.
func (c *netCluster) ledBy(topic string, id int) []int32 {
	var out []int32
	for p, l := range c.leaders(1, topic) {
		if l == id {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// notable is the log lines a partition timeline shows: controller and
// session changes, fencing, leadership and ISR changes.
var notable = regexp.MustCompile(`(?i)component=controller|session|stepping down|fence|leader|isr|elect|register`)

// logTime splits a log line into its time (slog's text format: "time="
// and RFC 3339, internal/logging) and the rest of the line.
func logTime(line string) (time.Time, string, bool) {
	rest, ok := strings.CutPrefix(line, "time=")
	if !ok {
		return time.Time{}, "", false
	}
	stamp, msg, _ := strings.Cut(rest, " ")
	at, err := time.Parse(time.RFC3339Nano, stamp)
	return at, strings.TrimSpace(msg), err == nil
}

// timeline is the notable log lines of every node since a time, in time
// order, each prefixed by its node (at most 60, the last ones). A message
// a node logs again and again (a retried request) is shown at its first
// and last time only, the last with its count.
func (c *netCluster) timeline(since time.Time) string {
	type entry struct {
		at        time.Time
		key, line string
	}
	var es []entry
	count := map[string]int{}
	for i, b := range c.bs {
		for _, line := range strings.Split(b.log(), "\n") {
			at, msg, ok := logTime(line)
			if !ok || at.Before(since) || !notable.MatchString(msg) {
				continue
			}
			key := fmt.Sprintf("%d %s", i, msg)
			count[key]++
			es = append(es, entry{at, key, fmt.Sprintf("node %d: %s", i+1, line)})
		}
	}
	seen := map[string]int{}
	kept := es[:0]
	for _, e := range es {
		seen[e.key]++
		switch n := seen[e.key]; {
		case n == 1:
			kept = append(kept, e)
		case n == count[e.key]:
			e.line += fmt.Sprintf(" (logged %d times)", n)
			kept = append(kept, e)
		}
	}
	es = kept
	sort.SliceStable(es, func(i, j int) bool { return es[i].at.Before(es[j].at) })
	const show = 60
	var out []string
	if len(es) > show {
		out = append(out, fmt.Sprintf("(%d earlier lines left out)", len(es)-show))
		es = es[len(es)-show:]
	}
	for _, e := range es {
		out = append(out, e.line)
	}
	return strings.Join(out, "\n")
}

// Requests that brokers pass to the active controller (CreateTopics, and
// InitProducerId when a broker needs a block of producer ids) while node
// 1, the first voter, is cut from everyone: the other two have an active
// controller, so each must succeed through them within partitionRecovery
// of the fault.
func TestNetworkPartitionAdminWithFirstVoterDown(t *testing.T) {
	requireChaos(t)
	if testing.Short() {
		t.Skip("a network-partition scenario takes about a minute")
	}
	c := startNetCluster(t)
	c.activeControllerNow()
	ctx := context.Background()
	const existing = "before-the-partition"
	if res, err := c.admin(0).CreateTopic(ctx, 2, 3, nil, existing); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.waitFor("a full ISR", func() bool { return c.allInSync(existing, 2) })
	before := time.Now()
	if err := c.net.Isolate(c.host(1), true); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 1 cut from everyone at %s", before.Format("15:04:05.000"))
	c.waitFor("an active controller on node 2 or 3", func() bool { return c.activeController(1) != 0 })
	t.Logf("node %d active %v after the fault", c.activeController(1), time.Since(before).Round(time.Millisecond))
	majority := kgo.SeedBrokers(c.addrs[1], c.addrs[2])

	var problems []string
	adm := kadm.NewClient(netClient(t, c, majority))
	for i := 0; ; i++ {
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		res, err := adm.CreateTopic(cctx, 2, 2, nil, fmt.Sprintf("created-in-partition-%d", i))
		cancel()
		if err == nil {
			err = res.Err
		}
		t.Logf("CreateTopics through nodes 2 and 3: %v after %v (%v after the fault)", err, time.Since(start).Round(time.Millisecond),
			time.Since(before).Round(time.Millisecond))
		if err == nil {
			break
		}
		if time.Since(before) > partitionRecovery {
			problems = append(problems, fmt.Sprintf("no topic created through nodes 2 and 3 within %v of the fault: %v", partitionRecovery, err))
			break
		}
	}

	// A new idempotent producer on each of nodes 2 and 3 (each broker
	// takes its first block of producer ids from the controller).
	for _, id := range []int{2, 3} {
		start := time.Now()
		prod := netClient(t, c, kgo.SeedBrokers(c.addrs[id-1]), kgo.DefaultProduceTopic(existing),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProduceRequestTimeout(3*time.Second))
		pctx, cancel := context.WithTimeout(ctx, partitionRecovery)
		err := prod.ProduceSync(pctx, &kgo.Record{Partition: int32(id - 2), Value: []byte("x")}).FirstErr()
		cancel()
		t.Logf("a new idempotent producer's first record through node %d: %v after %v", id, err, time.Since(start).Round(time.Millisecond))
		if err != nil || time.Since(before) > partitionRecovery {
			problems = append(problems, fmt.Sprintf("a new idempotent producer through node %d: %v, %v after the fault", id, err,
				time.Since(before).Round(time.Millisecond)))
		}
		prod.Close()
	}
	if err := c.net.HealAll(); err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("with node 1 unreachable:\n%s\nduring the fault:\n%s", strings.Join(problems, "\n"), c.timeline(before))
	}
}
