package quota

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// clock is a fake clock: tests move it by hand.
type clock struct{ now time.Time }

func newClock() *clock { return &clock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *clock) add(d time.Duration) time.Time { c.now = c.now.Add(d); return c.now }

// A new rate divides by at least samples-1 windows; the span then grows
// with the windows kept, and windows older than samples windows are
// forgotten.
func TestRateWindows(t *testing.T) {
	var r Rate
	const samples, window = 11, 1000
	r.Record(samples, window, 1000, 0)
	if got := r.WindowSize(samples, window, 0); got != 10_000 {
		t.Fatalf("first window size %d, want 10000 (samples-1 windows)", got)
	}
	if got := r.Measure(samples, window, 500); got != 1000.0/10.5 {
		t.Fatalf("rate at 500 ms %v, want %v", got, 1000.0/10.5)
	}
	// One record per window for 20 windows, 100 each, starting at 0.
	r = Rate{}
	for i := range 20 {
		r.Record(samples, window, 100, int64(i*1000+10))
	}
	// Windows start on the grid of the first (10, 1010, ...): the last
	// one started at 19010; the oldest kept at 19010-10*1000 = 9010.
	if got := r.WindowSize(samples, window, 19_500); got != 19_500-9_010 {
		t.Fatalf("window size %d, want %d", got, 19_500-9_010)
	}
	if got, want := r.Measure(samples, window, 19_500), 1100/(10.49); math.Abs(got-want) > 1e-9 {
		t.Fatalf("rate %v, want %v", got, want)
	}
	// Nothing for 11 windows: all forgotten.
	if got := r.Measure(samples, window, 31_000); got != 0 {
		t.Fatalf("rate after a long silence %v", got)
	}
	// A window starts at the record that opens it (Kafka's
	// SampledStat.advance).
	r = Rate{}
	r.Record(samples, window, 1, 100)
	r.Record(samples, window, 1, 2_700)
	if s := r.samples[r.current]; s.start != 2_700 {
		t.Fatalf("second window starts at %d, want 2700", s.start)
	}
}

// The throttle time is (rate - Q)/Q * window span.
func TestRateThrottle(t *testing.T) {
	var r Rate
	const samples, window = 11, 1000
	r.Record(samples, window, 20_000, 0) // 20000 B over a 10 s span: 2000 B/s
	if got := r.Throttle(samples, window, 1000, 0); got != 10_000 {
		t.Fatalf("throttle %d ms, want 10000 ((2000-1000)/1000 * 10000)", got)
	}
	if got := r.Throttle(samples, window, 2000, 0); got != 0 {
		t.Fatalf("at the quota: throttle %d", got)
	}
}

func limits(k Kind, v float64) Limits {
	var l Limits
	l[k] = v
	return l
}

// Kafka's precedence, level by level, and the tags usage is shared by.
func TestResolvePrecedence(t *testing.T) {
	levels := []struct {
		e         Entity
		user, cli string // tags
	}{
		{Entity{User: Named("u"), Client: Named("c")}, "u", "c"},
		{Entity{User: Named("u"), Client: Default}, "u", "c"},
		{Entity{User: Named("u")}, "u", ""},
		{Entity{User: Default, Client: Named("c")}, "u", "c"},
		{Entity{User: Default, Client: Default}, "u", "c"},
		{Entity{User: Default}, "u", ""},
		{Entity{Client: Named("c")}, "", "c"},
		{Entity{Client: Default}, "", "c"},
	}
	// With levels i.. configured, level i applies.
	for i := range levels {
		m := New(Config{})
		q := map[Entity]Limits{}
		for j := i; j < len(levels); j++ {
			q[levels[j].e] = limits(Produce, float64(100+j))
		}
		// Other users' and clients' quotas never apply.
		q[Entity{User: Named("other")}] = limits(Produce, 1)
		q[Entity{Client: Named("other")}] = limits(Produce, 1)
		q[Entity{User: Named("u"), Client: Named("other")}] = limits(Produce, 1)
		m.SetQuotas(q)
		limit, tu, tc, ok := m.Resolve(Produce, "u", "c")
		if !ok || limit != float64(100+i) || tu != levels[i].user || tc != levels[i].cli {
			t.Errorf("from level %d: %v (%q, %q) %v; want %d (%q, %q)", i+1, limit, tu, tc, ok, 100+i, levels[i].user, levels[i].cli)
		}
		if _, _, _, ok := m.Resolve(Fetch, "u", "c"); ok {
			t.Errorf("level %d: a fetch quota from produce quotas", i+1)
		}
	}
	m := New(Config{})
	m.SetQuotas(map[Entity]Limits{{User: Named("x")}: limits(Produce, 5)})
	if _, _, _, ok := m.Resolve(Produce, "u", "c"); ok {
		t.Error("a quota for another user applies")
	}
	// Kinds resolve separately: the user's produce quota, the client's
	// fetch quota.
	m.SetQuotas(map[Entity]Limits{{User: Named("u")}: limits(Produce, 5), {Client: Named("c")}: limits(Fetch, 7)})
	if l, _, _, _ := m.Resolve(Fetch, "u", "c"); l != 7 || !m.Active(Produce) || !m.Active(Fetch) || m.Active(Request) {
		t.Errorf("fetch quota %v, active %b", l, m.active.Load())
	}
}

