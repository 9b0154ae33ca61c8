package txn

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

// InitProducerID is an InitProducerId request with a transactional id.
type InitProducerID struct {
	TransactionalID string
	// Timeout is transaction.timeout.ms.
	Timeout time.Duration
	// Current is the producer's identity for KIP-360 recovery
	// (InitProducerId v3+); nil when the request has -1/-1. (KafkaApis
	// answers INVALID_REQUEST when only one of the two is -1.)
	Current *Producer
}

// Producer is a producer id and epoch.
type Producer struct {
	ID    int64
	Epoch int16
}

// InitProducerID decides an InitProducerId (Kafka's
// TransactionCoordinator.handleInitProducerId and
// prepareInitProducerIdTransit):
//   - a new transactional id gets a producer id from the allocator, epoch 0;
//   - an idle one (Empty, CompleteCommit, CompleteAbort) bumps its epoch, or
//     moves to a new producer id at epoch 0 once the epoch is exhausted;
//   - with the producer's own id and epoch (KIP-360), the epoch is checked:
//     the current one bumps, the previous one (a retry) is answered again,
//     any other is fenced;
//   - an Ongoing transaction is fenced and aborted by the coordinator (epoch
//     bump, PrepareAbort) and the request answered CONCURRENT_TRANSACTIONS:
//     the producer retries and gets the next epoch once the abort completed;
//   - PrepareCommit/PrepareAbort answer CONCURRENT_TRANSACTIONS.
func (p *Partition) InitProducerID(r InitProducerID, now time.Time) Decision {
	now = millis(now)
	if r.TransactionalID == "" {
		return fail(ErrInvalidRequest)
	}
	if r.Timeout <= 0 || r.Timeout > p.cfg.MaxTimeout {
		return fail(ErrInvalidTransactionTimeout)
	}
	m := p.txns[r.TransactionalID]
	if m == nil {
		pid, err := p.allocate()
		if err != nil {
			return fail(err)
		}
		// Kafka creates the id Empty at epoch -1 and bumps it; the bump
		// is the same with or without an expected epoch (the metadata has
		// no epoch yet, KIP-360 case 1).
		to := Metadata{
			TransactionalID: r.TransactionalID, ProducerID: pid, ProducerEpoch: 0,
			PreviousProducerID: NoProducerID, NextProducerID: NoProducerID, LastProducerEpoch: NoProducerEpoch,
			Timeout: r.Timeout, State: Empty, LastUpdate: now,
		}
		return Decision{Write: &Transit{To: to}, Answer: Answer{ProducerID: pid, ProducerEpoch: 0}}
	}
	exp := r.Current
	if exp != nil && !(m.ProducerEpoch == NoProducerEpoch || exp.ID == m.ProducerID ||
		exp.ID == m.PreviousProducerID && epochExhausted(exp.Epoch)) {
		return fail(ErrProducerFenced)
	}
	switch m.State {
	case PrepareCommit, PrepareAbort:
		return fail(ErrConcurrentTransactions)
	case Ongoing:
		d, err := p.fence(m, now)
		if err != nil {
			return fail(err)
		}
		d.Answer = Answer{Err: ErrConcurrentTransactions, ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch}
		return d
	case Empty, CompleteCommit, CompleteAbort:
	default:
		panic(fmt.Sprintf("txn: %s held in state %s", m.TransactionalID, m.State))
	}
	to := m.Clone()
	to.State, to.Partitions, to.Start, to.LastUpdate = Empty, nil, time.Time{}, now
	to.Timeout = r.Timeout
	to.PreviousProducerID, to.NextProducerID = m.ProducerID, NoProducerID
	if epochExhausted(m.ProducerEpoch) && (exp == nil || exp.Epoch == m.ProducerEpoch) {
		// Rotation (prepareProducerIdRotation): a new producer id.
		pid, err := p.allocate()
		if err != nil {
			return fail(err)
		}
		to.ProducerID, to.ProducerEpoch, to.LastProducerEpoch = pid, 0, NoProducerEpoch
		if exp != nil {
			to.LastProducerEpoch = m.ProducerEpoch
		}
	} else {
		// prepareIncrementProducerEpoch.
		switch {
		case exp == nil:
			to.ProducerEpoch, to.LastProducerEpoch = m.ProducerEpoch+1, NoProducerEpoch
		case m.ProducerEpoch == NoProducerEpoch || exp.Epoch == m.ProducerEpoch:
			to.ProducerEpoch, to.LastProducerEpoch = m.ProducerEpoch+1, m.ProducerEpoch
		case exp.Epoch == m.LastProducerEpoch:
			// A retry of a bump that succeeded: answer it again.
			to.ProducerEpoch, to.LastProducerEpoch = m.ProducerEpoch, m.LastProducerEpoch
		default:
			return fail(ErrProducerFenced)
		}
	}
	return Decision{Write: &Transit{Base: m.Clone(), To: *to}, Answer: Answer{ProducerID: to.ProducerID, ProducerEpoch: to.ProducerEpoch}}
}

