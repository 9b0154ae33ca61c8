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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/sharepart"
	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/internal/kafka"
)

// ShareConfig is the share-partition leader's part of the broker config,
// under Kafka's names; a zero field takes Kafka's default.
type ShareConfig struct {
	// RecordLockDuration is group.share.record.lock.duration.ms (30000):
	// how long a member holds records it acquired, unless its group sets
	// share.record.lock.duration.ms.
	RecordLockDuration time.Duration
	// DeliveryCountLimit is group.share.delivery.count.limit (5): the
	// deliveries after which a record is archived, unless its group sets
	// share.delivery.count.limit.
	DeliveryCountLimit int16
	// PartitionMaxRecordLocks is group.share.partition.max.record.locks
	// (2000): the most records in flight in one share partition, unless
	// its group sets share.partition.max.record.locks.
	PartitionMaxRecordLocks int64
	// MinRecordLockDuration and MaxRecordLockDuration are
	// group.share.min.record.lock.duration.ms (15000) and
	// group.share.max.record.lock.duration.ms (60000): the bounds of a
	// group's share.record.lock.duration.ms.
	MinRecordLockDuration, MaxRecordLockDuration time.Duration
	// MaxShareSessions is group.share.max.share.sessions (2000): the most
	// share sessions this broker keeps.
	MaxShareSessions int
}

func (c ShareConfig) maxSessions() int {
	if c.MaxShareSessions <= 0 {
		return 2000
	}
	return c.MaxShareSessions
}

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
}

