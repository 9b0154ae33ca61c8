package main

// Share groups (KIP-932) against real `rill serve` processes: kgo share
// consumers splitting partitions, and the record states driven through
// ShareFetch and ShareAcknowledge by hand (accept, release, reject,
// acquisition lock expiry, the delivery-count limit, a member's
// connection dropped mid-batch), across a SIGKILL of the broker and a
// leader failover on three nodes.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
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

// shareSetGroupConfigs sets group configs (share.auto.offset.reset, ...)
// with IncrementalAlterConfigs on the GROUP resource.
func shareSetGroupConfigs(t *testing.T, cl *kgo.Client, group string, kv ...string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	for i := 0; i+1 < len(kv); i += 2 {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = kv[i], kmsg.StringPtr(kv[i+1])
		r.Configs = append(r.Configs, c)
	}
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			t.Fatalf("setting group configs %v: %v %v", kv, err, r.ErrorMessage)
		}
	}
}

// shareProduce writes n records to partition 0 of topic, each its own
// batch, values "0".."n-1" after prefix.
func shareProduce(t *testing.T, cl *kgo.Client, topic string, from, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := from; i < from+n; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// shareMember drives ShareFetch and ShareAcknowledge by hand for one
// member, over its own client (so its own connection and share session).
type shareMember struct {
	t       *testing.T
	cl      *kgo.Client
	group   string
	id      string
	topicID [16]byte
	epoch   int32
}

func newShareMember(t *testing.T, addr, group, id string, topicID [16]byte) *shareMember {
	return &shareMember{t: t, cl: client(t, addr), group: group, id: id, topicID: topicID}
}

// acquired is one AcquiredRecords range.
type acquired struct {
	first, last int64
	count       int16
}

// fetch sends a ShareFetch for partition 0 (acknowledging acks first, as
// a piggyback) and returns the ranges acquired.
func (m *shareMember) fetch(maxWait time.Duration, maxRecords int32, acks ...kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch) []acquired {
	m.t.Helper()
	req := kmsg.NewPtrShareFetchRequest()
	req.Version = 2
	req.GroupID, req.MemberID = kmsg.StringPtr(m.group), kmsg.StringPtr(m.id)
	req.ShareSessionEpoch = m.epoch
	req.MaxWaitMillis, req.MaxBytes, req.MaxRecords = int32(maxWait/time.Millisecond), 1<<20, maxRecords
	req.ShareAcquireMode = 1 // record limit: exactly maxRecords at most
	rt := kmsg.NewShareFetchRequestTopic()
	rt.TopicID = m.topicID
	rp := kmsg.NewShareFetchRequestTopicPartition()
	rp.AcknowledgementBatches = acks
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), maxWait+30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		m.t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		m.t.Fatalf("%s: share fetch epoch %d: %v", m.id, m.epoch, err)
	}
	m.epoch++
	var out []acquired
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				m.t.Fatalf("%s: share fetch partition: %v", m.id, err)
			}
			if err := kerr.ErrorForCode(p.AcknowledgeErrorCode); err != nil {
				m.t.Fatalf("%s: piggybacked ack: %v", m.id, err)
			}
			if len(p.AcquiredRecords) > 0 && len(p.Records) == 0 {
				m.t.Fatalf("%s: acquired %v with no record data", m.id, p.AcquiredRecords)
			}
			for _, a := range p.AcquiredRecords {
				out = append(out, acquired{a.FirstOffset, a.LastOffset, a.DeliveryCount})
			}
		}
	}
	return out
}

