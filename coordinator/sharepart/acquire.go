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
// batches (Archived) within MaxInFlight whatever maxRecords. Batches out of
// order or with First > Last end the list.
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
		decided:  make([]int8, len(batches)),
	}
	// The window's part the read covers.
	lo := max(p.start, min(fetchOffset, batches[0].First))
	hi := min(p.end-1, batches[len(batches)-1].Last)
	if lo <= hi {
		p.apply(lo, hi, a.inWindow)
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
	// decided[k] is, without strict, whether batch k is taken: 1 yes, -1
	// no, 0 not decided yet. It is decided when the walk first reaches
	// the batch, on whether maxRecords was reached before it.
	decided []int8
	cursor  int // the first batch whose Last >= the walk's offset
	out     []Acquired
	touched bool
}

// take reports whether batch k may be taken from, without strict.
func (a *acquisition) take(k int) bool {
	if a.decided[k] == 0 {
		a.decided[k] = -1
		if a.budget > 0 {
			a.decided[k] = 1
		}
	}
	return a.decided[k] > 0
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
	n := seg.len()
	if a.strict {
		n = min(n, max(a.budget, 0))
	} else if !a.take(a.cursor) {
		n = 0
	}
	if n == 0 {
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
