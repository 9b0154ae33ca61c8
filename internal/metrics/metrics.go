// Package metrics is the broker's instrumentation seam: the hot paths
// (request dispatch, produce, fetch, log flush, ISR changes) report what
// happened through the package-level functions here, and whatever Sink
// was installed with Set turns that into counters and histograms (package
// internal/metrics/prom, for the admin listener's /metrics).
//
// Contract:
//   - Until Set is called every function is a no-op costing one atomic
//     load, so unit tests, tools and benchmarks need no registry.
//   - There is one Sink per process: a process runs one broker. Tests that
//     run several brokers in one process and install a Sink see their
//     counts summed.
//   - A Sink must be safe for concurrent use and must not block: it is
//     called on request and storage paths, some under locks of their
//     callers (never across I/O of its own).
//
// Gauges that can be read from existing state (partition counts, log
// sizes, group lag, connection counts) are not reported here: the Sink's
// owner computes them at scrape time.
//
// The package imports only the standard library, so every layer (engine,
// replication, netserver) may report through it.
package metrics

import (
	"context"
	"sync/atomic"
	"time"
)

// Sink receives the broker's events.
type Sink interface {
	// Request is one answered (or dropped) request.
	Request(r Request)
	// Produced is a record batch appended by a Produce request:
	// its size in bytes and its record count.
	Produced(topic string, bytes, records int)
	// Fetched is record data in a Fetch answer: to a consumer, or with
	// replica set to a follower broker.
	Fetched(topic string, bytes int, replica bool)
	// Parked moves a purgatory's size by delta (+1 when a request starts
	// waiting, -1 when it stops).
	Parked(p Purgatory, delta int)
	// Flushed is one log flush (fsync of a partition's unflushed files).
	Flushed(d time.Duration)
	// ISRChanged is an ISR change the controller accepted for a
	// partition this broker leads.
	ISRChanged(shrink bool)
}

// Request is one request's timing, split the way Kafka's RequestMetrics
// splits it as far as Rill's server has the phases:
//
//	Local   handling on the request's own goroutine, less Remote
//	Remote  time parked waiting on others: acks=all waiting for the ISR,
//	        a Fetch long poll waiting for MinBytes (Kafka's RemoteTimeMs,
//	        spent in its purgatories)
//	Send    encoding the answer and handing it to the socket (the net.Conn
//	        transport: written to its buffer, sendfile included; gnet: the
//	        AsyncWrite hand-off)
//
// Rill has no shared request queue (Kafka's RequestQueueTimeMs): each
// connection's requests are handled in order by its own goroutine.
type Request struct {
	APIKey              int16
	Local, Remote, Send time.Duration
}

// Purgatory names the places a request is parked.
type Purgatory int

const (
	// ProducePurgatory holds acks=all Produce requests waiting for the
	// ISR (Kafka's DelayedProduce purgatory).
	ProducePurgatory Purgatory = iota
	// FetchPurgatory holds Fetch requests long-polling for MinBytes
	// (Kafka's DelayedFetch purgatory).
	FetchPurgatory
)

type holder struct{ s Sink }

var current atomic.Pointer[holder]

// Set installs s as the process's sink (nil: none).
func Set(s Sink) {
	if s == nil {
		current.Store(nil)
		return
	}
	current.Store(&holder{s})
}

func sink() Sink {
	if h := current.Load(); h != nil {
		return h.s
	}
	return nil
}

// Enabled reports whether a sink is installed: callers skip measuring
// (time.Now, sums over a response) when it is not.
func Enabled() bool { return current.Load() != nil }

// ObserveRequest reports one request's timing.
func ObserveRequest(r Request) {
	if s := sink(); s != nil {
		s.Request(r)
	}
}

// Produced reports a record batch appended by a Produce request.
func Produced(topic string, bytes, records int) {
	if s := sink(); s != nil {
		s.Produced(topic, bytes, records)
	}
}

// Fetched reports record data in a Fetch answer.
func Fetched(topic string, bytes int, replica bool) {
	if s := sink(); s != nil {
		s.Fetched(topic, bytes, replica)
	}
}

// Park reports a request starting to wait in p; call the returned
// function when it stops waiting. The wait counts as the request's Remote
// time when ctx carries a RequestTimer (WithRequestTimer).
func Park(ctx context.Context, p Purgatory) func() {
	s := sink()
	if s == nil {
		return noop
	}
	start := time.Now()
	s.Parked(p, 1)
	return func() {
		s.Parked(p, -1)
		if t, ok := ctx.Value(timerKey{}).(*RequestTimer); ok {
			t.remote.Add(int64(time.Since(start)))
		}
	}
}

func noop() {}

// RequestTimer collects the time a request spent parked (Park), which the
// dispatcher reports as its Remote time.
type RequestTimer struct{ remote atomic.Int64 }

// Remote is the time parked so far.
func (t *RequestTimer) Remote() time.Duration { return time.Duration(t.remote.Load()) }

type timerKey struct{}

// WithRequestTimer returns ctx carrying a fresh RequestTimer.
func WithRequestTimer(ctx context.Context) (context.Context, *RequestTimer) {
	t := new(RequestTimer)
	return context.WithValue(ctx, timerKey{}, t), t
}

// Flushed reports one log flush.
func Flushed(d time.Duration) {
	if s := sink(); s != nil {
		s.Flushed(d)
	}
}

// ISRChanged reports an accepted ISR change.
func ISRChanged(shrink bool) {
	if s := sink(); s != nil {
		s.ISRChanged(shrink)
	}
}
