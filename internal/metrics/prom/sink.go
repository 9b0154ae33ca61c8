// Package prom is the Prometheus side of the broker's metrics: a
// metrics.Sink of counters and histograms (sink.go) and a collector that
// computes gauges at scrape time from the broker's state (collector.go),
// in a registry of their own with Go runtime and process collectors.
// docs/metrics.md lists every metric with its Kafka equivalent.
//
// Cardinality: per-topic series (bytes and messages in and out) exist for
// topics this broker served; per-partition series (log size, segments)
// only for partitions with a log on this broker; consumer lag only for
// groups this broker coordinates and partitions it leads. Per-API series
// only for API keys that were called.
package prom

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/metrics"
)

// latencyBuckets span 100 µs to 30 s: a produce to a page cache at the
// low end, an acks=all wait at the request timeout at the high end.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Sink is the Prometheus metrics.Sink.
type Sink struct {
	bytesIn, messagesIn, bytesOut, replicationBytesOut *prometheus.CounterVec
	requests                                           *prometheus.CounterVec
	local, remote, send, total                         *prometheus.HistogramVec
	purgatory                                          *prometheus.GaugeVec
	flush                                              prometheus.Histogram
	isrShrinks, isrExpands                             prometheus.Counter
}

// NewRegistry returns a registry with the Go runtime and process
// collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewSink registers the sink's metrics in reg.
func NewSink(reg prometheus.Registerer) *Sink {
	f := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	h := func(name, help string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, []string{"api"})
		reg.MustRegister(v)
		return v
	}
	s := &Sink{
		bytesIn:             f("rill_topic_bytes_in_total", "Record batch bytes appended by Produce requests.", "topic"),
		messagesIn:          f("rill_topic_messages_in_total", "Records appended by Produce requests.", "topic"),
		bytesOut:            f("rill_topic_bytes_out_total", "Record bytes sent in Fetch answers to consumers.", "topic"),
		replicationBytesOut: f("rill_topic_replication_bytes_out_total", "Record bytes sent in Fetch answers to follower brokers.", "topic"),
		requests:            f("rill_requests_total", "Requests answered, by API.", "api"),
		local:               h("rill_request_local_seconds", "Time handling a request, less the time it was parked."),
		remote:              h("rill_request_remote_seconds", "Time a request was parked: acks=all waiting for the ISR, Fetch waiting for min bytes."),
		send:                h("rill_request_send_seconds", "Time encoding an answer and handing it to the socket."),
		total:               h("rill_request_total_seconds", "Local, remote and send time of a request."),
		purgatory: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rill_purgatory_size",
			Help: "Requests parked: produce (acks=all waiting for the ISR), fetch (long polls waiting for min bytes)."}, []string{"purgatory"}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rill_log_flush_seconds",
			Help: "Time to fsync a partition log's unflushed files.", Buckets: latencyBuckets}),
		isrShrinks: prometheus.NewCounter(prometheus.CounterOpts{Name: "rill_isr_shrinks_total", Help: "ISR shrinks the controller accepted for partitions led here."}),
		isrExpands: prometheus.NewCounter(prometheus.CounterOpts{Name: "rill_isr_expands_total", Help: "ISR expansions the controller accepted for partitions led here."}),
	}
	reg.MustRegister(s.purgatory, s.flush, s.isrShrinks, s.isrExpands)
	// Both purgatories exist from the start, at 0.
	s.purgatory.WithLabelValues(purgatoryName(metrics.ProducePurgatory))
	s.purgatory.WithLabelValues(purgatoryName(metrics.FetchPurgatory))
	return s
}

var _ metrics.Sink = (*Sink)(nil)

// Request implements metrics.Sink.
func (s *Sink) Request(r metrics.Request) {
	api := kmsg.NameForKey(r.APIKey)
	if api == "" {
		api = "Unknown"
	}
	s.requests.WithLabelValues(api).Inc()
	s.local.WithLabelValues(api).Observe(r.Local.Seconds())
	s.remote.WithLabelValues(api).Observe(r.Remote.Seconds())
	s.send.WithLabelValues(api).Observe(r.Send.Seconds())
	s.total.WithLabelValues(api).Observe((r.Local + r.Remote + r.Send).Seconds())
}

// Produced implements metrics.Sink.
func (s *Sink) Produced(topic string, bytes, records int) {
	s.bytesIn.WithLabelValues(topic).Add(float64(bytes))
	s.messagesIn.WithLabelValues(topic).Add(float64(records))
}

// Fetched implements metrics.Sink.
func (s *Sink) Fetched(topic string, bytes int, replica bool) {
	if replica {
		s.replicationBytesOut.WithLabelValues(topic).Add(float64(bytes))
		return
	}
	s.bytesOut.WithLabelValues(topic).Add(float64(bytes))
}

// Parked implements metrics.Sink.
func (s *Sink) Parked(p metrics.Purgatory, delta int) {
	s.purgatory.WithLabelValues(purgatoryName(p)).Add(float64(delta))
}

func purgatoryName(p metrics.Purgatory) string {
	if p == metrics.ProducePurgatory {
		return "produce"
	}
	return "fetch"
}

// Flushed implements metrics.Sink.
func (s *Sink) Flushed(d time.Duration) { s.flush.Observe(d.Seconds()) }

// ISRChanged implements metrics.Sink.
func (s *Sink) ISRChanged(shrink bool) {
	if shrink {
		s.isrShrinks.Inc()
		return
	}
	s.isrExpands.Inc()
}
