package sharepart

import (
	"math"
	"time"
)

// Acquire hands records to member from the log batches the leader read
// starting at FetchOffset(): see AcquireFrom, which it is with fetchOffset
// = FetchOffset().
func (p *Partition) Acquire(member string, batches []LogBatch, maxRecords int, strict bool, now time.Time) []Acquired {
	return p.AcquireFrom(member, p.FetchOffset(), batches, maxRecords, strict, now)
}

// AcquireFrom hands records to member from batches, the log's record
// batches (ascending, gaps allowed) as a read starting at fetchOffset
// returned them: the first may start before fetchOffset, and offsets from
// fetchOffset up to the last batch's Last that no batch holds are taken as
// absent from the log. A caller that lets go of its lock between
// FetchOffset and the log read passes the offset it read from (a record
// released meanwhile below it must not be taken as absent).
//
// It acquires, in offset order, the Available records of the window the
// batches hold (delivery count +1), then new records past the window's
// end, and returns the acquired ranges with their delivery counts. Limits:
// maxRecords records (without strict, whole log batches: a batch is taken
// if fewer than maxRecords were acquired before it; with strict, exactly
// up to maxRecords), and for new records MaxInFlight (they are taken from
// a batch only while the window is smaller than MaxInFlight; without
// strict the batch crossing it is taken whole). Available records of the
// read's range that are at the delivery limit or absent from the log (in
// no batch, or in a Skip batch) are Archived; the window grows over Skip
// batches (Archived) within MaxInFlight whatever maxRecords. A batch
// holding records delivered many times already is delivered throttled
// (see acquireThrottled and the package doc). Batches out of order or with
// First > Last end the list.
func (p *Partition) AcquireFrom(member string, fetchOffset int64, batches []LogBatch, maxRecords int, strict bool, now time.Time) []Acquired {
	batches = validBatches(batches)
	if len(batches) == 0 || maxRecords <= 0 {
		return nil
	}
	a := acquisition{
		p:        p,
		member:   member,
		batches:  batches,
		budget:   int64(maxRecords),
		strict:   strict,
		deadline: now.Add(p.cfg.LockDuration),
		flags:    make([]uint8, len(batches)),
		throttle: -1,
		nLimit:   -1,
	}
	// The window's part the read covers.
	lo := max(p.start, min(fetchOffset, batches[0].First))
	hi := min(p.end-1, batches[len(batches)-1].Last)
	if lo <= hi {
		a.markThrottled(lo, hi)
		p.apply(lo, hi, a.inWindow)
	}
	if a.throttle >= 0 {
		a.stopped = true // a throttled batch is the whole acquisition
	}
	a.grow()
	if a.touched {
		p.changed = true
	}
	if p.advance() {
		p.changed = true
	}
	return a.out
}

// validBatches is the longest prefix of bs that is well formed (a Last of
// MaxInt64 would leave no end offset).
func validBatches(bs []LogBatch) []LogBatch {
	for i := range bs {
		if bs[i].First > bs[i].Last || bs[i].Last == math.MaxInt64 || (i > 0 && bs[i].First <= bs[i-1].Last) {
			return bs[:i]
		}
	}
	return bs
}

// acquisition is one Acquire in progress.
type acquisition struct {
	p        *Partition
	member   string
	batches  []LogBatch
	budget   int64 // records left of maxRecords; may go below 0 without strict
	strict   bool
	deadline time.Time
	// flags[k] are batch k's: whether it is taken without strict (decided
	// when the walk first reaches it, on whether maxRecords was reached
	// before it), and whether its delivery is throttled.
	flags   []uint8
	cursor  int // the first batch whose Last >= the walk's offset
	out     []Acquired
	touched bool
	// Throttling: the batch being delivered throttled (-1: none), how many
	// of its records were acquired, and the most it may give (-1: not
	// known yet); stopped ends the acquisition.
	throttle int
	local    int64
	nLimit   int64
	stopped  bool
}

