package sharepart

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// RecordState is a record's state in the window, with Kafka's ids (the
// State of a ShareGroupState batch).
type RecordState int8

// Record states.
const (
	StateAvailable    RecordState = 0
	StateAcquired     RecordState = 1
	StateAcknowledged RecordState = 2
	StateArchived     RecordState = 4
)

func (s RecordState) String() string {
	switch s {
	case StateAvailable:
		return "Available"
	case StateAcquired:
		return "Acquired"
	case StateAcknowledged:
		return "Acknowledged"
	case StateArchived:
		return "Archived"
	}
	return fmt.Sprintf("RecordState(%d)", int8(s))
}

// done reports whether a record in state s needs nothing more.
func (s RecordState) done() bool { return s == StateAcknowledged || s == StateArchived }

// AckType is an acknowledgement type, with Kafka's ids (AcknowledgeTypes of
// ShareFetch and ShareAcknowledge).
type AckType int8

// Acknowledgement types.
const (
	AckGap     AckType = 0 // the offset is not a record (compacted away)
	AckAccept  AckType = 1
	AckRelease AckType = 2
	AckReject  AckType = 3
	AckRenew   AckType = 4 // KIP-1222: extend the acquisition lock
)

func (t AckType) String() string {
	switch t {
	case AckGap:
		return "Gap"
	case AckAccept:
		return "Accept"
	case AckRelease:
		return "Release"
	case AckReject:
		return "Reject"
	case AckRenew:
		return "Renew"
	}
	return fmt.Sprintf("AckType(%d)", int8(t))
}

// Config is the share group's settings for the partition. A zero field
// takes Kafka's default.
type Config struct {
	// LockDuration is share.record.lock.duration.ms (30 s).
	LockDuration time.Duration
	// DeliveryLimit is share.delivery.count.limit (5).
	DeliveryLimit int16
	// MaxInFlight is group.share.partition.max.record.locks (2000).
	MaxInFlight int64
}

// Kafka's defaults.
const (
	DefaultLockDuration  = 30 * time.Second
	DefaultDeliveryLimit = 5
	DefaultMaxInFlight   = 2000
)

