package shard

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// memLog is an in-memory internal topic. hold makes appends wait until
// released (a slow disk or a lagging ISR); their records land when they
// are released.
type memLog struct {
	mu        sync.Mutex
	parts     map[int32][]Record
	appends   [][]Record
	fail      error
	loadFails int
	loads     int // calls of Load
	gate      chan struct{}
	started   chan struct{}
}

func newMemLog() *memLog {
	return &memLog{parts: map[int32][]Record{}, started: make(chan struct{}, 100)}
}

// hold makes the next appends block; the returned func releases them.
func (l *memLog) hold() (release func()) {
	g := make(chan struct{})
	l.mu.Lock()
	l.gate = g
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			if l.gate == g {
				l.gate = nil
			}
			l.mu.Unlock()
			close(g)
		})
	}
}

func (l *memLog) Append(p int32, recs []Record) error {
	l.mu.Lock()
	g, fail := l.gate, l.fail
	l.mu.Unlock()
	if g != nil {
		l.started <- struct{}{}
		<-g
	}
	if fail != nil {
		return fail
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.parts[p] = append(l.parts[p], recs...)
	l.appends = append(l.appends, recs)
	return nil
}

func (l *memLog) Load(p int32, fn func(Record) error) error {
	l.mu.Lock()
	l.loads++
	if l.loadFails > 0 {
		l.loadFails--
		l.mu.Unlock()
		return errors.New("disk unreadable")
	}
	recs := append([]Record(nil), l.parts[p]...)
	l.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (l *memLog) loadCalls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loads
}

func (l *memLog) appendCalls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.appends)
}

// waitStarted waits until an append is blocked on the gate.
func (l *memLog) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-l.started:
	case <-time.After(5 * time.Second):
		t.Fatal("no append started")
	}
}

// kv is a test coordinator: string values by key, persisted as records,
// and keys that expire at a deadline (a timer that writes a tombstone).
type kv struct {
	vals     map[string]string
	expires  map[string]time.Time
	unloaded chan struct{}
}

func newKV(int32) *kv {
	return &kv{vals: map[string]string{}, expires: map[string]time.Time{}, unloaded: make(chan struct{})}
}

func (s *kv) Replay(r Record) {
	if r.Value == nil {
		delete(s.vals, string(r.Key))
		return
	}
	s.vals[string(r.Key)] = string(r.Value)
}

func (s *kv) Loaded(time.Time) error { return nil }

func (s *kv) Tick(now time.Time) []Timer[*kv] {
	var keys []string
	for k, at := range s.expires {
		if !now.Before(at) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Timer[*kv]
	for _, k := range keys {
		out = append(out, Timer[*kv]{Key: k, Op: func(s *kv, now time.Time) ([]Record, func(error)) {
			if at, ok := s.expires[k]; !ok || now.Before(at) {
				return nil, nil
			}
			if _, ok := s.vals[k]; !ok {
				delete(s.expires, k) // nothing written: just forget it
				return nil, nil
			}
			return []Record{{Key: []byte(k)}}, func(err error) {
				if err == nil {
					delete(s.vals, k)
					delete(s.expires, k)
				}
			}
		}})
	}
	return out
}

func (s *kv) Unloaded() { close(s.unloaded) }

// set writes k=v; *out gets the write's outcome.
func set(k, v string, out *error) Op[*kv] {
	return func(s *kv, _ time.Time) ([]Record, func(error)) {
		return []Record{{Key: []byte(k), Value: []byte(v)}}, func(err error) {
			*out = err
			if err == nil {
				s.vals[k] = v
			}
		}
	}
}

// expireAt sets an in-memory deadline for k (no write).
func expireAt(k string, at time.Time) Op[*kv] {
	return func(s *kv, _ time.Time) ([]Record, func(error)) {
		s.expires[k] = at
		return nil, nil
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	log   *memLog
	clock *clock
	rt    *Runtime[*kv]
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, log: newMemLog(), clock: &clock{now: time.Unix(1_700_000_000, 0)}}
	f.rt = New(Config[*kv]{Log: f.log, New: newKV, Now: f.clock.Now, LoadRetry: 10 * time.Millisecond})
	t.Cleanup(f.rt.Close)
	return f
}

func (f *fixture) load(p int32) {
	f.t.Helper()
	if err := <-f.rt.Load(p); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) get(p int32, k string) (string, bool) {
	f.t.Helper()
	var v string
	var ok bool
	if err := f.rt.Read(p, func(s *kv) { v, ok = s.vals[k] }); err != nil {
		f.t.Fatal(err)
	}
	return v, ok
}

// async runs fn on its own goroutine; the channel closes when it returned.
func async(fn func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	return done
}

func returned(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

// A shard exists only between Load and Unload: it starts from the
// partition's records, and once unloaded it answers ErrNotCoordinator and
// its state hears of it.
func TestLoadReplaysAndUnloadStops(t *testing.T) {
	f := newFixture(t)
	f.log.parts[0] = []Record{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}, {Key: []byte("a")}}
	if f.rt.Owns(0) {
		t.Fatal("owns a partition before loading it")
	}
	f.load(0)
	if _, ok := f.get(0, "a"); ok {
		t.Fatal("the tombstone was not replayed")
	}
	if v, _ := f.get(0, "b"); v != "2" {
		t.Fatalf("b = %q after load", v)
	}
	if err := f.rt.Read(1, func(*kv) {}); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("read of a partition not loaded: %v", err)
	}
	var st *kv
	f.rt.Read(0, func(s *kv) { st = s })
	f.rt.Unload(0)
	within(t, st.unloaded, "Unloaded")
	var out error
	if err := f.rt.Do(0, "a", set("a", "x", &out)); !errors.Is(err, ErrNotCoordinator) || f.rt.Owns(0) {
		t.Fatalf("do after unload: %v", err)
	}
	// Loading again replays what the first shard wrote.
	f.load(0)
	if v, _ := f.get(0, "b"); v != "2" {
		t.Fatalf("b = %q after the second load", v)
	}
}