const (
	flagDecided uint8 = 1 << iota
	flagTake
	flagThrottled
)

// take reports whether batch k may be taken from, without strict.
func (a *acquisition) take(k int) bool {
	if a.flags[k]&flagDecided == 0 {
		a.flags[k] |= flagDecided
		if a.budget > 0 {
			a.flags[k] |= flagTake
		}
	}
	return a.flags[k]&flagTake != 0
}

// throttleFrom is the delivery count from which Kafka 4.2 throttles a
// record's delivery (throttleRecordsDeliveryLimit): half the delivery
// limit, rounded up, at least 2.
func (p *Partition) throttleFrom() int16 {
	return max(2, (p.cfg.DeliveryLimit+1)/2)
}

// markThrottled flags the batches of the read holding an Available record
// of the window [lo, hi] delivered throttleFrom times or more (and not
// DeliveryLimit times: those are archived).
func (a *acquisition) markThrottled(lo, hi int64) {
	p := a.p
	from := p.throttleFrom()
	if from >= p.cfg.DeliveryLimit {
		return
	}
	for k := range a.batches {
		b := a.batches[k]
		first, last := max(b.First, lo), min(b.Last, hi)
		if b.Skip || first > last {
			continue
		}
		for i := p.find(first); i < len(p.runs) && p.runs[i].first <= last; i++ {
			if r := &p.runs[i]; r.state == StateAvailable && r.count >= from && r.count < p.cfg.DeliveryLimit {
				a.flags[k] |= flagThrottled
				break
			}
		}
	}
}

// emit adds an acquired range to the result.
func (a *acquisition) emit(first, last int64, count int16) {
	if n := len(a.out); n > 0 && a.out[n-1].Last+1 == first && a.out[n-1].DeliveryCount == count {
		a.out[n-1].Last = last
		return
	}
	a.out = append(a.out, Acquired{First: first, Last: last, DeliveryCount: count})
}

// inWindow is apply's function over the window's part the read covers:
// it cuts each run into the stretches inside a log batch and those in a
// gap, and acquires or archives Available stretches.
func (a *acquisition) inWindow(piece run, out []run) []run {
	for o := piece.first; o <= piece.last; {
		for a.cursor < len(a.batches) && a.batches[a.cursor].Last < o {
			a.cursor++
		}
		seg := piece
		seg.first = o
		present := false // a record to deliver, in a batch not skipped
		switch {
		case a.cursor < len(a.batches) && a.batches[a.cursor].First <= o:
			seg.last = min(piece.last, a.batches[a.cursor].Last)
			present = !a.batches[a.cursor].Skip
		case a.cursor < len(a.batches):
			seg.last = min(piece.last, a.batches[a.cursor].First-1)
		default:
			seg.last = piece.last
		}
		o = seg.last + 1
		switch {
		case seg.state != StateAvailable:
			out = append(out, seg)
		case !present || seg.count >= a.p.cfg.DeliveryLimit:
			// Not a record any more, or delivered as often as allowed.
			seg.state = StateArchived
			a.touched = true
			out = append(out, seg)
		default:
			out = a.acquireSeg(seg, out)
		}
	}
	return out
}

// acquireSeg acquires what the limits allow of seg, an Available stretch
// inside batch a.cursor.
func (a *acquisition) acquireSeg(seg run, out []run) []run {
	if a.throttle >= 0 && a.cursor != a.throttle {
		a.stopped = true
	}
	if a.stopped {
		return append(out, seg)
	}
	if a.flags[a.cursor]&flagThrottled != 0 {
		return a.acquireThrottled(seg, out)
	}
	n := seg.len()
	if a.strict {
		n = min(n, max(a.budget, 0))
	} else if !a.take(a.cursor) {
		n = 0
	}
	return a.acquireN(seg, n, out)
}

