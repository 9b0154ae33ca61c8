package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describe848 is a KIP-848 group as ConsumerGroupDescribe answers it.
func describe848(t *testing.T, cl *kgo.Client, group string) kmsg.ConsumerGroupDescribeResponseGroup {
	t.Helper()
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Groups) != 1 {
		t.Fatalf("describe answered %d groups", len(resp.Groups))
	}
	return resp.Groups[0]
}

// memberOf is the described member with the instance id, or nil.
func memberOf(g kmsg.ConsumerGroupDescribeResponseGroup, instance string) *kmsg.ConsumerGroupDescribeResponseGroupMember {
	for i, m := range g.Members {
		if m.InstanceID != nil && *m.InstanceID == instance {
			return &g.Members[i]
		}
	}
	return nil
}

func assignedPartitions(a kmsg.Assignment) []int32 {
	var out []int32
	for _, t := range a.TopicPartitions {
		out = append(out, t.Partitions...)
	}
	slices.Sort(out)
	return out
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kgo static members of a KIP-848 group against rill serve: a closing
// static member leaves with epoch -2 and keeps its partitions and place
// for group.consumer.session.timeout.ms with no new group epoch; a new
// client with the same group.instance.id takes them over; one that does
// not come back is removed after the session timeout and its partitions
// go to the other member.
func TestConsumerGroupStaticMembers(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "group.initial.rebalance.delay.ms=200",
		"--set", "group.consumer.session.timeout.ms=8000", "--set", "group.consumer.heartbeat.interval.ms=500")
	ctx := context.Background()
	adm := client(t, b.addr)
	if _, err := kadm.NewClient(adm).CreateTopics(ctx, 4, 1, nil, "static"); err != nil {
		t.Fatal(err)
	}
	member := func(instance string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ConsumerGroup("static-g"), kgo.ConsumeTopics("static"),
			kgo.ServerSideBalancer(), kgo.InstanceID(instance))
		if err != nil {
			t.Fatal(err)
		}
		go func() { // poll so the client heartbeats and reconciles
			for !cl.PollFetches(ctx).IsClientClosed() {
			}
		}()
		return cl
	}
	a, bm := member("ia"), member("ib")
	defer bm.Close()
	var stable kmsg.ConsumerGroupDescribeResponseGroup
	waitUntil(t, 30*time.Second, "two members with two partitions each", func() bool {
		stable = describe848(t, adm, "static-g")
		ma, mb := memberOf(stable, "ia"), memberOf(stable, "ib")
		return stable.State == "Stable" && ma != nil && mb != nil && len(assignedPartitions(ma.Assignment)) == 2 && len(assignedPartitions(mb.Assignment)) == 2
	})
	aParts := assignedPartitions(memberOf(stable, "ia").Assignment)
	aID := memberOf(stable, "ia").MemberID

	a.Close() // static leave: epoch -2
	waitUntil(t, 10*time.Second, "a static leave", func() bool {
		m := memberOf(describe848(t, adm, "static-g"), "ia")
		return m != nil && m.MemberEpoch == -2
	})
	time.Sleep(2 * time.Second)
	g := describe848(t, adm, "static-g")
	if g.Epoch != stable.Epoch || len(g.Members) != 2 || !slices.Equal(assignedPartitions(memberOf(g, "ia").Assignment), aParts) ||
		len(assignedPartitions(memberOf(g, "ib").Assignment)) != 2 {
		t.Fatalf("the group changed after a static leave: before %+v\nafter %+v", stable, g)
	}

	// The same instance id comes back in a new client within the
	// session timeout: it is given a's partitions, no new group epoch.
	a2 := member("ia")
	defer a2.Close()
	waitUntil(t, 10*time.Second, "the static member's return", func() bool {
		m := memberOf(describe848(t, adm, "static-g"), "ia")
		return m != nil && m.MemberID != aID && m.MemberEpoch > 0
	})
	g = describe848(t, adm, "static-g")
	if g.Epoch != stable.Epoch || len(g.Members) != 2 || !slices.Equal(assignedPartitions(memberOf(g, "ia").Assignment), aParts) {
		t.Fatalf("the returning static member: before %+v\nafter %+v", stable, g)
	}

	// Gone for good: after the session timeout b holds all four.
	a2.Close()
	start := time.Now()
	waitUntil(t, 30*time.Second, "the static member's removal", func() bool {
		g = describe848(t, adm, "static-g")
		mb := memberOf(g, "ib")
		return len(g.Members) == 1 && mb != nil && len(assignedPartitions(mb.Assignment)) == 4
	})
	if waited := time.Since(start); waited < 6*time.Second {
		t.Fatalf("the static member was removed after %v, before its session timeout", waited)
	}
	b.stop()
}