// ack sends a ShareAcknowledge of first..last with one type and returns
// the partition's error.
func (m *shareMember) ack(first, last int64, typ int8) error {
	m.t.Helper()
	req := kmsg.NewPtrShareAcknowledgeRequest()
	req.Version = 2
	req.GroupID, req.MemberID = kmsg.StringPtr(m.group), kmsg.StringPtr(m.id)
	req.ShareSessionEpoch = m.epoch
	rt := kmsg.NewShareAcknowledgeRequestTopic()
	rt.TopicID = m.topicID
	rp := kmsg.NewShareAcknowledgeRequestTopicPartition()
	b := kmsg.NewShareAcknowledgeRequestTopicPartitionAcknowledgementBatch()
	b.FirstOffset, b.LastOffset, b.AcknowledgeTypes = first, last, []int8{typ}
	rp.AcknowledgementBatches = append(rp.AcknowledgementBatches, b)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), m.cl)
	if err != nil {
		m.t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		m.t.Fatalf("%s: share acknowledge epoch %d: %v", m.id, m.epoch, err)
	}
	m.epoch++
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			return kerr.ErrorForCode(p.ErrorCode)
		}
	}
	m.t.Fatalf("%s: acknowledgement answered no partition", m.id)
	return nil
}

const (
	ackAccept  int8 = 1
	ackRelease int8 = 2
	ackReject  int8 = 3
)

// shareTopic creates a topic and returns its id.
func shareTopic(t *testing.T, adm *kadm.Client, topic string, partitions int32, rf int16) [16]byte {
	t.Helper()
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, partitions, rf, nil, topic); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		td, err := adm.ListTopics(ctx, topic)
		if err == nil && td[topic].Err == nil && len(td[topic].Partitions) == int(partitions) {
			ready := true
			for _, p := range td[topic].Partitions {
				ready = ready && p.Leader >= 0
			}
			if ready {
				return td[topic].ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s not ready: %v", topic, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestShareRecordStates(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "group.share.min.record.lock.duration.ms=1000")
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	id := shareTopic(t, adm, "states", 1, 1)
	shareSetGroupConfigs(t, cl, "g", "share.auto.offset.reset", "earliest", "share.delivery.count.limit", "2")
	shareProduce(t, cl, "states", 0, 5)

	a := newShareMember(t, b.addr, "g", "member-a", id)
	bm := newShareMember(t, b.addr, "g", "member-b", id)
	got := a.fetch(5*time.Second, 5)
	if !slices.Equal(got, []acquired{{0, 4, 1}}) {
		t.Fatalf("a acquired %v, want 0-4 once", got)
	}
	// b finds nothing: a holds every record.
	if got := bm.fetch(200*time.Millisecond, 5); len(got) != 0 {
		t.Fatalf("b acquired %v while a holds everything", got)
	}
	for _, step := range []struct {
		first, last int64
		typ         int8
	}{{0, 1, ackAccept}, {2, 2, ackRelease}, {3, 3, ackReject}, {4, 4, ackRelease}} {
		if err := a.ack(step.first, step.last, step.typ); err != nil {
			t.Fatalf("a acking %d-%d type %d: %v", step.first, step.last, step.typ, err)
		}
	}
	// Acknowledging a record a no longer holds is refused.
	if err := a.ack(4, 4, ackAccept); err != kerr.InvalidRecordState {
		t.Fatalf("acking a released record again: %v, want INVALID_RECORD_STATE", err)
	}
	got = bm.fetch(5*time.Second, 10)
	if !slices.Equal(got, []acquired{{2, 2, 2}, {4, 4, 2}}) {
		t.Fatalf("b acquired %v, want the released 2 and 4 on their second delivery", got)
	}
	// b releases 2 at the delivery limit (archived) and accepts 4.
	if err := bm.ack(2, 2, ackRelease); err != nil {
		t.Fatal(err)
	}
	if err := bm.ack(4, 4, ackAccept); err != nil {
		t.Fatal(err)
	}
	if got := a.fetch(300*time.Millisecond, 10); len(got) != 0 {
		t.Fatalf("a acquired %v after every record was accepted, rejected or archived", got)
	}
	// New records go on from offset 5.
	shareProduce(t, cl, "states", 5, 1)
	if got := a.fetch(5*time.Second, 10); !slices.Equal(got, []acquired{{5, 5, 1}}) {
		t.Fatalf("a acquired %v, want the new record 5", got)
	}
}

func TestShareLockExpiryAndDroppedMember(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "group.share.min.record.lock.duration.ms=1000")
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	id := shareTopic(t, adm, "locks", 1, 1)
	shareSetGroupConfigs(t, cl, "short", "share.auto.offset.reset", "earliest", "share.record.lock.duration.ms", "1000")
	shareSetGroupConfigs(t, cl, "long", "share.auto.offset.reset", "earliest", "share.record.lock.duration.ms", "60000")
	shareProduce(t, cl, "locks", 0, 3)

	// A lock that times out: b's long poll wakes when a's lock lapses and
	// gets the records on their second delivery.
	a := newShareMember(t, b.addr, "short", "a", id)
	bm := newShareMember(t, b.addr, "short", "b", id)
	if got := a.fetch(5*time.Second, 10); !slices.Equal(got, []acquired{{0, 2, 1}}) {
		t.Fatalf("a acquired %v", got)
	}
	start := time.Now()
	if got := bm.fetch(10*time.Second, 10); !slices.Equal(got, []acquired{{0, 2, 2}}) {
		t.Fatalf("b acquired %v after a's lock lapsed, want 0-2 on delivery 2", got)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("b waited %v for a 1 s lock", waited)
	}
	if err := a.ack(0, 0, ackAccept); err != kerr.InvalidRecordState {
		t.Fatalf("a acking after its lock lapsed: %v, want INVALID_RECORD_STATE", err)
	}

	// A member whose connection drops mid-batch (as a SIGKILLed consumer's
	// does) gives its records back at once, long before its 60 s lock,
	// and, as Kafka 4.2, without counting the delivery it never processed.
	c := newShareMember(t, b.addr, "long", "c", id)
	if got := c.fetch(5*time.Second, 10); !slices.Equal(got, []acquired{{0, 2, 1}}) {
		t.Fatalf("c acquired %v", got)
	}
	c.cl.Close()
	d := newShareMember(t, b.addr, "long", "d", id)
	start = time.Now()
	if got := d.fetch(10*time.Second, 10); !slices.Equal(got, []acquired{{0, 2, 1}}) {
		t.Fatalf("d acquired %v after c's connection dropped", got)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("d waited %v: c's records were not released when its connection closed", waited)
	}
}

func TestShareStateSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	b := startBrokerAt(t, dir, addr)
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	id := shareTopic(t, adm, "durable", 1, 1)
	shareSetGroupConfigs(t, cl, "g", "share.auto.offset.reset", "earliest")
	shareProduce(t, cl, "durable", 0, 100)

	a := newShareMember(t, b.addr, "g", "a", id)
	if got := a.fetch(5*time.Second, 50); !slices.Equal(got, []acquired{{0, 49, 1}}) {
		t.Fatalf("acquired %v", got)
	}
	if err := a.ack(0, 49, ackAccept); err != nil {
		t.Fatal(err)
	}
	// Acquired, never acknowledged: redelivered after the crash.
	if got := a.fetch(5*time.Second, 10); !slices.Equal(got, []acquired{{50, 59, 1}}) {
		t.Fatalf("acquired %v", got)
	}
	b.kill()
	cl.Close()

	b = startBrokerAt(t, dir, addr)
	next := newShareMember(t, b.addr, "g", "after", id)
	var got []acquired
	deadline := time.Now().Add(60 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		got = next.fetchRetrying(5*time.Second, 100)
	}
	if len(got) == 0 || got[0].first != 50 || got[len(got)-1].last != 99 {
		t.Fatalf("after the crash acquired %v, want 50-99 (0-49 were accepted before it)", got)
	}
	for _, g := range got {
		if g.first < 50 {
			t.Fatalf("an accepted record came back after the crash: %v", got)
		}
	}
}

