package handler

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

// shareTestMember drives ShareFetch and ShareAcknowledge for one member
// of a share group against a broker in memory.
type shareTestMember struct {
	t         testing.TB
	b         *Broker
	group, id string
	topicID   [16]byte
	epoch     int32
	ctx       context.Context
}

func (m *shareTestMember) fetch(maxRecords int32, wait time.Duration, acks ...kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch) *kmsg.ShareFetchResponse {
	req := kmsg.NewPtrShareFetchRequest()
	req.Version = 2
	req.GroupID, req.MemberID = kmsg.StringPtr(m.group), kmsg.StringPtr(m.id)
	req.ShareSessionEpoch, req.MaxBytes, req.MaxRecords = m.epoch, 1<<20, maxRecords
	req.MaxWaitMillis = int32(wait / time.Millisecond)
	req.Topics = []kmsg.ShareFetchRequestTopic{{TopicID: m.topicID, Partitions: []kmsg.ShareFetchRequestTopicPartition{{Partition: 0, AcknowledgementBatches: acks}}}}
	resp := m.b.shareFetch(m.ctx, req).(*kmsg.ShareFetchResponse)
	if resp.ErrorCode == 0 {
		m.epoch++
	}
	return resp
}

func (m *shareTestMember) ack(first, last int64, typ int8) *kmsg.ShareAcknowledgeResponse {
	req := kmsg.NewPtrShareAcknowledgeRequest()
	req.Version = 2
	req.GroupID, req.MemberID, req.ShareSessionEpoch = kmsg.StringPtr(m.group), kmsg.StringPtr(m.id), m.epoch
	req.Topics = []kmsg.ShareAcknowledgeRequestTopic{{TopicID: m.topicID, Partitions: []kmsg.ShareAcknowledgeRequestTopicPartition{{
		Partition: 0, AcknowledgementBatches: []kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch{{FirstOffset: first, LastOffset: last, AcknowledgeTypes: []int8{typ}}},
	}}}}
	resp := m.b.shareAcknowledge(m.ctx, req).(*kmsg.ShareAcknowledgeResponse)
	if resp.ErrorCode == 0 {
		m.epoch++
	}
	return resp
}

// shareTestBroker is an in-memory broker with topic t (one partition)
// holding n records, one batch each, and group configs for share group g.
func shareTestBroker(t *testing.T, n int, groupConfigs map[string]string) (*Broker, [16]byte) {
	b, acls := authzBroker(t, authz.Config{})
	_ = acls
	for range n {
		resp := sendAs[*kmsg.ProduceResponse](t, b, superUser, produceRequest(t, "t", 0, nil), 9)
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("produce: %v", kerr.ErrorForCode(code))
		}
	}
	if len(groupConfigs) > 0 {
		if err := b.cluster.AlterGroupConfigs(context.Background(), "g", groupConfigs); err != nil {
			t.Fatal(err)
		}
	}
	return b, mustTopic(t, b, "t").ID
}

