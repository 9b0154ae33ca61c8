package sharepart

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// model is the package's contract written the obvious way: one map entry
// per offset. The randomized test and the fuzz target check Partition
// against it after every operation.
type model struct {
	cfg        Config
	start, end int64
	recs       map[int64]*mrec
}

type mrec struct {
	state    RecordState
	count    int16
	member   string
	deadline time.Time
}

func newModel(cfg Config, ps Persisted) *model {
	m := &model{cfg: cfg.withDefaults(), start: ps.StartOffset, end: ps.StartOffset, recs: map[int64]*mrec{}}
	for _, b := range ps.Batches {
		if b.First > b.Last || b.Last < m.end {
			continue
		}
		for o := m.end; o < b.First; o++ {
			m.recs[o] = &mrec{state: StateAvailable}
		}
		for o := max(b.First, m.end); o <= b.Last; o++ {
			st := b.State
			if st != StateAcknowledged && st != StateArchived {
				st = StateAvailable
			}
			m.recs[o] = &mrec{state: st, count: max(b.DeliveryCount, 0)}
		}
		m.end = b.Last + 1
	}
	m.advance()
	return m
}

func (m *model) advance() {
	for m.start < m.end && m.recs[m.start].state.done() {
		delete(m.recs, m.start)
		m.start++
	}
}

func (m *model) fetchOffset() int64 {
	for o := m.start; o < m.end; o++ {
		if m.recs[o].state == StateAvailable {
			return o
		}
	}
	return m.end
}

func (m *model) acquire(member string, fetchOffset int64, batches []LogBatch, maxRecords int, strict bool, now time.Time) []Acquired {
	var ok []LogBatch
	for i, b := range batches {
		if b.First > b.Last || (i > 0 && b.First <= batches[i-1].Last) {
			break
		}
		ok = append(ok, b)
	}
	if len(ok) == 0 || maxRecords <= 0 {
		return nil
	}
	batches = ok
	deadline := now.Add(m.cfg.LockDuration)
	inBatch := func(o int64) bool {
		for _, b := range batches {
			if b.First <= o && o <= b.Last {
				return !b.Skip
			}
		}
		return false
	}
	lo := max(m.start, min(fetchOffset, batches[0].First))
	hi := min(m.end-1, batches[len(batches)-1].Last)
	for o := lo; o <= hi; o++ {
		if r := m.recs[o]; r.state == StateAvailable && (!inBatch(o) || r.count >= m.cfg.DeliveryLimit) {
			r.state = StateArchived
		}
	}
	type got struct {
		o     int64
		count int16
	}
	var gots []got
	budget := maxRecords
	capEnd := m.start + m.cfg.MaxInFlight
outer:
	for _, b := range batches {
		if b.Skip {
			if b.Last < m.end {
				continue // archived above
			}
			if m.start == m.end {
				m.start, m.end = b.Last+1, b.Last+1
				capEnd = m.end + m.cfg.MaxInFlight
				continue
			}
			if max(b.First, m.end) >= capEnd {
				break outer
			}
			for o := m.end; o <= b.Last; o++ {
				m.recs[o] = &mrec{state: StateArchived}
			}
			m.end = b.Last + 1
			continue
		}
		if m.throttled(b) {
			// Delivered only first, and then alone.
			if len(gots) > 0 {
				break
			}
			local, nLimit := int64(0), int64(-1)
			from := max(2, (m.cfg.DeliveryLimit+1)/2)
			for o := max(b.First, m.start); o <= min(b.Last, m.end-1); o++ {
				r := m.recs[o]
				if r.state != StateAvailable {
					continue
				}
				last := m.cfg.DeliveryLimit > 2 && r.count == m.cfg.DeliveryLimit-1
				if strict && budget <= 0 || last && local > 0 {
					break
				}
				if r.count >= from && nLimit < 0 {
					nLimit = max(1, (b.Last-b.First+1)>>uint(r.count-from+1))
				}
				if nLimit > 0 && local >= nLimit {
					break
				}
				r.state, r.count, r.member, r.deadline = StateAcquired, r.count+1, member, deadline
				gots = append(gots, got{o, r.count})
				budget--
				local++
				if last {
					break
				}
			}
			break
		}
		allowed := budget > 0
		takingNew := false
		for o := b.First; o <= b.Last; o++ {
			if o < m.start {
				continue
			}
			if o < m.end {
				r := m.recs[o]
				if r.state != StateAvailable {
					continue
				}
				if strict && budget <= 0 || !strict && !allowed {
					continue
				}
				r.state, r.count, r.member, r.deadline = StateAcquired, r.count+1, member, deadline
				gots = append(gots, got{o, r.count})
				budget--
				continue
			}
			if m.start == m.end && o > m.end {
				m.start, m.end = o, o
				capEnd = o + m.cfg.MaxInFlight
			}
			if strict {
				if budget <= 0 || o >= capEnd {
					break outer
				}
			} else if !takingNew {
				if !allowed || o >= capEnd {
					break outer
				}
				takingNew = true
			}
			for g := m.end; g < o; g++ {
				m.recs[g] = &mrec{state: StateArchived}
			}
			m.recs[o] = &mrec{state: StateAcquired, count: 1, member: member, deadline: deadline}
			m.end = o + 1
			gots = append(gots, got{o, 1})
			budget--
		}
	}
	m.advance()
	var out []Acquired
	for _, g := range gots {
		if n := len(out); n > 0 && out[n-1].Last+1 == g.o && out[n-1].DeliveryCount == g.count {
			out[n-1].Last = g.o
			continue
		}
		out = append(out, Acquired{First: g.o, Last: g.o, DeliveryCount: g.count})
	}
	return out
}