// fetchRetrying is fetch, but a share fetch refused while the restarted
// broker loads (its state coordinator, its partitions) opens a new
// session and tries again instead of failing.
func (m *shareMember) fetchRetrying(maxWait time.Duration, maxRecords int32) []acquired {
	m.t.Helper()
	req := kmsg.NewPtrShareFetchRequest()
	req.Version = 2
	req.GroupID, req.MemberID = kmsg.StringPtr(m.group), kmsg.StringPtr(m.id)
	req.ShareSessionEpoch = 0
	req.MaxWaitMillis, req.MaxBytes, req.MaxRecords = int32(maxWait/time.Millisecond), 1<<20, maxRecords
	req.ShareAcquireMode = 1
	rt := kmsg.NewShareFetchRequestTopic()
	rt.TopicID = m.topicID
	rt.Partitions = append(rt.Partitions, kmsg.NewShareFetchRequestTopicPartition())
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), m.cl)
	if err != nil || resp.ErrorCode != 0 {
		time.Sleep(200 * time.Millisecond)
		return nil
	}
	var out []acquired
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				time.Sleep(200 * time.Millisecond)
				return nil
			}
			for _, a := range p.AcquiredRecords {
				out = append(out, acquired{a.FirstOffset, a.LastOffset, a.DeliveryCount})
			}
		}
	}
	return out
}

// shareConsume runs a kgo share consumer until stop, counting every
// record it is handed by value (each is accepted at the next poll).
func shareConsume(ctx context.Context, t *testing.T, addrs []string, group, topic string, seen func(member int, value string), member int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ShareGroup(group), kgo.ConsumeTopics(topic), kgo.ShareMaxRecords(10))
	if err != nil {
		t.Error(err)
		return
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			seen(member, string(r.Value))
			r.Ack(kgo.AckAccept)
		})
	}
}

func TestShareConsumersSplitAPartition(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	shareTopic(t, adm, "split", 1, 1)
	shareSetGroupConfigs(t, cl, "workers", "share.auto.offset.reset", "earliest")
	const n = 300
	shareProduce(t, cl, "split", 0, n)

	var mu sync.Mutex
	counts := map[string]int{}
	byMember := map[int]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for m := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shareConsume(ctx, t, []string{b.addr}, "workers", "split", func(member int, v string) {
				mu.Lock()
				defer mu.Unlock()
				counts[v]++
				byMember[member]++
				if len(counts) == n {
					cancel()
				}
			}, m)
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(counts) != n {
		t.Fatalf("consumed %d distinct records of %d", len(counts), n)
	}
	for v, c := range counts {
		if c != 1 {
			t.Errorf("record %s delivered %d times with no failure", v, c)
		}
	}
	members := 0
	for _, c := range byMember {
		if c > 0 {
			members++
		}
	}
	if members < 2 {
		t.Errorf("one partition's records went to %d member(s) of 3: %v", members, byMember)
	}
	t.Logf("records per member: %v", byMember)
}

func TestShareConsumersAcrossLeaderFailover(t *testing.T) {
	c := startCluster(t)
	adm := c.admin(0)
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(context.Background())
		return err == nil && len(m.Brokers) == 3
	})
	shareTopic(t, adm, "failover", 1, 3)
	c.waitFor("full ISR", func() bool { return c.fullISR("failover", 1, 0) })
	cl := client(t, c.addrs[0])
	shareSetGroupConfigs(t, cl, "ha", "share.auto.offset.reset", "earliest")
	const n = 400
	shareProduce(t, cl, "failover", 0, n)

	var mu sync.Mutex
	counts := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	half := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for m := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shareConsume(ctx, t, c.addrs, "ha", "failover", func(_ int, v string) {
				mu.Lock()
				defer mu.Unlock()
				counts[v]++
				if len(counts) >= n/4 {
					once.Do(func() { close(half) })
				}
				if len(counts) == n {
					cancel()
				}
			}, m)
		}()
	}
	select {
	case <-half:
	case <-ctx.Done():
		t.Fatalf("consumed %d records before the failover", len(counts))
	}
	leader := int(c.partitions(0, "failover")[0].Leader)
	c.bs[leader-1].kill()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for i := range n {
		switch counts[strconv.Itoa(i)] {
		case 0:
			t.Errorf("record %d never delivered", i)
		case 1:
		default:
			dups++
		}
	}
	t.Logf("leader %d killed after %d records; %d of %d records delivered more than once", leader, n/4, dups, n)
	if t.Failed() {
		t.Log(c.logs())
	}
}