// Two clients under one user quota share its usage; under a per-client
// default each has its own.
func TestSharedUsage(t *testing.T) {
	c := newClock()
	m := New(Config{})
	m.SetQuotas(map[Entity]Limits{{User: Named("u")}: limits(Produce, 1000)})
	if d := m.Record(Produce, "u", "a", 10_000, c.now); d != 0 {
		t.Fatalf("at the quota: %v", d)
	}
	if d := m.Record(Produce, "u", "b", 1000, c.now); d != time.Second {
		t.Fatalf("another client of the user: throttled %v, want 1s", d)
	}
	m.SetQuotas(map[Entity]Limits{{Client: Default}: limits(Produce, 1000)})
	if d := m.Record(Produce, "u", "a", 10_000, c.now); d != 0 {
		t.Fatalf("client a: %v", d)
	}
	if d := m.Record(Produce, "u", "b", 10_000, c.now); d != 0 {
		t.Fatalf("client b shares a's usage: %v", d)
	}
}

// A client sending as fast as its throttles allow gets its quota: over
// the span the rate is measured on (10.5 s from its first request, its
// burst of samples-1 windows included; within 15%, measured 10% over),
// and in the long run (a simulated minute after the first throttle,
// within 5%, measured 4% under). In between it runs in
// bursts, as Kafka's: once the window holding a burst expires, the next
// burst is let through and the client then waits for most of a span.
func TestThrottledClientGetsItsQuota(t *testing.T) {
	for _, cfg := range []Config{{}, {Samples: 2, Window: 500 * time.Millisecond}} {
		c := newClock()
		m := New(cfg)
		const quota = 256 << 10
		m.SetQuotas(map[Entity]Limits{{Client: Named("p")}: limits(Produce, quota)})
		span := time.Duration(float64(m.cfg.Samples-1)*1.05*float64(m.cfg.Window.Milliseconds())) * time.Millisecond
		var sent, inSpan float64
		var start time.Time
		first := c.now
		for end := c.now.Add(70 * time.Second); c.now.Before(end); {
			const batch = 16 << 10
			d := m.Record(Produce, "ANONYMOUS", "p", batch, c.now)
			if c.now.Before(first.Add(span)) {
				inSpan += batch
			}
			if !start.IsZero() {
				sent += batch
			}
			if d > 0 && start.IsZero() {
				start = c.now // the burst is over
			}
			c.add(d) // the client waits out the throttle
		}
		spanRate := inSpan / span.Seconds()
		got := sent / c.now.Sub(start).Seconds()
		t.Logf("%+v: %.0f B/s over the first %v, %.0f B/s after the first throttle; quota %d", cfg, spanRate, span, got, quota)
		if math.Abs(got-quota)/quota > 0.05 || cfg.Samples == 0 && math.Abs(spanRate-quota)/quota > 0.15 {
			t.Errorf("%+v: %.0f B/s over the first %v, %.0f B/s after the first throttle; quota %d", cfg, spanRate, span, got, quota)
		}
	}
}

// Request quotas are bounded by a window.
func TestRequestThrottleBounded(t *testing.T) {
	c := newClock()
	m := New(Config{})
	m.SetQuotas(map[Entity]Limits{{User: Default}: limits(Request, 10)}) // 10% of a handler
	// 5 s of handler time at once: 500 units over a 10 s span.
	if d := m.Record(Request, "u", "c", 500, c.now); d != time.Second {
		t.Fatalf("request throttle %v, want the 1 s bound", d)
	}
}

