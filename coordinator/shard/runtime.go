package shard

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"
)

var (
	// ErrNotCoordinator is the answer of an operation on a partition that
	// has no shard here: this broker does not lead it (or no longer does,
	// or the runtime closed).
	ErrNotCoordinator = errors.New("shard: this broker is not the partition's coordinator")
	// ErrLoading is the answer of an operation that waited for a load that
	// failed; the load is tried again.
	ErrLoading = errors.New("shard: the partition's coordinator is still loading")
)

// Record is one key/value of an internal topic; a nil Value is a
// tombstone.
//
// Producer and Control are set only for a coordinator that takes part in
// transactions (the group coordinator's transactional offset commits);
// the others never write them, and skip records that carry them when
// they replay.
type Record struct {
	Key, Value []byte
	// Producer, when set, marks a record written as part of a
	// transaction of that producer: the Log puts it in a transactional
	// batch of the producer, and Load hands it back with Producer set.
	// Records of several producers (and none) may share one Append: the
	// Log splits them into consecutive runs, one batch each, in order.
	Producer *Producer
	// Control is set, by Load only, for an end-transaction marker: Key
	// and Value are nil, and Producer is the producer whose transaction
	// it ends. Coordinators never write one; the transaction coordinator
	// appends markers through the partition, and tells the coordinator
	// (the group coordinator's CompleteTransaction).
	Control *Control
}

// Producer is the transactional producer of a record.
type Producer struct {
	ID    int64
	Epoch int16
	// Verification is the Log's own token for the write (the broker's
	// transaction verification guard, KIP-890), passed through
	// unexamined; nil on Load.
	Verification any
}

// Control is an end-transaction marker: Commit, or an abort.
type Control struct {
	Commit bool
}

// Log is the internal topic's partitions as the runtime writes and reads
// them. The broker implements it over its replicas.
type Log interface {
	// Append writes records to partition p as one batch and returns once
	// every in-sync replica has them (acks=all), or the error that ended
	// the write (this broker no longer leads p, too few in-sync replicas,
	// a timeout, a storage error). Called from one goroutine per partition
	// at a time.
	Append(p int32, records []Record) error
	// Load calls fn for every record of partition p in offset order, and
	// stops with fn's error. A partition that does not exist here yet has
	// no records.
	Load(p int32, fn func(Record) error) error
}

// State is a coordinator's state for one partition, held by its shard.
// Its methods run on the shard's goroutine, one at a time.
type State[S any] interface {
	// Replay applies one record of the partition while the shard loads,
	// in offset order.
	Replay(Record)
	// Loaded ends the load at now. An error (records that did not decode)
	// is reported by Load; the shard serves anyway.
	Loaded(now time.Time) error
	// Tick returns the timed operations due at now.
	Tick(now time.Time) []Timer[S]
	// Unloaded is called once when a loaded shard stops, after every
	// operation in its queue was answered.
	Unloaded()
}

// Op is an operation on a shard's state, run on the shard's goroutine.
// It returns the records to append to the shard's partition (none: it
// writes nothing) and its completion, which runs on the shard's goroutine
// with the write's outcome: nil once the log acknowledged the records, the
// append's error, or ErrNotCoordinator when the shard stopped first. With
// no records it runs at once with nil. The completion may be nil.
//
// An operation must not change state that its records describe: its
// completion does, when its error is nil.
type Op[S any] func(state S, now time.Time) (records []Record, done func(err error))

// Timer is a timed operation on one key.
type Timer[S any] struct {
	Key string
	Op  Op[S]
}

// Config configures a runtime.
type Config[S any] struct {
	// Log is the internal topic.
	Log Log
	// New returns the empty state of a partition's shard.
	New func(partition int32) S
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger reports failed and slow loads; silent when nil.
	Logger *slog.Logger
	// MaxBatchBytes bounds the keys and values of the writes appended as
	// one batch (512 KiB when 0); a larger write goes alone.
	MaxBatchBytes int
	// LoadRetry is the wait before a failed load is tried again (1 s when
	// 0).
	LoadRetry time.Duration
}

// Runtime runs the shards of one internal topic.
type Runtime[S State[S]] struct {
	cfg Config[S]
	mu  struct {
		sync.Mutex
		// shards is the partitions' live shards (loading or loaded).
		shards map[int32]*shard[S]
		// draining is the stopped shards whose goroutines have not exited
		// yet (their writer may be in Log.Append), by partition: a Load of
		// the partition waits for it. A shard leaves it when it exited or
		// when a newer shard of the partition took it as its prev.
		draining map[int32]*shard[S]
		closed   bool
	}
	// running counts the shards' goroutines, for Close.
	running sync.WaitGroup
}

// New returns a runtime with no shards.
func New[S State[S]](cfg Config[S]) *Runtime[S] {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = 512 << 10
	}
	if cfg.LoadRetry <= 0 {
		cfg.LoadRetry = time.Second
	}
	r := &Runtime[S]{cfg: cfg}
	r.mu.shards = map[int32]*shard[S]{}
	r.mu.draining = map[int32]*shard[S]{}
	return r
}

