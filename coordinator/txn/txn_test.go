package txn

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

// counter is a producer id allocator: 1000, 1001, ... Safe for the
// shards' goroutines, as the broker's is.
type counter struct {
	mu   sync.Mutex
	next int64
}

func (c *counter) NextProducerID() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == 0 {
		c.next = 1000
	}
	c.next++
	return c.next - 1, nil
}

var t0 = time.UnixMilli(1_700_000_000_000)

func newTestPartition() *Partition {
	return NewPartition(DefaultConfig(), &counter{}, 0)
}

// ack applies d's write as if the log acknowledged it.
func ack(p *Partition, d Decision) Decision {
	if d.Write != nil {
		p.Apply(d.Write)
	}
	return d
}

func tp(topic string, n int32) kafka.TopicPartition {
	return kafka.TopicPartition{Topic: topic, Partition: n}
}

// put installs m as if replayed.
func put(p *Partition, m Metadata) {
	if m.PreviousProducerID == 0 {
		m.PreviousProducerID = NoProducerID
	}
	if m.NextProducerID == 0 {
		m.NextProducerID = NoProducerID
	}
	if m.Timeout == 0 {
		m.Timeout = time.Minute
	}
	if m.LastUpdate.IsZero() {
		m.LastUpdate = t0
	}
	p.txns[m.TransactionalID] = m.Clone()
}

func get(t *testing.T, p *Partition, id string) *Metadata {
	t.Helper()
	m, ok := p.Get(id)
	if !ok {
		t.Fatalf("%s: not found", id)
	}
	return m
}

