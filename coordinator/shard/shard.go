package shard

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// shard is one partition's coordinator: its state, the goroutine that runs
// everything on it (run) and the writer that appends its records (write).
type shard[S State[S]] struct {
	r *Runtime[S]
	p int32
	// prev is the partition's previous shard (replaced, or unloaded and
	// draining): this one reads the log only once prev has exited, and
	// exits only after it.
	prev *shard[S]
	// loaded receives the first load's outcome.
	loaded chan error
	// exited is closed when the shard's goroutine and its writer are done
	// (the writer's last Log.Append returned), and after prev's.
	exited chan struct{}

	// queue is what other goroutines hand the shard's goroutine.
	queue struct {
		sync.Mutex
		events []event[S]
		// stopping refuses new events: the shard is stopping.
		stopping bool
		// tickQueued coalesces the background ticks.
		tickQueued bool
	}
	wake chan struct{}
	// stopped is closed by stop.
	stopped  chan struct{}
	stopOnce sync.Once

	w writer[S]

	// Owned by the shard's goroutine.
	state S
	// busy has an entry for every key with a write in flight, holding the
	// operations that wait for it.
	busy map[string]*waiting[S]
	// inflight is the writes handed to the writer, in append order.
	inflight []*write[S]
}

// event is one thing for the shard's goroutine: an operation, a finished
// append, or a tick.
type event[S State[S]] struct {
	op    *operation[S]
	acked *acked[S]
	tick  bool
	// ticked, for Runtime.Tick, receives the completions of the timers
	// that wrote.
	ticked chan []<-chan error
}

type operation[S State[S]] struct {
	key   string
	fn    Op[S]
	timer bool
	// afterWrites makes the operation wait for the writes in flight when
	// it arrives (DoAfterWrites).
	afterWrites bool
	// done receives the operation's outcome (nil once it ran and its
	// completion ran); nil for background timers.
	done chan error
}

func (o *operation[S]) finish(err error) {
	if o.done != nil {
		o.done <- err
	}
}

// waiting is the operations queued behind a key's write in flight.
type waiting[S State[S]] struct {
	ops []*operation[S]
}

func (q *waiting[S]) hasTimer() bool {
	return slices.ContainsFunc(q.ops, func(o *operation[S]) bool { return o.timer })
}

type write[S State[S]] struct {
	op      *operation[S]
	records []Record
	done    func(error)
	bytes   int
	// after is the operations (DoAfterWrites) that run once this write,
	// and so every write before it, completed.
	after []*operation[S]
}

// acked is the outcome of one append: the writes it carried, in order.
type acked[S State[S]] struct {
	writes []*write[S]
	err    error
}

func newShard[S State[S]](r *Runtime[S], p int32, prev *shard[S]) *shard[S] {
	s := &shard[S]{r: r, p: p, prev: prev, loaded: make(chan error, 1), exited: make(chan struct{}),
		wake: make(chan struct{}, 1), stopped: make(chan struct{}), busy: map[string]*waiting[S]{}}
	s.w.wake = make(chan struct{}, 1)
	s.w.exited = make(chan struct{})
	return s
}

// push hands an event to the shard's goroutine; false once it is stopping.
func (s *shard[S]) push(ev event[S]) bool {
	s.queue.Lock()
	if s.queue.stopping {
		s.queue.Unlock()
		return false
	}
	s.queue.events = append(s.queue.events, ev)
	s.queue.Unlock()
	s.signal()
	return true
}

func (s *shard[S]) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// tickAsync queues a background tick unless one is queued already.
func (s *shard[S]) tickAsync() {
	s.queue.Lock()
	if s.queue.stopping || s.queue.tickQueued {
		s.queue.Unlock()
		return
	}
	s.queue.tickQueued = true
	s.queue.events = append(s.queue.events, event[S]{tick: true})
	s.queue.Unlock()
	s.signal()
}

// stop makes the shard stop: once it returned, the writer takes no
// batch (one it took before may still be appended), push refuses events,
// and the shard's goroutine starts nothing (an operation it is running
// finishes), answers what is queued and exits once the writer did. It
// does not wait.
func (s *shard[S]) stop() {
	s.stopOnce.Do(func() {
		s.w.stop()
		s.queue.Lock()
		s.queue.stopping = true
		s.queue.Unlock()
		close(s.stopped)
		s.signal()
	})
}

func (s *shard[S]) stopping() bool {
	s.queue.Lock()
	defer s.queue.Unlock()
	return s.queue.stopping
}

// take waits for events; ok is false once the shard is stopping.
func (s *shard[S]) take() (evs []event[S], ok bool) {
	for {
		s.queue.Lock()
		if s.queue.stopping {
			s.queue.Unlock()
			return nil, false
		}
		if len(s.queue.events) > 0 {
			evs, s.queue.events = s.queue.events, nil
			s.queue.Unlock()
			return evs, true
		}
		s.queue.Unlock()
		<-s.wake
	}
}

