package txn

// The coordinator: the pure Partition states run as shards of the
// coordinator runtime (package shard), one per __transaction_state
// partition this broker leads, and the marker sender that finishes every
// transaction that reached PrepareCommit or PrepareAbort.

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/signal"
)

// MarkerWriter writes a transaction's COMMIT or ABORT markers to every
// partition of mk (WriteTxnMarkers to each partition's leader, this broker
// included) with coordinatorEpoch, and returns once each leader's in-sync
// replicas have them. A partition whose topic no longer exists counts as
// written. Each partition is written on its own: one without a leader
// delays no other. An error comes with the partitions not written, which
// the coordinator sends again (a marker written twice is harmless: the
// log records only the first for an ongoing transaction).
type MarkerWriter interface {
	WriteMarkers(ctx context.Context, mk Markers, coordinatorEpoch int32) (failed []kafka.TopicPartition, err error)
}

// CoordinatorConfig wires a Coordinator to the broker.
type CoordinatorConfig struct {
	Config
	// Log is __transaction_state as the runtime writes and reads it.
	Log shard.Log
	// IDs allocates producer ids; it must not block for long (it is
	// called on a shard's goroutine).
	IDs ProducerIDs
	// Markers writes markers (see MarkerWriter).
	Markers MarkerWriter
	// Partitions is __transaction_state's partition count as it exists
	// (0: not created; StatePartitions is used then).
	Partitions func() int32
	// OffsetsPartition is the __consumer_offsets partition of a group as
	// the group coordinator places it (AddOffsetsToTxn).
	OffsetsPartition func(group string) int32
	// CoordinatorEpoch is the leader epoch of __transaction_state partition
	// p, which markers carry (Kafka's coordinator epoch).
	CoordinatorEpoch func(p int32) int32
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger reports marker retries and failed loads (nil discards).
	Logger *slog.Logger
}

// Coordinator runs the transaction coordinator of the __transaction_state
// partitions this broker leads. Its methods are safe for concurrent use;
// each request runs on its transactional id's shard after the id's
// earlier writes.
type Coordinator struct {
	cfg CoordinatorConfig
	rt  *shard.Runtime[*Partition]
	// kick wakes the marker loop (a transaction began preparing).
	kick chan struct{}
	mu   sync.Mutex
	// sending is the transactions whose markers are being written, by
	// transactional id and producer epoch, so a transaction found in the
	// outbox twice (a load while sending) is sent once.
	sending map[sendKey]bool
	wg      sync.WaitGroup
	// completed is notified when a send completed a transaction.
	completed *signal.Signal
}

type sendKey struct {
	id    string
	pid   int64
	epoch int16
}

// NewCoordinator returns a coordinator that leads no partition yet.
func NewCoordinator(cfg CoordinatorConfig) *Coordinator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StatePartitions <= 0 {
		cfg.StatePartitions = DefaultConfig().StatePartitions
	}
	c := &Coordinator{cfg: cfg, kick: make(chan struct{}, 1), sending: map[sendKey]bool{}, completed: signal.New()}
	c.rt = shard.New(shard.Config[*Partition]{
		Log:    cfg.Log,
		New:    func(p int32) *Partition { return NewPartition(cfg.Config, cfg.IDs, p) },
		Now:    func() time.Time { return c.cfg.Now() },
		Logger: cfg.Logger,
	})
	return c
}

// partitions is __transaction_state's partition count.
func (c *Coordinator) partitions() int32 {
	if c.cfg.Partitions != nil {
		if n := c.cfg.Partitions(); n > 0 {
			return n
		}
	}
	return c.cfg.StatePartitions
}

// PartitionOf is the __transaction_state partition of a transactional id.
func (c *Coordinator) PartitionOf(id string) int32 { return PartitionFor(id, c.partitions()) }

// LoadPartition starts coordinating the transactional ids of partition p
// (this broker became its leader); the channel receives the load's
// outcome. Transactions found preparing get their markers sent again.
func (c *Coordinator) LoadPartition(p int32) <-chan error {
	loaded := c.rt.Load(p)
	out := make(chan error, 1)
	go func() {
		err := <-loaded
		out <- err
		c.wake()
	}()
	return out
}