// TestInitProducerID follows Kafka's TransactionCoordinator.
// prepareInitProducerIdTransit and TransactionMetadata.
// prepareIncrementProducerEpoch / prepareProducerIdRotation, with KIP-360
// (producer id and epoch in InitProducerId v3+).
func TestInitProducerID(t *testing.T) {
	ongoing := Metadata{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 3, LastProducerEpoch: 2, State: Ongoing, Partitions: []kafka.TopicPartition{tp("a", 0)}, Start: t0}
	for _, c := range []struct {
		name       string
		have       *Metadata
		req        InitProducerID
		err        error
		pid        int64
		epoch      int16
		write      bool
		wantState  State
		wantLast   int16
		wantMarker bool
	}{
		{name: "new id gets a producer id at epoch 0", req: InitProducerID{Timeout: time.Minute}, pid: 1000, epoch: 0, write: true, wantState: Empty, wantLast: -1},
		{name: "new id with KIP-360 identity is still new (epoch -1 case)", req: InitProducerID{Timeout: time.Minute, Current: &Producer{ID: 5, Epoch: 9}}, pid: 1000, epoch: 0, write: true, wantState: Empty, wantLast: -1},
		{name: "empty id is INVALID_REQUEST", req: InitProducerID{TransactionalID: "-", Timeout: time.Minute}, err: ErrInvalidRequest},
		{name: "zero timeout", req: InitProducerID{Timeout: 0}, err: ErrInvalidTransactionTimeout},
		{name: "timeout above transaction.max.timeout.ms", req: InitProducerID{Timeout: 15*time.Minute + time.Millisecond}, err: ErrInvalidTransactionTimeout},
		{name: "Empty bumps the epoch", have: &Metadata{ProducerID: 7, ProducerEpoch: 3, State: Empty}, req: InitProducerID{Timeout: time.Minute}, pid: 7, epoch: 4, write: true, wantState: Empty, wantLast: -1},
		{name: "CompleteCommit bumps the epoch", have: &Metadata{ProducerID: 7, ProducerEpoch: 3, State: CompleteCommit}, req: InitProducerID{Timeout: time.Minute}, pid: 7, epoch: 4, write: true, wantState: Empty, wantLast: -1},
		{name: "CompleteAbort bumps the epoch", have: &Metadata{ProducerID: 7, ProducerEpoch: 3, State: CompleteAbort}, req: InitProducerID{Timeout: time.Minute}, pid: 7, epoch: 4, write: true, wantState: Empty, wantLast: -1},
		{name: "exhausted epoch rotates to a new producer id", have: &Metadata{ProducerID: 7, ProducerEpoch: math.MaxInt16 - 1, State: CompleteCommit}, req: InitProducerID{Timeout: time.Minute}, pid: 1000, epoch: 0, write: true, wantState: Empty, wantLast: -1},
		{name: "KIP-360 current epoch bumps and remembers it", have: &Metadata{ProducerID: 7, ProducerEpoch: 3, State: Empty}, req: InitProducerID{Timeout: time.Minute, Current: &Producer{ID: 7, Epoch: 3}}, pid: 7, epoch: 4, write: true, wantState: Empty, wantLast: 3},
		{name: "KIP-360 retry with the last epoch answers again without a bump", have: &Metadata{ProducerID: 7, ProducerEpoch: 4, LastProducerEpoch: 3, State: Empty}, req: InitProducerID{Timeout: time.Minute, Current: &Producer{ID: 7, Epoch: 3}}, pid: 7, epoch: 4, write: true, wantState: Empty, wantLast: 3},
		{name: "KIP-360 older epoch is fenced", have: &Metadata{ProducerID: 7, ProducerEpoch: 4, LastProducerEpoch: 3, State: Empty}, req: InitProducerID{Timeout: time.Minute, Current: &Producer{ID: 7, Epoch: 1}}, err: ErrProducerFenced},
		{name: "KIP-360 other producer id is fenced", have: &Metadata{ProducerID: 7, ProducerEpoch: 4, State: Empty}, req: InitProducerID{Timeout: time.Minute, Current: &Producer{ID: 8, Epoch: 4}}, err: ErrProducerFenced},
		{name: "KIP-360 exhausted rotation with expected epoch records it", have: &Metadata{ProducerID: 7, ProducerEpoch: math.MaxInt16 - 1, State: Empty}, req: InitProducerID{Timeout: time.Minute, Current: &Producer{ID: 7, Epoch: math.MaxInt16 - 1}}, pid: 1000, epoch: 0, write: true, wantState: Empty, wantLast: math.MaxInt16 - 1},
		{name: "KIP-360 retry of a rotation (previous id, exhausted epoch)", have: &Metadata{ProducerID: 1000, PreviousProducerID: 7, ProducerEpoch: 0, LastProducerEpoch: math.MaxInt16 - 1, State: Empty}, req: InitProducerID{Timeout: time.Minute, Current: &Producer{ID: 7, Epoch: math.MaxInt16 - 1}}, pid: 1000, epoch: 0, write: true, wantState: Empty, wantLast: math.MaxInt16 - 1},
		{name: "PrepareCommit is CONCURRENT_TRANSACTIONS", have: &Metadata{ProducerID: 7, ProducerEpoch: 3, State: PrepareCommit, Partitions: []kafka.TopicPartition{tp("a", 0)}}, req: InitProducerID{Timeout: time.Minute}, err: ErrConcurrentTransactions},
		{name: "PrepareAbort is CONCURRENT_TRANSACTIONS", have: &Metadata{ProducerID: 7, ProducerEpoch: 3, State: PrepareAbort, Partitions: []kafka.TopicPartition{tp("a", 0)}}, req: InitProducerID{Timeout: time.Minute}, err: ErrConcurrentTransactions},
		{name: "Ongoing is fenced and aborted, answered CONCURRENT_TRANSACTIONS", have: &ongoing, req: InitProducerID{Timeout: time.Minute}, err: ErrConcurrentTransactions, write: true, pid: 7, epoch: 4, wantState: PrepareAbort, wantLast: -1, wantMarker: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newTestPartition()
			id := "t"
			if c.req.TransactionalID == "-" {
				id = ""
			}
			c.req.TransactionalID = id
			if c.have != nil {
				m := *c.have
				m.TransactionalID = "t"
				put(p, m)
			}
			d := p.InitProducerID(c.req, t0.Add(time.Second))
			if !errors.Is(d.Answer.Err, c.err) || (c.err == nil) != (d.Answer.Err == nil) {
				t.Fatalf("err %v, want %v", d.Answer.Err, c.err)
			}
			if (d.Write != nil) != c.write {
				t.Fatalf("write %v, want %v", d.Write, c.write)
			}
			if c.err == nil && (d.Answer.ProducerID != c.pid || d.Answer.ProducerEpoch != c.epoch) {
				t.Fatalf("answer %d/%d, want %d/%d", d.Answer.ProducerID, d.Answer.ProducerEpoch, c.pid, c.epoch)
			}
			if !c.write {
				return
			}
			mk := p.Apply(d.Write)
			m := get(t, p, "t")
			if m.State != c.wantState || m.ProducerID != c.pid || m.ProducerEpoch != c.epoch || m.LastProducerEpoch != c.wantLast {
				t.Fatalf("got %v, want %s pid=%d epoch=%d last=%d", m, c.wantState, c.pid, c.epoch, c.wantLast)
			}
			if (mk != nil) != c.wantMarker {
				t.Fatalf("markers %v, want %v", mk, c.wantMarker)
			}
			if mk != nil && (mk.Commit || mk.ProducerEpoch != c.epoch || len(mk.Partitions) != 1) {
				t.Fatalf("markers %+v", mk)
			}
		})
	}
}