// throttled reports whether batch b holds an Available record of the
// window delivered at least half the delivery limit (rounded up, at least
// 2) times.
func (m *model) throttled(b LogBatch) bool {
	from := max(2, (m.cfg.DeliveryLimit+1)/2)
	if b.Skip || from >= m.cfg.DeliveryLimit {
		return false
	}
	for o := max(b.First, m.start); o <= min(b.Last, m.end-1); o++ {
		if r := m.recs[o]; r.state == StateAvailable && r.count >= from && r.count < m.cfg.DeliveryLimit {
			return true
		}
	}
	return false
}

func (m *model) release(r *mrec) {
	r.member, r.deadline = "", time.Time{}
	if r.count >= m.cfg.DeliveryLimit {
		r.state = StateArchived
	} else {
		r.state = StateAvailable
	}
}

// acknowledgeBatches checks and applies batches in turn against a start
// offset that moves only at the end (as Kafka, which moves it once the
// request's state is written), undoing everything on an error.
func (m *model) acknowledgeBatches(member string, batches []AckBatch, now time.Time) error {
	saved := m.clone()
	for i, b := range batches {
		err := error(nil)
		if i > 0 && b.First <= batches[i-1].Last {
			err = kerr.InvalidRequest
		} else {
			err = m.ack(member, b.First, b.Last, b.Types, now)
		}
		if err != nil {
			*m = *saved
			return err
		}
	}
	m.advance()
	return nil
}

func (m *model) clone() *model {
	c := *m
	c.recs = map[int64]*mrec{}
	for o, r := range m.recs {
		rc := *r
		c.recs[o] = &rc
	}
	return &c
}

func (m *model) acknowledge(member string, first, last int64, types []AckType, now time.Time) error {
	return m.acknowledgeBatches(member, []AckBatch{{First: first, Last: last, Types: types}}, now)
}

// ack checks and applies one batch, without moving the start offset.
func (m *model) ack(member string, first, last int64, types []AckType, now time.Time) error {
	if first > last || len(types) == 0 || len(types) > 1 && int64(len(types)) != last-first+1 {
		return kerr.InvalidRequest
	}
	for _, t := range types {
		if t < 0 || t > 4 {
			return kerr.InvalidRequest
		}
	}
	if last < m.start {
		return nil
	}
	if last >= m.end {
		return kerr.InvalidRequest
	}
	for o := max(first, m.start); o <= last; o++ {
		if r := m.recs[o]; r.state != StateAcquired || r.member != member {
			return kerr.InvalidRecordState
		}
	}
	for o := max(first, m.start); o <= last; o++ {
		t := types[0]
		if len(types) > 1 {
			t = types[o-first]
		}
		r := m.recs[o]
		switch t {
		case AckAccept:
			r.state, r.member, r.deadline = StateAcknowledged, "", time.Time{}
		case AckReject, AckGap:
			r.state, r.member, r.deadline = StateArchived, "", time.Time{}
		case AckRelease:
			m.release(r)
		case AckRenew:
			r.deadline = now.Add(m.cfg.LockDuration)
		}
	}
	return nil
}