// UnloadPartition stops coordinating partition p: its marker sends stop
// at their next attempt, and the new coordinator sends them again.
func (c *Coordinator) UnloadPartition(p int32) { c.rt.Unload(p) }

// Owns reports whether this broker coordinates id's partition.
func (c *Coordinator) Owns(id string) bool { return c.rt.Owns(c.PartitionOf(id)) }

// Run runs the timers (timed-out transactions, expired ids) and the marker
// sender until ctx ends, then stops every partition and waits for the
// marker sends to end.
func (c *Coordinator) Run(ctx context.Context, interval time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.rt.Run(ctx, interval)
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.drain(ctx)
		select {
		case <-ctx.Done():
			<-done
			c.wg.Wait()
			return
		case <-t.C:
		case <-c.kick:
		}
	}
}

func (c *Coordinator) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// do runs a decision on id's shard and returns its answer once its write
// (if any) was acknowledged.
func (c *Coordinator) do(id string, decide func(p *Partition, now time.Time) Decision) Answer {
	var ans Answer
	answered := false
	err := c.rt.Do(c.PartitionOf(id), id, func(p *Partition, now time.Time) ([]shard.Record, func(error)) {
		return p.Op(decide(p, now), func(a Answer) { ans, answered = a, true })
	})
	if err == nil && !answered {
		err = shard.ErrNotCoordinator
	}
	if err != nil {
		return Answer{Err: err, ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch}
	}
	return ans
}

// InitProducerID answers an InitProducerId with a transactional id.
func (c *Coordinator) InitProducerID(r InitProducerID) Answer {
	a := c.do(r.TransactionalID, func(p *Partition, now time.Time) Decision { return p.InitProducerID(r, now) })
	c.wake() // a fence of an ongoing transaction owes its abort markers
	return a
}

// AddPartitions answers an AddPartitionsToTxn for one transactional id.
func (c *Coordinator) AddPartitions(r AddPartitions) Answer {
	return c.do(r.TransactionalID, func(p *Partition, now time.Time) Decision { return p.AddPartitions(r, now) })
}

// VerifyPartitions answers a verify-only AddPartitionsToTxn: nil per
// partition in the transaction, ErrTransactionAbortable for the others,
// or one error for all.
func (c *Coordinator) VerifyPartitions(id string, pid int64, epoch int16, tps []kafka.TopicPartition) (map[kafka.TopicPartition]error, error) {
	var out map[kafka.TopicPartition]error
	var verr error
	err := c.rt.Do(c.PartitionOf(id), id, func(p *Partition, _ time.Time) ([]shard.Record, func(error)) {
		out, verr = p.VerifyPartitions(id, pid, epoch, tps)
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return out, verr
}

// AddOffsets answers an AddOffsetsToTxn: the group's __consumer_offsets
// partition joins the transaction.
func (c *Coordinator) AddOffsets(id string, pid int64, epoch int16, group string) Answer {
	tp := kafka.TopicPartition{Topic: OffsetsTopic, Partition: c.cfg.OffsetsPartition(group)}
	return c.do(id, func(p *Partition, now time.Time) Decision {
		v := TV0
		if m := p.txns[id]; m != nil {
			v = m.ClientVersion
		}
		return p.AddPartitions(AddPartitions{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch,
			Partitions: []kafka.TopicPartition{tp}, Version: v}, now)
	})
}

// EndTxn answers an EndTxn once the PrepareCommit or PrepareAbort is
// written. Kafka answers there and sends the markers after; the
// producer's next request then meets CONCURRENT_TRANSACTIONS until they
// are written, and retries after a backoff (20 ms and more in clients),
// which bounds a transactional producer to a few dozen transactions a
// second. So the answer also waits, up to endWait, for the markers and
// the completion: the outcome is decided either way.
func (c *Coordinator) EndTxn(r EndTxn) Answer {
	a := c.do(r.TransactionalID, func(p *Partition, now time.Time) Decision { return p.EndTxn(r, now) })
	c.wake()
	if a.Err == nil {
		c.awaitCompletion(r.TransactionalID, endWait)
	}
	return a
}

// endWait bounds how long an EndTxn answer waits for the markers.
const endWait = 2 * time.Second

// awaitCompletion waits until id's transaction is no longer preparing
// (its markers written and completion applied), the coordinator cannot
// tell, or d passed.
func (c *Coordinator) awaitCompletion(id string, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		ch := c.completed.Wait() // before looking, so no completion is missed
		m, err := c.Describe(id)
		if err != nil || m == nil || !m.State.preparing() {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		}
	}
}

// Describe returns the metadata of each transactional id (nil: unknown
// here) or the error of its partition (not coordinator, loading).
func (c *Coordinator) Describe(id string) (*Metadata, error) {
	var m *Metadata
	err := c.rt.Read(c.PartitionOf(id), func(p *Partition) {
		if got, ok := p.Get(id); ok {
			m = got
		}
	})
	return m, err
}

// All returns every transactional id of the partitions this broker
// coordinates (ListTransactions), by id.
func (c *Coordinator) All() []*Metadata {
	var out []*Metadata
	for _, n := range c.rt.Partitions() {
		c.rt.Read(n, func(p *Partition) { out = append(out, p.All()...) })
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TransactionalID < out[j].TransactionalID })
	return out
}