// TestFencedInitThenRetry: the producer that found an Ongoing transaction
// retries until the abort completed, then gets the epoch after the fence
// (Kafka: "the epoch is bumped a second time").
func TestFencedInitThenRetry(t *testing.T) {
	p := newTestPartition()
	d := ack(p, p.InitProducerID(InitProducerID{TransactionalID: "t", Timeout: time.Minute}, t0))
	pid := d.Answer.ProducerID
	ack(p, p.AddPartitions(AddPartitions{TransactionalID: "t", ProducerID: pid, ProducerEpoch: 0, Partitions: []kafka.TopicPartition{tp("a", 1), tp("b", 0)}}, t0))
	d = ack(p, p.InitProducerID(InitProducerID{TransactionalID: "t", Timeout: time.Minute}, t0))
	if !errors.Is(d.Answer.Err, ErrConcurrentTransactions) {
		t.Fatal(d.Answer)
	}
	again := p.InitProducerID(InitProducerID{TransactionalID: "t", Timeout: time.Minute}, t0)
	if !errors.Is(again.Answer.Err, ErrConcurrentTransactions) || again.Write != nil {
		t.Fatal("retry before the markers must wait", again.Answer)
	}
	// The zombie (epoch 0) is fenced everywhere.
	if d := p.AddPartitions(AddPartitions{TransactionalID: "t", ProducerID: pid, ProducerEpoch: 0, Partitions: []kafka.TopicPartition{tp("c", 0)}}, t0); !errors.Is(d.Answer.Err, ErrProducerFenced) {
		t.Fatal(d.Answer)
	}
	if d := p.EndTxn(EndTxn{TransactionalID: "t", ProducerID: pid, ProducerEpoch: 0, Commit: true}, t0); !errors.Is(d.Answer.Err, ErrProducerFenced) {
		t.Fatal(d.Answer)
	}
	mks := p.TakeMarkers()
	if len(mks) != 1 || mks[0].Commit || mks[0].ProducerEpoch != 1 || len(mks[0].Partitions) != 2 {
		t.Fatalf("markers %+v", mks)
	}
	ack(p, p.Complete(mks[0], t0))
	if m := get(t, p, "t"); m.State != CompleteAbort || len(m.Partitions) != 0 {
		t.Fatal(m)
	}
	d = ack(p, p.InitProducerID(InitProducerID{TransactionalID: "t", Timeout: time.Minute}, t0))
	if d.Answer.Err != nil || d.Answer.ProducerID != pid || d.Answer.ProducerEpoch != 2 {
		t.Fatal(d.Answer)
	}
}