func (m *model) releaseMember(member string) {
	for o := m.start; o < m.end; o++ {
		if r := m.recs[o]; r.state == StateAcquired && r.member == member {
			r.state, r.member, r.deadline = StateAvailable, "", time.Time{}
			r.count = max(r.count-1, 0)
		}
	}
	m.advance()
}

func (m *model) expire(now time.Time) {
	for o := m.start; o < m.end; o++ {
		if r := m.recs[o]; r.state == StateAcquired && !r.deadline.After(now) {
			m.release(r)
		}
	}
	m.advance()
}

func (m *model) moveStart(o int64) {
	if o <= m.start {
		return
	}
	for x := m.start; x < min(o, m.end); x++ {
		delete(m.recs, x)
	}
	m.start = o
	if o >= m.end {
		m.end = o
	}
	m.advance()
}

func (m *model) persisted() Persisted {
	ps := Persisted{StartOffset: m.start}
	for o := m.start; o < m.end; o++ {
		r := m.recs[o]
		st := r.state
		if st == StateAcquired {
			st = StateAvailable
		}
		if n := len(ps.Batches); n > 0 && ps.Batches[n-1].State == st && ps.Batches[n-1].DeliveryCount == r.count {
			ps.Batches[n-1].Last = o
			continue
		}
		ps.Batches = append(ps.Batches, StateBatch{First: o, Last: o, State: st, DeliveryCount: r.count})
	}
	return ps
}

// checkInvariants checks what must hold of any Partition.
func checkInvariants(p *Partition) error {
	if p.start > p.end {
		return fmt.Errorf("start %d past end %d", p.start, p.end)
	}
	if p.start == p.end && len(p.runs) != 0 || p.start < p.end && len(p.runs) == 0 {
		return fmt.Errorf("window [%d,%d) with %d runs", p.start, p.end, len(p.runs))
	}
	next := p.start
	for i := range p.runs {
		r := &p.runs[i]
		if r.first != next || r.last < r.first {
			return fmt.Errorf("run %d is %d-%d, want it to start at %d", i, r.first, r.last, next)
		}
		next = r.last + 1
		if i > 0 && mergeable(&p.runs[i-1], r) {
			return fmt.Errorf("runs %d and %d not merged", i-1, i)
		}
		switch r.state {
		case StateAcquired:
			if r.member == "" || r.deadline.IsZero() || r.count < 1 {
				return fmt.Errorf("acquired run %d-%d without owner, deadline or delivery", r.first, r.last)
			}
		case StateAvailable, StateAcknowledged, StateArchived:
			if r.member != "" || !r.deadline.IsZero() {
				return fmt.Errorf("%s run %d-%d has an owner or deadline", r.state, r.first, r.last)
			}
		default:
			return fmt.Errorf("run %d-%d in state %d", r.first, r.last, r.state)
		}
		if r.count < 0 {
			return fmt.Errorf("run %d-%d delivered %d times", r.first, r.last, r.count)
		}
	}
	if next != p.end {
		return fmt.Errorf("runs end at %d, window at %d", next, p.end)
	}
	if len(p.runs) > 0 && p.runs[0].state.done() {
		return fmt.Errorf("the start offset %d is done", p.start)
	}
	return nil
}

