package replica

import (
	"errors"
	"sync"
	"time"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/isr"
)

// State is a partition's state as the controller published it.
type State struct {
	TopicID                             [16]byte
	Leader, LeaderEpoch, PartitionEpoch int32
	Replicas, ISR                       []int32
	// Fenced are the replicas whose brokers the controller has fenced: a
	// leader never proposes them for the ISR (KIP-841).
	Fenced []int32
}

// Partition is one local replica.
type Partition struct {
	tp  kafka.TopicPartition
	log *log.Log
	m   *Manager

	// role is held exclusively while leadership changes (see the package
	// doc); it guards state and lead.
	role  sync.RWMutex
	state State
	lead  *isr.Leader

	// mu guards what changes under a shared role lock.
	mu sync.Mutex
	// hw is the follower's high watermark; a leader's is lead's.
	hw      int64
	waiters map[uint64]chan error
	// woken is the leader's high watermark consumers were last woken
	// for (deliverLocked).
	woken int64
	alter alterState
	// ticking: the partition is on the manager's clock (see watchLocked).
	ticking bool
}

// alterState is the leader's AlterPartition request.
type alterState struct {
	inflight bool
	// retryAt holds back a resend: after a transport failure, and after a
	// success until the metadata shows it.
	retryAt time.Time
}

func newPartition(m *Manager, tp kafka.TopicPartition, l *log.Log) *Partition {
	return &Partition{tp: tp, log: l, m: m, state: State{Leader: -1}, waiters: map[uint64]chan error{}}
}

// Log is the replica's log.
func (p *Partition) Log() *log.Log { return p.log }

func toIDs(rs []int32) []isr.ReplicaID {
	out := make([]isr.ReplicaID, len(rs))
	for i, r := range rs {
		out[i] = isr.ReplicaID(r)
	}
	return out
}

// leadership is a change of a partition's leadership on this broker.
type leadership int

const (
	unchanged leadership = iota
	becameLeader
	stoppedLeading
)

// apply acts on newly published state: start leading a new leader epoch,
// learn the ISR as leader, or stop leading.
func (p *Partition) apply(s State, now time.Time) (change leadership) {
	p.role.Lock()
	defer p.role.Unlock()
	old := p.state
	p.state = s
	self := p.m.cfg.Self
	switch {
	case s.Leader == self && (p.lead == nil || p.lead.LeaderEpoch() != s.LeaderEpoch):
		p.mu.Lock()
		p.failWaitsLocked(ErrNotLeader)
		leo := p.log.LogEndOffset()
		hw := min(p.hw, leo)
		if p.lead != nil {
			hw = min(p.lead.HighWatermark(), leo)
		}
		cfg := isr.Config{Self: isr.ReplicaID(self), LagTimeMax: p.m.cfg.LagTimeMax, MinInSync: p.log.Config().MinInsyncReplicas}
		p.lead = isr.NewLeader(cfg, s.LeaderEpoch, s.PartitionEpoch, toIDs(s.Replicas), toIDs(s.ISR), leo, hw, now)
		p.lead.SetIneligible(toIDs(s.Fenced))
		p.alter = alterState{}
		p.woken = hw
		p.watchLocked()
		p.mu.Unlock()
		p.m.cfg.Logger.Info("leading", "partition", p.tp.String(), "epoch", s.LeaderEpoch, "log_end_offset", leo, "high_watermark", hw, "isr", s.ISR)
		return becameLeader
	case s.Leader == self:
		p.mu.Lock()
		p.lead.SetIneligible(toIDs(s.Fenced))
		p.mu.Unlock()
		if s.PartitionEpoch == old.PartitionEpoch {
			return // a pending change stays pending
		}
		p.mu.Lock()
		p.lead.PartitionState(toIDs(s.ISR), s.PartitionEpoch)
		p.deliverLocked()
		p.mu.Unlock()
	case p.lead != nil:
		p.mu.Lock()
		p.setFollowerHWLocked(p.lead.HighWatermark())
		p.failWaitsLocked(ErrNotLeader)
		p.lead = nil
		p.mu.Unlock()
		// Fetches waiting here answer NOT_LEADER now, not at the end of
		// their wait (Kafka completes delayed fetches on becoming a
		// follower).
		p.m.cfg.Advanced(p.tp)
		p.m.cfg.Logger.Info("stopped leading", "partition", p.tp.String(), "leader", s.Leader, "epoch", s.LeaderEpoch)
		return stoppedLeading
	}
	return unchanged
}

// failWaitsLocked ends every acks=all wait with err.
func (p *Partition) failWaitsLocked(err error) {
	for id, ch := range p.waiters {
		ch <- err
		delete(p.waiters, id)
	}
}