// TestAddPartitions follows handleAddPartitionsToTransaction and
// prepareAddPartitions.
func TestAddPartitions(t *testing.T) {
	a0, b0 := tp("a", 0), tp("b", 0)
	for _, c := range []struct {
		name      string
		have      Metadata
		pid       int64
		epoch     int16
		add       []kafka.TopicPartition
		err       error
		write     bool
		wantParts []kafka.TopicPartition
		newStart  bool
	}{
		{name: "Empty starts a transaction", have: Metadata{ProducerID: 7, ProducerEpoch: 1, State: Empty}, pid: 7, epoch: 1, add: []kafka.TopicPartition{b0, a0, a0}, write: true, wantParts: []kafka.TopicPartition{a0, b0}, newStart: true},
		{name: "CompleteCommit starts the next", have: Metadata{ProducerID: 7, ProducerEpoch: 1, State: CompleteCommit, Start: t0.Add(-time.Hour)}, pid: 7, epoch: 1, add: []kafka.TopicPartition{a0}, write: true, wantParts: []kafka.TopicPartition{a0}, newStart: true},
		{name: "Ongoing adds and keeps its start", have: Metadata{ProducerID: 7, ProducerEpoch: 1, State: Ongoing, Partitions: []kafka.TopicPartition{a0}, Start: t0}, pid: 7, epoch: 1, add: []kafka.TopicPartition{b0}, write: true, wantParts: []kafka.TopicPartition{a0, b0}},
		{name: "Ongoing subset answers at once", have: Metadata{ProducerID: 7, ProducerEpoch: 1, State: Ongoing, Partitions: []kafka.TopicPartition{a0, b0}, Start: t0}, pid: 7, epoch: 1, add: []kafka.TopicPartition{b0}},
		{name: "other producer id", have: Metadata{ProducerID: 7, ProducerEpoch: 1, State: Empty}, pid: 8, epoch: 1, add: []kafka.TopicPartition{a0}, err: ErrInvalidProducerIDMapping},
		{name: "older epoch is fenced", have: Metadata{ProducerID: 7, ProducerEpoch: 2, State: Empty}, pid: 7, epoch: 1, add: []kafka.TopicPartition{a0}, err: ErrProducerFenced},
		{name: "newer epoch is fenced too (Kafka: any mismatch)", have: Metadata{ProducerID: 7, ProducerEpoch: 2, State: Empty}, pid: 7, epoch: 3, add: []kafka.TopicPartition{a0}, err: ErrProducerFenced},
		{name: "PrepareCommit", have: Metadata{ProducerID: 7, ProducerEpoch: 1, State: PrepareCommit, Partitions: []kafka.TopicPartition{a0}}, pid: 7, epoch: 1, add: []kafka.TopicPartition{b0}, err: ErrConcurrentTransactions},
		{name: "PrepareAbort", have: Metadata{ProducerID: 7, ProducerEpoch: 1, State: PrepareAbort, Partitions: []kafka.TopicPartition{a0}}, pid: 7, epoch: 1, add: []kafka.TopicPartition{b0}, err: ErrConcurrentTransactions},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newTestPartition()
			c.have.TransactionalID = "t"
			put(p, c.have)
			now := t0.Add(time.Minute)
			d := p.AddPartitions(AddPartitions{TransactionalID: "t", ProducerID: c.pid, ProducerEpoch: c.epoch, Partitions: c.add}, now)
			if !errors.Is(d.Answer.Err, c.err) || (c.err == nil) != (d.Answer.Err == nil) {
				t.Fatalf("err %v, want %v", d.Answer.Err, c.err)
			}
			if (d.Write != nil) != c.write {
				t.Fatalf("write %v", d.Write)
			}
			if !c.write {
				return
			}
			ack(p, d)
			m := get(t, p, "t")
			if m.State != Ongoing || !samePartitions(m.Partitions, c.wantParts) {
				t.Fatal(m)
			}
			if c.newStart != m.Start.Equal(now) {
				t.Fatalf("start %v", m.Start)
			}
		})
	}
	p := newTestPartition()
	if d := p.AddPartitions(AddPartitions{TransactionalID: "nope", ProducerID: 1}, t0); !errors.Is(d.Answer.Err, ErrInvalidProducerIDMapping) {
		t.Fatal("unknown id", d.Answer)
	}
	if d := p.AddPartitions(AddPartitions{}, t0); !errors.Is(d.Answer.Err, ErrInvalidRequest) {
		t.Fatal("empty id", d.Answer)
	}
}

