package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Three `rill serve` processes with process.roles=broker,controller form a
// controller quorum: one becomes the active controller and every broker
// registers. SIGKILL the active controller: another takes over and fences
// the dead broker after its session; restart it: it replays its metadata
// log, rejoins and is unfenced.
func TestControllerQuorumFailover(t *testing.T) {
	ports := []string{freePort(t), freePort(t), freePort(t)}
	voters := fmt.Sprintf("1@%s,2@%s,3@%s", ports[0], ports[1], ports[2])
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	start := func(i int) *broker {
		return startBroker(t, dirs[i], "--set", "process.roles=broker,controller", "--set", fmt.Sprintf("node.id=%d", i+1),
			"--set", "controller.quorum.voters="+voters, "--set", "broker.session.timeout.ms=2000",
			"--set", "broker.heartbeat.interval.ms=200")
	}
	bs := []*broker{start(0), start(1), start(2)}
	waitLog := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				var logs strings.Builder
				for i, b := range bs {
					fmt.Fprintf(&logs, "--- node %d\n%s", i+1, b.log())
				}
				t.Fatalf("timed out waiting for %s\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	activeRe := regexp.MustCompile(`msg="controller active" component=controller node=(\d)`)
	active := func(skip int) int {
		for i, b := range bs {
			if i+1 == skip {
				continue
			}
			if m := activeRe.FindAllStringSubmatch(b.log(), -1); len(m) > 0 {
				var id int
				fmt.Sscan(m[len(m)-1][1], &id)
				if id == i+1 && !strings.Contains(b.log()[strings.LastIndex(b.log(), m[len(m)-1][0]):], `msg="controller no longer active"`) {
					return id
				}
			}
		}
		return 0
	}
	allSay := func(s string, nodes ...int) func() bool {
		return func() bool {
			for _, i := range nodes {
				if !strings.Contains(bs[i].log(), s) {
					return false
				}
			}
			return true
		}
	}
	waitLog("an active controller", func() bool { return active(0) != 0 })
	for id := 1; id <= 3; id++ {
		waitLog(fmt.Sprintf("broker %d unfenced everywhere", id), allSay(fmt.Sprintf(`msg="broker unfenced" component=controller broker=%d`, id), 0, 1, 2))
	}
	first := active(0)
	// DescribeQuorum, sent to any broker, is answered by the active
	// controller: it leads, all three vote and have the log up to the
	// high watermark, followers fetched recently; v2 names their
	// controller listeners.
	quorum := func(via int) kmsg.DescribeQuorumResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrDescribeQuorumRequest()
		req.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
		resp, err := req.RequestWith(context.Background(), client(t, bs[via].addr))
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("DescribeQuorum via node %d: %+v", via+1, resp)
		}
		if len(resp.Nodes) != 3 {
			t.Fatalf("DescribeQuorum v%d nodes: %+v", resp.Version, resp.Nodes)
		}
		return resp.Topics[0].Partitions[0]
	}
	q := quorum((first) % 3)
	if q.LeaderID != int32(first) || len(q.CurrentVoters) != 3 || q.HighWatermark <= 0 || len(q.Observers) != 0 {
		t.Fatalf("quorum after start: %+v", q)
	}
	for _, v := range q.CurrentVoters {
		if v.LogEndOffset < q.HighWatermark || v.LastFetchTimestamp <= 0 || time.Since(time.UnixMilli(v.LastFetchTimestamp)) > 10*time.Second {
			t.Fatalf("voter %d after start: %+v (high watermark %d)", v.ReplicaID, v, q.HighWatermark)
		}
	}
	bs[first-1].kill()
	var survivors []int
	for i := range bs {
		if i != first-1 {
			survivors = append(survivors, i)
		}
	}
	waitLog("a new active controller", func() bool { return active(first) != 0 })
	second := active(first)
	if q := quorum(survivors[0]); q.LeaderID != int32(second) || q.LeaderEpoch <= 0 {
		t.Fatalf("quorum after the active controller died: leader %d epoch %d, want %d", q.LeaderID, q.LeaderEpoch, second)
	}
	waitLog(fmt.Sprintf("broker %d fenced", first), allSay(fmt.Sprintf(`msg="broker fenced" component=controller broker=%d`, first), survivors...))
	// Restart it: same data, same voters.
	before := strings.Count(bs[survivors[0]].log(), fmt.Sprintf(`msg="broker unfenced" component=controller broker=%d`, first))
	bs[first-1] = start(first - 1)
	waitLog(fmt.Sprintf("broker %d unfenced again", first), func() bool {
		return strings.Count(bs[survivors[0]].log(), fmt.Sprintf(`msg="broker unfenced" component=controller broker=%d`, first)) > before
	})
	// Its replayed log agrees: it saw its own fencing.
	waitLog("the restarted node replaying its fencing", allSay(fmt.Sprintf(`msg="broker fenced" component=controller broker=%d`, first), first-1))
	for _, b := range bs {
		b.stop()
	}
}