// fence prepares the coordinator's abort of m's Ongoing transaction
// (Kafka's prepareFenceProducerEpoch followed by endTransaction(ABORT,
// isFromClient=false)): the epoch is bumped so the running producer is
// fenced, and the transaction moves to PrepareAbort at the bumped epoch.
// Under TV2 the abort bumps once more, as every TV2 end does, so a zombie
// retrying its EndTxn at the old epoch is not taken for a retry of this
// end (the last epoch is the fencing one, never the zombie's).
func (p *Partition) fence(m *Metadata, now time.Time) (Decision, error) {
	if m.ProducerEpoch == math.MaxInt16 {
		return Decision{}, ErrEpochExhausted
	}
	to := m.Clone()
	to.State, to.LastUpdate = PrepareAbort, now
	to.ProducerEpoch, to.LastProducerEpoch = m.ProducerEpoch+1, NoProducerEpoch
	to.NextProducerID = NoProducerID
	if m.ClientVersion.bumpsEpochOnEnd() {
		if epochExhausted(to.ProducerEpoch) {
			pid, err := p.allocate()
			if err != nil {
				return Decision{}, err
			}
			to.NextProducerID = pid
		} else {
			to.LastProducerEpoch = to.ProducerEpoch
			to.ProducerEpoch++
		}
	}
	return Decision{Write: &Transit{Base: m.Clone(), To: *to, Fence: true}}, nil
}

// AddPartitions is an AddPartitionsToTxn request for one transactional
// id (v4+ batches several; the handler splits them).
type AddPartitions struct {
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
	Partitions      []kafka.TopicPartition
	// Version is the client's transaction version: TV2 when the partition
	// leader adds the partition for a Produce v12 (KIP-890 part 2).
	Version Version
}

// check is the producer check shared by AddPartitionsToTxn, its
// verify-only form and AddOffsetsToTxn (Kafka's
// handleAddPartitionsToTransaction).
func (p *Partition) check(id string, pid int64, epoch int16) (*Metadata, error) {
	if id == "" {
		return nil, ErrInvalidRequest
	}
	m := p.txns[id]
	switch {
	case m == nil || m.ProducerID != pid:
		return nil, ErrInvalidProducerIDMapping
	case m.ProducerEpoch != epoch:
		return nil, ErrProducerFenced
	case m.State.preparing():
		return nil, ErrConcurrentTransactions
	}
	return m, nil
}

// AddPartitions decides an AddPartitionsToTxn: the transaction becomes
// (or stays) Ongoing with the partitions added; its start is the first
// add. Partitions already in an Ongoing transaction are answered at once.
func (p *Partition) AddPartitions(r AddPartitions, now time.Time) Decision {
	now = millis(now)
	m, err := p.check(r.TransactionalID, r.ProducerID, r.ProducerEpoch)
	if err != nil {
		return fail(err)
	}
	parts, added := union(m.Partitions, r.Partitions)
	ok := Answer{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch}
	if m.State == Ongoing && !added {
		return Decision{Answer: ok}
	}
	to := m.Clone()
	if m.State != Ongoing {
		to.Start = now
	}
	to.State, to.Partitions, to.LastUpdate, to.ClientVersion = Ongoing, parts, now, r.Version
	return Decision{Write: &Transit{Base: m.Clone(), To: *to}, Answer: ok}
}

// VerifyPartitions answers a verify-only AddPartitionsToTxn (v4+, sent by
// a partition leader before it appends a transactional batch, KIP-890
// part 1): the error for all partitions, or one per partition (nil: in the
// transaction; ErrTransactionAbortable: not). It writes nothing.
func (p *Partition) VerifyPartitions(id string, pid int64, epoch int16, partitions []kafka.TopicPartition) (map[kafka.TopicPartition]error, error) {
	m, err := p.check(id, pid, epoch)
	if err != nil {
		return nil, err
	}
	out := make(map[kafka.TopicPartition]error, len(partitions))
	for _, tp := range partitions {
		if m.HasPartition(tp) {
			out[tp] = nil
		} else {
			out[tp] = ErrTransactionAbortable
		}
	}
	return out, nil
}