// TestVerifyPartitions: KIP-890 part 1, Kafka's
// handleVerifyPartitionsInTransaction.
func TestVerifyPartitions(t *testing.T) {
	p := newTestPartition()
	put(p, Metadata{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 1, State: Ongoing, Partitions: []kafka.TopicPartition{tp("a", 0)}, Start: t0})
	res, err := p.VerifyPartitions("t", 7, 1, []kafka.TopicPartition{tp("a", 0), tp("a", 1)})
	if err != nil || res[tp("a", 0)] != nil || !errors.Is(res[tp("a", 1)], ErrTransactionAbortable) {
		t.Fatal(res, err)
	}
	if _, err := p.VerifyPartitions("t", 7, 0, nil); !errors.Is(err, ErrProducerFenced) {
		t.Fatal(err)
	}
	if _, err := p.VerifyPartitions("t", 8, 1, nil); !errors.Is(err, ErrInvalidProducerIDMapping) {
		t.Fatal(err)
	}
	if _, err := p.VerifyPartitions("x", 7, 1, nil); !errors.Is(err, ErrInvalidProducerIDMapping) {
		t.Fatal(err)
	}
	if _, err := p.VerifyPartitions("", 7, 1, nil); !errors.Is(err, ErrInvalidRequest) {
		t.Fatal(err)
	}
	put(p, Metadata{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 1, State: PrepareCommit, Partitions: []kafka.TopicPartition{tp("a", 0)}, Start: t0})
	if _, err := p.VerifyPartitions("t", 7, 1, nil); !errors.Is(err, ErrConcurrentTransactions) {
		t.Fatal(err)
	}
}

// TestAddOffsets: KafkaApis.handleAddOffsetsToTxnRequest adds
// __consumer_offsets-partitionFor(group).
func TestAddOffsets(t *testing.T) {
	p := newTestPartition()
	put(p, Metadata{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 1, State: Empty})
	ack(p, p.AddOffsets("t", 7, 1, "hello", t0))
	m := get(t, p, "t")
	// Java: "hello".hashCode() == 99162322; 99162322 % 50 == 22.
	if m.State != Ongoing || len(m.Partitions) != 1 || m.Partitions[0] != tp(OffsetsTopic, 22) {
		t.Fatal(m)
	}
	if d := p.AddOffsets("t", 7, 0, "hello", t0); !errors.Is(d.Answer.Err, ErrProducerFenced) {
		t.Fatal(d.Answer)
	}
}

