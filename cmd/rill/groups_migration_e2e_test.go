package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumed records which member consumed each (partition, offset).
type consumed struct {
	mu   sync.Mutex
	seen map[[2]int64][]string
}

func (c *consumed) add(member string, r *kgo.Record) {
	c.mu.Lock()
	c.seen[[2]int64{int64(r.Partition), r.Offset}] = append(c.seen[[2]int64{int64(r.Partition), r.Offset}], member)
	c.mu.Unlock()
}

func (c *consumed) has(ends map[int32]int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, end := range ends {
		for o := int64(0); o < end; o++ {
			if len(c.seen[[2]int64{int64(p), o}]) == 0 {
				return false
			}
		}
	}
	return true
}

// Online upgrade with real clients: two kgo consumers of the classic
// protocol (kgo's default cooperative-sticky balancer) consume a topic;
// a third, of the consumer protocol (kgo.ServerSideBalancer), joins the
// same group, which becomes a consumer group with the classic members
// served in it; every partition is then with exactly one member and no
// record is lost. The classic members stop and the group goes on with the
// consumer-protocol member alone.
func TestClassicGroupUpgradesOnline(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir, groupBrokerFlags...)
	ctx := context.Background()
	const topic, grp, parts = "mig", "mig-g", 6
	admCl := client(t, b.addr)
	adm := kadm.NewClient(admCl)
	if _, err := adm.CreateTopics(ctx, parts, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	prod := client(t, b.addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	ends := map[int32]int64{}
	produce := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			r, err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprint(i))}).First()
			if err != nil {
				t.Fatal(err)
			}
			ends[r.Partition] = r.Offset + 1
		}
	}
	got := &consumed{seen: map[[2]int64][]string{}}
	start := func(name string, opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr), kgo.ConsumerGroup(grp), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitInterval(200 * time.Millisecond)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				fs := cl.PollFetches(ctx)
				if fs.IsClientClosed() {
					return
				}
				fs.EachRecord(func(r *kgo.Record) { got.add(name, r) })
			}
		}()
		return cl
	}
	classic := []kgo.Opt{kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(300 * time.Millisecond)}
	c1, c2 := start("classic-1", classic...), start("classic-2", classic...)
	defer c1.Close()
	defer c2.Close()
	produce(300)
	waitUntil(t, 30*time.Second, "the classic members to consume", func() bool { return got.has(ends) })
	if typ := groupType(t, admCl, grp); typ != "classic" {
		t.Fatalf("group type %q before the upgrade", typ)
	}

	n := start("consumer", kgo.ServerSideBalancer())
	defer n.Close()
	produce(300)
	waitUntil(t, 30*time.Second, "a consumer group of three members, each partition with one", func() bool {
		if groupType(t, admCl, grp) != "consumer" {
			return false
		}
		g := describe848(t, admCl, grp)
		if g.ErrorCode != 0 || g.State != "Stable" || len(g.Members) != 3 {
			return false
		}
		owner := map[int32]int{}
		classicMembers := 0
		for _, m := range g.Members {
			ps := assignedPartitions(m.Assignment)
			if len(ps) == 0 {
				return false
			}
			for _, p := range ps {
				owner[p]++
			}
			if m.MemberType == 0 {
				classicMembers++
			}
		}
		for p := int32(0); p < parts; p++ {
			if owner[p] != 1 {
				return false
			}
		}
		return classicMembers == 2
	})
	produce(300)
	waitUntil(t, 30*time.Second, "every record consumed after the upgrade", func() bool { return got.has(ends) })

	// A broker restart: the migrated group is loaded back as a consumer
	// group with its classic members, who carry on. The members' commits
	// (the classic ones commit with their member epoch) reach the end
	// first, so nothing is redelivered for want of a commit.
	waitUntil(t, 30*time.Second, "the group's commits to reach the end", func() bool {
		offs, err := adm.FetchOffsets(ctx, grp)
		if err != nil {
			return false
		}
		for p, end := range ends {
			if o, ok := offs.Lookup(topic, p); !ok || o.At != end {
				return false
			}
		}
		return true
	})
	b.stop()
	b = startBrokerAt(t, dir, b.addr, groupBrokerFlags...)
	produce(300)
	waitUntil(t, 60*time.Second, "every record consumed after a restart", func() bool { return got.has(ends) })
	if g := describe848(t, admCl, grp); g.ErrorCode != 0 || len(g.Members) != 3 {
		t.Fatalf("after a restart: %+v", g)
	}

	// The classic members go; the consumer-protocol member takes all.
	c1.Close()
	c2.Close()
	produce(300)
	waitUntil(t, 30*time.Second, "the consumer-protocol member alone with every partition", func() bool {
		g := describe848(t, admCl, grp)
		return g.ErrorCode == 0 && len(g.Members) == 1 && g.Members[0].MemberType == 1 && len(assignedPartitions(g.Members[0].Assignment)) == parts
	})
	waitUntil(t, 30*time.Second, "every record consumed with the consumer-protocol member alone", func() bool { return got.has(ends) })
	if typ := groupType(t, admCl, grp); typ != "consumer" {
		t.Fatalf("group type %q at the end", typ)
	}
	// Redelivery is at-least-once: a record consumed twice was consumed
	// by two members across a move of its partition, after the last
	// commit of the first (kgo commits on revoke, so few or none).
	got.mu.Lock()
	dup := 0
	for k, who := range got.seen {
		if len(who) > 1 {
			dup++
			if who[0] == who[1] {
				t.Errorf("record %v consumed twice by %s", k, who[0])
			}
		}
	}
	got.mu.Unlock()
	t.Logf("%d of %d records redelivered across the migration", dup, len(got.seen))
	b.stop()
}