func TestShareSessionErrors(t *testing.T) {
	b, id := shareTestBroker(t, 3, map[string]string{"share.auto.offset.reset": "earliest"})
	m := &shareTestMember{t: t, b: b, group: "g", id: "m", topicID: id, ctx: superCtx()}
	ack := kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch{FirstOffset: 0, LastOffset: 0, AcknowledgeTypes: []int8{1}}

	m.epoch = 3
	if resp := m.fetch(10, 0); resp.ErrorCode != kerr.ShareSessionNotFound.Code {
		t.Fatalf("fetch without a session: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	m.epoch = 0
	if resp := m.fetch(10, 0, ack); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("acknowledging in the opening fetch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp := m.ack(0, 0, 1); resp.ErrorCode != kerr.InvalidShareSessionEpoch.Code {
		t.Fatalf("ShareAcknowledge at epoch 0: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	resp := m.fetch(10, 0)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions[0].AcquiredRecords) != 1 {
		t.Fatalf("opening fetch: %+v", resp)
	}
	if a := resp.Topics[0].Partitions[0].AcquiredRecords[0]; a.FirstOffset != 0 || a.LastOffset != 2 || a.DeliveryCount != 1 {
		t.Fatalf("acquired %+v, want 0-2 once", a)
	}
	m.epoch = 7
	if resp := m.fetch(10, 0); resp.ErrorCode != kerr.InvalidShareSessionEpoch.Code {
		t.Fatalf("fetch at a wrong epoch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	m.epoch = 1
	// A renew needs every fetch limit 0.
	req := kmsg.NewPtrShareFetchRequest()
	req.Version, req.IsRenewAck, req.MaxRecords = 2, true, 5
	req.GroupID, req.MemberID, req.ShareSessionEpoch = kmsg.StringPtr("g"), kmsg.StringPtr("m"), 1
	if resp := b.shareFetch(m.ctx, req).(*kmsg.ShareFetchResponse); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("renew with fetch limits: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// Renew outside IsRenewAck is refused per partition; a type past
	// renew too.
	if resp := m.ack(0, 0, 4); resp.Topics[0].Partitions[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("renew without IsRenewAck: %+v", resp)
	}
	if resp := m.ack(0, 0, 9); resp.Topics[0].Partitions[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("acknowledge type 9: %+v", resp)
	}
	// A batch past the acquired records fails the partition's batches
	// all together: 0 stays acquired.
	req2 := kmsg.NewPtrShareAcknowledgeRequest()
	req2.Version = 2
	req2.GroupID, req2.MemberID, req2.ShareSessionEpoch = kmsg.StringPtr("g"), kmsg.StringPtr("m"), m.epoch
	req2.Topics = []kmsg.ShareAcknowledgeRequestTopic{{TopicID: id, Partitions: []kmsg.ShareAcknowledgeRequestTopicPartition{{Partition: 0,
		AcknowledgementBatches: []kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch{
			{FirstOffset: 0, LastOffset: 0, AcknowledgeTypes: []int8{1}},
			{FirstOffset: 50, LastOffset: 60, AcknowledgeTypes: []int8{1}},
		}}}}}
	if resp := b.shareAcknowledge(m.ctx, req2).(*kmsg.ShareAcknowledgeResponse); resp.Topics[0].Partitions[0].ErrorCode == 0 {
		t.Fatalf("batches past the acquired records accepted: %+v", resp)
	}
	m.epoch++
	if resp := m.ack(0, 2, 1); resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("accepting 0-2 after the refused request: %v", kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode))
	}
	// Epoch -1 closes; the session is gone after.
	m.epoch = -1
	if resp := m.ack(0, 0, 1); resp.ErrorCode != 0 {
		t.Fatalf("closing acknowledge: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	m.epoch = 1
	if resp := m.fetch(10, 0); resp.ErrorCode != kerr.ShareSessionNotFound.Code {
		t.Fatalf("fetch after the close: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// Members racing on one partition: every record is accepted exactly once
// (each member accepts what it acquired), with lock expiries, releases and
// connection ends in between; run under -race.
func TestShareMembersRaceOnOnePartition(t *testing.T) {
	const records, members = 400, 6
	b, id := shareTestBroker(t, records, map[string]string{"share.auto.offset.reset": "earliest"})
	var mu sync.Mutex
	accepted := map[int64]int{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(superCtx(), 60*time.Second)
	defer cancel()
	for i := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// conns are the member's connections: each ends when the
			// member moves to the next, the last when it stops.
			var conns []context.CancelFunc
			defer func() {
				for _, c := range conns {
					c()
				}
			}()
			connCtx, closeConn := context.WithCancel(ctx)
			conns = append(conns, closeConn)
			m := &shareTestMember{t: t, b: b, group: "g", id: fmt.Sprintf("m%d", i), topicID: id, ctx: connCtx}
			for round := 0; ctx.Err() == nil; round++ {
				resp := m.fetch(7, 20*time.Millisecond)
				if resp.ErrorCode != 0 {
					t.Errorf("%s: fetch: %v", m.id, kerr.ErrorForCode(resp.ErrorCode))
					return
				}
				var acq []kmsg.ShareFetchResponseTopicPartitionAcquiredRecord
				for _, tp := range resp.Topics {
					for _, p := range tp.Partitions {
						acq = append(acq, p.AcquiredRecords...)
					}
				}
				mu.Lock()
				done := len(accepted) == records
				mu.Unlock()
				if done {
					return
				}
				for _, a := range acq {
					typ := int8(1)
					if (round+i)%5 == 0 && a.DeliveryCount == 1 {
						// Release: someone gets it again. Only on a first
						// delivery, so none reaches the delivery-count
						// limit and is archived instead of accepted.
						typ = 2
					}
					r := m.ack(a.FirstOffset, a.LastOffset, typ)
					if r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
						t.Errorf("%s: ack %d-%d: %+v", m.id, a.FirstOffset, a.LastOffset, r)
						return
					}
					if typ == 1 {
						mu.Lock()
						for o := a.FirstOffset; o <= a.LastOffset; o++ {
							accepted[o]++
						}
						mu.Unlock()
					}
				}
				if round%11 == 10 {
					// The connection ends: a new one opens a session.
					closeConn()
					connCtx, closeConn = context.WithCancel(ctx)
					conns = append(conns, closeConn)
					m.ctx, m.epoch = connCtx, 0
				}
			}
		}()
	}
	wg.Wait()
	if len(accepted) != records {
		t.Fatalf("accepted %d of %d records", len(accepted), records)
	}
	for o, n := range accepted {
		if n != 1 {
			t.Errorf("offset %d accepted %d times", o, n)
		}
	}
}

// superCtx is a request context of the super user.
func superCtx() context.Context {
	return WithIdentity(context.Background(), Identity{Principal: superUser, Host: "127.0.0.1"})
}

// RENEW (KIP-1222) keeps a member's lock past its duration; without it
// the lock lapses and another member gets the records.
func TestShareRenewKeepsTheLock(t *testing.T) {
	b, id := shareTestBroker(t, 2, map[string]string{"share.auto.offset.reset": "earliest", "share.record.lock.duration.ms": "300"})
	a := &shareTestMember{t: t, b: b, group: "g", id: "a", topicID: id, ctx: superCtx()}
	other := &shareTestMember{t: t, b: b, group: "g", id: "other", topicID: id, ctx: superCtx()}
	if resp := a.fetch(10, 0); len(resp.Topics) != 1 || len(resp.Topics[0].Partitions[0].AcquiredRecords) != 1 {
		t.Fatalf("a's fetch: %+v", resp)
	}
	if resp := other.fetch(10, 0); len(resp.Topics) != 0 && len(resp.Topics[0].Partitions[0].AcquiredRecords) != 0 {
		t.Fatalf("other acquired while a holds everything: %+v", resp)
	}
	renew := func() {
		req := kmsg.NewPtrShareFetchRequest()
		req.Version, req.IsRenewAck, req.MaxBytes = 2, true, 0 // every fetch limit 0
		req.GroupID, req.MemberID, req.ShareSessionEpoch = kmsg.StringPtr("g"), kmsg.StringPtr("a"), a.epoch
		req.Topics = []kmsg.ShareFetchRequestTopic{{TopicID: id, Partitions: []kmsg.ShareFetchRequestTopicPartition{{Partition: 0,
			AcknowledgementBatches: []kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch{{FirstOffset: 0, LastOffset: 1, AcknowledgeTypes: []int8{4}}}}}}}
		resp := b.shareFetch(a.ctx, req).(*kmsg.ShareFetchResponse)
		if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].AcknowledgeErrorCode != 0 {
			t.Fatalf("renew: %+v", resp)
		}
		a.epoch++
	}
	// Renewed every 150 ms for 900 ms: three lock durations.
	for range 6 {
		time.Sleep(150 * time.Millisecond)
		renew()
	}
	if resp := other.fetch(10, 0); len(resp.Topics) != 0 && len(resp.Topics[0].Partitions[0].AcquiredRecords) != 0 {
		t.Fatalf("other acquired records a kept renewing: %+v", resp)
	}
	// a stops renewing: other's long poll gets them when the lock lapses.
	start := time.Now()
	resp := other.fetch(10, 5*time.Second)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions[0].AcquiredRecords) != 1 {
		t.Fatalf("other after a's lock lapsed: %+v", resp)
	}
	if got := resp.Topics[0].Partitions[0].AcquiredRecords[0]; got.FirstOffset != 0 || got.LastOffset != 1 || got.DeliveryCount != 2 {
		t.Fatalf("other acquired %+v, want 0-1 on their second delivery", got)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("the lapse took %v for a 300 ms lock", waited)
	}
}

// A share partition nobody uses, with nothing in flight and its state
// written, leaves memory; the next fetch loads it again from the share
// coordinator, where the acknowledgements are.
func TestShareIdlePartitionEvicted(t *testing.T) {
	b, id := shareTestBroker(t, 4, map[string]string{"share.auto.offset.reset": "earliest"})
	b.shares.idleAfter = 100 * time.Millisecond
	m := &shareTestMember{t: t, b: b, group: "g", id: "m", topicID: id, ctx: superCtx()}
	resp := m.fetch(2, 0)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions[0].AcquiredRecords) == 0 {
		t.Fatalf("fetch: %+v", resp)
	}
	// Held records keep it loaded past the idle time.
	time.Sleep(300 * time.Millisecond)
	if b.shares.loaded(shareKey{"g", id, 0}) == nil {
		t.Fatal("a share partition with acquired records was evicted")
	}
	if r := m.ack(0, 1, 1); r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("ack: %+v", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.shares.loaded(shareKey{"g", id, 0}) != nil {
		if time.Now().After(deadline) {
			t.Fatal("an idle share partition stayed loaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Loaded again from the coordinator: 0-1 were accepted.
	resp = m.fetch(10, 0)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions[0].AcquiredRecords) != 1 {
		t.Fatalf("fetch after the eviction: %+v", resp)
	}
	if a := resp.Topics[0].Partitions[0].AcquiredRecords[0]; a.FirstOffset != 2 || a.LastOffset != 3 || a.DeliveryCount != 1 {
		t.Fatalf("after the eviction acquired %+v, want 2-3 once", a)
	}
}