// A fetch is bounded by Q * (samples-1) windows, and a throttled fetch is
// taken back.
func TestFetchWindowAndUnrecord(t *testing.T) {
	c := newClock()
	m := New(Config{})
	if _, ok := m.MaxValueInWindow(Fetch, "u", "c"); ok {
		t.Fatal("a bound without a quota")
	}
	m.SetQuotas(map[Entity]Limits{{Client: Named("c")}: limits(Fetch, 1000)})
	if v, ok := m.MaxValueInWindow(Fetch, "u", "c"); !ok || v != 10_000 {
		t.Fatalf("max in window %v %v", v, ok)
	}
	m.Record(Fetch, "u", "c", 10_000, c.now)
	if d := m.Record(Fetch, "u", "c", 5_000, c.now); d == 0 {
		t.Fatal("not throttled")
	}
	m.Unrecord(Fetch, "u", "c", 5_000, c.now)
	if r := m.Rate(Fetch, "u", "c", c.now); r != 1000 {
		t.Fatalf("rate after the unrecord %v", r)
	}
}

// KIP-599: a strict quota lets a request through while the bucket is not
// below zero (even one that takes it far below), then refuses until it
// refills; a permissive one never refuses, only throttles.
func TestControllerMutation(t *testing.T) {
	c := newClock()
	m := New(Config{})
	if q := m.Mutation("u", "c", true, c.now); q != nil || q.Record(100, c.now) != nil || q.Throttle() != 0 {
		t.Fatal("a mutation quota without a quota")
	}
	m.SetQuotas(map[Entity]Limits{{User: Named("u")}: limits(ControllerMutation, 2)}) // burst 2*11 = 22
	q := m.Mutation("u", "c", true, c.now)
	if err := q.Record(20, c.now); err != nil || q.Throttle() != 0 {
		t.Fatalf("within the burst: %v %v", err, q.Throttle())
	}
	if err := q.Record(10, c.now); err != nil || q.Throttle() != 0 {
		t.Fatalf("the bucket at 2 lets 10 through: %v %v", err, q.Throttle())
	}
	if err := q.Record(1, c.now); !errors.Is(err, ErrThrottled) || q.Throttle() != 4*time.Second {
		t.Fatalf("below zero (-8 at 2/s): %v, throttle %v, want 4s", err, q.Throttle())
	}
	q = m.Mutation("u", "c", true, c.add(4*time.Second))
	if err := q.Record(1, c.now); err != nil {
		t.Fatalf("refilled to zero: %v", err)
	}
	p := m.Mutation("u", "other", false, c.now)
	if err := p.Record(5, c.now); err != nil || p.Throttle() != 3*time.Second {
		t.Fatalf("permissive at -1 → -6: %v, throttle %v, want 3s", err, p.Throttle())
	}
}

// Changing the quotas keeps the usage; removing them all makes every
// kind inactive.
func TestSetQuotas(t *testing.T) {
	c := newClock()
	m := New(Config{})
	m.SetQuotas(map[Entity]Limits{{User: Named("u")}: limits(Produce, 1000)})
	m.Record(Produce, "u", "c", 10_000, c.now)
	m.SetQuotas(map[Entity]Limits{{User: Named("u")}: limits(Produce, 500)})
	if d := m.Record(Produce, "u", "c", 0, c.now); d != 10*time.Second {
		t.Fatalf("a lowered quota on the kept usage: %v, want 10s", d)
	}
	m.SetQuotas(map[Entity]Limits{{User: Named("u")}: {}, {}: limits(Produce, 5)}) // no values; no components
	if m.AnyActive() || m.Record(Produce, "u", "c", 1e9, c.now) != 0 {
		t.Fatal("quotas without values are active")
	}
	var none *Manager
	if none.Active(Produce) || none.AnyActive() {
		t.Fatal("a nil manager is active")
	}
}

// Sensors unused for an hour are dropped.
func TestSensorExpiry(t *testing.T) {
	c := newClock()
	m := New(Config{})
	m.SetQuotas(map[Entity]Limits{{Client: Default}: limits(Produce, 1000)})
	for i := range 100 {
		m.Record(Produce, "u", fmt.Sprint("c", i), 1, c.now)
	}
	c.add(30 * time.Minute)
	m.Record(Produce, "u", "kept", 1, c.now)
	c.add(31 * time.Minute)
	m.Record(Produce, "u", "new", 1, c.now)
	if n := m.Sensors(); n != 2 {
		t.Fatalf("%d sensors, want 2 (kept and new)", n)
	}
}