// OffsetsTopic is the consumer-offsets topic AddOffsetsToTxn adds.
const OffsetsTopic = "__consumer_offsets"

// AddOffsets decides an AddOffsetsToTxn: the group's partition of
// __consumer_offsets joins the transaction, so its TxnOffsetCommit is
// committed or aborted with it (Kafka's KafkaApis.handleAddOffsetsToTxnRequest).
func (p *Partition) AddOffsets(id string, pid int64, epoch int16, group string, now time.Time) Decision {
	tp := kafka.TopicPartition{Topic: OffsetsTopic, Partition: PartitionFor(group, p.cfg.OffsetsPartitions)}
	v := TV0
	if m := p.txns[id]; m != nil {
		v = m.ClientVersion
	}
	return p.AddPartitions(AddPartitions{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch, Partitions: []kafka.TopicPartition{tp}, Version: v}, now)
}

// EndTxn is an EndTxn request.
type EndTxn struct {
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
	Commit          bool
	// Version is TV2 for EndTxn v5+ (the epoch bumps), else TV0.
	Version Version
}

// EndTxn decides an EndTxn (Kafka's TransactionCoordinator.endTransaction
// from a client): an Ongoing transaction moves to PrepareCommit or
// PrepareAbort, and once that is written the caller writes the markers
// (Apply returns them) and reports them with Complete. Under TV2 the
// epoch bumps at the end (a new producer id at epoch 0 once exhausted) and
// the answer carries the producer's next id and epoch; a retry after the
// bump (its epoch one below) is recognized. A retry of an end already
// complete is answered again; of one still preparing,
// CONCURRENT_TRANSACTIONS; the other outcome than the one under way,
// INVALID_TXN_STATE.
func (p *Partition) EndTxn(r EndTxn, now time.Time) Decision {
	now = millis(now)
	if r.TransactionalID == "" {
		return fail(ErrInvalidRequest)
	}
	m := p.txns[r.TransactionalID]
	if m == nil {
		return fail(ErrInvalidProducerIDMapping)
	}
	v2 := m.ClientVersion.bumpsEpochOnEnd()
	retryOnOverflow := v2 && m.PreviousProducerID == r.ProducerID && r.ProducerEpoch == math.MaxInt16-1 && m.ProducerEpoch == 0
	retryOnBump := v2 && int32(m.ProducerEpoch) == int32(r.ProducerEpoch)+1
	var validEpoch bool
	if v2 {
		switch m.State {
		case PrepareCommit, PrepareAbort:
			validEpoch = retryOnBump
		case CompleteCommit, CompleteAbort:
			validEpoch = retryOnBump || retryOnOverflow
		default:
			validEpoch = r.ProducerEpoch == m.ProducerEpoch
		}
	} else {
		validEpoch = r.ProducerEpoch == m.ProducerEpoch
	}
	switch {
	case m.ProducerID != r.ProducerID && !retryOnOverflow:
		return fail(ErrInvalidProducerIDMapping)
	case !validEpoch:
		return fail(ErrProducerFenced)
	}
	current := Answer{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch}
	switch m.State {
	case Ongoing:
	case CompleteCommit:
		if r.Commit {
			return Decision{Answer: current}
		}
		return fail(ErrInvalidTxnState)
	case CompleteAbort:
		if !r.Commit {
			return Decision{Answer: current}
		}
		return fail(ErrInvalidTxnState)
	case PrepareCommit:
		if r.Commit {
			return fail(ErrConcurrentTransactions)
		}
		return fail(ErrInvalidTxnState)
	case PrepareAbort:
		if !r.Commit {
			return fail(ErrConcurrentTransactions)
		}
		return fail(ErrInvalidTxnState)
	default: // Empty
		return fail(ErrInvalidTxnState)
	}
	to := m.Clone()
	to.State, to.LastUpdate, to.ClientVersion = PrepareAbort, now, r.Version
	if r.Commit {
		to.State = PrepareCommit
	}
	to.NextProducerID = NoProducerID
	answer := current
	if r.Version.bumpsEpochOnEnd() {
		if epochExhausted(m.ProducerEpoch) {
			pid, err := p.allocate()
			if err != nil {
				return fail(err)
			}
			to.NextProducerID = pid
		}
		to.ProducerEpoch, to.LastProducerEpoch = m.ProducerEpoch+1, m.ProducerEpoch
		answer = Answer{ProducerID: to.ProducerID, ProducerEpoch: to.ProducerEpoch}
		if to.NextProducerID != NoProducerID {
			answer = Answer{ProducerID: to.NextProducerID, ProducerEpoch: 0}
		}
	}
	return Decision{Write: &Transit{Base: m.Clone(), To: *to}, Answer: answer}
}