// shareHeartbeat joins member to group subscribed to topic (epoch 0) or,
// with leave, takes it out (epoch -1).
func shareHeartbeat(t *testing.T, cl *kgo.Client, group, member, topic string, leave bool) {
	t.Helper()
	req := kmsg.NewPtrShareGroupHeartbeatRequest()
	req.Version = 1
	req.GroupID, req.MemberID = group, member
	if leave {
		req.MemberEpoch = -1
	} else {
		req.SubscribedTopicNames = []string{topic}
	}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("share heartbeat %s/%s leave=%v: %v", group, member, leave, err)
	}
}

func TestShareGroupOffsetsAdmin(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	id := shareTopic(t, adm, "adm", 1, 1)
	shareSetGroupConfigs(t, cl, "ga", "share.auto.offset.reset", "earliest")
	shareProduce(t, cl, "adm", 0, 20)

	startOf := func() (int64, int64, bool) {
		t.Helper()
		d, err := adm.DescribeShareGroupOffsets(ctx, "ga")
		if err != nil || d["ga"].Err != nil {
			t.Fatalf("describe share offsets: %v %v", err, d["ga"].Err)
		}
		o, ok := d["ga"].Offsets.Lookup("adm", 0)
		return o.StartOffset, o.Lag, ok
	}

	shareHeartbeat(t, cl, "ga", "m1", "adm", false)
	m1 := newShareMember(t, b.addr, "ga", "m1", id)
	if got := m1.fetch(5*time.Second, 10); !slices.Equal(got, []acquired{{0, 9, 1}}) {
		t.Fatalf("acquired %v", got)
	}
	if err := m1.ack(0, 9, ackAccept); err != nil {
		t.Fatal(err)
	}
	if start, lag, ok := startOf(); !ok || start != 10 || lag != 10 {
		t.Fatalf("after accepting 0-9: start %d lag %d (found %v), want 10 and 10", start, lag, ok)
	}
	at := func(o int64) kadm.Offsets {
		os := kadm.Offsets{}
		os.Add(kadm.Offset{Topic: "adm", Partition: 0, At: o, LeaderEpoch: -1})
		return os
	}
	if _, err := adm.AlterShareGroupOffsets(ctx, "ga", at(15)); err == nil || !strings.Contains(err.Error(), kerr.NonEmptyGroup.Message) {
		t.Fatalf("altering a group with a member: %v, want NON_EMPTY_GROUP", err)
	}
	shareHeartbeat(t, cl, "ga", "m1", "adm", true)

	// Offsets moved forward: the next member starts at 15.
	res, err := adm.AlterShareGroupOffsets(ctx, "ga", at(15))
	if err != nil {
		t.Fatal(err)
	}
	if perr, ok := res.Lookup("adm", 0); !ok || perr != nil {
		t.Fatalf("alter: %v %v", perr, ok)
	}
	if start, _, _ := startOf(); start != 15 {
		t.Fatalf("start offset after the alter: %d, want 15", start)
	}
	shareHeartbeat(t, cl, "ga", "m2", "adm", false)
	m2 := newShareMember(t, b.addr, "ga", "m2", id)
	if got := m2.fetch(5*time.Second, 10); !slices.Equal(got, []acquired{{15, 19, 1}}) {
		t.Fatalf("after the alter acquired %v, want 15-19", got)
	}
	if err := m2.ack(15, 19, ackAccept); err != nil {
		t.Fatal(err)
	}
	if start, lag, _ := startOf(); start != 20 || lag != 0 {
		t.Fatalf("after accepting everything: start %d lag %d, want 20 and 0", start, lag)
	}
	shareHeartbeat(t, cl, "ga", "m2", "adm", true)

	// Deleted offsets: the group starts the topic again, at earliest.
	del, err := adm.DeleteShareGroupOffsets(ctx, "ga", "adm")
	if err != nil {
		t.Fatal(err)
	}
	if derr, ok := del.Lookup("adm"); !ok || derr != nil {
		t.Fatalf("delete: %v %v", derr, ok)
	}
	if _, _, ok := startOf(); ok {
		t.Fatal("the deleted share partition is still described")
	}
	shareHeartbeat(t, cl, "ga", "m3", "adm", false)
	m3 := newShareMember(t, b.addr, "ga", "m3", id)
	if got := m3.fetch(5*time.Second, 5); !slices.Equal(got, []acquired{{0, 4, 1}}) {
		t.Fatalf("after deleting the offsets acquired %v, want 0-4 again", got)
	}
	shareHeartbeat(t, cl, "ga", "m3", "adm", true)

	// Deleting the group deletes its state too: a new group of the same
	// name starts afresh.
	m3.cl.Close()
	if _, err := adm.DeleteGroup(ctx, "ga"); err != nil {
		t.Fatal(err)
	}
	shareHeartbeat(t, cl, "ga", "m4", "adm", false)
	m4 := newShareMember(t, b.addr, "ga", "m4", id)
	if got := m4.fetch(5*time.Second, 20); !slices.Equal(got, []acquired{{0, 19, 1}}) {
		t.Fatalf("a new group of a deleted one's name acquired %v, want 0-19 on first delivery", got)
	}
}