// Close stops every partition.
func (c *Coordinator) Close() { c.rt.Close() }

// drain takes the markers every loaded partition owes and starts a send
// for each transaction not already being sent.
func (c *Coordinator) drain(ctx context.Context) {
	for _, n := range c.rt.Partitions() {
		var mks []Markers
		if err := c.rt.Read(n, func(p *Partition) { mks = p.TakeMarkers() }); err != nil {
			continue
		}
		for _, mk := range mks {
			k := sendKey{mk.TransactionalID, mk.ProducerID, mk.ProducerEpoch}
			c.mu.Lock()
			busy := c.sending[k]
			c.sending[k] = true
			c.mu.Unlock()
			if busy {
				continue
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				defer func() {
					c.mu.Lock()
					delete(c.sending, k)
					c.mu.Unlock()
				}()
				c.send(ctx, n, mk)
			}()
		}
	}
}

// markerTimeout bounds one attempt to write a transaction's markers.
const markerTimeout = 10 * time.Second

// send writes mk's markers until they are all written (each attempt only
// the partitions still owed), then completes the transaction, retrying
// the completion's write until it lands. It gives up when this broker
// stops coordinating partition n (the next coordinator sends the markers
// again from the log) or ctx ends.
func (c *Coordinator) send(ctx context.Context, n int32, mk Markers) {
	owed := mk
	backoff := 50 * time.Millisecond
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
		return true
	}
	for attempt := 1; ; attempt++ {
		if !c.rt.Owns(n) || ctx.Err() != nil {
			return
		}
		if len(owed.Partitions) > 0 {
			actx, cancel := context.WithTimeout(ctx, markerTimeout)
			failed, err := c.cfg.Markers.WriteMarkers(actx, owed, c.cfg.CoordinatorEpoch(n))
			cancel()
			if err != nil {
				owed.Partitions = failed
				if attempt == 1 || attempt%20 == 0 {
					c.cfg.Logger.Warn("writing transaction markers failed, retrying", "transactional_id", mk.TransactionalID,
						"producer_id", mk.ProducerID, "producer_epoch", mk.ProducerEpoch, "outcome", outcome(mk.Commit),
						"attempt", attempt, "partitions", len(failed), "err", err)
				}
				if !wait() {
					return
				}
				continue
			}
			owed.Partitions = nil
		}
		var cerr error
		err := c.rt.Do(n, mk.TransactionalID, func(p *Partition, now time.Time) ([]shard.Record, func(error)) {
			return p.Op(p.Complete(mk, now), func(a Answer) { cerr = a.Err })
		})
		c.completed.Notify()
		if err != nil || cerr == nil || errors.Is(cerr, ErrStaleMarkers) {
			return // completed, completed before, or not coordinator any more
		}
		if attempt == 1 || attempt%20 == 0 {
			c.cfg.Logger.Warn("completing a transaction after its markers failed, retrying", "transactional_id", mk.TransactionalID,
				"attempt", attempt, "err", cerr)
		}
		if !wait() {
			return
		}
	}
}

func outcome(commit bool) string {
	if commit {
		return "COMMIT"
	}
	return "ABORT"
}