// deliverLocked hands finished acks=all waits to their producers and wakes
// consumers when the high watermark moved. Every path that can move the
// high watermark (appends, follower fetches, ISR changes from the metadata
// or a refused AlterPartition, ticks) ends here, so none is missed.
func (p *Partition) deliverLocked() {
	for _, d := range p.lead.TakeDone() {
		if ch, ok := p.waiters[d.ID]; ok {
			ch <- d.Err
			delete(p.waiters, d.ID)
		}
	}
	if hw := p.lead.HighWatermark(); hw != p.woken {
		p.woken = hw
		p.m.hwMoved.Add(1)
		p.m.cfg.Advanced(p.tp)
	}
	p.watchLocked()
}

// watchLocked puts a leader on the manager's clock when time can change
// something in it (isr.Leader.Idle); tick takes it off again once idle.
// Every input to the leader ends in deliverLocked, which calls this, so a
// leader that needs ticks is never left off the clock.
func (p *Partition) watchLocked() {
	if !p.ticking && p.lead != nil && !p.lead.Idle() {
		p.ticking = true
		p.m.clock.add(p)
	}
}

// setFollowerHWLocked sets a follower's high watermark.
func (p *Partition) setFollowerHWLocked(hw int64) {
	if hw != p.hw {
		p.hw = hw
		p.m.hwMoved.Add(1)
	}
}

// Append appends a produced batch as leader, stamped with the leader
// epoch. With acksAll it refuses while the ISR is below
// min.insync.replicas, and returns a channel that receives the outcome
// once the ISR has the batch (nil error), or the wait fails (timeout,
// leadership lost, ISR shrank below the minimum).
func (p *Partition) Append(batch []byte, acksAll bool, timeout time.Duration) (log.AppendResult, <-chan error, error) {
	return p.appendAs(batch, acksAll, timeout, log.AppendOptions{})
}

// AppendVerified appends a transactional batch as Append does, opening
// the producer's transaction only under guard, the verification the
// caller made with the transaction coordinator (log.StartTxnVerification;
// nil when the transaction was already open).
func (p *Partition) AppendVerified(batch []byte, acksAll bool, timeout time.Duration, guard *log.VerificationGuard) (log.AppendResult, <-chan error, error) {
	return p.appendAs(batch, acksAll, timeout, log.AppendOptions{Verify: true, Guard: guard})
}

// AppendMarker appends a COMMIT or ABORT marker a transaction coordinator
// sent, as Append does with acks=all. tv is the version of the transaction
// it ends (WriteTxnMarkers v2, 0 when the request has none): from 2 the log
// refuses a marker whose producer epoch is not above the producer's, and
// answers one at that epoch after the transaction ended as a duplicate
// (log.AppendOptions.TransactionVersion).
func (p *Partition) AppendMarker(batch []byte, timeout time.Duration, tv int16) (log.AppendResult, <-chan error, error) {
	return p.appendAs(batch, true, timeout, log.AppendOptions{TransactionVersion: tv})
}

