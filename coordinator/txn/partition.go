package txn

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

// Config is the coordinator's part of the broker config, under Kafka's
// names.
type Config struct {
	// StatePartitions is transaction.state.log.num.partitions (50).
	StatePartitions int32
	// OffsetsPartitions is offsets.topic.num.partitions (50): AddOffsetsToTxn
	// adds the group's partition of __consumer_offsets.
	OffsetsPartitions int32
	// MaxTimeout is transaction.max.timeout.ms (15 minutes).
	MaxTimeout time.Duration
	// IDExpiration is transactional.id.expiration.ms (7 days).
	IDExpiration time.Duration
	// AbortInterval is transaction.abort.timed.out.transaction.cleanup.interval.ms
	// (10 s): how often Tick looks for timed-out transactions.
	AbortInterval time.Duration
	// ExpireInterval is transaction.remove.expired.transaction.cleanup.interval.ms
	// (1 hour): how often Tick looks for expired transactional ids.
	ExpireInterval time.Duration
	// LogVersion is the finalized transaction.version feature: records
	// are written with TransactionLogValue v1 (flexible, with the KIP-890
	// tagged fields) from TV1 on, v0 before (Kafka's
	// TransactionVersion.transactionLogValueVersion).
	LogVersion Version
	// CurrentLogVersion, when set, is read at each write instead of
	// LogVersion: the finalized feature can change while the broker runs
	// (UpdateFeatures).
	CurrentLogVersion func() Version
}

// logVersion is the transaction.version records are written for now.
func (c Config) logVersion() Version {
	if c.CurrentLogVersion != nil {
		return c.CurrentLogVersion()
	}
	return c.LogVersion
}

// DefaultConfig is Kafka's defaults, with transaction.version 2.
func DefaultConfig() Config {
	return Config{
		StatePartitions:   50,
		OffsetsPartitions: 50,
		MaxTimeout:        15 * time.Minute,
		IDExpiration:      7 * 24 * time.Hour,
		AbortInterval:     10 * time.Second,
		ExpireInterval:    time.Hour,
		LogVersion:        TV2,
	}
}

// ProducerIDs allocates producer ids (the broker's block from the
// controller, AllocateProducerIds). It is called from decisions, on the
// shard's goroutine: it must not wait on the shard.
type ProducerIDs interface {
	NextProducerID() (int64, error)
}

// Transit is a prepared change of one transactional id (Kafka's
// TxnTransitMetadata): written as a record, then applied by Apply once the
// log acknowledged it; dropped when the write failed.
type Transit struct {
	// Base is the metadata the change was prepared against (nil for a new
	// transactional id); Apply requires it unchanged.
	Base *Metadata
	// To is the metadata after the change; To.State Dead is a tombstone.
	To Metadata
	// Fence marks the abort of a transaction fenced by the coordinator
	// (PrepareEpochFence: an InitProducerId of a newer producer, or the
	// transaction's timeout). Kafka never writes PrepareEpochFence; the
	// record is PrepareAbort at the bumped epoch.
	Fence bool
}

// Answer is what a request is answered, once the decision's write (if
// any) was acknowledged; a failed write is answered with its own error.
type Answer struct {
	Err           error
	ProducerID    int64
	ProducerEpoch int16
}

// Decision is the outcome of a request: a change to write (nil: nothing)
// and the answer.
type Decision struct {
	Write  *Transit
	Answer Answer
}

func fail(err error) Decision {
	return Decision{Answer: Answer{Err: err, ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch}}
}

// Markers is a transaction the coordinator must finish by writing a
// COMMIT or ABORT control batch (WriteTxnMarkers) to each partition, with
// the producer id and epoch given; then it reports them written with
// Complete.
type Markers struct {
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
	Commit          bool
	Partitions      []kafka.TopicPartition
	// Version is the transaction's version (Metadata.ClientVersion), sent
	// with the markers (WriteTxnMarkers v2, KIP-1228): under TV2 their
	// epoch is the bumped one, and leaders refuse one not above the
	// producer's.
	Version Version
}

// Partition is the transaction coordinator's state for one partition of
// __transaction_state: the transactional ids that hash to it. It is the
// State of the partition's shard (package coordinator/shard); its methods
// are not safe for concurrent use and run on the shard's goroutine.
//
// Decisions (InitProducerID, AddPartitions, ...) read the state and return
// what to write; Apply changes it once the write was acknowledged.
type Partition struct {
	cfg    Config
	ids    ProducerIDs
	number int32
	txns   map[string]*Metadata
	// outbox is the markers of transactions that reached PrepareCommit or
	// PrepareAbort since TakeMarkers last ran (and, after a load, those
	// found preparing).
	outbox []Markers
	// bad counts records that did not decode during the load.
	bad                        int
	loaded                     bool
	lastAbortCheck, lastExpire time.Time
}

// NewPartition returns the empty state of __transaction_state partition
// number.
func NewPartition(cfg Config, ids ProducerIDs, number int32) *Partition {
	d := DefaultConfig()
	if cfg.StatePartitions <= 0 {
		cfg.StatePartitions = d.StatePartitions
	}
	if cfg.OffsetsPartitions <= 0 {
		cfg.OffsetsPartitions = d.OffsetsPartitions
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = d.MaxTimeout
	}
	if cfg.IDExpiration <= 0 {
		cfg.IDExpiration = d.IDExpiration
	}
	if cfg.AbortInterval <= 0 {
		cfg.AbortInterval = d.AbortInterval
	}
	if cfg.ExpireInterval <= 0 {
		cfg.ExpireInterval = d.ExpireInterval
	}
	return &Partition{cfg: cfg, ids: ids, number: number, txns: map[string]*Metadata{}}
}