// Complete decides the end of a transaction whose markers mk were all
// written (Kafka's prepareComplete, run by the marker channel once every
// partition answered): PrepareCommit -> CompleteCommit, PrepareAbort ->
// CompleteAbort, the partitions cleared. A TV2 end that exhausted the
// epoch moves to its next producer id at epoch 0 here. Markers that do not
// match the transaction preparing are ErrStaleMarkers.
func (p *Partition) Complete(mk Markers, now time.Time) Decision {
	now = millis(now)
	m := p.txns[mk.TransactionalID]
	if m == nil || !m.State.preparing() || m.ProducerID != mk.ProducerID || m.ProducerEpoch != mk.ProducerEpoch ||
		(m.State == PrepareCommit) != mk.Commit || !samePartitions(m.Partitions, mk.Partitions) {
		return fail(ErrStaleMarkers)
	}
	to := m.Clone()
	to.State, to.Partitions, to.LastUpdate = CompleteAbort, nil, now
	if m.State == PrepareCommit {
		to.State = CompleteCommit
	}
	if m.ClientVersion.bumpsEpochOnEnd() {
		// Only TV2 moves the identity at Complete (completeTransitionTo).
		to.PreviousProducerID, to.LastProducerEpoch = m.ProducerID, m.ProducerEpoch
	}
	if m.NextProducerID != NoProducerID {
		to.ProducerID, to.ProducerEpoch, to.NextProducerID = m.NextProducerID, 0, NoProducerID
	}
	return Decision{Write: &Transit{Base: m.Clone(), To: *to}, Answer: Answer{ProducerID: to.ProducerID, ProducerEpoch: to.ProducerEpoch}}
}

// TimedOut returns the transactional ids whose Ongoing transaction ran
// past its timeout at now (Kafka's timedOutTransactions: start + timeout <
// now), sorted.
func (p *Partition) TimedOut(now time.Time) []string {
	var out []string
	for id, m := range p.txns {
		if m.State == Ongoing && m.Start.Add(m.Timeout).Before(now) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// AbortTimedOut decides the coordinator's abort of a timed-out
// transaction (Kafka's abortTimedOutTransactions): the producer is fenced
// by an epoch bump and the transaction moves to PrepareAbort. Nothing is
// written when the transaction is no longer Ongoing or not yet timed out.
func (p *Partition) AbortTimedOut(id string, now time.Time) Decision {
	now = millis(now)
	m := p.txns[id]
	if m == nil || m.State != Ongoing || !m.Start.Add(m.Timeout).Before(now) {
		return Decision{}
	}
	d, err := p.fence(m, now)
	if err != nil {
		return fail(err)
	}
	return d
}

// Expired returns the transactional ids idle (Empty, CompleteCommit,
// CompleteAbort) for transactional.id.expiration.ms at now (Kafka's
// shouldExpire), sorted.
func (p *Partition) Expired(now time.Time) []string {
	var out []string
	for id, m := range p.txns {
		if p.expired(m, now) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (p *Partition) expired(m *Metadata, now time.Time) bool {
	return m.State.expirable() && !m.LastUpdate.After(now.Add(-p.cfg.IDExpiration))
}

// Expire decides the removal of an expired transactional id: a tombstone
// (the Dead transition, Kafka's prepareDead). Nothing is written when the
// id is gone or no longer expired.
func (p *Partition) Expire(id string, now time.Time) Decision {
	m := p.txns[id]
	if m == nil || !p.expired(m, now) {
		return Decision{}
	}
	to := m.Clone()
	to.State, to.Partitions = Dead, nil
	return Decision{Write: &Transit{Base: m.Clone(), To: *to}}
}

func (p *Partition) allocate() (int64, error) {
	if p.ids == nil {
		return 0, fmt.Errorf("txn: no producer id allocator")
	}
	pid, err := p.ids.NextProducerID()
	if err != nil {
		return 0, fmt.Errorf("txn: allocate a producer id: %w", err)
	}
	if pid < 0 {
		return 0, fmt.Errorf("txn: allocator returned producer id %d", pid)
	}
	return pid, nil
}
