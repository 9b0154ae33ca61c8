package isr

import (
	"slices"
	"sort"
	"time"
)

// ReplicaID is a broker id.
type ReplicaID int32

// Config is the leader's part of the topic and broker config.
type Config struct {
	// Self is this broker.
	Self ReplicaID
	// LagTimeMax is replica.lag.time.max.ms (30 s).
	LagTimeMax time.Duration
	// MinInSync is min.insync.replicas (1).
	MinInSync int
}

// ChangeKind names an ISR change in flight.
type ChangeKind int

const (
	// Expand adds one follower that caught up.
	Expand ChangeKind = iota + 1
	// Shrink removes followers that fell behind.
	Shrink
)

// Change is an ISR change proposed to the controller (AlterPartition).
type Change struct {
	Kind ChangeKind
	// ISR is the whole proposed ISR, sorted.
	ISR []ReplicaID
	// PartitionEpoch is the epoch of the partition state it is based on;
	// the controller refuses a change based on a stale one.
	PartitionEpoch int32
}

type follower struct {
	leo int64
	// lastCaughtUp is when the follower last was at the leader's end.
	lastCaughtUp time.Time
	// lastFetchLeaderLEO and lastFetch are the leader's LEO and the time
	// at the follower's previous fetch.
	lastFetchLeaderLEO int64
	lastFetch          time.Time
}

// ackWait is an acks=all append waiting for the HW.
type ackWait struct {
	id       uint64
	offset   int64 // the HW that completes it (last offset + 1)
	deadline time.Time
}

// AckResult is a finished acks=all wait: Err is nil,
// ErrNotEnoughReplicasAfterAppend or ErrAckTimeout.
type AckResult struct {
	ID  uint64
	Err error
}

// Leader is the leader side of one partition.
type Leader struct {
	cfg            Config
	leaderEpoch    int32
	partitionEpoch int32
	// epochStart is the first offset of this leader epoch: a follower is
	// added only once it has everything before it.
	epochStart int64
	replicas   []ReplicaID
	isr        []ReplicaID
	pending    *Change
	followers  map[ReplicaID]*follower
	leo        int64
	hw         int64
	waits      []ackWait
	nextWaitID uint64
	// done collects finished waits until TakeDone takes them.
	done []AckResult
	// ineligible are replicas the controller has fenced: never proposed
	// for the ISR (KIP-841), however caught up they are.
	ineligible map[ReplicaID]bool
}

// NewLeader starts leading: leaderEpoch from the controller, the assigned
// replicas and ISR it published (partitionEpoch), this log's end and high
// watermark. Followers start as caught up now, as Kafka does, so a new
// leader does not shrink the ISR before they had a chance to fetch.
func NewLeader(cfg Config, leaderEpoch, partitionEpoch int32, replicas, isr []ReplicaID, leo, hw int64, now time.Time) *Leader {
	l := &Leader{
		cfg: cfg, leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, epochStart: leo,
		replicas: sorted(replicas), isr: sorted(isr), followers: map[ReplicaID]*follower{}, leo: leo, hw: hw,
	}
	for _, r := range l.replicas {
		if r != cfg.Self {
			l.followers[r] = &follower{leo: -1, lastCaughtUp: now, lastFetch: now}
		}
	}
	// A leader alone in its ISR has everything committed already: without
	// this, records it got as a follower after its last HW would stay
	// invisible until the next append.
	l.maybeAdvanceHW()
	return l
}

func sorted(ids []ReplicaID) []ReplicaID {
	out := slices.Clone(ids)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return slices.Compact(out)
}

// LeaderEpoch is the epoch this leader writes with.
func (l *Leader) LeaderEpoch() int32 { return l.leaderEpoch }

// HighWatermark is the offset below which records are committed.
func (l *Leader) HighWatermark() int64 { return l.hw }

// ISR is the committed in-sync replica set.
func (l *Leader) ISR() []ReplicaID { return slices.Clone(l.isr) }

// Pending is the ISR change in flight, or nil.
func (l *Leader) Pending() *Change { return l.pending }

// maximalISR is the ISR the leader acts on: the committed one plus a
// follower being added.
func (l *Leader) maximalISR() []ReplicaID {
	if l.pending != nil && l.pending.Kind == Expand {
		return l.pending.ISR
	}
	return l.isr
}

// CheckAppend tells whether an acks=all append may proceed: the ISR must
// hold min.insync.replicas.
func (l *Leader) CheckAppend(acksAll bool) error {
	if acksAll && len(l.isr) < l.cfg.MinInSync {
		return ErrNotEnoughReplicas
	}
	return nil
}

// Appended records that the local log now ends at leo. With acksAll it
// returns the id of a wait that completes when the HW reaches leo, or
// times out at deadline.
func (l *Leader) Appended(leo int64, acksAll bool, deadline time.Time) uint64 {
	l.leo = max(l.leo, leo)
	l.maybeAdvanceHW()
	if !acksAll {
		return 0
	}
	l.nextWaitID++
	l.waits = append(l.waits, ackWait{id: l.nextWaitID, offset: leo, deadline: deadline})
	l.completeWaits(time.Time{})
	return l.nextWaitID
}

