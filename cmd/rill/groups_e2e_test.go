package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupBrokerFlags make group tests fast: no initial rebalance delay and
// short sessions allowed.
var groupBrokerFlags = []string{"--set", "group.initial.rebalance.delay.ms=200", "--set", "group.min.session.timeout.ms=1000",
	"--set", "group.consumer.session.timeout.ms=3000", "--set", "group.consumer.heartbeat.interval.ms=500"}

// groupConsumer is a `rill consume --group` process whose printed records
// are collected.
type groupConsumer struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	seen []string // "partition offset value"
	done chan struct{}
}

func startGroupConsumer(t *testing.T, addr, topic, group, protocol, balancer string) *groupConsumer {
	t.Helper()
	cmd := exec.Command(rillBin, "consume", "--bootstrap", addr, "--topic", topic, "--group", group, "--group-protocol", protocol,
		"--balancer", balancer, "--session-timeout", "3s", "--format", `%p %o %v\n`)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &groupConsumer{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.mu.Lock()
			c.seen = append(c.seen, sc.Text())
			c.mu.Unlock()
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
	})
	return c
}

func (c *groupConsumer) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *groupConsumer) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

// watchCommits polls a group's committed offsets until stop closes and
// reports any partition whose committed offset went back.
func watchCommits(t *testing.T, adm *kadm.Client, group string, stop <-chan struct{}) <-chan error {
	errc := make(chan error, 1)
	go func() {
		last := map[int32]int64{}
		for {
			select {
			case <-stop:
				errc <- nil
				return
			case <-time.After(50 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			offs, err := adm.FetchOffsets(ctx, group)
			cancel()
			if err != nil {
				continue // the broker is busy rebalancing; try again
			}
			var bad error
			offs.Each(func(o kadm.OffsetResponse) {
				if o.Err == nil && o.At < last[o.Partition] {
					bad = fmt.Errorf("partition %d committed offset went back from %d to %d", o.Partition, last[o.Partition], o.At)
				}
				last[o.Partition] = max(last[o.Partition], o.At)
			})
			if bad != nil {
				errc <- bad
				return
			}
		}
	}()
	return errc
}

// Three `rill consume --group` processes share four partitions while
// records are produced; one is SIGKILLed mid-stream. Every record must be
// printed at least once, committed offsets never go back, and the group
// ends with everything committed.
func TestGroupConsumersSurviveAKilledMember(t *testing.T) {
	for _, v := range []struct{ protocol, balancer string }{
		{"classic", "range"}, {"classic", "cooperative-sticky"}, {"consumer", "uniform"}, {"consumer", "range"},
	} {
		t.Run(v.protocol+"-"+v.balancer, func(t *testing.T) {
			b := startBroker(t, t.TempDir(), groupBrokerFlags...)
			const topic, group, n = "orders", "billing", 6000
			adm := kadm.NewClient(client(t, b.addr))
			ctx := context.Background()
			if _, err := adm.CreateTopic(ctx, 4, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			var cs []*groupConsumer
			for i := 0; i < 3; i++ {
				cs = append(cs, startGroupConsumer(t, b.addr, topic, group, v.protocol, v.balancer))
			}
			stop := make(chan struct{})
			commitErr := watchCommits(t, adm, group, stop)
			prod := client(t, b.addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
			killed := false
			// At least n records, and on until consumer 1 was killed mid-stream:
			// a machine under load may start it late.
			produced := 0
			for i := 0; i < n || (!killed && i < 10*n); i++ {
				if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("v%d", i))).FirstErr(); err != nil {
					t.Fatal(err)
				}
				if i%100 == 99 {
					time.Sleep(20 * time.Millisecond) // a stream, not a burst
				}
				if !killed && cs[1].count() > 200 {
					cs[1].cmd.Process.Signal(syscall.SIGKILL)
					cs[1].cmd.Wait()
					killed = true
				}
				produced = i + 1
			}
			if !killed {
				t.Fatalf("consumer 1 printed only %d records while %d were produced", cs[1].count(), produced)
			}
			if typ := groupType(t, prod, group); typ != v.protocol {
				t.Fatalf("group %s is %q, want %q", group, typ, v.protocol)
			}
			seen := map[string]bool{}
			deadline := time.Now().Add(60 * time.Second)
			for len(seen) < produced && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				for _, c := range cs {
					for _, l := range c.lines() {
						if f := strings.Fields(l); len(f) == 3 {
							seen[f[2]] = true
						}
					}
				}
			}
			for i := 0; i < produced; i++ {
				if !seen[fmt.Sprintf("v%d", i)] {
					t.Fatalf("record v%d never consumed (%d of %d seen)\n%s", i, len(seen), produced, b.log())
				}
			}
			// Everything gets committed: offsets reach the end of each partition.
			var lag int64 = -1
			for time.Now().Before(deadline) {
				l, err := adm.Lag(ctx, group)
				if err == nil {
					lag = l[group].Lag.Total()
					if lag == 0 {
						break
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			close(stop)
			if err := <-commitErr; err != nil {
				t.Fatal(err)
			}
			if lag != 0 {
				t.Fatalf("group lag stayed at %d", lag)
			}
			for _, i := range []int{0, 2} {
				cs[i].cmd.Process.Signal(syscall.SIGTERM)
				cs[i].cmd.Wait()
			}
			b.stop()
		})
	}
}

// A group and its offsets survive broker restarts (clean and SIGKILL); a
// consumer that comes back resumes after what was committed.
func TestGroupOffsetsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	b := startBrokerAt(t, dir, port, groupBrokerFlags...)
	const topic, group = "events", "audit"
	ctx := context.Background()
	if _, err := kadm.NewClient(client(t, b.addr)).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	prod := client(t, b.addr, kgo.DefaultProduceTopic(topic))
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			if err := prod.ProduceSync(ctx, kgo.StringRecord("e"+strconv.Itoa(i))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	consume := func(want int) []string {
		cl := client(t, b.addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		var got []string
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		for len(got) < want {
			fs := cl.PollFetches(cctx)
			if cctx.Err() != nil {
				t.Fatalf("consumed %d of %d", len(got), want)
			}
			fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
			if err := cl.CommitUncommittedOffsets(cctx); err != nil {
				t.Fatal(err)
			}
		}
		cl.Close()
		return got
	}
	produce(0, 50)
	if got := consume(50); got[0] != "e0" || got[49] != "e49" {
		t.Fatalf("first run read %v", got)
	}
	b.stop()
	b = startBrokerAt(t, dir, port, groupBrokerFlags...)
	adm := kadm.NewClient(client(t, b.addr))
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(topic, 0); !ok || o.At != 50 {
		t.Fatalf("committed offset after a clean restart: %+v", o)
	}
	produce(50, 80)
	b.kill()
	b = startBrokerAt(t, dir, port, groupBrokerFlags...)
	prod = client(t, b.addr, kgo.DefaultProduceTopic(topic))
	if got := consume(30); got[0] != "e50" || got[29] != "e79" {
		t.Fatalf("the consumer after a SIGKILL restart did not resume at e50: %v", got)
	}
	adm = kadm.NewClient(client(t, b.addr))
	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if g := groups[group]; g.State != "Empty" || g.ProtocolType != "consumer" {
		t.Fatalf("group after restarts: %+v", g)
	}
	b.stop()
}

// rill group list/describe/reset-offsets/delete against a real broker.
func TestGroupTool(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	bs := "--bootstrap=" + b.addr
	rill(t, "", "topic", "create", bs, "--partitions", "1", "ledger")
	var in strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&in, "r%d\n", i)
	}
	rill(t, in.String(), "produce", bs, "--topic", "ledger")
	if out := rill(t, "", "consume", bs, "--topic", "ledger", "--group", "g1", "--count", "10"); strings.Count(out, "\n") != 10 {
		t.Fatalf("group consume printed:\n%s", out)
	}
	if out := rill(t, "", "group", "list", bs); !regexp.MustCompile(`g1\s+Empty\s+consumer`).MatchString(out) {
		t.Fatalf("group list:\n%s", out)
	}
	row := regexp.MustCompile(`ledger\s+0\s+(\S+)\s+10\s+(\d+)`)
	describe := func() (current, lag string) {
		t.Helper()
		out := rill(t, "", "group", "describe", bs, "g1")
		m := row.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("group describe:\n%s", out)
		}
		return m[1], m[2]
	}
	if cur, lag := describe(); cur != "10" || lag != "0" {
		t.Fatalf("after consuming everything: current %s lag %s", cur, lag)
	}
	if out := rill(t, "", "group", "reset-offsets", bs, "--group", "g1", "--to-earliest"); !strings.Contains(out, "dry run") {
		t.Fatalf("reset without --execute:\n%s", out)
	}
	if cur, _ := describe(); cur != "10" {
		t.Fatalf("a dry run moved the offset to %s", cur)
	}
	rill(t, "", "group", "reset-offsets", bs, "--group", "g1", "--topic", "ledger", "--to-offset", "4", "--execute")
	rill(t, "", "group", "reset-offsets", bs, "--group", "g1", "--shift-by", "-2", "--execute")
	if cur, lag := describe(); cur != "2" || lag != "8" {
		t.Fatalf("after --to-offset 4 and --shift-by -2: current %s lag %s", cur, lag)
	}
	if out := rill(t, "", "consume", bs, "--topic", "ledger", "--group", "g1", "--count", "8"); !strings.HasPrefix(out, "r2\n") {
		t.Fatalf("consumer did not resume at the reset offset:\n%s", out)
	}
	rill(t, "", "group", "delete", bs, "g1")
	if out := rill(t, "", "group", "list", bs); strings.Contains(out, "g1") {
		t.Fatalf("deleted group still listed:\n%s", out)
	}
	b.stop()
}

// groupType asks ListGroups (v5) whether a group is "classic" or
// "consumer" (KIP-848).
func groupType(t *testing.T, cl *kgo.Client, group string) string {
	t.Helper()
	req := kmsg.NewPtrListGroupsRequest()
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range resp.Groups {
		if g.Group == group {
			return g.GroupType
		}
	}
	t.Fatalf("group %s not listed", group)
	return ""
}

// A KIP-848 group subscribed by regex: the broker resolves the pattern
// against its topics and assigns what matches the whole name. As on Kafka,
// internal topics are not excluded: a pattern matching __consumer_offsets
// gets its partitions assigned.
func TestConsumerGroupRegexSubscription(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	ctx := context.Background()
	adm := kadm.NewClient(client(t, b.addr))
	if _, err := adm.CreateTopics(ctx, 2, 1, nil, "metrics.cpu", "metrics.disk", "logs.app"); err != nil {
		t.Fatal(err)
	}
	prod := client(t, b.addr)
	for _, topic := range []string{"metrics.cpu", "metrics.disk", "logs.app"} {
		for i := 0; i < 10; i++ {
			if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(topic)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	cl := client(t, b.addr, kgo.ConsumerGroup("regex"), kgo.ConsumeRegex(), kgo.ConsumeTopics(`metrics\..*`),
		kgo.Balancers(kgo.StickyBalancer()), kgo.ServerSideBalancer(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]int{}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for got["metrics.cpu"]+got["metrics.disk"] < 20 {
		fs := cl.PollFetches(cctx)
		if cctx.Err() != nil {
			t.Fatalf("consumed %v", got)
		}
		fs.EachRecord(func(r *kgo.Record) { got[r.Topic]++ })
	}
	if got["logs.app"] != 0 || got["metrics.cpu"] != 10 || got["metrics.disk"] != 10 {
		t.Fatalf("regex group consumed %v", got)
	}
	if typ := groupType(t, prod, "regex"); typ != "consumer" {
		t.Fatalf("group type %q", typ)
	}

	// "__consumer_.*" matches the internal offsets topic, which the group
	// above created. kgo leaves internal topics out of what it matches
	// itself and would not join, so this member is raw
	// ConsumerGroupHeartbeats. (Whole-name matching is checked in the
	// coordinator's tests: kgo wraps its patterns in .*.)
	hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = "internal", "m-internal", 0, 5000
	hb.SubscribedTopicRegex = kmsg.StringPtr(`__consumer_.*`)
	hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	all, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[[16]byte]string{}
	for _, td := range all {
		names[td.ID] = td.Topic
	}
	deadline := time.Now().Add(15 * time.Second)
	var assigned []string
	for {
		resp, err := hb.RequestWith(ctx, prod)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != 0 {
			t.Fatalf("heartbeat: %v", kerr.ErrorForCode(resp.ErrorCode))
		}
		hb.MemberEpoch = resp.MemberEpoch
		hb.SubscribedTopicRegex = nil // unchanged
		if resp.Assignment != nil {
			assigned = nil
			for _, tp := range resp.Assignment.Topics {
				assigned = append(assigned, names[tp.TopicID])
			}
		}
		if slices.Equal(assigned, []string{"__consumer_offsets"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a member subscribed to __consumer_.* is assigned %v", assigned)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.stop()
}