// compare checks p against m.
func compare(p *Partition, m *model) error {
	if err := checkInvariants(p); err != nil {
		return err
	}
	if p.start != m.start || p.end != m.end {
		return fmt.Errorf("window [%d,%d), model [%d,%d)", p.start, p.end, m.start, m.end)
	}
	for i := range p.runs {
		r := &p.runs[i]
		for o := r.first; o <= r.last; o++ {
			mr := m.recs[o]
			if mr == nil || mr.state != r.state || mr.count != r.count || mr.member != r.member || !mr.deadline.Equal(r.deadline) {
				return fmt.Errorf("offset %d is %s/%d %q %v, model %+v", o, r.state, r.count, r.member, r.deadline, mr)
			}
		}
	}
	if got, want := p.FetchOffset(), m.fetchOffset(); got != want {
		return fmt.Errorf("fetch offset %d, model %d", got, want)
	}
	if got, want := p.Persisted(), m.persisted(); !reflect.DeepEqual(got, want) {
		return fmt.Errorf("persisted %+v, model %+v", got, want)
	}
	var want time.Time
	found := false
	acquiredBy := map[string]int{}
	complete := int64(0)
	for o := m.start; o < m.end; o++ {
		r := m.recs[o]
		if r.state == StateAcquired {
			acquiredBy[r.member]++
			if !found || r.deadline.Before(want) {
				want, found = r.deadline, true
			}
		}
		if r.state.done() {
			complete++
		}
	}
	if got, ok := p.NextDeadline(); ok != found || !got.Equal(want) {
		return fmt.Errorf("next deadline %v %v, model %v %v", got, ok, want, found)
	}
	for _, mem := range members {
		if got := p.AcquiredBy(mem); got != acquiredBy[mem] {
			return fmt.Errorf("%s holds %d records, model %d", mem, got, acquiredBy[mem])
		}
	}
	if got := p.DeliveryCompleteCount(); got != complete {
		return fmt.Errorf("delivery complete count %d, model %d", got, complete)
	}
	return nil
}

var members = []string{"m1", "m2", "m3"}

// source is where a driven run takes its choices from.
type source interface {
	// intn is a choice in [0, n).
	intn(n int) int
}

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }

// byteSource takes choices from fuzz input; exhausted, it answers 0.
type byteSource struct {
	b []byte
}