// Rack-aware assignment on a three-node cluster whose brokers are in
// racks r1, r2, r3 (broker.rack): two kgo KIP-848 members with client.rack
// r1 and r2 each get the partitions whose replica is on their rack, the
// rest split to balance them.
func TestConsumerGroupRackAwareAssignment(t *testing.T) {
	c := &cluster{t: t}
	ctl := []string{freePort(t), freePort(t), freePort(t)}
	voters := fmt.Sprintf("1@%s,2@%s,3@%s", ctl[0], ctl[1], ctl[2])
	for i := 0; i < 3; i++ {
		c.addrs = append(c.addrs, freePort(t))
		c.dirs = append(c.dirs, t.TempDir())
	}
	for i := 0; i < 3; i++ {
		c.bs = append(c.bs, startBrokerAt(t, c.dirs[i], c.addrs[i], "--set", fmt.Sprintf("node.id=%d", i+1),
			"--set", "process.roles=broker,controller", "--set", "controller.quorum.voters="+voters,
			"--set", fmt.Sprintf("broker.rack=r%d", i+1), "--set", "group.initial.rebalance.delay.ms=200",
			"--set", "group.consumer.heartbeat.interval.ms=500"))
	}
	ctx := context.Background()
	c.waitFor("the cluster's brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	if _, err := c.admin(0).CreateTopics(ctx, 6, 1, nil, "racked"); err != nil {
		t.Fatal(err)
	}
	var parts map[int32]kadm.PartitionDetail
	c.waitFor("the topic's leaders", func() bool {
		parts = c.partitions(0, "racked")
		if len(parts) != 6 {
			return false
		}
		for _, p := range parts {
			if p.Leader < 0 {
				return false
			}
		}
		return true
	})
	rackOf := func(p int32) string { return fmt.Sprintf("r%d", parts[p].Replicas[0]) }
	onRack := map[string]int{}
	for p := range parts {
		onRack[rackOf(p)]++
	}
	for _, rack := range []string{"r1", "r2"} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs...), kgo.ConsumerGroup("racked-g"), kgo.ConsumeTopics("racked"),
			kgo.ServerSideBalancer(), kgo.Rack(rack), kgo.InstanceID(rack))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		go func() {
			for !cl.PollFetches(ctx).IsClientClosed() {
			}
		}()
	}
	adm, err := kgo.NewClient(kgo.SeedBrokers(c.addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	var g kmsg.ConsumerGroupDescribeResponseGroup
	c.waitFor("a stable group of two", func() bool {
		req := kmsg.NewPtrConsumerGroupDescribeRequest()
		req.Groups = []string{"racked-g"}
		resp, err := req.RequestWith(ctx, adm)
		if err != nil || len(resp.Groups) != 1 || resp.Groups[0].ErrorCode != 0 {
			return false
		}
		g = resp.Groups[0]
		if g.State != "Stable" || len(g.Members) != 2 {
			return false
		}
		for _, m := range g.Members {
			if len(assignedPartitions(m.Assignment)) != 3 {
				return false
			}
		}
		return true
	})
	for _, rack := range []string{"r1", "r2"} {
		m := memberOf(g, rack)
		if m == nil || m.RackID == nil || *m.RackID != rack {
			t.Fatalf("member of rack %s: %+v", rack, m)
		}
		matched := 0
		for _, p := range assignedPartitions(m.Assignment) {
			if rackOf(p) == rack {
				matched++
			}
		}
		// Each member holds every partition of its rack, up to its share.
		if want := min(onRack[rack], 3); matched != want {
			t.Fatalf("member of rack %s holds %v, %d on its rack, want %d (replicas %v)", rack, assignedPartitions(m.Assignment), matched, want, parts)
		}
	}
}
