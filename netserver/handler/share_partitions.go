package handler

// The share-partition leader (KIP-932): for every (share group, topic
// partition) this broker leads and a member fetched, a share partition
// (package coordinator/sharepart) tracks the in-flight records: which
// member holds which, for how long, and how often each was delivered.
//
// Lifecycle: a share partition is loaded on the first ShareFetch or
// ShareAcknowledge that reaches it, from its share coordinator
// (ReadShareGroupState with this broker's leader epoch, which fences the
// previous leader's writes). A partition the coordinator never saw is
// initialized at the offset share.auto.offset.reset picks (latest, the
// default, is the high watermark at that moment; earliest the log start;
// by_duration the first record at or after now less the duration). It is
// dropped when this broker stops leading the partition or the leader
// epoch changes (the next request loads it again with the new epoch), and
// when its group's state is deleted or reset.
//
// Durability: every change an acknowledgement makes is written to the
// share coordinator (WriteShareGroupState, the whole in-flight window)
// before the acknowledgement is answered; acquisitions and lock expiries
// are written in the background. A leader that fails before writing an
// acquisition redelivers the records with the count last written, so
// delivery is at least once. Writes of one share partition go one at a
// time, newest state each (persist), and no lock is held while one is on
// the wire.
//
// Locks time out on a timer per share partition, set to its earliest
// acquisition deadline; records that become available again (released,
// timed out, a member gone) wake the ShareFetch long polls on the
// partition through the fetch watch.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/sharepart"
	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/internal/kafka"
)

// freshCheckTimeout bounds the state-epoch check of a share partition a
// member opens a session on (shares.get).
const freshCheckTimeout = 500 * time.Millisecond

// shareWriteTimeout bounds a background write of a share partition's state.
const shareWriteTimeout = 30 * time.Second

// shareKey names a share partition.
type shareKey struct {
	group     string
	topicID   [16]byte
	partition int32
}

func (k shareKey) stateKey() sharestate.Key {
	return sharestate.Key{Group: k.group, TopicID: k.topicID, Partition: k.partition}
}

// shares holds the share partitions this broker leads.
type shares struct {
	b  *Broker
	mu sync.Mutex
	// parts is keyed by share partition; byTopic indexes them by topic
	// partition for leadership changes.
	parts   map[shareKey]*sharePart
	byTopic map[kafka.TopicPartition]map[shareKey]struct{}
	// idleAfter is how long a share partition with nothing in flight
	// stays loaded unused (shareIdleEviction; tests shorten it).
	idleAfter time.Duration
	// lastStateEpoch is the state epoch of share partitions no longer
	// loaded (removeLocked): one per share partition this broker led.
	lastStateEpoch map[shareKey]int32
}

// shareIdleEviction is how long a loaded share partition with nothing
// acquired and its state written stays in memory without a request: a
// group that stopped reading a partition (or was deleted, its state gone
// from the share coordinator) does not keep it loaded for good. The next
// request loads it again from the share coordinator.
const shareIdleEviction = 10 * time.Minute

func newShares(b *Broker) *shares {
	return &shares{b: b, parts: map[shareKey]*sharePart{}, byTopic: map[kafka.TopicPartition]map[shareKey]struct{}{},
		idleAfter: shareIdleEviction, lastStateEpoch: map[shareKey]int32{}}
}

// sharePart is one share partition. mu guards everything below it; it is
// never held across the log read or a state write.
type sharePart struct {
	s     *shares
	key   shareKey
	tp    kafka.TopicPartition
	ready chan struct{} // closed once loaded or failed
	// leaderEpoch is this broker's leader epoch of the partition when it
	// loaded the state; fixed for the share partition's life.
	leaderEpoch int32
	// recordBytes is the partition's bytes per record at the last read
	// (readForAcquire's first chunk).
	recordBytes atomic.Int64
	// lastUsed is when a request last got sp (Unix nanoseconds of the
	// broker's clock), for idle eviction (touch, evictIfIdle).
	lastUsed atomic.Int64

	mu         sync.Mutex
	loadErr    *kerr.Error
	sm         *sharepart.Partition
	stateEpoch int32
	dropped    bool
	timer      *time.Timer
	idle       *time.Timer
	// version counts changes to persist; durable is the version the
	// share coordinator has. writing is set while a write is on the wire.
	version, durable uint64
	writing          bool
	writeErr         error
	waiters          []persistWaiter
}

type persistWaiter struct {
	version uint64
	done    chan error
}