// A write changes the state and answers only once the log acknowledged
// it; a failed write changes nothing.
func TestWriteAppliesAfterAcknowledgement(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	release := f.log.hold()
	var out error
	done := async(func() {
		if err := f.rt.Do(0, "k", set("k", "v", &out)); err != nil {
			t.Error(err)
		}
	})
	f.log.waitStarted(t)
	if _, ok := f.get(0, "k"); ok || returned(done) {
		t.Fatal("the write is visible (or answered) before the log acknowledged it")
	}
	release()
	within(t, done, "the write")
	if v, _ := f.get(0, "k"); v != "v" || out != nil {
		t.Fatalf("after the acknowledgement: %q, %v", v, out)
	}
	f.log.fail = errors.New("not enough replicas")
	if err := f.rt.Do(0, "k", set("k", "w", &out)); err != nil || out == nil {
		t.Fatalf("failed write: %v, %v", err, out)
	}
	if v, _ := f.get(0, "k"); v != "v" {
		t.Fatalf("a failed write changed the state: %q", v)
	}
}

// While one key's append is stuck (a lagging ISR), the shard keeps
// serving: other keys' operations and timers run, and the stuck key's
// own later operations wait and then run in order.
func TestSlowAppendBlocksOnlyItsKey(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	var out error
	if err := f.rt.Do(0, "other", set("other", "1", &out)); err != nil || out != nil {
		t.Fatal(err, out)
	}
	f.rt.Do(0, "other", expireAt("other", f.clock.Now().Add(time.Second)))

	release := f.log.hold()
	var outs [3]error
	slow := async(func() { f.rt.Do(0, "slow", set("slow", "1", &outs[0])) })
	f.log.waitStarted(t)
	// The slow key's next operations queue behind its write.
	var order []string
	var mu sync.Mutex
	note := func(s string) Op[*kv] {
		return func(*kv, time.Time) ([]Record, func(error)) {
			mu.Lock()
			order = append(order, s)
			mu.Unlock()
			return nil, nil
		}
	}
	later := async(func() { f.rt.Do(0, "slow", note("slow read")) })
	// Another key: a read and an in-memory change answer at once.
	within(t, async(func() { f.rt.Do(0, "other", note("other read")) }), "another key's operation")
	// Its timer runs while the slow append is stuck. Its tombstone queues
	// at the writer behind the stuck append, so the expiry completes when
	// the log takes it; the timer itself must have run already.
	f.clock.advance(2 * time.Second)
	ticked := async(f.rt.Tick)
	waitFor(t, func() bool { return f.writesInFlight(0) == 2 }, "the other key's timer to run")
	if returned(slow) || returned(later) {
		t.Fatal("the slow key answered before its append returned")
	}
	mu.Lock()
	if len(order) != 1 || order[0] != "other read" {
		t.Fatalf("ran %v while the slow key waits", order)
	}
	mu.Unlock()
	release()
	within(t, slow, "the slow write")
	within(t, later, "the slow key's read")
	within(t, ticked, "Tick")
	if _, ok := f.get(0, "other"); ok {
		t.Fatal("the other key did not expire")
	}
	if v, _ := f.get(0, "slow"); v != "1" {
		t.Fatalf("slow = %q", v)
	}
}

