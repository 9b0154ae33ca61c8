package metrics

import (
	"context"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu       sync.Mutex
	parked   map[Purgatory]int
	requests []Request
	produced int
}

func (r *recorder) Request(q Request) { r.mu.Lock(); r.requests = append(r.requests, q); r.mu.Unlock() }
func (r *recorder) Produced(_ string, bytes, _ int) {
	r.mu.Lock()
	r.produced += bytes
	r.mu.Unlock()
}
func (r *recorder) Fetched(string, int, bool) {}
func (r *recorder) Parked(p Purgatory, d int) {
	r.mu.Lock()
	r.parked[p] += d
	r.mu.Unlock()
}
func (r *recorder) Flushed(time.Duration) {}
func (r *recorder) ISRChanged(bool)       {}

func TestNoSinkIsNoop(t *testing.T) {
	Set(nil)
	if Enabled() {
		t.Fatal("enabled without a sink")
	}
	ctx, timer := WithRequestTimer(context.Background())
	Park(ctx, FetchPurgatory)()
	Produced("t", 10, 1) // must not panic
	if timer.Remote() != 0 {
		t.Fatalf("remote %v without a sink, want 0", timer.Remote())
	}
}

func TestParkCountsRemoteTimeAndPurgatorySize(t *testing.T) {
	r := &recorder{parked: map[Purgatory]int{}}
	Set(r)
	defer Set(nil)
	ctx, timer := WithRequestTimer(context.Background())
	done := Park(ctx, ProducePurgatory)
	if r.parked[ProducePurgatory] != 1 {
		t.Fatalf("produce purgatory %d while parked, want 1", r.parked[ProducePurgatory])
	}
	time.Sleep(2 * time.Millisecond) // a measurable wait
	done()
	if r.parked[ProducePurgatory] != 0 {
		t.Fatalf("produce purgatory %d after, want 0", r.parked[ProducePurgatory])
	}
	if timer.Remote() < 2*time.Millisecond {
		t.Fatalf("remote %v, want at least the 2ms parked", timer.Remote())
	}
	Produced("t", 10, 1)
	if r.produced != 10 {
		t.Fatalf("produced %d, want 10", r.produced)
	}
}