// TestEndTxn follows TransactionCoordinator.endTransaction, with TV2
// (KIP-890 part 2) epoch bumps, retries and overflow.
func TestEndTxn(t *testing.T) {
	a0 := tp("a", 0)
	parts := []kafka.TopicPartition{a0}
	for _, c := range []struct {
		name      string
		have      Metadata
		req       EndTxn
		err       error
		write     bool
		wantState State
		pid       int64
		epoch     int16
		next      int64
	}{
		{name: "TV1 commit", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: Ongoing, Partitions: parts}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3, Commit: true}, write: true, wantState: PrepareCommit, pid: 7, epoch: 3, next: -1},
		{name: "TV1 abort", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: Ongoing, Partitions: parts}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3}, write: true, wantState: PrepareAbort, pid: 7, epoch: 3, next: -1},
		{name: "TV1 old epoch is fenced", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: Ongoing, Partitions: parts}, req: EndTxn{ProducerID: 7, ProducerEpoch: 2, Commit: true}, err: ErrProducerFenced},
		{name: "other producer id", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: Ongoing, Partitions: parts}, req: EndTxn{ProducerID: 8, ProducerEpoch: 3, Commit: true}, err: ErrInvalidProducerIDMapping},
		{name: "Empty is INVALID_TXN_STATE", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: Empty}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3, Commit: true}, err: ErrInvalidTxnState},
		{name: "TV1 retried commit after complete", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: CompleteCommit}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3, Commit: true}, pid: 7, epoch: 3},
		{name: "TV1 abort after commit", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: CompleteCommit}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3}, err: ErrInvalidTxnState},
		{name: "TV1 retried abort while preparing", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: PrepareAbort, Partitions: parts}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3}, err: ErrConcurrentTransactions},
		{name: "TV1 commit while aborting", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: PrepareAbort, Partitions: parts}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3, Commit: true}, err: ErrInvalidTxnState},
		{name: "TV2 commit bumps the epoch", have: Metadata{ProducerID: 7, ProducerEpoch: 3, State: Ongoing, Partitions: parts, ClientVersion: TV2}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3, Commit: true, Version: TV2}, write: true, wantState: PrepareCommit, pid: 7, epoch: 4, next: -1},
		{name: "TV2 exhausted epoch allocates the next producer id", have: Metadata{ProducerID: 7, ProducerEpoch: math.MaxInt16 - 1, State: Ongoing, Partitions: parts, ClientVersion: TV2}, req: EndTxn{ProducerID: 7, ProducerEpoch: math.MaxInt16 - 1, Commit: true, Version: TV2}, write: true, wantState: PrepareCommit, pid: 1000, epoch: 0, next: 1000},
		{name: "TV2 retry while preparing (epoch one below)", have: Metadata{ProducerID: 7, ProducerEpoch: 4, State: PrepareCommit, Partitions: parts, ClientVersion: TV2}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3, Commit: true, Version: TV2}, err: ErrConcurrentTransactions},
		{name: "TV2 retry after complete is answered the bumped epoch", have: Metadata{ProducerID: 7, ProducerEpoch: 4, State: CompleteCommit, ClientVersion: TV2}, req: EndTxn{ProducerID: 7, ProducerEpoch: 3, Commit: true, Version: TV2}, pid: 7, epoch: 4},
		{name: "TV2 same epoch after complete is fenced", have: Metadata{ProducerID: 7, ProducerEpoch: 4, State: CompleteCommit, ClientVersion: TV2}, req: EndTxn{ProducerID: 7, ProducerEpoch: 4, Commit: true, Version: TV2}, err: ErrProducerFenced},
		{name: "TV2 retry after overflow (previous id)", have: Metadata{ProducerID: 1000, PreviousProducerID: 7, ProducerEpoch: 0, State: CompleteCommit, ClientVersion: TV2}, req: EndTxn{ProducerID: 7, ProducerEpoch: math.MaxInt16 - 1, Commit: true, Version: TV2}, pid: 1000, epoch: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newTestPartition()
			c.have.TransactionalID = "t"
			put(p, c.have)
			c.req.TransactionalID = "t"
			d := p.EndTxn(c.req, t0)
			if !errors.Is(d.Answer.Err, c.err) || (c.err == nil) != (d.Answer.Err == nil) {
				t.Fatalf("err %v, want %v", d.Answer.Err, c.err)
			}
			if (d.Write != nil) != c.write {
				t.Fatalf("write %v", d.Write)
			}
			if c.err == nil && (d.Answer.ProducerID != c.pid || d.Answer.ProducerEpoch != c.epoch) {
				t.Fatalf("answer %+v, want %d/%d", d.Answer, c.pid, c.epoch)
			}
			if !c.write {
				return
			}
			mk := p.Apply(d.Write)
			m := get(t, p, "t")
			if m.State != c.wantState || m.NextProducerID != c.next || mk == nil || mk.Commit != c.req.Commit || !samePartitions(mk.Partitions, parts) {
				t.Fatalf("%v markers %+v", m, mk)
			}
			// Complete moves a TV2 overflow to the next producer id.
			ack(p, p.Complete(*mk, t0))
			m = get(t, p, "t")
			if len(m.Partitions) != 0 || m.State != map[State]State{PrepareCommit: CompleteCommit, PrepareAbort: CompleteAbort}[c.wantState] {
				t.Fatal(m)
			}
			if c.next != -1 && (m.ProducerID != c.next || m.ProducerEpoch != 0 || m.PreviousProducerID != 7) {
				t.Fatal("overflow", m)
			}
		})
	}
}

