package sharepart

import (
	"slices"
	"sort"
	"time"
)

// run is a range of offsets in the same state with the same delivery
// count and, when Acquired, the same owner and lock deadline.
type run struct {
	first, last int64
	deadline    time.Time // Acquired only
	member      string    // Acquired only
	count       int16
	state       RecordState
}

func (r *run) len() int64 { return r.last - r.first + 1 }

// mergeable reports whether b continues a as one run.
func mergeable(a, b *run) bool {
	return a.last+1 == b.first && a.state == b.state && a.count == b.count &&
		a.member == b.member && a.deadline.Equal(b.deadline)
}

// normalize merges adjacent mergeable runs of rs in place.
func normalize(rs []run) []run {
	if len(rs) < 2 {
		return rs
	}
	n := 0
	for i := 1; i < len(rs); i++ {
		if mergeable(&rs[n], &rs[i]) {
			rs[n].last = rs[i].last
			continue
		}
		n++
		rs[n] = rs[i]
	}
	clear(rs[n+1:])
	return rs[:n+1]
}

// find is the index of the run holding offset o, start <= o < end.
func (p *Partition) find(o int64) int {
	return sort.Search(len(p.runs), func(i int) bool { return p.runs[i].last >= o })
}

// apply rewrites the offsets [first, last] of the window (start <= first
// <= last < end): f is called with each run clipped to the range, in
// order, and appends to out the runs replacing it, which must cover the
// piece's offsets exactly, in order. One splice, whatever the number of
// runs touched.
func (p *Partition) apply(first, last int64, f func(piece run, out []run) []run) {
	i := p.find(first)
	j := p.find(last) + 1
	repl := p.repl[:0]
	if r := p.runs[i]; r.first < first {
		r.last = first - 1
		repl = append(repl, r)
	}
	for k := i; k < j; k++ {
		piece := p.runs[k]
		piece.first = max(piece.first, first)
		piece.last = min(piece.last, last)
		repl = f(piece, repl)
	}
	if r := p.runs[j-1]; r.last > last {
		r.first = last + 1
		repl = append(repl, r)
	}
	p.splice(i, j, repl)
	clear(repl)
	p.repl = repl[:0]
}

// splice replaces runs[i:j] by repl, merging what became mergeable with
// the neighbours.
func (p *Partition) splice(i, j int, repl []run) {
	join := p.join[:0]
	if i > 0 {
		i--
		join = append(join, p.runs[i])
	}
	join = append(join, repl...)
	if j < len(p.runs) {
		join = append(join, p.runs[j])
		j++
	}
	join = normalize(join)
	if len(join) == j-i {
		// slices.Replace would move the whole tail onto itself.
		copy(p.runs[i:j], join)
	} else {
		p.runs = slices.Replace(p.runs, i, j, join...)
	}
	clear(join)
	p.join = join[:0]
}

// appendRun adds r at the end of the window, which grows to r.last+1.
func (p *Partition) appendRun(r run) {
	if n := len(p.runs); n > 0 && mergeable(&p.runs[n-1], &r) {
		p.runs[n-1].last = r.last
	} else {
		p.runs = append(p.runs, r)
	}
	p.end = r.last + 1
}

// advance moves the start offset past the leading done records, dropping
// their state; it reports whether the start moved.
func (p *Partition) advance() bool {
	k := 0
	for k < len(p.runs) && p.runs[k].state.done() {
		k++
	}
	if k == 0 {
		return false
	}
	p.start = p.runs[k-1].last + 1
	p.dropHead(k)
	return true
}

// release ends r's acquisition because its lock timed out or its owner
// released it: Available, or Archived once it was delivered DeliveryLimit
// times.
func (p *Partition) release(r *run) {
	r.member, r.deadline = "", time.Time{}
	if r.count >= p.cfg.DeliveryLimit {
		r.state = StateArchived
	} else {
		r.state = StateAvailable
	}
}

// dropHead drops the first k runs in O(k): it shifts the rest down when
// there are no more of them than k (keeping the array), else reslices (the
// array's head is left behind until append reallocates).
func (p *Partition) dropHead(k int) {
	n := len(p.runs) - k
	if n <= k {
		copy(p.runs, p.runs[k:])
		clear(p.runs[n:])
		p.runs = p.runs[:n]
		return
	}
	clear(p.runs[:k])
	p.runs = p.runs[k:]
}