// requeue puts events taken but not handled back in front of the queue,
// in order.
func (s *shard[S]) requeue(evs []event[S]) {
	s.queue.Lock()
	s.queue.events = append(evs[:len(evs):len(evs)], s.queue.events...)
	s.queue.Unlock()
}

// run is the shard's goroutine.
func (s *shard[S]) run() {
	defer s.r.running.Done()
	defer s.r.exited(s)
	defer close(s.exited)
	if s.prev != nil {
		<-s.prev.exited // its last append has returned
		s.prev = nil
	}
	go s.write()
	defer func() { <-s.w.exited }()
	if !s.load() {
		s.shutdown(false)
		return
	}
	for {
		evs, ok := s.take()
		if !ok {
			s.shutdown(true)
			return
		}
		for i, ev := range evs {
			if s.stopping() {
				// Nothing starts after stop: shutdown answers the rest.
				s.requeue(evs[i:])
				break
			}
			s.handle(ev)
		}
	}
}

// load replays the partition into a new state, trying again after a
// failed read until it succeeds or the shard stops (false).
func (s *shard[S]) load() bool {
	first := true
	report := func(err error) {
		if first {
			s.loaded <- err
			first = false
		}
	}
	for {
		if s.stopping() { // stopped while it waited for prev or a retry
			report(ErrNotCoordinator)
			return false
		}
		start := time.Now()
		state := s.r.cfg.New(s.p)
		n := 0
		err := s.r.cfg.Log.Load(s.p, func(rec Record) error {
			if n%1024 == 0 && s.stopping() {
				return ErrNotCoordinator
			}
			n++
			state.Replay(rec)
			return nil
		})
		if err == nil {
			s.state = state
			err = state.Loaded(s.r.cfg.Now())
			if took := time.Since(start); err != nil || took > time.Second {
				if err != nil {
					s.r.cfg.Logger.Warn("coordinator partition loaded with an error", "partition", s.p, "records", n, "took", took.Round(time.Millisecond), "err", err)
				} else {
					s.r.cfg.Logger.Info("coordinator partition loaded slowly", "partition", s.p, "records", n, "took", took.Round(time.Millisecond))
				}
			}
			report(err)
			return true
		}
		if s.stopping() {
			report(ErrNotCoordinator)
			return false
		}
		err = fmt.Errorf("coordinator partition %d: load: %w", s.p, err)
		s.r.cfg.Logger.Warn("coordinator partition load failed, retrying", "partition", s.p, "retry_in", s.r.cfg.LoadRetry, "err", err)
		report(err)
		// Whoever waited for this load is told to come back later.
		s.queue.Lock()
		evs := s.queue.events
		s.queue.events = nil
		s.queue.tickQueued = false
		s.queue.Unlock()
		for _, ev := range evs {
			s.drop(ev, ErrLoading)
		}
		select {
		case <-time.After(s.r.cfg.LoadRetry):
		case <-s.stopped:
			return false
		}
	}
}

// drop answers an event that will not run.
func (s *shard[S]) drop(ev event[S], err error) {
	switch {
	case ev.op != nil:
		ev.op.finish(err)
	case ev.ticked != nil:
		ev.ticked <- nil
	}
}

// shutdown completes the writes whose appends returned, answers
// everything else queued, in flight or waiting with ErrNotCoordinator,
// then tells a loaded state it is unloaded.
func (s *shard[S]) shutdown(loaded bool) {
	s.queue.Lock()
	evs := s.queue.events
	s.queue.events = nil
	s.queue.Unlock()
	for _, ev := range evs {
		if ev.acked == nil {
			continue
		}
		for _, w := range ev.acked.writes {
			s.inflight = s.inflight[1:] // appends complete in order
			if w.done != nil {
				w.done(ev.acked.err)
			}
			w.op.finish(nil)
			for _, o := range w.after {
				o.finish(ErrNotCoordinator)
			}
		}
	}
	for _, w := range s.inflight {
		if w.done != nil {
			w.done(ErrNotCoordinator)
		}
		w.op.finish(nil)
		for _, o := range w.after {
			o.finish(ErrNotCoordinator)
		}
	}
	s.inflight = nil
	for _, q := range s.busy {
		for _, o := range q.ops {
			o.finish(ErrNotCoordinator)
		}
	}
	s.busy = nil
	for _, ev := range evs {
		s.drop(ev, ErrNotCoordinator)
	}
	if loaded {
		s.state.Unloaded()
	}
}

func (s *shard[S]) handle(ev event[S]) {
	switch {
	case ev.op != nil:
		s.runOp(ev.op)
	case ev.acked != nil:
		s.complete(ev.acked)
	case ev.tick:
		s.tick(ev.ticked)
	}
}

