package bench

// The broker-bound load generator (`rill bench load`). Produce and Consume
// (produce.go, consume.go) drive a real client, kgo, whose record encoding,
// batching and decoding cost as much CPU as the broker's work: on a small
// machine they measure the client. Load takes the client out:
//
//   - produce: Batches distinct RecordBatch v2 batches (RecordsPerBatch
//     records of RecordSize bytes, CRC set, compressed once up front) are
//     built once, and so are the Produce request bodies (kmsg-encoded, one
//     batch per partition of the connection). Connections raw TCP
//     connections to the partitions' leader each keep InFlight requests
//     queued (Kafka answers a connection's requests in order, one at a time;
//     concurrency comes from connections); the loader only writes a header
//     and a prebuilt body per request and reads the small response.
//   - consume: the topic's [log start, high watermark) of every partition is
//     cut into Connections×InFlight offset ranges (cursors; at least one a
//     partition), dealt round-robin to the connections, each with one
//     Fetch in flight; responses are counted from the batch headers only
//     (records are never decoded; a batch is counted by the cursor whose
//     range holds its base offset, so each batch counts once).
//
// Both stop by themselves after Duration, after Records records (produce),
// or at the end of the ranges (consume). Bytes are record-batch bytes as
// they are on the wire and on disk (for 1 KiB records about 1% over the
// values). With BrokerPID the broker's CPU time (utime+stime from
// /proc/PID/stat) over the run is reported per GB, beside the loader's own.
//
// Limits: one broker (every partition's leader must be the same node),
// plaintext only (no TLS or SASL), acks 1 or all (acks=0 has no responses
// to count), no idempotence or transactions.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// LoadConfig is a broker-bound load run.
type LoadConfig struct {
	// Broker is the bootstrap address; the connections go to the
	// partitions' leader, which must be a single broker.
	Broker     string `json:"broker"`
	Topic      string `json:"topic"`
	Partitions int32  `json:"partitions"`
	// ReplicationFactor of a created topic (-1: the broker's default).
	ReplicationFactor int16  `json:"replication_factor"`
	RecordSize        int    `json:"record_size"`
	RecordsPerBatch   int    `json:"records_per_batch"`
	Batches           int    `json:"batches"`
	Compression       string `json:"compression"`
	Connections       int    `json:"connections"`
	InFlight          int    `json:"in_flight"`
	// Acks is 1 or -1 (all).
	Acks int16 `json:"acks"`
	// Duration bounds the run; Records bounds a produce run too (0: none).
	Duration time.Duration `json:"duration_ns"`
	Records  int64         `json:"records,omitempty"`
	// FetchBytes is a Fetch's per-partition byte limit.
	FetchBytes int32 `json:"fetch_bytes"`
	// BrokerPID, when positive, is the process whose CPU time is reported.
	BrokerPID     int `json:"broker_pid,omitempty"`
	WarmupSeconds int `json:"warmup_seconds,omitempty"`
}

// DefaultLoadConfig: 1 KiB records in batches of 256 (256 KiB), 16
// distinct batches, 4 partitions, 4 connections with 4 requests in flight
// each, acks=1, 10 s, 4 MiB fetches.
func DefaultLoadConfig() LoadConfig {
	return LoadConfig{Topic: "rill-load", Partitions: 4, ReplicationFactor: -1, RecordSize: 1024, RecordsPerBatch: 256,
		Batches: 16, Compression: "none", Connections: 4, InFlight: 4, Acks: 1, Duration: 10 * time.Second,
		FetchBytes: 4 << 20}
}

func (c LoadConfig) validate() error {
	switch {
	case c.Broker == "":
		return errors.New("bench: no broker")
	case c.Partitions <= 0 || c.RecordSize <= 0 || c.RecordsPerBatch <= 0 || c.Batches <= 0 ||
		c.Connections <= 0 || c.InFlight <= 0 || c.FetchBytes <= 0:
		return errors.New("bench: partitions, record size, records per batch, batches, connections, in-flight and fetch bytes must be positive")
	case c.Acks != 1 && c.Acks != -1:
		return fmt.Errorf("bench: acks %d: want 1 or -1 (all)", c.Acks)
	case c.Duration <= 0:
		return errors.New("bench: the duration must be positive (load runs are bounded in time)")
	case c.Records < 0:
		return errors.New("bench: records must not be negative")
	}
	return nil
}