func (s *byteSource) intn(n int) int {
	if len(s.b) == 0 || n <= 1 {
		return 0
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	if n > 256 {
		if len(s.b) > 0 {
			v = v<<8 | int(s.b[0])
			s.b = s.b[1:]
		}
	}
	return v % n
}

func (s *byteSource) done() bool { return len(s.b) == 0 }

// testLog is the partition's log as batch offset ranges, with gaps
// between batches (compaction, or transaction markers the reader skips).
type testLog struct {
	start   int64
	batches []LogBatch
}

func (l *testLog) next() int64 {
	if n := len(l.batches); n > 0 {
		return l.batches[n-1].Last + 1
	}
	return l.start
}

func (l *testLog) append(src source) {
	first := l.next() + int64(src.intn(4)/3*src.intn(4))
	l.batches = append(l.batches, LogBatch{First: first, Last: first + int64(src.intn(8)), Skip: src.intn(8) == 0})
}

// compact drops one batch (not the last), as compaction removing every
// record of it, and returns it.
func (l *testLog) compact(src source) LogBatch {
	if len(l.batches) < 2 {
		return LogBatch{}
	}
	i := src.intn(len(l.batches) - 1)
	b := l.batches[i]
	l.batches = slices.Delete(l.batches, i, i+1)
	return b
}

func (l *testLog) moveStart(o int64) {
	if o <= l.start {
		return
	}
	l.start = o
	for len(l.batches) > 0 && l.batches[0].Last < o {
		l.batches = l.batches[1:]
	}
}

// read is what a log read from o returns: the batch holding o (or the
// next one) and up to n-1 after it.
func (l *testLog) read(o int64, n int) []LogBatch {
	i, _ := slices.BinarySearchFunc(l.batches, o, func(b LogBatch, o int64) int {
		if b.Last < o {
			return -1
		}
		return 1
	})
	return l.batches[i:min(i+n, len(l.batches))]
}

// drive runs ops operations chosen by src against a Partition and the
// model, failing at the first difference.
func drive(t testing.TB, src source, ops int, trace bool) {
	cfg := Config{LockDuration: time.Duration(1+src.intn(50)) * time.Second, DeliveryLimit: int16(1 + src.intn(5)), MaxInFlight: int64(1 + src.intn(60))}
	startOff := int64(src.intn(20))
	p, m := New(cfg, Persisted{StartOffset: startOff}), newModel(cfg, Persisted{StartOffset: startOff})
	lg := &testLog{start: int64(src.intn(10))}
	for range 5 {
		lg.append(src)
	}
	now := time.Unix(1_700_000_000, 0)
	var history []string
	fail := func(format string, args ...any) {
		t.Helper()
		if trace {
			for _, h := range history {
				t.Log(h)
			}
		}
		t.Fatalf(format, args...)
	}
	for i := 0; i < ops; i++ {
		if bs, ok := src.(*byteSource); ok && bs.done() {
			return
		}
		before := m.persisted()
		var desc string
		switch op := src.intn(100); {
		case op < 30: // acquire
			member := members[src.intn(len(members))]
			fetch := p.FetchOffset()
			if src.intn(8) == 0 {
				fetch += int64(src.intn(7) - 3)
			}
			batches := lg.read(fetch, 1+src.intn(6))
			if src.intn(20) == 0 && len(batches) > 1 {
				// A malformed list: the rest is ignored.
				batches = append(slices.Clone(batches[:1]), batches[0])
			}
			maxRecords := src.intn(25)
			strict := src.intn(2) == 0
			oldStart, oldEnd, wasEmpty := p.start, p.end, p.start == p.end
			got := p.AcquireFrom(member, fetch, batches, maxRecords, strict, now)
			want := m.acquire(member, fetch, batches, maxRecords, strict, now)
			desc = fmt.Sprintf("acquire %s from %d %v max %d strict %v = %v", member, fetch, batches, maxRecords, strict, got)
			if !reflect.DeepEqual(got, want) {
				history = append(history, desc)
				fail("%s\nmodel acquired %v", desc, want)
			}
			if p.end > oldEnd && !slices.ContainsFunc(batches, func(b LogBatch) bool { return b.Skip }) {
				if err := checkGrowth(p, oldStart, oldEnd, wasEmpty, batches, strict, got); err != nil {
					history = append(history, desc)
					fail("%s: %v", desc, err)
				}
			}
		case op < 60: // acknowledge
			member := members[src.intn(len(members))]
			first, last := p.start+int64(src.intn(12)-2), int64(0)
			if r := pickRun(p, src); r != nil && src.intn(4) != 0 {
				member = r.member
				first = r.first + int64(src.intn(int(r.len())))
				last = first + int64(src.intn(int(r.last-first+1)))
			} else {
				last = first + int64(src.intn(8)-1)
			}
			var types []AckType
			if n := last - first + 1; n > 1 && n < 64 && src.intn(2) == 0 {
				for range n {
					types = append(types, AckType(src.intn(5)))
				}
			} else {
				types = []AckType{AckType(src.intn(5))}
			}
			switch src.intn(30) {
			case 0:
				types = nil
			case 1:
				types = append(types, AckType(src.intn(7)))
			}
			var got, want error
			if src.intn(4) == 0 {
				// Several batches: this one and others around it.
				bs := []AckBatch{{First: first, Last: last, Types: types}}
				for range 1 + src.intn(3) {
					f := bs[len(bs)-1].Last + int64(src.intn(5)-1)
					bs = append(bs, AckBatch{First: f, Last: f + int64(src.intn(4)), Types: []AckType{AckType(src.intn(5))}})
				}
				got = p.AcknowledgeBatches(member, bs, now)
				want = m.acknowledgeBatches(member, bs, now)
				desc = fmt.Sprintf("ack %s %v = %v", member, bs, got)
			} else {
				got = p.Acknowledge(member, first, last, types, now)
				want = m.acknowledge(member, first, last, types, now)
				desc = fmt.Sprintf("ack %s %d-%d %v = %v", member, first, last, types, got)
			}
			if got != want {
				history = append(history, desc)
				fail("%s, model %v", desc, want)
			}
		case op < 66:
			member := members[src.intn(len(members))]
			p.ReleaseMember(member, now)
			m.releaseMember(member)
			desc = "release " + member
		case op < 80:
			now = now.Add(time.Duration(src.intn(20)) * time.Second)
			p.Expire(now)
			m.expire(now)
			desc = fmt.Sprintf("expire at %v", now.Unix())
		case op < 84:
			o := p.start + int64(src.intn(30)-5)
			p.MoveStartOffset(o, now)
			m.moveStart(o)
			lg.moveStart(o)
			desc = fmt.Sprintf("move start to %d", o)
		case op < 88:
			ps := p.Persisted()
			p, m = New(cfg, ps), newModel(cfg, m.persisted())
			if p.Changed() {
				fail("a restored partition reports a change")
			}
			desc = fmt.Sprintf("restore %+v", ps)
		case op < 90:
			cfg.DeliveryLimit = int16(1 + src.intn(5))
			cfg.MaxInFlight = int64(1 + src.intn(60))
			p.SetConfig(cfg)
			m.cfg = cfg.withDefaults()
			desc = fmt.Sprintf("config %+v", cfg)
		case op < 97:
			n := len(lg.batches)
			for range 1 + src.intn(4) {
				lg.append(src)
			}
			desc = fmt.Sprintf("log append %v", lg.batches[n:])
		default:
			desc = fmt.Sprintf("log compaction drops %v", lg.compact(src))
		}
		if trace {
			history = append(history, desc+" -> "+p.String())
		}
		if err := compare(p, m); err != nil {
			fail("after %s: %v\nmodel [%d,%d)", desc, err, m.start, m.end)
		}
		if after := m.persisted(); !reflect.DeepEqual(before, after) && !p.Changed() {
			fail("after %s: persisted state changed, Changed is false", desc)
		}
		if src.intn(3) == 0 {
			p.ClearChanged()
		}
	}
}

// pickRun picks an Acquired run, nil if none.
func pickRun(p *Partition, src source) *run {
	var acq []*run
	for i := range p.runs {
		if p.runs[i].state == StateAcquired {
			acq = append(acq, &p.runs[i])
		}
	}
	if len(acq) == 0 {
		return nil
	}
	return acq[src.intn(len(acq))]
}

// checkGrowth checks an Acquire's growth of the window against the
// in-flight limit: new records only while the window was below
// MaxInFlight, and past it only the rest of the batch that crossed it
// (without strict) or nothing (strict).
func checkGrowth(p *Partition, oldStart, oldEnd int64, wasEmpty bool, batches []LogBatch, strict bool, got []Acquired) error {
	// The first new record, and the start the limit counted from.
	firstNew := int64(-1)
	for _, a := range got {
		if a.Last >= oldEnd {
			firstNew = max(a.First, oldEnd)
			break
		}
	}
	if firstNew < 0 {
		return fmt.Errorf("the window grew to %d without new records", p.end)
	}
	base := oldStart
	if wasEmpty {
		base = firstNew
	}
	limit := base + p.cfg.MaxInFlight
	if firstNew >= limit {
		return fmt.Errorf("new record %d past the in-flight limit %d", firstNew, limit)
	}
	if p.end <= limit {
		return nil
	}
	if strict {
		return fmt.Errorf("strict acquire grew the window to %d past the limit %d", p.end, limit)
	}
	for _, b := range batches {
		if b.First <= limit-1 && limit-1 <= b.Last || b.First >= limit-1 {
			if p.end-1 != b.Last || max(b.First, oldEnd) >= limit {
				return fmt.Errorf("window grew to %d, past the limit %d and the batch %v crossing it", p.end, limit, b)
			}
			return nil
		}
	}
	return fmt.Errorf("window grew to %d past the limit %d", p.end, limit)
}

func TestModelRandom(t *testing.T) {
	seeds, ops := 300, 2000
	if testing.Short() || raceEnabled {
		seeds = 60
	}
	for seed := range seeds {
		src := func() source { return randSource{rand.New(rand.NewPCG(uint64(seed), 42))} }
		if !t.Run(fmt.Sprint(seed), func(t *testing.T) { drive(t, src(), ops, false) }) {
			// Again, logging every step up to the failure.
			t.Run(fmt.Sprint(seed, "-trace"), func(t *testing.T) { drive(t, src(), ops, true) })
			return
		}
	}
}