// A `rill consume --share-group` process SIGKILLed in the middle of what it
// was handed: its output pipe is not read, so it blocks printing its first
// fetch and holds the rest of it when it is killed. Its connection drops,
// the broker releases those records at once (not after the group's 60 s
// lock), and a second member gets every record the first did not print,
// so each record reaches a member at least once.
func TestShareMemberSIGKILLed(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	shareTopic(t, adm, "killed", 1, 1)
	shareSetGroupConfigs(t, cl, "gk", "share.auto.offset.reset", "earliest", "share.record.lock.duration.ms", "60000")
	const n = 2000
	pad := strings.Repeat("x", 200) // 400 KB of output: far more than a pipe holds
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "killed", Value: []byte(fmt.Sprintf("%d %s", i, pad))}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rillBin, "consume", "--bootstrap="+b.addr, "--share-group", "gk", "--topic", "killed", "--format", `%v\n`)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// The member now blocks writing once the pipe is full, holding what
	// it acquired and has not printed.
	time.Sleep(2 * time.Second)
	cmd.Process.Signal(syscall.SIGKILL)
	seen := map[string]int{strings.Fields(line)[0]: 1}
	printed := 1
	for {
		line, err := out.ReadString('\n')
		if err != nil {
			break
		}
		seen[strings.Fields(line)[0]]++
		printed++
	}
	cmd.Wait()
	if printed >= n {
		t.Fatalf("the first member printed all %d records before it was killed", printed)
	}

	start := time.Now()
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	shareConsume(ctx, t, []string{b.addr}, "gk", "killed", func(_ int, v string) {
		mu.Lock()
		defer mu.Unlock()
		seen[strings.Fields(v)[0]]++
		if len(seen) == n {
			cancel()
		}
	}, 0)
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for i := range n {
		if seen[strconv.Itoa(i)] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d records reached no member (the killed one printed %d)", missing, printed)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the second member took %v: the killed member's records waited for their 60 s lock", took)
	}
	t.Logf("the killed member printed %d records; the second member got the rest in %v", printed, time.Since(start).Round(time.Millisecond))
}