func (c Config) withDefaults() Config {
	if c.LockDuration <= 0 {
		c.LockDuration = DefaultLockDuration
	}
	if c.DeliveryLimit <= 0 {
		c.DeliveryLimit = DefaultDeliveryLimit
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	return c
}

// StateBatch is a range of records of equal state and delivery count, as
// ShareGroupState stores it.
type StateBatch struct {
	First, Last   int64
	State         RecordState
	DeliveryCount int16
}

// Persisted is a partition's state as the share coordinator stores it.
type Persisted struct {
	StartOffset int64
	Batches     []StateBatch
}

// LogBatch is one record batch as the leader read it from the log: its
// first and last offsets.
type LogBatch struct {
	First, Last int64
	// Skip marks a batch whose records no consumer is to get (a control
	// batch, or an aborted transaction's under read_committed, which Kafka
	// archives on acquisition): its offsets are treated as absent from the
	// log, so they are Archived, and an empty window moves past them.
	// Passing such batches rather than leaving them out matters when they
	// end the read: an omitted trailing batch would be read again forever.
	Skip bool
}

// Acquired is a range of records handed to a member, all with the same
// delivery count (ShareFetch's AcquiredRecords).
type Acquired struct {
	First, Last   int64
	DeliveryCount int16
}

// Partition is one share partition's in-flight window. The zero value is
// not usable: call New.
type Partition struct {
	cfg   Config
	start int64
	end   int64
	// runs cover [start, end) in order, without holes; no two adjacent
	// runs are mergeable, and runs[0] is not done.
	runs []run
	// changed is set when what Persisted returns changed.
	changed bool
	// Scratch buffers of apply and splice.
	repl, join []run
}

// New restores a partition from its persisted state (a zero Persisted is a
// partition that never delivered anything, starting at offset 0). Batches
// below the start offset, overlapping an earlier batch, or with First >
// Last (or a Last of MaxInt64) are ignored; an Acquired or unknown state is
// taken as Available. A negative start offset (Kafka's -1, "not
// initialized") is the caller's to resolve first.
func New(cfg Config, ps Persisted) *Partition {
	p := &Partition{cfg: cfg.withDefaults(), start: ps.StartOffset, end: ps.StartOffset}
	for _, b := range ps.Batches {
		if b.First > b.Last || b.Last < p.end || b.Last == math.MaxInt64 {
			continue
		}
		if b.First < p.end {
			b.First = p.end
		}
		if b.First > p.end {
			// A hole in the stored state: records not known to have
			// been delivered.
			p.runs = append(p.runs, run{first: p.end, last: b.First - 1, state: StateAvailable})
		}
		st := b.State
		if st != StateAcknowledged && st != StateArchived {
			st = StateAvailable
		}
		count := b.DeliveryCount
		if count < 0 {
			count = 0
		}
		p.runs = append(p.runs, run{first: b.First, last: b.Last, state: st, count: count})
		p.end = b.Last + 1
	}
	p.runs = normalize(p.runs)
	if p.advance() {
		p.changed = true
	}
	return p
}

// SetConfig changes the settings; they apply from the next call on (a
// record acquired before keeps its deadline; a window already past a
// lowered MaxInFlight only stops growing).
func (p *Partition) SetConfig(cfg Config) { p.cfg = cfg.withDefaults() }

// Config returns the settings in use (defaults filled in).
func (p *Partition) Config() Config { return p.cfg }

// StartOffset is the share-partition start offset (SPSO): every record
// below it is done.
func (p *Partition) StartOffset() int64 { return p.start }

// EndOffset is one past the last offset of the window: where new records
// start.
func (p *Partition) EndOffset() int64 { return p.end }

// InFlight is the window's size in offsets (EndOffset - StartOffset),
// what MaxInFlight bounds.
func (p *Partition) InFlight() int64 { return p.end - p.start }

// FetchOffset is where the leader reads the log next for Acquire: the
// lowest Available offset of the window, else the window's end.
func (p *Partition) FetchOffset() int64 {
	for i := range p.runs {
		if p.runs[i].state == StateAvailable {
			return p.runs[i].first
		}
	}
	return p.end
}

// CanAcquire reports whether an Acquire could hand anything out: the
// window has an Available record or room to grow (Kafka's
// canAcquireRecords; the leader skips the log read otherwise).
func (p *Partition) CanAcquire() bool {
	return p.FetchOffset() < p.end || p.end-p.start < p.cfg.MaxInFlight
}

// AcquiredBy is the number of records member holds.
func (p *Partition) AcquiredBy(member string) int {
	n := int64(0)
	for i := range p.runs {
		if r := &p.runs[i]; r.state == StateAcquired && r.member == member {
			n += r.len()
		}
	}
	return int(n)
}

// DeliveryCompleteCount is the number of offsets of the window that are
// done (Acknowledged or Archived, gaps included), as Kafka's
// deliveryCompleteCount for ReadShareGroupStateSummary.
func (p *Partition) DeliveryCompleteCount() int64 {
	n := int64(0)
	for i := range p.runs {
		if r := &p.runs[i]; r.state.done() {
			n += r.len()
		}
	}
	return n
}

// NextDeadline is the earliest lock deadline of the Acquired records;
// false when none is Acquired. The caller calls Expire then.
func (p *Partition) NextDeadline() (time.Time, bool) {
	var min time.Time
	found := false
	for i := range p.runs {
		if r := &p.runs[i]; r.state == StateAcquired && (!found || r.deadline.Before(min)) {
			min, found = r.deadline, true
		}
	}
	return min, found
}

// Persisted returns the state to store: the start offset and the window's
// records, adjacent ones of equal state and delivery count merged, Acquired
// ones as Available.
func (p *Partition) Persisted() Persisted {
	ps := Persisted{StartOffset: p.start}
	for i := range p.runs {
		r := &p.runs[i]
		st := r.state
		if st == StateAcquired {
			st = StateAvailable
		}
		if n := len(ps.Batches); n > 0 {
			if b := &ps.Batches[n-1]; b.State == st && b.DeliveryCount == r.count {
				b.Last = r.last
				continue
			}
		}
		ps.Batches = append(ps.Batches, StateBatch{First: r.first, Last: r.last, State: st, DeliveryCount: r.count})
	}
	return ps
}

// Changed reports whether what Persisted returns may have changed since the
// last ClearChanged (or New).
func (p *Partition) Changed() bool { return p.changed }

// ClearChanged is called once Persisted was stored.
func (p *Partition) ClearChanged() { p.changed = false }

// String describes the window, for debugging.
func (p *Partition) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d,%d)", p.start, p.end)
	for i := range p.runs {
		r := &p.runs[i]
		fmt.Fprintf(&b, " %d-%d:%s/%d", r.first, r.last, r.state, r.count)
		if r.state == StateAcquired {
			fmt.Fprintf(&b, "(%s until %s)", r.member, r.deadline.UTC().Format("15:04:05.000"))
		}
	}
	return b.String()
}