// runOp runs an operation, or queues it behind its key's write. It
// reports whether the operation's write is now in flight.
func (s *shard[S]) runOp(o *operation[S]) bool {
	if o.afterWrites {
		// It runs once the last write in flight completed (appends
		// complete in order), without waiting again for writes made
		// meanwhile.
		o.afterWrites = false
		if n := len(s.inflight); n > 0 {
			s.inflight[n-1].after = append(s.inflight[n-1].after, o)
			return false
		}
	}
	if o.key != "" {
		if q := s.busy[o.key]; q != nil {
			if o.timer && q.hasTimer() {
				o.finish(nil) // the waiting timer runs the same steps later
				return false
			}
			q.ops = append(q.ops, o)
			return false
		}
	}
	records, done := o.fn(s.state, s.r.cfg.Now())
	if len(records) == 0 {
		if done != nil {
			done(nil)
		}
		o.finish(nil)
		return false
	}
	w := &write[S]{op: o, records: records, done: done}
	for _, r := range records {
		w.bytes += len(r.Key) + len(r.Value)
	}
	if o.key != "" {
		s.busy[o.key] = &waiting[S]{}
	}
	s.inflight = append(s.inflight, w)
	s.w.push(w)
	return true
}

// complete runs the completions of an append's writes and then what
// waited for their keys.
func (s *shard[S]) complete(a *acked[S]) {
	for _, w := range a.writes {
		if len(s.inflight) == 0 || s.inflight[0] != w {
			panic("shard: an append completed out of order")
		}
		s.inflight = s.inflight[1:]
		if w.done != nil {
			w.done(a.err)
		}
		w.op.finish(nil)
		for _, o := range w.after {
			if s.stopping() {
				o.finish(ErrNotCoordinator)
				continue
			}
			s.runOp(o)
		}
		if w.op.key != "" {
			s.release(w.op.key)
		}
	}
}

// release runs the operations that waited for key's write, in order,
// until one of them writes again or the shard stops.
func (s *shard[S]) release(key string) {
	q := s.busy[key]
	delete(s.busy, key)
	for len(q.ops) > 0 {
		if s.stopping() {
			s.busy[key] = q // shutdown answers them
			return
		}
		o := q.ops[0]
		q.ops = q.ops[1:]
		if s.runOp(o) {
			s.busy[key].ops = q.ops
			return
		}
	}
}

// tick runs the state's due timers, until the shard stops. reply, when
// set, gets the completions of the timers whose writes went out.
func (s *shard[S]) tick(reply chan []<-chan error) {
	if reply == nil {
		s.queue.Lock()
		s.queue.tickQueued = false
		s.queue.Unlock()
	}
	var wait []<-chan error
	for _, t := range s.state.Tick(s.r.cfg.Now()) {
		if s.stopping() {
			break
		}
		o := &operation[S]{key: t.Key, fn: t.Op, timer: true}
		if reply != nil {
			o.done = make(chan error, 1)
		}
		if s.runOp(o) && reply != nil {
			wait = append(wait, o.done)
		}
	}
	if reply != nil {
		reply <- wait
	}
}

// writer appends a shard's writes to the log, in order, one batch at a
// time, on its own goroutine (write).
type writer[S State[S]] struct {
	mu      sync.Mutex
	queue   []*write[S]
	stopped bool
	wake    chan struct{}
	exited  chan struct{}
}

func (w *writer[S]) push(wr *write[S]) {
	w.mu.Lock()
	w.queue = append(w.queue, wr)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer[S]) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// next waits for writes and takes the next batch: the oldest write and
// those after it while they fit in max bytes. Nil once stopped: stop and
// next exclude each other, so after stop returned no batch is taken; the
// batch taken before is appended with no lock held (and may enter
// Log.Append after stop returned).
func (w *writer[S]) next(max int) []*write[S] {
	for {
		w.mu.Lock()
		if w.stopped {
			w.mu.Unlock()
			return nil
		}
		if len(w.queue) > 0 {
			n, size := 1, w.queue[0].bytes
			for n < len(w.queue) && size+w.queue[n].bytes <= max {
				size += w.queue[n].bytes
				n++
			}
			batch := w.queue[:n:n]
			w.queue = w.queue[n:]
			w.mu.Unlock()
			return batch
		}
		w.mu.Unlock()
		<-w.wake
	}
}

// write is the writer's goroutine. The batch is taken under the writer's
// lock, checked against stop there, and appended with no lock held; the
// goroutine exits at the first next after stop, so at most one append
// (the batch taken before stop) outlives stop, and exited closes after it
// returned.
func (s *shard[S]) write() {
	defer close(s.w.exited)
	for {
		batch := s.w.next(s.r.cfg.MaxBatchBytes)
		if batch == nil {
			return
		}
		var records []Record
		for _, w := range batch {
			records = append(records, w.records...)
		}
		err := s.r.cfg.Log.Append(s.p, records)
		s.push(event[S]{acked: &acked[S]{writes: batch, err: err}}) // dropped once stopping
	}
}
