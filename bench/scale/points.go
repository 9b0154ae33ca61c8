package main

import (
	"context"
	"fmt"
	"strings"
)

// point is one run of one point of a curve.
type point struct {
	Curve   string        `json:"curve"`
	X       int           `json:"x"`
	Run     int           `json:"run"`
	Seconds float64       `json:"seconds"` // the whole point, broker start to stop
	Error   string        `json:"error,omitempty"`
	Produce *produceStats `json:"produce,omitempty"`
	Groups  *groupStats   `json:"groups,omitempty"`
	// MemoryAfter is the broker's after the load.
	MemoryAfter memory `json:"memory_after_load"`
	// The partitions curve's figures beside the load.
	StartSeconds    float64        `json:"start_seconds,omitempty"` // fresh broker, exec to listening
	CreateSeconds   float64        `json:"create_seconds,omitempty"`
	MemoryCreated   *memory        `json:"memory_after_create,omitempty"`
	Metadata        *metadataStats `json:"metadata_all_topics,omitempty"`
	ShutdownSeconds float64        `json:"shutdown_seconds,omitempty"`
	RestartSeconds  float64        `json:"restart_seconds,omitempty"` // after a clean shutdown, exec to listening
	MemoryRestarted *memory        `json:"memory_after_restart,omitempty"`
}

func (p point) summary() string {
	var b strings.Builder
	if p.Produce != nil {
		s := p.Produce
		fmt.Fprintf(&b, "%.0f records/s, %.1f MB/s, p99 %.1f ms, broker %.2f s/GB, %d partition errors", s.RecordsPerSec, s.MBPerSec,
			s.P99Millis, s.BrokerCPUPerGB, s.PartitionErrors)
	}
	if g := p.Groups; g != nil {
		fmt.Fprintf(&b, "joined in %.2fs; %.0f requests/s, p99 %.1f ms (heartbeat %.1f, commit %.1f), broker %.0f µs/request, %d errors",
			g.JoinSeconds, g.OpsPerSec, g.P99Millis, g.HeartbeatP99Millis, g.CommitP99Millis, g.BrokerCPUPerOp, g.Errors)
	}
	if p.Metadata != nil {
		fmt.Fprintf(&b, "; created in %.2fs; Metadata %.1f ms (%d B); RSS %.0f MiB created, %.0f MiB loaded; start %.2fs, restart %.2fs",
			p.CreateSeconds, p.Metadata.Median, p.Metadata.Bytes, mib(p.MemoryCreated.RSS), mib(p.MemoryAfter.RSS), p.StartSeconds, p.RestartSeconds)
	}
	if p.Error != "" {
		fmt.Fprintf(&b, "; ERROR %s", p.Error)
	}
	return b.String()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// partsPerRequest and requestBytes shape the partitions and record-size
// curves' Produce requests: 256 KiB, over up to 16 partitions.
const (
	partsPerRequest = 16
	requestBytes    = 256 << 10
)

func partitionsPoint(ctx context.Context, cfg config, partitions int) (point, error) {
	var extra []string
	if partitions >= 100_000 {
		extra = []string{"--set", "log.open.files.max=4096"}
	}
	b, err := startBroker(cfg.bin, cfg.logw, extra...)
	if err != nil {
		return point{}, err
	}
	defer b.stop()
	p := point{StartSeconds: b.start.Seconds()}
	const topic = "scale-partitions"
	d, err := createTopic(b.addr, topic, int32(partitions))
	if err != nil {
		return p, err
	}
	if err := waitLeaders(b.addr, topic, int32(partitions)); err != nil {
		return p, err
	}
	p.CreateSeconds = d.Seconds()
	created := b.memory()
	p.MemoryCreated = &created
	md, err := allTopicsMetadata(b.addr, 5)
	if err != nil {
		return p, err
	}
	p.Metadata = &md
	conns := 4
	k := min(partsPerRequest, max(1, partitions/conns))
	st, err := runProduce(ctx, b, produceLoad{topic: topic, partitions: int32(partitions), conns: conns, window: 4,
		recordSize: 1024, recordsPerBatch: requestBytes / 1024 / k, partsPerRequest: k, duration: cfg.duration})
	p.Produce = &st
	p.MemoryAfter = b.memory()
	if err != nil {
		return p, err
	}
	sd, err := b.restart()
	p.ShutdownSeconds = sd.Seconds()
	if err != nil {
		return p, fmt.Errorf("restart: %w", err)
	}
	p.RestartSeconds = b.start.Seconds()
	restarted := b.memory()
	p.MemoryRestarted = &restarted
	return p, nil
}

func connectionsPoint(ctx context.Context, cfg config, conns int) (point, error) {
	b, err := startBroker(cfg.bin, cfg.logw)
	if err != nil {
		return point{}, err
	}
	defer b.stop()
	const topic, partitions = "scale-connections", 16
	if _, err := createTopic(b.addr, topic, partitions); err != nil {
		return point{}, err
	}
	if err := waitLeaders(b.addr, topic, partitions); err != nil {
		return point{}, err
	}
	st, err := runProduce(ctx, b, produceLoad{topic: topic, partitions: partitions, conns: conns, window: 1,
		recordSize: 1024, recordsPerBatch: 10, partsPerRequest: 1, duration: cfg.duration})
	return point{Produce: &st, MemoryAfter: b.memory()}, err
}

func groupsPoint(ctx context.Context, cfg config, groups int) (point, error) {
	// Joining 10,000 groups took 50 s on the loaded machine: longer than
	// the default 45 s session, so the first members had expired (every
	// heartbeat UNKNOWN_MEMBER_ID) before the load began.
	b, err := startBroker(cfg.bin, cfg.logw, "--set", "group.consumer.session.timeout.ms=600000")
	if err != nil {
		return point{}, err
	}
	defer b.stop()
	const topic, partitions = "scale-groups", 4
	if _, err := createTopic(b.addr, topic, partitions); err != nil {
		return point{}, err
	}
	if err := waitLeaders(b.addr, topic, partitions); err != nil {
		return point{}, err
	}
	st, err := runGroups(ctx, b, groupLoad{topic: topic, partitions: partitions, groups: groups, conns: 4, window: 16,
		duration: cfg.duration})
	return point{Groups: &st, MemoryAfter: b.memory()}, err
}

func sizePoint(ctx context.Context, cfg config, size int) (point, error) {
	b, err := startBroker(cfg.bin, cfg.logw)
	if err != nil {
		return point{}, err
	}
	defer b.stop()
	const topic, partitions = "scale-record-size", 4
	if _, err := createTopic(b.addr, topic, partitions); err != nil {
		return point{}, err
	}
	if err := waitLeaders(b.addr, topic, partitions); err != nil {
		return point{}, err
	}
	st, err := runProduce(ctx, b, produceLoad{topic: topic, partitions: partitions, conns: 4, window: 4,
		recordSize: size, recordsPerBatch: max(1, requestBytes/size), partsPerRequest: 1, duration: cfg.duration})
	return point{Produce: &st, MemoryAfter: b.memory()}, err
}