// TestComplete: markers that do not match the preparing transaction are
// dropped.
func TestComplete(t *testing.T) {
	p := newTestPartition()
	parts := []kafka.TopicPartition{tp("a", 0)}
	put(p, Metadata{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 3, State: PrepareCommit, Partitions: parts, Start: t0})
	good := Markers{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 3, Commit: true, Partitions: parts}
	for _, bad := range []Markers{
		{TransactionalID: "x", ProducerID: 7, ProducerEpoch: 3, Commit: true, Partitions: parts},
		{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 2, Commit: true, Partitions: parts},
		{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 3, Commit: false, Partitions: parts},
		{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 3, Commit: true},
	} {
		if d := p.Complete(bad, t0); !errors.Is(d.Answer.Err, ErrStaleMarkers) || d.Write != nil {
			t.Fatalf("%+v: %+v", bad, d)
		}
	}
	ack(p, p.Complete(good, t0))
	if d := p.Complete(good, t0); !errors.Is(d.Answer.Err, ErrStaleMarkers) {
		t.Fatal("second complete", d.Answer)
	}
	if m := get(t, p, "t"); m.State != CompleteCommit || !m.Start.Equal(t0) {
		t.Fatal(m)
	}
}

// TestTimeoutAbort: Kafka's abortTimedOutTransactions fences the producer
// (epoch bump) and aborts; TV2 bumps once more at the abort.
func TestTimeoutAbort(t *testing.T) {
	for _, v := range []Version{TV0, TV2} {
		p := newTestPartition()
		put(p, Metadata{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 3, State: Ongoing, Partitions: []kafka.TopicPartition{tp("a", 0)}, Start: t0, Timeout: time.Minute, ClientVersion: v})
		put(p, Metadata{TransactionalID: "u", ProducerID: 8, ProducerEpoch: 3, State: Ongoing, Partitions: []kafka.TopicPartition{tp("a", 0)}, Start: t0.Add(time.Minute), Timeout: time.Minute})
		if got := p.TimedOut(t0.Add(time.Minute)); len(got) != 0 {
			t.Fatal("start+timeout is not yet past", got)
		}
		if d := p.AbortTimedOut("t", t0.Add(time.Minute)); d.Write != nil {
			t.Fatal("early abort")
		}
		now := t0.Add(time.Minute + time.Millisecond)
		if got := p.TimedOut(now); len(got) != 1 || got[0] != "t" {
			t.Fatal(got)
		}
		d := p.AbortTimedOut("t", now)
		if d.Write == nil || !d.Write.Fence {
			t.Fatal(d)
		}
		mk := p.Apply(d.Write)
		want := int16(4)
		if v == TV2 {
			want = 5
		}
		m := get(t, p, "t")
		if m.State != PrepareAbort || m.ProducerEpoch != want || mk == nil || mk.Commit || mk.ProducerEpoch != want {
			t.Fatalf("tv%d: %v %+v", v, m, mk)
		}
		// The producer's own EndTxn at its old epoch is fenced.
		if d := p.EndTxn(EndTxn{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 3, Commit: true, Version: v}, now); !errors.Is(d.Answer.Err, ErrProducerFenced) {
			t.Fatalf("tv%d: %v", v, d.Answer)
		}
		ack(p, p.Complete(*mk, now))
		if d := p.EndTxn(EndTxn{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 3, Version: v}, now); !errors.Is(d.Answer.Err, ErrProducerFenced) {
			t.Fatalf("tv%d: zombie abort after complete: %v", v, d.Answer)
		}
	}
}