// get returns the loaded share partition of key on topic partition tp,
// loading it when this broker has none for its current leader epoch.
// fresh is set when a member opens a share session on it: a share
// partition loaded before, with nothing acquired, is checked against its
// coordinator's state epoch first, so offsets altered or deleted since
// (AlterShareGroupOffsets, DeleteShareGroupOffsets, a deleted group, on
// the group's coordinator) take effect without waiting for a fenced
// write.
func (s *shares) get(ctx context.Context, key shareKey, tp kafka.TopicPartition, fresh bool) (*sharePart, *kerr.Error) {
	b := s.b
	if code := b.leaderHere(tp.Topic, tp.Partition); code != nil {
		return nil, code
	}
	epoch := b.leaderEpoch(tp.Topic, tp.Partition)
	s.mu.Lock()
	sp := s.parts[key]
	if sp != nil && sp.leaderEpoch != epoch {
		s.dropLocked(sp)
		sp = nil
	}
	load := sp == nil
	if load {
		sp = &sharePart{s: s, key: key, tp: tp, ready: make(chan struct{}), leaderEpoch: epoch}
		s.parts[key] = sp
		set := s.byTopic[tp]
		if set == nil {
			set = map[shareKey]struct{}{}
			s.byTopic[tp] = set
		}
		set[key] = struct{}{}
	}
	s.mu.Unlock()
	if load {
		code := sp.load(ctx)
		sp.mu.Lock()
		sp.loadErr = code
		sp.mu.Unlock()
		close(sp.ready)
		if code != nil {
			s.mu.Lock()
			if s.parts[key] == sp {
				s.dropLocked(sp)
			}
			s.mu.Unlock()
			return nil, code
		}
		sp.touch()
		return sp, nil
	}
	select {
	case <-sp.ready:
	case <-ctx.Done():
		return nil, kerr.RequestTimedOut
	}
	sp.mu.Lock()
	loadErr, dropped, stateEpoch := sp.loadErr, sp.dropped, sp.stateEpoch
	busy := false
	if loadErr == nil && !dropped {
		_, busy = sp.sm.NextDeadline()
	}
	sp.mu.Unlock()
	switch {
	case loadErr != nil:
		return nil, loadErr
	case dropped:
		return nil, kerr.NotLeaderForPartition
	case fresh && !busy:
		// Bounded: a share coordinator that does not answer soon only
		// skips the check (the next write would find a reset).
		cctx, cancel := context.WithTimeout(ctx, freshCheckTimeout)
		sum, err := b.shareStateSummary(cctx, key.stateKey())
		cancel()
		if err == nil && (sum.StateEpoch != stateEpoch || sum.StartOffset < 0) {
			s.mu.Lock()
			if s.parts[key] == sp {
				s.dropLocked(sp)
			}
			s.mu.Unlock()
			return s.get(ctx, key, tp, false)
		}
	}
	sp.touch()
	return sp, nil
}