// Number is the __transaction_state partition.
func (p *Partition) Number() int32 { return p.number }

// Get returns a copy of a transactional id's metadata.
func (p *Partition) Get(id string) (*Metadata, bool) {
	m := p.txns[id]
	if m == nil {
		return nil, false
	}
	return m.Clone(), true
}

// All returns copies of every transactional id's metadata, by id
// (DescribeTransactions, ListTransactions).
func (p *Partition) All() []*Metadata {
	out := make([]*Metadata, 0, len(p.txns))
	for _, m := range p.txns {
		out = append(out, m.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TransactionalID < out[j].TransactionalID })
	return out
}

// Pending returns the markers owed by every transaction in PrepareCommit
// or PrepareAbort, by id: what a marker sender must (re)send after a load
// or a failed send.
func (p *Partition) Pending() []Markers {
	var out []Markers
	for _, m := range p.All() {
		if m.State.preparing() {
			out = append(out, markersOf(m))
		}
	}
	return out
}

// TakeMarkers returns and forgets the markers of transactions that began
// preparing since the last call (including those a load found preparing).
func (p *Partition) TakeMarkers() []Markers {
	out := p.outbox
	p.outbox = nil
	return out
}

func markersOf(m *Metadata) Markers {
	return Markers{
		TransactionalID: m.TransactionalID,
		ProducerID:      m.ProducerID,
		ProducerEpoch:   m.ProducerEpoch,
		Commit:          m.State == PrepareCommit,
		Partitions:      append([]kafka.TopicPartition(nil), m.Partitions...),
		Version:         m.ClientVersion,
	}
}

// Apply makes an acknowledged write the state (Kafka's
// completeTransitionTo) and returns the markers owed when it moved the
// transaction to PrepareCommit or PrepareAbort. A Transit that does not
// fit the state panics: the runtime runs one write per key at a time, so
// it means a broken invariant.
func (p *Partition) Apply(t *Transit) *Markers {
	id := t.To.TransactionalID
	cur := p.txns[id]
	if err := checkTransit(cur, t); err != nil {
		panic(fmt.Sprintf("txn: apply %s: %v", id, err))
	}
	if t.To.State == Dead {
		delete(p.txns, id)
		return nil
	}
	m := t.To.Clone()
	p.txns[id] = m
	if m.State.preparing() {
		mk := markersOf(m)
		p.outbox = append(p.outbox, mk)
		return &mk
	}
	return nil
}

// checkTransit is Kafka's completeTransitionTo validation: the base is
// what the state holds, the transition is legal, epochs never go back for
// a producer id, and partitions only leave the transaction at Complete.
func checkTransit(cur *Metadata, t *Transit) error {
	to := &t.To
	if t.Base == nil {
		if cur != nil {
			return fmt.Errorf("prepared for a new id, found %v", cur)
		}
		if to.State != Empty || to.ProducerEpoch < 0 {
			return fmt.Errorf("new id must start Empty with an epoch, got %v", to)
		}
		return nil
	}
	if cur == nil || !sameMetadata(cur, t.Base) {
		return fmt.Errorf("state changed since prepared: %v, prepared against %v", cur, t.Base)
	}
	from := cur.State
	switch {
	case t.Fence && to.State != PrepareAbort:
		return fmt.Errorf("fence must abort, got %s", to.State)
	case t.Fence && !ValidTransition(from, PrepareEpochFence):
		return fmt.Errorf("fence from %s", from)
	case !t.Fence && !ValidTransition(from, to.State):
		return fmt.Errorf("illegal transition %s -> %s", from, to.State)
	}
	if to.State != Dead {
		if to.ProducerID == cur.ProducerID && to.ProducerEpoch < cur.ProducerEpoch {
			return fmt.Errorf("epoch goes back %d -> %d", cur.ProducerEpoch, to.ProducerEpoch)
		}
		if to.ProducerID != cur.ProducerID && to.ProducerEpoch != 0 {
			return fmt.Errorf("new producer id %d must start at epoch 0, got %d", to.ProducerID, to.ProducerEpoch)
		}
		if to.ProducerEpoch < 0 || to.ProducerEpoch == math.MaxInt16 && to.State == Empty {
			return fmt.Errorf("bad epoch %d for %s", to.ProducerEpoch, to.State)
		}
	}
	switch to.State {
	case Empty, CompleteCommit, CompleteAbort, Dead:
		if len(to.Partitions) > 0 {
			return fmt.Errorf("%s with partitions", to.State)
		}
	case Ongoing:
		for _, tp := range cur.Partitions {
			if !to.HasPartition(tp) {
				return fmt.Errorf("Ongoing drops partition %v", tp)
			}
		}
	case PrepareCommit, PrepareAbort:
		if !samePartitions(cur.Partitions, to.Partitions) {
			return fmt.Errorf("%s changes partitions", to.State)
		}
	}
	return nil
}

func samePartitions(a, b []kafka.TopicPartition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameMetadata(a, b *Metadata) bool {
	return a.TransactionalID == b.TransactionalID && a.ProducerID == b.ProducerID && a.ProducerEpoch == b.ProducerEpoch &&
		a.PreviousProducerID == b.PreviousProducerID && a.NextProducerID == b.NextProducerID &&
		a.LastProducerEpoch == b.LastProducerEpoch && a.Timeout == b.Timeout && a.State == b.State &&
		samePartitions(a.Partitions, b.Partitions) && a.Start.Equal(b.Start) && a.LastUpdate.Equal(b.LastUpdate) &&
		a.ClientVersion == b.ClientVersion
}