// kgo acknowledges a partition's records in the same request that forgets
// the partition (a revoked or paused cursor): the acknowledgements apply,
// and the records are not handed out again.
func TestShareForgetWithAcks(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	id := shareTopic(t, kadm.NewClient(cl), "forget", 1, 1)
	shareSetGroupConfigs(t, cl, "g", "share.auto.offset.reset", "earliest")
	shareProduce(t, cl, "forget", 0, 5)
	a := newShareMember(t, b.addr, "g", "member-a", id)
	if got := a.fetch(5*time.Second, 5); !slices.Equal(got, []acquired{{0, 4, 1}}) {
		t.Fatalf("a acquired %v", got)
	}
	req := kmsg.NewPtrShareFetchRequest()
	req.Version = 2
	req.GroupID, req.MemberID, req.ShareSessionEpoch = kmsg.StringPtr("g"), kmsg.StringPtr("member-a"), a.epoch
	req.MaxWaitMillis, req.MaxBytes, req.MaxRecords = 100, 1<<20, 5
	rt := kmsg.NewShareFetchRequestTopic()
	rt.TopicID = id
	rp := kmsg.NewShareFetchRequestTopicPartition()
	ab := kmsg.NewShareFetchRequestTopicPartitionAcknowledgementBatch()
	ab.FirstOffset, ab.LastOffset, ab.AcknowledgeTypes = 0, 4, []int8{ackAccept}
	rp.AcknowledgementBatches = append(rp.AcknowledgementBatches, ab)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ft := kmsg.NewShareFetchRequestForgottenTopicsData()
	ft.TopicID, ft.Partitions = id, []int32{0}
	req.ForgottenTopicsData = append(req.ForgottenTopicsData, ft)
	resp, err := req.RequestWith(context.Background(), a.cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatal(err, resp.ErrorCode)
	}
	for _, tt := range resp.Topics {
		for _, p := range tt.Partitions {
			if err := kerr.ErrorForCode(p.AcknowledgeErrorCode); err != nil {
				t.Fatalf("ack with forget: %v", err)
			}
		}
	}
	bm := newShareMember(t, b.addr, "g", "member-b", id)
	if got := bm.fetch(time.Second, 5); len(got) != 0 {
		t.Fatalf("accepted records delivered again: %v", got)
	}
}