// LoadResult is a Result with the CPU the run cost.
type LoadResult struct {
	Result
	Load LoadConfig `json:"load_config"`
	// GBPerSec is Bytes (record-batch bytes) per second, in 10^9 bytes.
	GBPerSec float64 `json:"gb_per_sec"`
	// BrokerCPUSeconds is the broker process's user+system CPU over the
	// run (0 without BrokerPID); the PerGB figures divide by Bytes/1e9.
	BrokerCPUSeconds float64 `json:"broker_cpu_seconds,omitempty"`
	BrokerCPUPerGB   float64 `json:"broker_cpu_seconds_per_gb,omitempty"`
	LoaderCPUSeconds float64 `json:"loader_cpu_seconds"`
	LoaderCPUPerGB   float64 `json:"loader_cpu_seconds_per_gb"`
}

// Summary is the one-line form of a load result.
func (r LoadResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d records, %.3f GB of batches in %.2fs: %.3f GB/s, %.0f rec/s", r.Workload, r.Records,
		float64(r.Bytes)/1e9, r.ElapsedSeconds, r.GBPerSec, r.RecordsPerSec)
	if r.Latency != nil {
		fmt.Fprintf(&b, "; latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms", r.Latency.P50, r.Latency.P99, r.Latency.P999)
	}
	if r.Load.BrokerPID > 0 {
		fmt.Fprintf(&b, "; broker CPU %.2fs = %.3f s/GB", r.BrokerCPUSeconds, r.BrokerCPUPerGB)
	}
	fmt.Fprintf(&b, "; loader CPU %.2fs = %.3f s/GB", r.LoaderCPUSeconds, r.LoaderCPUPerGB)
	return b.String()
}

// cpuMeter takes the broker's and the loader's CPU time at the start of the
// measured part of a run, and fills a result's CPU figures at its end.
type cpuMeter struct {
	pid                 int
	broker0, loader0    time.Duration
	brokerErr, selfErr0 error
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid}
	if pid > 0 {
		m.broker0, m.brokerErr = ProcessCPU(pid)
	}
	m.loader0, m.selfErr0 = selfCPU()
	return m
}

func (m *cpuMeter) finish(r *LoadResult) error {
	gb := float64(r.Bytes) / 1e9
	per := func(s float64) float64 {
		if gb == 0 {
			return 0
		}
		return s / gb
	}
	if m.selfErr0 != nil {
		return m.selfErr0
	}
	self, err := selfCPU()
	if err != nil {
		return err
	}
	r.LoaderCPUSeconds = (self - m.loader0).Seconds()
	r.LoaderCPUPerGB = per(r.LoaderCPUSeconds)
	if m.pid > 0 {
		if m.brokerErr != nil {
			return fmt.Errorf("bench: broker CPU: %w", m.brokerErr)
		}
		b, err := ProcessCPU(m.pid)
		if err != nil {
			return fmt.Errorf("bench: broker CPU: %w", err)
		}
		r.BrokerCPUSeconds = (b - m.broker0).Seconds()
		r.BrokerCPUPerGB = per(r.BrokerCPUSeconds)
	}
	if r.ElapsedSeconds > 0 {
		r.GBPerSec = gb / r.ElapsedSeconds
	}
	return nil
}

// Load runs the broker-bound load in mode "produce" or "consume".
func Load(ctx context.Context, mode string, cfg LoadConfig, progress io.Writer) (LoadResult, error) {
	res := LoadResult{Result: Result{Workload: "load-" + mode}, Load: cfg}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	switch mode {
	case "produce":
		return loadProduce(ctx, cfg, progress, res)
	case "consume":
		return loadConsume(ctx, cfg, progress, res)
	}
	return res, fmt.Errorf("bench: load mode %q: want produce or consume", mode)
}