func (p *Partition) appendAs(batch []byte, acksAll bool, timeout time.Duration, opts log.AppendOptions) (log.AppendResult, <-chan error, error) {
	batch, err := recompress(p.log.Config(), batch)
	if err != nil {
		return log.AppendResult{}, nil, err
	}
	p.role.RLock()
	defer p.role.RUnlock()
	if p.lead == nil {
		return log.AppendResult{}, nil, p.notLeader()
	}
	p.mu.Lock()
	err = p.lead.CheckAppend(acksAll)
	epoch := p.lead.LeaderEpoch()
	p.mu.Unlock()
	if err != nil {
		return log.AppendResult{}, nil, err
	}
	opts.AssignOffsets, opts.LeaderEpoch = true, epoch
	res, err := p.log.Append(batch, opts)
	if err != nil {
		return res, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	id := p.lead.Appended(res.LastOffset+1, acksAll, p.m.now().Add(timeout))
	var wait chan error
	if acksAll {
		wait = make(chan error, 1)
		p.waiters[id] = wait
	}
	p.deliverLocked()
	return res, wait, nil
}

// recompress rewrites a produced batch in the topic's compression.type
// codec when that is not "producer" and differs from the producer's, as
// Kafka's leader does (LogValidator); the log then validates it and
// assigns offsets as for any batch. Recompressing here, before the log,
// leaves followers zero-copy: they append the leader's bytes as fetched.
// The producer's id, epoch, sequence and transactional bit are kept, so
// idempotence and transactions see the batch as sent. Like Kafka,
// max.message.bytes applies to the batch as sent and (in log.Append) as
// written. It runs before the role lock so a leadership change never waits
// for a compressor.
func recompress(cfg log.Config, batch []byte) ([]byte, error) {
	codec, level, ok := cfg.Compression()
	if !ok {
		return batch, nil
	}
	if cfg.MaxMessageBytes > 0 && len(batch) > cfg.MaxMessageBytes {
		return nil, log.ErrBatchTooLarge
	}
	return format.Recompress(batch, codec, level)
}

// notLeader is the error for a request only the leader serves.
func (p *Partition) notLeader() error {
	if p.state.Leader < 0 {
		return ErrLeaderNotAvailable
	}
	return ErrNotLeader
}

// CheckEpoch compares a client's idea of the leader epoch (-1: none) with
// the one this broker acts on.
func (p *Partition) CheckEpoch(current int32) error {
	p.role.RLock()
	defer p.role.RUnlock()
	return p.checkEpochLocked(current)
}

func (p *Partition) checkEpochLocked(current int32) error {
	switch {
	case current < 0:
		return nil
	case current < p.state.LeaderEpoch:
		return ErrFencedLeaderEpoch
	case current > p.state.LeaderEpoch:
		return ErrUnknownLeaderEpoch
	}
	return nil
}

// LeaderEpoch is the leader epoch this broker acts on.
func (p *Partition) LeaderEpoch() int32 {
	p.role.RLock()
	defer p.role.RUnlock()
	return p.state.LeaderEpoch
}

// HighWatermark is the leader's high watermark: consumers read below it.
func (p *Partition) HighWatermark() (int64, error) {
	p.role.RLock()
	defer p.role.RUnlock()
	if p.lead == nil {
		return 0, p.notLeader()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lead.HighWatermark(), nil
}

// highWatermark is the replica's high watermark, leader or follower.
func (p *Partition) highWatermark() int64 {
	p.role.RLock()
	defer p.role.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lead != nil {
		return p.lead.HighWatermark()
	}
	return p.hw
}

// Diverging is where a follower's history left the leader's: the
// largest leader epoch not above the one it asked about, and where that
// epoch ends on the leader.
type Diverging struct {
	Epoch     int32
	EndOffset int64
}

// FollowerFetch handles a follower's fetch on the leader: replica fetches
// at fetchOffset, its log having lastFetchedEpoch (-1: unknown) and
// believing the leader epoch is currentEpoch. It returns the high
// watermark to send, or where the follower diverged (it then gets no
// records and must truncate first).
func (p *Partition) FollowerFetch(replica int32, fetchOffset int64, lastFetchedEpoch, currentEpoch int32) (int64, *Diverging, error) {
	p.role.RLock()
	defer p.role.RUnlock()
	if p.lead == nil {
		return 0, nil, p.notLeader()
	}
	if err := p.checkEpochLocked(currentEpoch); err != nil {
		return 0, nil, err
	}
	if lastFetchedEpoch >= 0 {
		e, end := p.log.EndOffsetForEpoch(lastFetchedEpoch)
		if e != lastFetchedEpoch || end < fetchOffset {
			p.mu.Lock()
			hw := p.lead.HighWatermark()
			p.mu.Unlock()
			return hw, &Diverging{Epoch: e, EndOffset: end}, nil
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	hw := p.lead.Fetched(isr.ReplicaID(replica), fetchOffset, p.m.now())
	p.deliverLocked()
	return hw, nil, nil
}

// tick times out waits and proposes ISR changes; it returns the change to
// send to the controller, if one is due.
func (p *Partition) tick(now time.Time) (*isr.Change, int32) {
	p.role.RLock()
	defer p.role.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lead == nil {
		p.unwatchLocked()
		return nil, 0
	}
	p.lead.Tick(now)
	p.deliverLocked()
	if p.lead.Idle() {
		p.unwatchLocked()
		return nil, 0
	}
	ch := p.lead.Pending()
	if ch == nil || p.alter.inflight || now.Before(p.alter.retryAt) {
		return nil, 0
	}
	p.alter.inflight = true
	return ch, p.lead.LeaderEpoch()
}

// unwatchLocked takes the partition off the manager's clock. Under p.mu,
// as watchLocked puts it on, so an input racing with it is never lost.
func (p *Partition) unwatchLocked() {
	if p.ticking {
		p.ticking = false
		p.m.clock.remove(p)
	}
}

// altered takes the controller's answer to an AlterPartition.
func (p *Partition) altered(err error, leaderEpoch int32, now time.Time) {
	p.role.RLock()
	defer p.role.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alter.inflight = false
	if p.lead == nil || p.lead.LeaderEpoch() != leaderEpoch {
		return
	}
	switch {
	case err == nil:
		// Committed: the metadata will show it; resend only if it does
		// not within a while (the controller then refuses it as stale).
		p.alter.retryAt = now.Add(2 * time.Second)
	case errors.Is(err, ErrISRChangeRefused): // an answer, not a failure to get one
		// Refused (a stale partition epoch, an ineligible replica):
		// start again from what is published.
		p.lead.PartitionState(toIDs(p.state.ISR), p.state.PartitionEpoch)
		p.deliverLocked()
		p.alter.retryAt = now.Add(200 * time.Millisecond)
	default:
		p.alter.retryAt = now.Add(500 * time.Millisecond)
	}
}
