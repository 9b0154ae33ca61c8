package bench

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Percentiles are latencies in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// Sample is one second of a run.
type Sample struct {
	Second        int     `json:"second"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	P99Millis     float64 `json:"p99_ms,omitempty"`
}

// Meter counts records and bytes, records latencies, and prints and keeps
// a sample every second. The workloads here use it, and so do drivers of
// other systems (bench/compare's JetStream), so every figure is measured
// the same way. Add and Latency are safe for concurrent use.
type Meter struct {
	name     string
	start    time.Time
	records  atomic.Int64
	bytes    atomic.Int64
	progress io.Writer

	mu       sync.Mutex
	total    *hdrhistogram.Histogram
	interval *hdrhistogram.Histogram
	timeline []Sample

	// warmupUntil: latencies before it show in the per-second samples but
	// not in the run's percentiles.
	warmupUntil time.Time

	stop chan struct{}
	done chan struct{}
}

// Warmup leaves the first d of latencies out of the run's percentiles
// (connection set-up, metadata, first touch of new segment pages). Call it
// before the first Latency.
func (m *Meter) Warmup(d time.Duration) { m.warmupUntil = m.start.Add(d) }

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(60*time.Second/time.Microsecond), 3)
}

// NewMeter starts a meter; progress (may be nil) gets a line per second.
func NewMeter(name string, progress io.Writer) *Meter {
	m := &Meter{name: name, start: time.Now(), progress: progress, total: newHistogram(), interval: newHistogram(),
		stop: make(chan struct{}), done: make(chan struct{})}
	go m.tick()
	return m
}

// Add counts records and their bytes.
func (m *Meter) Add(records, bytes int64) {
	m.records.Add(records)
	m.bytes.Add(bytes)
}

// Latency records one latency.
func (m *Meter) Latency(d time.Duration) {
	us := max(d.Microseconds(), 1)
	warm := time.Now().Before(m.warmupUntil)
	m.mu.Lock()
	if !warm {
		_ = m.total.RecordValue(us) // values past 60 s are left out, never fatal
	}
	_ = m.interval.RecordValue(us)
	m.mu.Unlock()
}

func (m *Meter) tick() {
	defer close(m.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastRecords, lastBytes int64
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		r, b := m.records.Load(), m.bytes.Load()
		m.mu.Lock()
		s := Sample{Second: len(m.timeline) + 1, RecordsPerSec: float64(r - lastRecords), MBPerSec: float64(b-lastBytes) / 1e6}
		if m.interval.TotalCount() > 0 {
			s.P99Millis = float64(m.interval.ValueAtQuantile(99)) / 1e3
		}
		m.interval.Reset()
		m.timeline = append(m.timeline, s)
		m.mu.Unlock()
		lastRecords, lastBytes = r, b
		if m.progress != nil {
			line := fmt.Sprintf("[%3ds] %-8s %9.0f rec/s %8.1f MB/s  total %d", s.Second, m.name, s.RecordsPerSec, s.MBPerSec, r)
			if s.P99Millis > 0 {
				line += fmt.Sprintf("  p99 %.2f ms", s.P99Millis)
			}
			fmt.Fprintln(m.progress, line)
		}
	}
}

// Finish stops the meter and fills a Result's totals, latency and timeline.
func (m *Meter) Finish(r *Result) {
	elapsed := time.Since(m.start)
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Records, r.Bytes = m.records.Load(), m.bytes.Load()
	r.ElapsedSeconds = elapsed.Seconds()
	r.RecordsPerSec = float64(r.Records) / elapsed.Seconds()
	r.MBPerSec = float64(r.Bytes) / 1e6 / elapsed.Seconds()
	if m.total.TotalCount() > 0 {
		q := func(p float64) float64 { return float64(m.total.ValueAtQuantile(p)) / 1e3 }
		r.Latency = &Percentiles{P50: q(50), P99: q(99), P999: q(99.9), Max: float64(m.total.Max()) / 1e3, Mean: m.total.Mean() / 1e3}
	}
	r.Timeline = m.timeline
}