// Fetched records a follower's fetch at fetchOffset (its LEO) and returns
// the high watermark to send it. A fetch from a replica that is not
// assigned is ignored (the caller answers it NOT_LEADER_OR_FOLLOWER or
// UNKNOWN_... as appropriate).
func (l *Leader) Fetched(replica ReplicaID, fetchOffset int64, now time.Time) int64 {
	f := l.followers[replica]
	if f == nil {
		return l.hw
	}
	f.leo = fetchOffset
	switch {
	case fetchOffset >= l.leo:
		f.lastCaughtUp = now
	case fetchOffset >= f.lastFetchLeaderLEO:
		f.lastCaughtUp = maxTime(f.lastCaughtUp, f.lastFetch)
	}
	f.lastFetchLeaderLEO, f.lastFetch = l.leo, now
	l.maybeExpand()
	l.maybeAdvanceHW()
	return l.hw
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// maybeExpand proposes adding the first follower outside the ISR that has
// caught up to the HW and the start of this epoch.
func (l *Leader) maybeExpand() {
	if l.pending != nil {
		return
	}
	for _, r := range l.replicas {
		f := l.followers[r]
		if f == nil || slices.Contains(l.isr, r) || l.ineligible[r] {
			continue
		}
		if f.leo >= l.hw && f.leo >= l.epochStart {
			l.pending = &Change{Kind: Expand, ISR: sorted(append(slices.Clone(l.isr), r)), PartitionEpoch: l.partitionEpoch}
			return
		}
	}
}

// maybeAdvanceHW moves the HW to the smallest LEO in the maximal ISR.
func (l *Leader) maybeAdvanceHW() {
	hw := l.leo
	for _, r := range l.maximalISR() {
		if f := l.followers[r]; f != nil {
			hw = min(hw, f.leo)
		}
	}
	if hw > l.hw {
		l.hw = hw
		l.completeWaits(time.Time{})
	}
}

// completeWaits finishes waits the HW has passed, and with a non-zero now
// those past their deadline.
func (l *Leader) completeWaits(now time.Time) {
	kept := l.waits[:0]
	for _, w := range l.waits {
		switch {
		case l.hw >= w.offset:
			var err error
			if len(l.isr) < l.cfg.MinInSync {
				err = ErrNotEnoughReplicasAfterAppend
			}
			l.done = append(l.done, AckResult{ID: w.id, Err: err})
		case !now.IsZero() && !now.Before(w.deadline):
			l.done = append(l.done, AckResult{ID: w.id, Err: ErrAckTimeout})
		default:
			kept = append(kept, w)
		}
	}
	l.waits = kept
}

// Idle reports that Tick can change nothing, now or later, until the
// leader gets another input (an append, a follower's fetch, published
// state): no acks=all wait to complete or time out, no change pending,
// and no follower in the ISR behind the log end, the only kind that time
// alone can move out of it. A broker ticks only its leaders that are not
// idle, so 100,000 idle partitions cost no clock work.
func (l *Leader) Idle() bool {
	if len(l.waits) > 0 || len(l.done) > 0 || l.pending != nil {
		return false
	}
	for _, r := range l.isr {
		if f := l.followers[r]; f != nil && f.leo < l.leo {
			return false
		}
	}
	return true
}

// Tick proposes removing followers that were not caught up for
// replica.lag.time.max.ms, and times out waits.
func (l *Leader) Tick(now time.Time) {
	l.completeWaits(now)
	if l.pending != nil {
		return
	}
	var out []ReplicaID
	for _, r := range l.isr {
		if f := l.followers[r]; f != nil && f.leo < l.leo && now.Sub(f.lastCaughtUp) > l.cfg.LagTimeMax {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return
	}
	var keep []ReplicaID
	for _, r := range l.isr {
		if !slices.Contains(out, r) {
			keep = append(keep, r)
		}
	}
	l.pending = &Change{Kind: Shrink, ISR: keep, PartitionEpoch: l.partitionEpoch}
}

// PartitionState applies partition state the controller published: the
// answer to the pending change (committed or refused), or a change it made
// itself (a fenced broker removed from the ISR). The pending change is over
// either way; the leader proposes again from the published state. Older
// states than the one known are ignored.
func (l *Leader) PartitionState(isr []ReplicaID, partitionEpoch int32) {
	if partitionEpoch < l.partitionEpoch {
		return
	}
	l.pending = nil
	l.isr, l.partitionEpoch = sorted(isr), partitionEpoch
	l.maybeAdvanceHW()
	l.completeWaits(time.Time{})
	l.maybeExpand()
}

// SetIneligible replaces the set of replicas that may not join the ISR:
// brokers the controller has fenced (Kafka's KIP-841). A fenced broker
// that still fetches (cut off from the controller, not from the leader)
// would otherwise be proposed again and again and refused each time. One
// that becomes eligible is proposed at its next caught-up fetch.
func (l *Leader) SetIneligible(ids []ReplicaID) {
	l.ineligible = nil
	for _, id := range ids {
		if l.ineligible == nil {
			l.ineligible = map[ReplicaID]bool{}
		}
		l.ineligible[id] = true
	}
}

// TakeDone returns the acks=all waits that finished since the last call.
func (l *Leader) TakeDone() []AckResult {
	d := l.done
	l.done = nil
	return d
}