// loaded returns the share partition of key if it is loaded here.
func (s *shares) loaded(key shareKey) *sharePart {
	s.mu.Lock()
	sp := s.parts[key]
	s.mu.Unlock()
	if sp == nil {
		return nil
	}
	select {
	case <-sp.ready:
	default:
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.loadErr != nil || sp.dropped {
		return nil
	}
	return sp
}

// dropLocked forgets sp: its timer stops and writers waiting on it learn
// it is gone. s.mu is held.
func (s *shares) dropLocked(sp *sharePart) {
	sp.mu.Lock()
	sp.markDroppedLocked()
	epoch := sp.stateEpoch
	sp.mu.Unlock()
	s.removeLocked(sp, epoch)
}

// removeLocked takes sp out of shares and remembers its state epoch: a
// share partition initialized again here (its state deleted) takes a
// state epoch above it, so a write of sp still on the wire is fenced even
// though the deletion took the coordinator's record of the epochs with it.
// s.mu is held.
func (s *shares) removeLocked(sp *sharePart, stateEpoch int32) {
	delete(s.parts, sp.key)
	if set := s.byTopic[sp.tp]; set != nil {
		delete(set, sp.key)
		if len(set) == 0 {
			delete(s.byTopic, sp.tp)
		}
	}
	if stateEpoch > s.lastStateEpoch[sp.key] {
		s.lastStateEpoch[sp.key] = stateEpoch
	}
}

// markDroppedLocked stops sp's timers: it is no longer in shares. sp.mu
// is held.
func (sp *sharePart) markDroppedLocked() {
	sp.dropped = true
	if sp.timer != nil {
		sp.timer.Stop()
	}
	if sp.idle != nil {
		sp.idle.Stop()
	}
}

// touch notes a request on sp and arms its idle eviction.
func (sp *sharePart) touch() {
	sp.lastUsed.Store(sp.s.b.now().UnixNano())
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.idle == nil && !sp.dropped {
		sp.idle = time.AfterFunc(sp.s.idleAfter, sp.evictIfIdle)
	}
}

// evictIfIdle drops sp when no request used it for idleAfter and it holds
// nothing the share coordinator lacks: no acquired record, every change
// written. Otherwise it looks again later.
func (sp *sharePart) evictIfIdle() {
	s := sp.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.dropped || s.parts[sp.key] != sp {
		return
	}
	unused := s.b.now().Sub(time.Unix(0, sp.lastUsed.Load()))
	_, acquired := sp.sm.NextDeadline()
	switch {
	case unused < s.idleAfter:
		sp.idle.Reset(s.idleAfter - unused)
		return
	case acquired || sp.writing || sp.durable < sp.version:
		sp.idle.Reset(s.idleAfter)
		return
	}
	// Both locks held: no request can acquire from sp between the check
	// and the drop.
	sp.markDroppedLocked()
	s.removeLocked(sp, sp.stateEpoch)
}

// dropPartition forgets every share partition of tp: this broker stopped
// leading it or its leader epoch changed.
//
// A broker that leads the partition at leader epoch epoch keeps the share
// partitions already loaded under that epoch: the metadata can reach a
// request (which loads under the new epoch) before the replica manager
// reports the leadership; epoch -1 (no longer leading) drops them all.
func (s *shares) dropPartition(tp kafka.TopicPartition, epoch int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.byTopic[tp] {
		if sp := s.parts[k]; sp != nil && (epoch < 0 || sp.leaderEpoch < epoch) {
			s.dropLocked(sp)
		}
	}
}

// dropGroup forgets the share partitions of group (its state was deleted
// or its offsets reset; the next fetch loads the new state).
func (s *shares) dropGroup(group string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, sp := range s.parts {
		if k.group == group {
			s.dropLocked(sp)
		}
	}
}

// load reads the share partition's state from its share coordinator
// (recording this broker's leader epoch there, which fences the previous
// leader's writes), initializing it first when the coordinator has none.
// A state without a start offset (initialized with -1) starts where
// share.auto.offset.reset says.
func (sp *sharePart) load(ctx context.Context) *kerr.Error {
	b := sp.s.b
	k := sp.key.stateKey()
	rep, code := b.replicaOf(sp.tp.Topic, sp.tp.Partition)
	if code != nil {
		return code
	}
	l := rep.Log()
	st, err := b.shareStateRead(ctx, k, sp.leaderEpoch)
	if errors.Is(err, errShareStateUninitialized) {
		// Never initialized (or deleted): initialize it under a state
		// epoch above any the coordinator has and any a copy this broker
		// dropped had (so a write of a copy of deleted state still in
		// flight is fenced: the deletion took the coordinator's epochs),
		// then read it as the leader. State someone initialized since the read (an offsets
		// reset, another leader) is read, not replaced.
		sum, serr := b.shareStateSummary(ctx, k)
		if serr != nil {
			return toKerr(serr)
		}
		if sum.StartOffset < 0 {
			start, code := b.shareStartOffset(sp.key.group, sp.tp, l.LogStartOffset())
			if code != nil {
				return code
			}
			sp.s.mu.Lock()
			last := sp.s.lastStateEpoch[sp.key]
			sp.s.mu.Unlock()
			if ierr := b.shareStateInitialize(ctx, k, max(sum.StateEpoch, last, 0)+1, start); ierr != nil {
				return toKerr(ierr)
			}
		}
		st, err = b.shareStateRead(ctx, k, sp.leaderEpoch)
	}
	if err != nil {
		return toKerr(err)
	}
	if st.StartOffset < 0 {
		start, code := b.shareStartOffset(sp.key.group, sp.tp, l.LogStartOffset())
		if code != nil {
			return code
		}
		if err := b.shareStateWriteCount(ctx, k, sp.leaderEpoch, st.StateEpoch, start, 0, nil); err != nil {
			return toKerr(err)
		}
		st.StartOffset, st.Batches = start, nil
	}
	persisted := sharepart.Persisted{StartOffset: st.StartOffset}
	for _, bt := range st.Batches {
		persisted.Batches = append(persisted.Batches, sharepart.StateBatch{
			First: bt.First, Last: bt.Last, State: sharepart.RecordState(bt.State), DeliveryCount: bt.DeliveryCount,
		})
	}
	sm := sharepart.New(b.sharePartConfig(sp.key.group), persisted)
	if ls := l.LogStartOffset(); sm.StartOffset() < ls {
		sm.MoveStartOffset(ls, b.now())
	}
	sm.ClearChanged()
	sp.mu.Lock()
	sp.sm, sp.stateEpoch = sm, st.StateEpoch
	sp.mu.Unlock()
	return nil
}

// errShareStateUninitialized is the share coordinator's answer to a read
// of a share partition it has no state for (Kafka 4.2's "read on
// uninitialized share partition").
var errShareStateUninitialized = kerr.InvalidRequest

// changedLocked notes a change of the state machine: a write is owed
// (when it changed anything to persist) and the lock timer is rearmed.
// sp.mu is held.
func (sp *sharePart) changedLocked() {
	if sp.sm.Changed() {
		sp.sm.ClearChanged()
		sp.version++
	}
	sp.armLocked()
}

// armLocked sets the lock timer to the earliest acquisition deadline.
func (sp *sharePart) armLocked() {
	deadline, ok := sp.sm.NextDeadline()
	if !ok || sp.dropped {
		if sp.timer != nil {
			sp.timer.Stop()
		}
		return
	}
	// Deadlines come from the broker's clock (b.now), so the wait does.
	d := deadline.Sub(sp.s.b.now())
	if sp.timer == nil {
		sp.timer = time.AfterFunc(d, sp.expire)
		return
	}
	sp.timer.Reset(d)
}

// expire runs when an acquisition lock may have timed out. Records that
// timed out go back to Available (or are archived at the delivery
// limit): the partition's long polls are woken whatever the state
// machine reports as changed for persistence (an Acquired record is
// persisted as Available, so a lapse alone changes nothing durable).
func (sp *sharePart) expire() {
	sp.mu.Lock()
	if sp.dropped {
		sp.mu.Unlock()
		return
	}
	before := sp.version
	sp.sm.Expire(sp.s.b.now())
	sp.changedLocked()
	write := sp.version != before
	sp.mu.Unlock()
	sp.s.b.watch.wake(sp.tp)
	if write {
		sp.persistAsync()
	}
}

// release hands back what member holds: its session ended.
func (sp *sharePart) release(member string) {
	sp.mu.Lock()
	if sp.dropped {
		sp.mu.Unlock()
		return
	}
	held := sp.sm.AcquiredBy(member) > 0
	before := sp.version
	sp.sm.ReleaseMember(member, sp.s.b.now())
	sp.changedLocked()
	write := sp.version != before
	sp.mu.Unlock()
	if held {
		sp.s.b.watch.wake(sp.tp)
	}
	if write {
		sp.persistAsync()
	}
}

// acknowledge applies a partition's acknowledgement batches, all or none
// (as Kafka: a batch the state machine refuses, INVALID_RECORD_STATE or
// INVALID_REQUEST, fails them all), and returns once the share
// coordinator has the result.
func (sp *sharePart) acknowledge(ctx context.Context, member string, acks []sharepart.AckBatch) *kerr.Error {
	sp.mu.Lock()
	if sp.dropped {
		sp.mu.Unlock()
		return kerr.NotLeaderForPartition
	}
	before := sp.version
	ackErr := sp.sm.AcknowledgeBatches(member, acks, sp.s.b.now())
	sp.changedLocked()
	changed := sp.version != before
	sp.mu.Unlock()
	if ackErr != nil {
		return toKerr(ackErr)
	}
	// Released records are offered again: wake the partition's long
	// polls (a release may change nothing durable, see expire).
	sp.s.b.watch.wake(sp.tp)
	if changed {
		if err := sp.persist(ctx); err != nil {
			return persistError(err)
		}
	}
	return nil
}

// ShareStats are the share sessions and loaded share partitions of this
// broker and the records in their in-flight windows, for metrics.
type ShareStats struct {
	Sessions, Partitions int
	InFlight             int64
}

// ShareStats reads them (each share partition's lock taken in turn).
func (b *Broker) ShareStats() ShareStats {
	st := ShareStats{Sessions: b.shareSessions.Len()}
	b.shares.mu.Lock()
	parts := make([]*sharePart, 0, len(b.shares.parts))
	for _, sp := range b.shares.parts {
		parts = append(parts, sp)
	}
	b.shares.mu.Unlock()
	for _, sp := range parts {
		sp.mu.Lock()
		if sp.sm != nil && !sp.dropped {
			st.Partitions++
			st.InFlight += sp.sm.InFlight()
		}
		sp.mu.Unlock()
	}
	return st
}