// Three nodes serve one cluster from the controller's metadata: a topic
// created through any broker has its partitions spread over all three,
// every broker answers Metadata alike, clients produce to and consume
// (with a consumer group, coordinated by the leader of its offsets
// partition) from the leaders. A replication factor above the number of
// brokers is refused.
func TestClusterServesFromControllerMetadata(t *testing.T) {
	ports := []string{freePort(t), freePort(t), freePort(t)}
	voters := fmt.Sprintf("1@%s,2@%s,3@%s", ports[0], ports[1], ports[2])
	var bs []*broker
	for i := 0; i < 3; i++ {
		bs = append(bs, startBroker(t, t.TempDir(), "--set", "process.roles=broker,controller", "--set", fmt.Sprintf("node.id=%d", i+1),
			"--set", "controller.quorum.voters="+voters, "--set", "broker.heartbeat.interval.ms=200",
			"--set", "group.initial.rebalance.delay.ms=0"))
	}
	seeds := kgo.SeedBrokers(bs[0].addr, bs[1].addr, bs[2].addr)
	ctx := context.Background()
	// kadm caches metadata per client: polls use a fresh client each time.
	fresh := func(addr string) *kadm.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return kadm.NewClient(cl)
	}
	adm := fresh(bs[0].addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := fresh(bs[0].addr).BrokerMetadata(ctx)
		if err == nil && len(m.Brokers) == 3 {
			break
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for i, b := range bs {
				fmt.Fprintf(&logs, "--- node %d\n%s", i+1, b.log())
			}
			t.Fatalf("brokers never all registered: %+v %v\n%s", m, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Producer ids come from blocks the controller hands out: no two
	// brokers give the same one.
	pids := map[int64]int{}
	for i, b := range bs {
		for j := 0; j < 2; j++ {
			resp, err := client(t, b.addr).SeedBrokers()[0].Request(ctx, kmsg.NewPtrInitProducerIDRequest())
			if err != nil || resp.(*kmsg.InitProducerIDResponse).ErrorCode != 0 {
				t.Fatalf("InitProducerId on broker %d: %v %+v", i+1, err, resp)
			}
			id := resp.(*kmsg.InitProducerIDResponse).ProducerID
			if prev, dup := pids[id]; dup {
				t.Fatalf("producer id %d from broker %d and broker %d", id, prev, i+1)
			}
			pids[id] = i + 1
		}
	}
	if res, _ := adm.CreateTopic(ctx, 3, 4, nil, "replicated"); !errors.Is(res.Err, kerr.InvalidReplicationFactor) {
		t.Fatalf("replication factor 4 on 3 brokers: %v", res.Err)
	}
	if res, err := adm.CreateTopic(ctx, 6, 1, nil, "spread"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	leaders := map[int32]int{}
	var want map[int32]int32
	for i, b := range bs {
		// Each broker learns the topic when its copy of the metadata log
		// does: wait for it, then it must agree with the others.
		got := map[int32]int32{}
		for wait := time.Now().Add(10 * time.Second); len(got) != 6; {
			td, err := fresh(b.addr).ListTopics(ctx, "spread")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range td["spread"].Partitions {
				got[p.Partition] = p.Leader
			}
			if len(got) != 6 && time.Now().After(wait) {
				t.Fatalf("broker %d sees %v", i+1, got)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if i == 0 {
			want = got
			for _, l := range got {
				leaders[l]++
			}
		} else if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("broker %d answers leaders %v, broker 1 %v", i+1, got, want)
		}
	}
	if len(leaders) != 3 || leaders[1] != 2 || leaders[2] != 2 || leaders[3] != 2 {
		t.Fatalf("leaders not spread: %v", leaders)
	}
	prod := client(t, bs[0].addr, seeds, kgo.DefaultProduceTopic("spread"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const n = 600
	for i := 0; i < n; i++ {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("v%d", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons := client(t, bs[0].addr, seeds, kgo.ConsumerGroup("spread-readers"), kgo.ConsumeTopics("spread"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	seen := map[string]bool{}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for len(seen) < n {
		fs := cons.PollFetches(cctx)
		if cctx.Err() != nil {
			t.Fatalf("consumed %d of %d", len(seen), n)
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		if err := cons.CommitUncommittedOffsets(cctx); err != nil {
			t.Fatal(err)
		}
	}
	lags, err := adm.Lag(ctx, "spread-readers")
	if err != nil || lags["spread-readers"].Lag.Total() != 0 {
		t.Fatalf("lag after consuming everything: %+v %v", lags, err)
	}
	// CreatePartitions and DeleteTopics go through the controller too.
	if res, err := fresh(bs[1].addr).CreatePartitions(ctx, 3, "spread"); err != nil || res.Error() != nil {
		t.Fatalf("create partitions: %v %v", err, res.Error())
	}
	for i, b := range bs {
		for wait := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			td, err := fresh(b.addr).ListTopics(ctx, "spread")
			if err == nil && len(td["spread"].Partitions) == 9 {
				break
			}
			if time.Now().After(wait) {
				t.Fatalf("broker %d does not see 9 partitions: %+v %v", i+1, td, err)
			}
		}
	}
	grown := client(t, bs[0].addr, seeds, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := grown.ProduceSync(ctx, &kgo.Record{Topic: "spread", Partition: 8, Value: []byte("new")}).FirstErr(); err != nil {
		t.Fatalf("produce to a new partition: %v", err)
	}
	if res, err := fresh(bs[2].addr).DeleteTopics(ctx, "spread"); err != nil || res.Error() != nil {
		t.Fatalf("delete: %v %v", err, res.Error())
	}
	for i, b := range bs {
		for wait := time.Now().Add(10 * time.Second); !strings.Contains(b.log(), `msg="topic deleted in the cluster metadata" component=broker topic=spread`); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(wait) {
				t.Fatalf("broker %d did not drop the deleted topic:\n%s", i+1, b.log())
			}
		}
	}
	// Created again under the same name: a new topic, none of the old
	// records.
	if res, err := fresh(bs[0].addr).CreateTopic(ctx, 6, 3, nil, "spread"); err != nil || res.Err != nil {
		t.Fatalf("create again: %v %v", err, res.Err)
	}
	// A fresh client: franz-go deliberately fails a live producer's records
	// for a topic it sees re-created under a new ID.
	reborn1 := client(t, bs[1].addr, seeds, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := reborn1.ProduceSync(ctx, &kgo.Record{Topic: "spread", Partition: 1, Value: []byte("reborn")}).FirstErr(); err != nil {
		t.Fatalf("produce to the recreated topic: %v", err)
	}
	again := client(t, bs[2].addr, seeds, kgo.ConsumeTopics("spread"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	var reborn []string
	for len(reborn) < 1 && rctx.Err() == nil {
		again.PollFetches(rctx).EachRecord(func(r *kgo.Record) { reborn = append(reborn, string(r.Value)) })
	}
	// Anything else still buffered would show up within a short poll.
	sctx, scancel := context.WithTimeout(ctx, 500*time.Millisecond)
	again.PollFetches(sctx).EachRecord(func(r *kgo.Record) { reborn = append(reborn, string(r.Value)) })
	scancel()
	if fmt.Sprint(reborn) != "[reborn]" {
		t.Fatalf("the recreated topic holds %v", reborn)
	}
	for _, b := range bs {
		b.stop()
	}
}