func newShares(b *Broker) *shares {
	return &shares{b: b, parts: map[shareKey]*sharePart{}, byTopic: map[kafka.TopicPartition]map[shareKey]struct{}{}}
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

	mu         sync.Mutex
	loadErr    *kerr.Error
	sm         *sharepart.Partition
	stateEpoch int32
	dropped    bool
	timer      *time.Timer
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
	delete(s.parts, sp.key)
	if set := s.byTopic[sp.tp]; set != nil {
		delete(set, sp.key)
		if len(set) == 0 {
			delete(s.byTopic, sp.tp)
		}
	}
	sp.mu.Lock()
	sp.dropped = true
	if sp.timer != nil {
		sp.timer.Stop()
	}
	sp.mu.Unlock()
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
		// epoch above any the coordinator saw (so a write of a copy of
		// deleted state still in flight is fenced), then read it as the
		// leader. State someone initialized since the read (an offsets
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
			if ierr := b.shareStateInitialize(ctx, k, max(sum.StateEpoch, 0)+1, start); ierr != nil {
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

// shareStartOffset is where a share partition without state starts, by
// its group's share.auto.offset.reset.
func (b *Broker) shareStartOffset(group string, tp kafka.TopicPartition, logStart int64) (int64, *kerr.Error) {
	reset := b.groupConfig(group)["share.auto.offset.reset"]
	rep, code := b.replicaOf(tp.Topic, tp.Partition)
	if code != nil {
		return 0, code
	}
	hw, err := rep.HighWatermark()
	if err != nil {
		return 0, toKerr(err)
	}
	switch {
	case reset == "earliest":
		return logStart, nil
	case strings.HasPrefix(reset, "by_duration:"):
		d, ok := parseISODuration(strings.TrimPrefix(reset, "by_duration:"))
		if !ok {
			return hw, nil
		}
		off, _, found, err := rep.Log().OffsetForTimestamp(b.now().Add(-d).UnixMilli())
		if err != nil {
			return 0, kerr.KafkaStorageError
		}
		if !found {
			return hw, nil
		}
		return min(max(off, logStart), hw), nil
	}
	return hw, nil
}

// parseISODuration reads the ISO-8601 durations Kafka's by_duration takes
// (PnDTnHnMn.nS; days, hours, minutes, seconds).
func parseISODuration(s string) (time.Duration, bool) {
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, false
	}
	s = s[1:]
	var d time.Duration
	inTime := false
	for len(s) > 0 {
		if s[0] == 'T' {
			inTime, s = true, s[1:]
			continue
		}
		i := strings.IndexAny(s, "DHMS")
		if i <= 0 {
			return 0, false
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 {
			return 0, false
		}
		unit := map[byte]time.Duration{'D': 24 * time.Hour, 'H': time.Hour, 'M': time.Minute, 'S': time.Second}[s[i]]
		if (s[i] == 'D') == inTime {
			return 0, false
		}
		d += time.Duration(n * float64(unit))
		s = s[i+1:]
	}
	return d, true
}

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

// persistAsync writes the current state in the background.
func (sp *sharePart) persistAsync() {
	sp.mu.Lock()
	sp.startWriterLocked()
	sp.mu.Unlock()
}

var errSharePartDropped = errors.New("share partition no longer led here")

// persist returns once the share coordinator has the state as it is now
// (or a later one), or ctx ends. The writes themselves run on the share
// partition's writer goroutine (writeLoop), not on the caller's request:
// a client that goes away mid-write does not fail the write the others
// wait on.
func (sp *sharePart) persist(ctx context.Context) error {
	sp.mu.Lock()
	want := sp.version
	if sp.durable >= want {
		sp.mu.Unlock()
		return nil
	}
	w := persistWaiter{version: want, done: make(chan error, 1)}
	sp.waiters = append(sp.waiters, w)
	sp.startWriterLocked()
	sp.mu.Unlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startWriterLocked starts the writer unless it runs. sp.mu is held.
func (sp *sharePart) startWriterLocked() {
	if sp.writing || sp.durable >= sp.version {
		return
	}
	sp.writing = true
	go sp.writeLoop()
}

// writeLoop writes the newest state, one write at a time, until the
// share coordinator has the latest version; each write is bounded by
// shareWriteTimeout. A failed write answers every waiter with its error
// and ends the loop: the next change starts another. A fenced write (a
// newer leader, offsets reset) or one of state the coordinator no longer
// has (deleted) drops this copy; the next request loads the state again.
func (sp *sharePart) writeLoop() {
	sp.mu.Lock()
	for {
		if sp.dropped {
			sp.finishLocked(errSharePartDropped)
			sp.mu.Unlock()
			return
		}
		v := sp.version
		snap := sp.sm.Persisted()
		complete := int32(min(sp.sm.DeliveryCompleteCount(), 1<<31-1))
		stateEpoch := sp.stateEpoch
		sp.mu.Unlock()
		batches := make([]sharestate.Batch, 0, len(snap.Batches))
		for _, bt := range snap.Batches {
			batches = append(batches, sharestate.Batch{First: bt.First, Last: bt.Last, State: int8(bt.State), DeliveryCount: bt.DeliveryCount})
		}
		ctx, cancel := context.WithTimeout(context.Background(), shareWriteTimeout)
		err := sp.s.b.shareStateWriteCount(ctx, sp.key.stateKey(), sp.leaderEpoch, stateEpoch, snap.StartOffset, complete, batches)
		cancel()
		sp.mu.Lock()
		if err != nil {
			sp.finishLocked(err)
			sp.mu.Unlock()
			if errors.Is(err, kerr.FencedLeaderEpoch) || errors.Is(err, kerr.FencedStateEpoch) || errors.Is(err, kerr.InvalidRequest) {
				sp.s.mu.Lock()
				if sp.s.parts[sp.key] == sp {
					sp.s.dropLocked(sp)
				}
				sp.s.mu.Unlock()
			} else {
				sp.s.b.log.Warn("writing share partition state failed", "group", sp.key.group, "topic", sp.tp.Topic, "partition", sp.tp.Partition, "err", err)
			}
			return
		}
		sp.durable = max(sp.durable, v)
		sp.notifyLocked()
		if sp.durable >= sp.version {
			sp.writing = false
			sp.mu.Unlock()
			return
		}
	}
}

// persistError is the code an acknowledgement answers when its state
// could not be written, as Kafka's share partition maps the persister's
// errors: a fenced or vanished state (another leader, an offsets reset,
// deleted offsets) and a dropped copy are NOT_LEADER_OR_FOLLOWER, so the
// client finds the partition's state anew; an unreachable coordinator
// COORDINATOR_NOT_AVAILABLE; a request that gave up waiting
// REQUEST_TIMED_OUT; anything else UNKNOWN_SERVER_ERROR.
func persistError(err error) *kerr.Error {
	switch {
	case errors.Is(err, errSharePartDropped), errors.Is(err, kerr.FencedLeaderEpoch),
		errors.Is(err, kerr.FencedStateEpoch), errors.Is(err, kerr.InvalidRequest):
		return kerr.NotLeaderForPartition
	case errors.Is(err, kerr.NotCoordinator), errors.Is(err, kerr.CoordinatorNotAvailable),
		errors.Is(err, kerr.CoordinatorLoadInProgress):
		return kerr.CoordinatorNotAvailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut
	}
	return kerr.UnknownServerError
}

// notifyLocked answers the waiters whose version is durable.
func (sp *sharePart) notifyLocked() {
	kept := sp.waiters[:0]
	for _, w := range sp.waiters {
		if w.version <= sp.durable {
			w.done <- nil
			continue
		}
		kept = append(kept, w)
	}
	sp.waiters = kept
}

// finishLocked ends a writing run that failed: every waiter learns err.
func (sp *sharePart) finishLocked(err error) {
	for _, w := range sp.waiters {
		w.done <- err
	}
	sp.waiters = nil
	sp.writing = false
}

// acquire reads the partition from the share partition's fetch offset and
// acquires up to maxRecords of what it read for member. It returns the
// record data covering the acquired records and the acquired ranges.
func (sp *sharePart) acquire(member string, maxRecords int, strict bool, maxBytes int, readCommitted bool) ([]byte, []sharepart.Acquired, *kerr.Error) {
	b := sp.s.b
	rep, code := b.replicaOf(sp.tp.Topic, sp.tp.Partition)
	if code != nil {
		return nil, nil, code
	}
	l := rep.Log()
	hw, err := rep.HighWatermark()
	if err != nil {
		return nil, nil, toKerr(err)
	}
	limit := hw
	if readCommitted {
		limit = l.LastStableOffset(hw)
	}
	sp.mu.Lock()
	if sp.dropped {
		sp.mu.Unlock()
		return nil, nil, kerr.NotLeaderForPartition
	}
	if ls := l.LogStartOffset(); sp.sm.StartOffset() < ls {
		sp.sm.MoveStartOffset(ls, b.now())
		sp.changedLocked()
	}
	sp.sm.SetConfig(b.sharePartConfig(sp.key.group))
	from, can := sp.sm.FetchOffset(), sp.sm.CanAcquire()
	sp.mu.Unlock()
	if from >= limit || !can {
		return nil, nil, nil
	}
	r, err := l.Read(from, max(maxBytes, 0), limit, true)
	if err != nil {
		return nil, nil, toKerr(err)
	}
	if r.Len == 0 {
		return nil, nil, nil
	}
	var aborted []log.AbortedTxn
	if readCommitted {
		if aborted, err = l.ReadAbortedTransactions(from, limit); err != nil {
			return nil, nil, kerr.KafkaStorageError
		}
	}
	data, batches, ends, err := readForAcquire(r, maxRecords, sp.recordBytes.Load(), limit, aborted)
	if err != nil {
		return nil, nil, kerr.KafkaStorageError
	}
	if len(batches) == 0 {
		return nil, nil, nil
	}
	if last := ends[len(ends)-1]; last.last >= ends[0].first {
		sp.recordBytes.Store(int64(last.end) / (last.last - ends[0].first + 1))
	}
	sp.mu.Lock()
	if sp.dropped {
		sp.mu.Unlock()
		return nil, nil, kerr.NotLeaderForPartition
	}
	acq := sp.sm.AcquireFrom(member, from, batches, maxRecords, strict, b.now())
	sp.changedLocked()
	sp.mu.Unlock()
	if len(acq) == 0 {
		return nil, nil, nil
	}
	// The delivery counts the acquisition raised are written with the
	// next acknowledgement, expiry or release (not on their own: a write
	// per fetch would double the share coordinator's load, and Kafka
	// does not write them either).
	return trimBatches(data, ends, acq[0].First, acq[len(acq)-1].Last), acq, nil
}

// firstAcquireRead is the first chunk acquire reads of a partition; each
// further chunk doubles it.
const firstAcquireRead = 64 << 10

// readForAcquire reads r (data from the share partition's fetch offset,
// up to the fetch's byte budget) in growing chunks until its whole batches
// hold want records or r ends: a fetch that may take 500 records need not
// copy the megabytes its budget allows (the copy and the zeroing of a
// budget-sized buffer were three quarters of a share-group read's broker
// CPU). Records already in flight count too, so a read may hold fewer
// acquirable records than want; the member then fetches again.
//
// recordBytes, when known, is the partition's bytes per record from the
// last read: the first chunk is sized to hold want records at that rate
// (a tenth more), so a steady partition is read once, with no regrowth.
func readForAcquire(r segment.FileRange, want int, recordBytes int64, limit int64, aborted []log.AbortedTxn) ([]byte, []sharepart.LogBatch, []batchEnd, error) {
	var data []byte
	chunk := int64(firstAcquireRead)
	if recordBytes > 0 {
		chunk = max(int64(want)*recordBytes*11/10, 4<<10)
	}
	for read := int64(0); read < r.Len; chunk *= 2 {
		n := min(chunk, r.Len-read)
		data = slices.Grow(data, int(n))[:read+n]
		m, err := r.File.ReadAt(data[read:], r.Pos+read)
		if int64(m) < n && err != nil {
			return nil, nil, nil, err
		}
		read += n
		batches, ends := logBatches(data, limit, aborted)
		records := int64(0)
		for _, bt := range batches {
			if !bt.Skip {
				records += bt.Last - bt.First + 1
			}
		}
		if records >= int64(want) || read == r.Len {
			return data, batches, ends, nil
		}
	}
	return nil, nil, nil, nil
}

// batchEnd is a batch's position in read data and its offsets.
type batchEnd struct {
	first, last int64
	start, end  int
}

// logBatches lists the whole batches of data below limit for the share
// partition, and every batch's position. Control batches and (for a
// read_committed group) the batches of aborted transactions are marked
// Skip: no record of theirs is handed out, the share partition archives
// their offsets, and a read that ends in them still moves past them.
func logBatches(data []byte, limit int64, aborted []log.AbortedTxn) (batches []sharepart.LogBatch, ends []batchEnd) {
	pos := 0
	for len(data)-pos >= format.HeaderSize {
		bt := format.Batch(data[pos:])
		size := bt.Size()
		if size < format.HeaderSize || pos+size > len(data) || bt.BaseOffset() >= limit {
			break
		}
		ends = append(ends, batchEnd{first: bt.BaseOffset(), last: bt.LastOffset(), start: pos, end: pos + size})
		batches = append(batches, sharepart.LogBatch{
			First: bt.BaseOffset(), Last: bt.LastOffset(),
			Skip: bt.IsControl() || abortedBatch(bt, aborted),
		})
		pos += size
	}
	return batches, ends
}

// abortedBatch reports whether bt belongs to one of the aborted
// transactions.
func abortedBatch(bt format.Batch, aborted []log.AbortedTxn) bool {
	if !bt.IsTransactional() {
		return false
	}
	for _, a := range aborted {
		if a.ProducerID == bt.ProducerID() && bt.BaseOffset() >= a.FirstOffset && bt.BaseOffset() <= a.LastOffset {
			return true
		}
	}
	return false
}

// trimBatches is the part of data whose batches hold offsets first..last.
func trimBatches(data []byte, ends []batchEnd, first, last int64) []byte {
	start, end := -1, 0
	for _, e := range ends {
		if e.last < first || e.first > last {
			continue
		}
		if start < 0 {
			start = e.start
		}
		end = e.end
	}
	if start < 0 {
		return nil
	}
	return data[start:end]
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

// sharePartConfig is the share partition settings of group: the
// group's overrides over the broker's group.share.* defaults.
func (b *Broker) sharePartConfig(group string) sharepart.Config {
	cfg := b.sharePartDefaults()
	over := b.groupConfig(group)
	if v, err := strconv.Atoi(over["share.record.lock.duration.ms"]); err == nil && v > 0 {
		cfg.LockDuration = time.Duration(v) * time.Millisecond
	}
	if v, err := strconv.Atoi(over["share.delivery.count.limit"]); err == nil && v > 0 {
		cfg.DeliveryLimit = int16(v)
	}
	if v, err := strconv.Atoi(over["share.partition.max.record.locks"]); err == nil && v > 0 {
		cfg.MaxInFlight = int64(v)
	}
	return cfg
}

// sharePartDefaults is the broker's group.share.* settings for share
// partitions, Kafka's defaults where unset.
func (b *Broker) sharePartDefaults() sharepart.Config {
	cfg := sharepart.Config{
		LockDuration:  b.cfg.Share.RecordLockDuration,
		DeliveryLimit: b.cfg.Share.DeliveryCountLimit,
		MaxInFlight:   b.cfg.Share.PartitionMaxRecordLocks,
	}
	if cfg.LockDuration <= 0 {
		cfg.LockDuration = 30 * time.Second
	}
	if cfg.DeliveryLimit <= 0 {
		cfg.DeliveryLimit = 5
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 2000
	}
	return cfg
}