// writesInFlight counts the shard's writes handed to the writer and not
// completed (read on the shard's goroutine).
func (f *fixture) writesInFlight(p int32) int {
	s := f.rt.shard(p)
	n := make(chan int, 1)
	s.push(event[*kv]{op: &operation[*kv]{fn: func(*kv, time.Time) ([]Record, func(error)) {
		n <- len(s.inflight)
		return nil, nil
	}}})
	return <-n
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// One key's writes are appended and answered in the order they were
// made; writes that queue behind a stuck append go out as one batch.
func TestWritesKeepOrderAndBatch(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	var answered []string // by completions, on the shard's goroutine
	write := func(k, v string) Op[*kv] {
		return func(s *kv, _ time.Time) ([]Record, func(error)) {
			return []Record{{Key: []byte(k), Value: []byte(v)}}, func(err error) {
				if err == nil {
					s.vals[k] = v
					answered = append(answered, k+"="+v)
				}
			}
		}
	}
	release := f.log.hold()
	var dones []<-chan struct{}
	dones = append(dones, async(func() { f.rt.Do(0, "a", write("a", "0")) }))
	f.log.waitStarted(t)
	for i := 1; i <= 5; i++ {
		key := "a"
		if i%2 == 0 {
			key = fmt.Sprint("k", i)
		}
		v := fmt.Sprint(i)
		dones = append(dones, async(func() { f.rt.Do(0, key, write(key, v)) }))
		// Each is in place before the next is made.
		if key == "a" {
			waitFor(t, func() bool { return f.waiters(0, "a") == (i+1)/2 }, "the write to wait for its key")
		} else {
			waitFor(t, func() bool { return f.writesInFlight(0) == 1+i/2 }, "the write to reach the writer")
		}
	}
	release()
	for _, d := range dones {
		within(t, d, "a write")
	}
	var got []string
	for _, r := range f.log.parts[0] {
		got = append(got, string(r.Key)+"="+string(r.Value))
	}
	// a's writes wait for one another (a=1 after a=0 was acknowledged,
	// ...); k2 and k4 go to the writer at once, behind a=0.
	want := []string{"a=0", "k2=2", "k4=4", "a=1", "a=3", "a=5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("log order %v, want %v", got, want)
	}
	f.rt.Read(0, func(*kv) {
		if fmt.Sprint(answered) != fmt.Sprint(want) {
			t.Errorf("answered in order %v, want %v", answered, want)
		}
	})
	// k2 and k4 queued behind the stuck append and went out together (a=1
	// may join them, if it was made before the writer took them).
	if n := f.log.appendCalls(); n > 5 {
		t.Fatalf("%d appends for 6 writes: k2 and k4 were not batched", n)
	}
}

// waiters counts the operations waiting for key's write.
func (f *fixture) waiters(p int32, key string) int {
	n := 0
	f.rt.Read(p, func(*kv) {
		if q := f.rt.shard(p).busy[key]; q != nil {
			n = len(q.ops)
		}
	})
	return n
}

// A new leader epoch reloads the partition, and the new shard replays the
// log only after the old shard's last append returned: a write of the old
// shard never lands behind the new one's load.
func TestReloadWaitsForTheOldShardsAppend(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	release := f.log.hold()
	var out error
	old := async(func() { f.rt.Do(0, "k", set("k", "old", &out)) })
	f.log.waitStarted(t)
	loaded := f.rt.Load(0)
	within(t, old, "the old shard's write")
	if !errors.Is(out, ErrNotCoordinator) {
		t.Fatalf("a write cut off by the reload: %v", out)
	}
	select {
	case err := <-loaded:
		t.Fatalf("the new shard loaded (%v) while the old shard's append was in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	release()
	if err := <-loaded; err != nil {
		t.Fatal(err)
	}
	if v, _ := f.get(0, "k"); v != "old" {
		t.Fatalf("the new shard replayed before the old append landed: %q", v)
	}
}

// Leadership lost and regained (Unload, then Load): the new shard reads
// the log only after the old shard's append in flight at Unload returned,
// and the writes queued behind that append are never appended.
func TestLoadAfterUnloadWaitsForTheOldShardsAppend(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	release := f.log.hold()
	defer release()
	var out, queuedOut error
	old := async(func() { f.rt.Do(0, "k", set("k", "old", &out)) })
	f.log.waitStarted(t)
	// Another key's write queues at the writer behind the stuck append.
	queued := async(func() { f.rt.Do(0, "q", set("q", "x", &queuedOut)) })
	waitFor(t, func() bool { return f.writesInFlight(0) == 2 }, "the second write to reach the writer")
	loads := f.log.loadCalls()
	f.rt.Unload(0)
	within(t, old, "the stuck write")
	within(t, queued, "the queued write")
	if !errors.Is(out, ErrNotCoordinator) || !errors.Is(queuedOut, ErrNotCoordinator) {
		t.Fatalf("writes cut off by Unload: %v, %v", out, queuedOut)
	}
	loaded := f.rt.Load(0)
	select {
	case err := <-loaded:
		t.Fatalf("the new shard loaded (%v) while the old shard's append was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	if n := f.log.loadCalls(); n != loads {
		t.Fatalf("Log.Load ran while the old shard's append was in flight")
	}
	release()
	if err := <-loaded; err != nil {
		t.Fatal(err)
	}
	if v, _ := f.get(0, "k"); v != "old" {
		t.Fatalf("the new shard replayed before the old append landed: %q", v)
	}
	if _, ok := f.get(0, "q"); ok {
		t.Fatal("a write queued at Unload was appended")
	}
	if n := f.log.appendCalls(); n != 1 {
		t.Fatalf("%d appends: an append started after Unload", n)
	}
}

// A load that cannot read the log answers the operations waiting for it
// ErrLoading and is tried again.
func TestFailedLoadIsRetried(t *testing.T) {
	f := newFixture(t)
	f.log.parts[0] = []Record{{Key: []byte("a"), Value: []byte("1")}}
	f.log.loadFails = 1
	if err := <-f.rt.Load(0); err == nil {
		t.Fatal("the failed load reported no error")
	}
	waitFor(t, func() bool {
		var v string
		err := f.rt.Read(0, func(s *kv) { v = s.vals["a"] })
		if err != nil && !errors.Is(err, ErrLoading) {
			t.Fatal(err)
		}
		return v == "1"
	}, "the load to be retried")
}

// A timer of a key with a write in flight waits for it, once.
func TestTimerWaitsForItsKey(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	var out error
	f.rt.Do(0, "k", set("k", "1", &out))
	f.rt.Do(0, "k", expireAt("k", f.clock.Now()))
	release := f.log.hold()
	w := async(func() { f.rt.Do(0, "k", set("k", "2", &out)) })
	f.log.waitStarted(t)
	within(t, async(f.rt.Tick), "Tick (its timer waits for the key)")
	within(t, async(f.rt.Tick), "a second Tick")
	release()
	within(t, w, "the write")
	// The timer ran after the write, and its tombstone is in flight: an
	// operation on k waits for it.
	var ok bool
	f.rt.Do(0, "k", func(s *kv, _ time.Time) ([]Record, func(error)) {
		_, ok = s.vals["k"]
		return nil, nil
	})
	if ok {
		t.Fatal("k did not expire after its write")
	}
	// Three appends: k=1, k=2 and one tombstone (the queued timers were one).
	if n := f.log.appendCalls(); n != 3 {
		t.Fatalf("%d appends", n)
	}
}

// Close answers what waits and stops every shard.
func TestCloseAnswersEveryone(t *testing.T) {
	f := newFixture(t)
	f.load(0)
	f.load(1)
	release := f.log.hold()
	defer release()
	var out error
	w := async(func() { f.rt.Do(0, "k", set("k", "1", &out)) })
	f.log.waitStarted(t)
	queued := async(func() {
		if err := f.rt.Do(0, "k", set("k", "2", new(error))); !errors.Is(err, ErrNotCoordinator) {
			t.Errorf("an operation queued behind the key at close: %v", err)
		}
	})
	waitFor(t, func() bool { return f.waiters(0, "k") == 1 }, "the second write to wait for the key")
	closed := async(f.rt.Close)
	within(t, w, "the write in flight")
	within(t, queued, "the queued write")
	if !errors.Is(out, ErrNotCoordinator) {
		t.Fatalf("in-flight write at close: %v", out)
	}
	release()
	within(t, closed, "Close")
	if err := <-f.rt.Load(2); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("load after close: %v", err)
	}
}