// Online downgrade with real clients: a kgo consumer-protocol member
// makes a consumer group and two kgo classic consumers join it; when the consumer-protocol member closes, the group is a
// classic group again and the classic members take every partition
// through their own rebalance, with no record lost.
func TestConsumerGroupDowngradesOnline(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	ctx := context.Background()
	const topic, grp, parts = "down", "down-g", 4
	admCl := client(t, b.addr)
	if _, err := kadm.NewClient(admCl).CreateTopics(ctx, parts, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	prod := client(t, b.addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	ends := map[int32]int64{}
	produce := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			r, err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprint(i))}).First()
			if err != nil {
				t.Fatal(err)
			}
			ends[r.Partition] = r.Offset + 1
		}
	}
	got := &consumed{seen: map[[2]int64][]string{}}
	start := func(name string, opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr), kgo.ConsumerGroup(grp), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitInterval(200 * time.Millisecond)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				fs := cl.PollFetches(ctx)
				if fs.IsClientClosed() {
					return
				}
				fs.EachRecord(func(r *kgo.Record) { got.add(name, r) })
			}
		}()
		return cl
	}
	n := start("consumer", kgo.ServerSideBalancer())
	defer n.Close()
	waitUntil(t, 30*time.Second, "the consumer group", func() bool {
		g := describe848(t, admCl, grp)
		return g.ErrorCode == 0 && len(g.Members) == 1
	})
	classic := []kgo.Opt{kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(300 * time.Millisecond)}
	c1, c2 := start("classic-1", classic...), start("classic-2", classic...)
	defer c1.Close()
	defer c2.Close()
	produce(200)
	waitUntil(t, 30*time.Second, "three members sharing the partitions", func() bool {
		g := describe848(t, admCl, grp)
		if g.ErrorCode != 0 || g.State != "Stable" || len(g.Members) != 3 {
			return false
		}
		for _, m := range g.Members {
			if len(assignedPartitions(m.Assignment)) == 0 {
				return false
			}
		}
		return true
	})
	waitUntil(t, 30*time.Second, "every record consumed", func() bool { return got.has(ends) })

	n.Close()
	produce(200)
	waitUntil(t, 30*time.Second, "a classic group of the two classic members with every partition", func() bool {
		if groupType(t, admCl, grp) != "classic" {
			return false
		}
		gs, err := kadm.NewClient(admCl).DescribeGroups(ctx, grp)
		if err != nil {
			return false
		}
		g := gs[grp]
		if g.State != "Stable" || len(g.Members) != 2 {
			return false
		}
		owner := map[int32]int{}
		for _, m := range g.Members {
			ca, ok := m.Assigned.AsConsumer()
			if !ok {
				return false
			}
			for _, tp := range ca.Topics {
				for _, p := range tp.Partitions {
					owner[p]++
				}
			}
		}
		for p := int32(0); p < parts; p++ {
			if owner[p] != 1 {
				return false
			}
		}
		return true
	})
	waitUntil(t, 30*time.Second, "every record consumed after the downgrade", func() bool { return got.has(ends) })
	b.stop()
}