// acquireThrottled acquires from a batch holding records delivered
// throttleFrom times or more, as Kafka 4.2, so a record that keeps
// failing is isolated rather than taking its batch with it to the
// delivery limit: such a batch is delivered only first in a response
// (the acquisition stops before it otherwise, and after it), at most
// len(batch) >> (count-throttleFrom+1) records of it (the count of its
// first throttled record), and a record on its last delivery alone.
func (a *acquisition) acquireThrottled(seg run, out []run) []run {
	p := a.p
	if a.throttle < 0 {
		if len(a.out) > 0 {
			a.stopped = true
			return append(out, seg)
		}
		a.throttle = a.cursor
	}
	limit := p.cfg.DeliveryLimit
	last := limit > 2 && seg.count == limit-1
	if last && a.local > 0 {
		a.stopped = true
		return append(out, seg)
	}
	if from := p.throttleFrom(); seg.count >= from && a.nLimit < 0 {
		b := a.batches[a.cursor]
		a.nLimit = max(1, (b.Last-b.First+1)>>uint(seg.count-from+1))
	}
	n := seg.len()
	if a.nLimit > 0 {
		n = min(n, a.nLimit-a.local)
	}
	if last {
		n = min(n, 1)
	}
	if a.strict {
		n = min(n, max(a.budget, 0))
	}
	if n <= 0 {
		a.stopped = true
		return append(out, seg)
	}
	out = a.acquireN(seg, n, out)
	a.local += n
	if last || a.nLimit > 0 && a.local >= a.nLimit || a.strict && a.budget <= 0 {
		a.stopped = true
	}
	return out
}

// acquireN acquires the first n records of seg.
func (a *acquisition) acquireN(seg run, n int64, out []run) []run {
	if n <= 0 {
		return append(out, seg)
	}
	got := seg
	got.last = seg.first + n - 1
	got.state, got.count = StateAcquired, seg.count+1
	got.member, got.deadline = a.member, a.deadline
	out = append(out, got)
	a.emit(got.first, got.last, got.count)
	a.budget -= n
	a.touched = true
	if got.last < seg.last {
		seg.first = got.last + 1
		out = append(out, seg)
	}
	return out
}

// grow acquires new records past the window's end.
func (a *acquisition) grow() {
	if a.stopped {
		return
	}
	p := a.p
	capEnd := satAdd(p.start, p.cfg.MaxInFlight)
	for k := range a.batches {
		b := a.batches[k]
		if b.Last < p.end {
			continue
		}
		n0 := max(b.First, p.end)
		if b.Skip {
			// Nothing to deliver: the window takes the batch as done, an
			// empty window by moving past it.
			switch {
			case p.start == p.end:
				p.start, p.end = b.Last+1, b.Last+1
				capEnd = satAdd(p.end, p.cfg.MaxInFlight)
			case n0 >= capEnd:
				return
			default:
				p.appendRun(run{first: p.end, last: b.Last, state: StateArchived})
			}
			a.touched = true
			continue
		}
		if p.start == p.end && n0 > p.end {
			// An empty window moves to the first record: the offsets
			// between are not records, and there is nothing to keep.
			p.start, p.end = n0, n0
			capEnd = satAdd(n0, p.cfg.MaxInFlight)
			a.touched = true
		}
		if n0 >= capEnd {
			return
		}
		last := b.Last
		if a.strict {
			if a.budget <= 0 {
				return
			}
			last = min(last, satAdd(n0, a.budget-1), capEnd-1)
		} else if !a.take(k) {
			return
		}
		if n0 > p.end {
			p.appendRun(run{first: p.end, last: n0 - 1, state: StateArchived})
		}
		p.appendRun(run{first: n0, last: last, state: StateAcquired, count: 1, member: a.member, deadline: a.deadline})
		a.emit(n0, last, 1)
		a.budget -= last - n0 + 1
		a.touched = true
		if last < b.Last {
			return
		}
	}
}

// satAdd is a+b for b >= 0, at most MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