// TestExpiration: Kafka's removeExpiredTransactionalIds tombstones ids idle
// in Empty/CompleteCommit/CompleteAbort for transactional.id.expiration.ms.
func TestExpiration(t *testing.T) {
	p := newTestPartition()
	exp := DefaultConfig().IDExpiration
	for id, s := range map[string]State{"e": Empty, "c": CompleteCommit, "a": CompleteAbort, "o": Ongoing} {
		m := Metadata{TransactionalID: id, ProducerID: 7, ProducerEpoch: 1, State: s, Start: t0}
		if s == Ongoing {
			m.Partitions = []kafka.TopicPartition{tp("x", 0)}
		}
		put(p, m)
	}
	if got := p.Expired(t0.Add(exp - time.Millisecond)); len(got) != 0 {
		t.Fatal(got)
	}
	now := t0.Add(exp)
	got := p.Expired(now)
	if len(got) != 3 || got[0] != "a" || got[1] != "c" || got[2] != "e" {
		t.Fatal(got)
	}
	d := p.Expire("c", now)
	if d.Write == nil || d.Write.To.State != Dead || p.Records(d.Write)[0].Value != nil {
		t.Fatal(d)
	}
	ack(p, d)
	if _, ok := p.Get("c"); ok {
		t.Fatal("not removed")
	}
	if d := p.Expire("o", now); d.Write != nil {
		t.Fatal("ongoing expired")
	}
	// A removed id starts over with a new producer id.
	d = ack(p, p.InitProducerID(InitProducerID{TransactionalID: "c", Timeout: time.Minute}, now))
	if d.Answer.ProducerID != 1000 || d.Answer.ProducerEpoch != 0 {
		t.Fatal(d.Answer)
	}
}

func TestApplyPanicsOnBrokenInvariant(t *testing.T) {
	p := newTestPartition()
	put(p, Metadata{TransactionalID: "t", ProducerID: 7, ProducerEpoch: 1, State: Empty})
	d := p.InitProducerID(InitProducerID{TransactionalID: "t", Timeout: time.Minute}, t0)
	ack(p, d)
	defer func() {
		if recover() == nil {
			t.Fatal("a transit applied twice must panic")
		}
	}()
	p.Apply(d.Write)
}

func TestValidTransitions(t *testing.T) {
	// Kafka's TransactionState.validPreviousStates, spot checks.
	for _, c := range []struct {
		from, to State
		ok       bool
	}{
		{Empty, Ongoing, true}, {Ongoing, PrepareCommit, true}, {Empty, PrepareCommit, false},
		{PrepareCommit, CompleteCommit, true}, {PrepareCommit, CompleteAbort, false},
		{PrepareEpochFence, PrepareAbort, true}, {Ongoing, Dead, false}, {CompleteAbort, Dead, true},
		{CompleteCommit, Empty, true}, {PrepareAbort, Empty, false},
	} {
		if ValidTransition(c.from, c.to) != c.ok {
			t.Errorf("%s -> %s: want %v", c.from, c.to, c.ok)
		}
	}
	for s := Empty; s <= PrepareEpochFence; s++ {
		if got, ok := ParseState(s.String()); !ok || got != s {
			t.Errorf("%s", s)
		}
	}
}