// Load starts partition p's shard: this broker now leads p. A shard
// already there is replaced (a new leader epoch: the log is replayed
// again) and stopped as Unload does. The new shard reads the log only
// once the partition's previous shard, live or unloaded and still
// draining, has exited: its writer's last Log.Append has returned. The
// channel receives the first load's outcome: nil, the
// State.Loaded error, the log's read error (the load is then tried again),
// or ErrNotCoordinator if the shard stopped before it loaded.
func (r *Runtime[S]) Load(p int32) <-chan error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		ch := make(chan error, 1)
		ch <- ErrNotCoordinator
		return ch
	}
	prev := r.mu.shards[p]
	if prev != nil {
		prev.stop()
	} else {
		// Each shard waits for its own prev before it exits, so waiting
		// for the newest stopped shard waits for all of them.
		prev = r.mu.draining[p]
	}
	delete(r.mu.draining, p)
	s := newShard(r, p, prev)
	r.mu.shards[p] = s
	r.running.Add(1)
	go s.run()
	return s.loaded
}

// Unload stops partition p's shard: this broker no longer leads p. It
// returns at once, without waiting for the log. Once it returned, no
// operation or timer starts on the shard (one running finishes; the rest
// answer ErrNotCoordinator) and its writer takes no batch: writes queued
// behind an append in flight are never appended. The shard's goroutine
// then runs the completions of its writes (with their append's outcome
// when it came back first, else ErrNotCoordinator, though that append may
// still land) and State.Unloaded, without waiting for the log. The one
// batch the writer took before Unload may still be in Log.Append, or
// about to enter it, after Unload returned; the shard stays draining
// until that append returned, and a later Load of p reads the log only
// after that.
func (r *Runtime[S]) Unload(p int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.mu.shards[p]; s != nil {
		delete(r.mu.shards, p)
		r.mu.draining[p] = s
		s.stop()
	}
}

// exited forgets s, whose goroutines exited, if it is draining.
func (r *Runtime[S]) exited(s *shard[S]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.draining[s.p] == s {
		delete(r.mu.draining, s.p)
	}
}

// Owns reports whether partition p has a shard here (loaded or loading).
func (r *Runtime[S]) Owns(p int32) bool {
	return r.shard(p) != nil
}

// Partitions is the partitions with a shard here, sorted.
func (r *Runtime[S]) Partitions() []int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int32, 0, len(r.mu.shards))
	for p := range r.mu.shards {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (r *Runtime[S]) shard(p int32) *shard[S] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.shards[p]
}

// Do runs op on partition p's shard, after every earlier operation on key
// has completed (an empty key waits for nothing), and returns once op's
// completion ran. The error is ErrNotCoordinator or ErrLoading when op did
// not run; what op did is for op to tell.
func (r *Runtime[S]) Do(p int32, key string, op Op[S]) error {
	s := r.shard(p)
	if s == nil {
		return ErrNotCoordinator
	}
	o := &operation[S]{key: key, fn: op, done: make(chan error, 1)}
	if !s.push(event[S]{op: o}) {
		return ErrNotCoordinator
	}
	return <-o.done
}

// DoAfterWrites runs op on partition p's shard, keyed by no key, once
// every write handed to the shard's writer before op arrived has
// completed (its completion ran); writes made after op arrived are not
// waited for. It returns once op's completion ran, as Do does. It orders
// a change made outside the shard's writer (the transaction coordinator
// appended a marker to the partition) after the shard's own writes that
// may precede it in the log.
func (r *Runtime[S]) DoAfterWrites(p int32, op Op[S]) error {
	s := r.shard(p)
	if s == nil {
		return ErrNotCoordinator
	}
	o := &operation[S]{fn: op, afterWrites: true, done: make(chan error, 1)}
	if !s.push(event[S]{op: o}) {
		return ErrNotCoordinator
	}
	return <-o.done
}

// Read runs fn on partition p's shard, waiting for no key: it sees the
// state every acknowledged write left.
func (r *Runtime[S]) Read(p int32, fn func(state S)) error {
	return r.Do(p, "", func(state S, _ time.Time) ([]Record, func(error)) {
		fn(state)
		return nil, nil
	})
}

// Tick runs every shard's due timers now and returns once they completed,
// except timers waiting for a key's write that was in flight before.
func (r *Runtime[S]) Tick() {
	var replies []chan []<-chan error
	for _, p := range r.Partitions() {
		s := r.shard(p)
		if s == nil {
			continue
		}
		reply := make(chan []<-chan error, 1)
		if s.push(event[S]{tick: true, ticked: reply}) {
			replies = append(replies, reply)
		}
	}
	for _, reply := range replies {
		for _, done := range <-reply {
			<-done
		}
	}
}

// Run ticks every shard every interval until ctx ends, then closes the
// runtime. interval is the precision of the coordinator's timers.
func (r *Runtime[S]) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.Close()
			return
		case <-t.C:
			r.mu.Lock()
			for _, s := range r.mu.shards {
				s.tickAsync()
			}
			r.mu.Unlock()
		}
	}
}

// Close stops every shard, as Unload does, and waits until every shard's
// goroutines exited, draining ones included (so every append returned).
// Load after Close starts nothing.
func (r *Runtime[S]) Close() {
	r.mu.Lock()
	r.mu.closed = true
	for p, s := range r.mu.shards {
		delete(r.mu.shards, p)
		r.mu.draining[p] = s
		s.stop()
	}
	r.mu.Unlock()
	r.running.Wait()
}