// brokerTicks is the broker process's CPU time in clock ticks.
func brokerTicks(t *testing.T, b *broker) int64 {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(s)[strings.LastIndex(string(s), ")")+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// A read_committed share group waits out its long poll while a
// transaction is open (the records past the last stable offset cannot be
// handed out yet) instead of reading again and again; and a session with a
// partition that fails waits for its good partition.
func TestShareLongPollsWait(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	id := shareTopic(t, kadm.NewClient(cl), "rc", 1, 1)
	shareSetGroupConfigs(t, cl, "g", "share.auto.offset.reset", "earliest", "share.isolation.level", "read_committed")
	shareProduce(t, cl, "rc", 0, 1)
	txn := client(t, b.addr, kgo.TransactionalID("tx"))
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(context.Background(), &kgo.Record{Topic: "rc", Partition: 0, Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	a := newShareMember(t, b.addr, "g", "member-a", id)
	if got := a.fetch(2*time.Second, 5); !slices.Equal(got, []acquired{{0, 0, 1}}) {
		t.Fatalf("acquired %v, want the committed record 0 only", got)
	}
	before := brokerTicks(t, b)
	start := time.Now()
	if got := a.fetch(3*time.Second, 5, kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch{FirstOffset: 0, LastOffset: 0, AcknowledgeTypes: []int8{ackAccept}}); len(got) != 0 {
		t.Fatalf("acquired %v past the open transaction", got)
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("the long poll ended after %v, want MaxWait", waited)
	}
	if used := brokerTicks(t, b) - before; used > 50 {
		t.Fatalf("the broker used %d CPU ticks in a 3 s idle long poll", used)
	}

	// Partition 7 of a one-partition topic fails at once; the fetch still
	// waits for partition 0.
	req := kmsg.NewPtrShareFetchRequest()
	req.Version = 2
	req.GroupID, req.MemberID, req.ShareSessionEpoch = kmsg.StringPtr("g"), kmsg.StringPtr("member-c"), 0
	req.MaxWaitMillis, req.MaxBytes, req.MaxRecords = 2000, 1<<20, 5
	rt := kmsg.NewShareFetchRequestTopic()
	rt.TopicID = id
	for _, p := range []int32{0, 7} {
		rp := kmsg.NewShareFetchRequestTopicPartition()
		rp.Partition = p
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	c := client(t, b.addr)
	start = time.Now()
	resp, err := req.RequestWith(context.Background(), c)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatal(err, resp.ErrorCode)
	}
	if waited := time.Since(start); waited < 1500*time.Millisecond {
		t.Fatalf("a failing partition ended the long poll after %v", waited)
	}
	found := false
	for _, tt := range resp.Topics {
		for _, p := range tt.Partitions {
			if p.Partition == 7 {
				found = p.ErrorCode == kerr.UnknownTopicOrPartition.Code
			}
		}
	}
	if !found {
		t.Fatalf("partition 7 not answered UNKNOWN_TOPIC_OR_PARTITION: %+v", resp.Topics)
	}
}

// share.version (KIP-932's feature) is finalized at 1 on a new cluster;
// downgraded to 0 the share-group APIs leave ApiVersions and answer
// UNSUPPORTED_VERSION; upgraded again they are back.
func TestShareVersionFeature(t *testing.T) {
	b := startBroker(t, t.TempDir())
	ctx := context.Background()
	state := func() (level int16, advertised bool) {
		t.Helper()
		av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, client(t, b.addr))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range av.FinalizedFeatures {
			if f.Name == "share.version" {
				level = f.MaxVersionLevel
			}
		}
		for _, k := range av.ApiKeys {
			advertised = advertised || k.ApiKey == 76
		}
		return level, advertised
	}
	update := func(level int16, typ int8) {
		t.Helper()
		req := kmsg.NewPtrUpdateFeaturesRequest()
		u := kmsg.NewUpdateFeaturesRequestFeatureUpdate()
		u.Feature, u.MaxVersionLevel, u.UpgradeType = "share.version", level, typ
		req.FeatureUpdates = append(req.FeatureUpdates, u)
		resp, err := req.RequestWith(ctx, client(t, b.addr))
		if err != nil {
			t.Fatal(err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			t.Fatalf("share.version to %d: %v", level, err)
		}
		for _, r := range resp.Results {
			if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
				t.Fatalf("share.version to %d: %v", level, err)
			}
		}
	}
	waitState := func(level int16, advertised bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			l, a := state()
			if l == level && a == advertised {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("share.version %d, ShareGroupHeartbeat advertised %v; want %d, %v", l, a, level, advertised)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitState(1, true)
	update(0, 2) // safe downgrade
	waitState(0, false)
	cl := client(t, b.addr)
	shareTopic(t, kadm.NewClient(cl), "gated", 1, 1)
	hb := kmsg.NewPtrShareGroupHeartbeatRequest()
	hb.Version, hb.GroupID, hb.MemberID, hb.SubscribedTopicNames = 1, "g", "m", []string{"gated"}
	// A client does not send it (not advertised): kgo refuses locally.
	if _, err := hb.RequestWith(ctx, client(t, b.addr)); err == nil {
		t.Fatal("kgo sent a ShareGroupHeartbeat the broker does not advertise")
	}
	update(1, 1)
	waitState(1, true)
	// A new client (cl's cached the versions of share.version 0).
	shareHeartbeat(t, client(t, b.addr), "g", "m", "gated", false)
}

// The admin listener's share metrics: a member's session, its share
// partition and the records it holds.
func TestShareMetrics(t *testing.T) {
	b := startBroker(t, t.TempDir(), adminOnAnyPort...)
	base := adminURL(t, b)
	cl := client(t, b.addr)
	id := shareTopic(t, kadm.NewClient(cl), "metered", 1, 1)
	shareSetGroupConfigs(t, cl, "g", "share.auto.offset.reset", "earliest")
	shareProduce(t, cl, "metered", 0, 3)
	a := newShareMember(t, b.addr, "g", "a", id)
	if got := a.fetch(5*time.Second, 10); !slices.Equal(got, []acquired{{0, 2, 1}}) {
		t.Fatalf("acquired %v", got)
	}
	waitScrape(t, base, "share metrics", func(m map[string]float64) bool {
		return m["rill_share_sessions"] == 1 && m["rill_share_partitions"] == 1 && m["rill_share_in_flight_records"] == 3
	}, b.log)
	if err := a.ack(0, 2, ackAccept); err != nil {
		t.Fatal(err)
	}
	waitScrape(t, base, "no records in flight after the acknowledgement", func(m map[string]float64) bool {
		return m["rill_share_in_flight_records"] == 0
	}, b.log)
}
