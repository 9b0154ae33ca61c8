package main

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/bench"
)

// produceLoad is a raw produce run: conns connections, each with window
// requests in flight, acks=all. A connection's partitions (round-robin
// when there are at least as many partitions as connections, else one
// each) are written in turn, partsPerRequest of them per request, one
// batch of recordsPerBatch records of recordSize bytes each.
type produceLoad struct {
	topic                       string
	partitions                  int32
	conns, window               int
	recordSize, recordsPerBatch int
	partsPerRequest             int
	duration                    time.Duration
}

// produceStats is what a produce run measured.
type produceStats struct {
	RecordsPerSec    float64 `json:"records_per_sec"`
	MBPerSec         float64 `json:"mb_per_sec"` // record-batch bytes, 10^6
	P50Millis        float64 `json:"p50_ms"`
	P99Millis        float64 `json:"p99_ms"`
	BrokerCPUSeconds float64 `json:"broker_cpu_seconds"`
	BrokerCPUPerGB   float64 `json:"broker_cpu_seconds_per_gb"`
	PartitionErrors  int64   `json:"partition_errors"`
	Requests         int64   `json:"requests"`
	Written          int     `json:"partitions_written"` // distinct partitions acknowledged
}

// connParts spreads partitions over connections.
// progress gets the loads' per-second lines (-v); nil: none.
var progress io.Writer

func connParts(conns int, partitions int32) [][]int32 {
	out := make([][]int32, conns)
	if int(partitions) >= conns {
		for p := range partitions {
			out[int(p)%conns] = append(out[int(p)%conns], p)
		}
		return out
	}
	for c := range out {
		out[c] = []int32{int32(c) % partitions}
	}
	return out
}

func runProduce(ctx context.Context, b *broker, l produceLoad) (produceStats, error) {
	batches, err := bench.BuildBatches(4, l.recordsPerBatch, l.recordSize, "none", time.Now())
	if err != nil {
		return produceStats{}, err
	}
	ps, err := dialPipes(b.addr, l.conns)
	if err != nil {
		return produceStats{}, err
	}
	defer closePipes(ps)
	parts := connParts(l.conns, l.partitions)
	k := max(1, min(l.partsPerRequest, len(parts[0])))
	written := make([]atomic.Bool, l.partitions)
	var partErrs, requests atomic.Int64
	m := bench.NewMeter("produce", progress)
	cpu0 := b.cpu()
	start := time.Now()
	err = pipeline(ctx, ps, l.window, start.Add(l.duration), 30*time.Second, func(c, i int) (op, bool) {
		mine := parts[c]
		req := kmsg.NewPtrProduceRequest()
		req.Version = 9
		req.Acks = -1
		req.TimeoutMillis = 30_000
		t := kmsg.NewProduceRequestTopic()
		t.Topic = l.topic
		var records, bytes int64
		for j := range k {
			p := kmsg.NewProduceRequestTopicPartition()
			p.Partition = mine[(i*k+j)%len(mine)]
			p.Records = batches[(i+j)%len(batches)]
			t.Partitions = append(t.Partitions, p)
			records += int64(l.recordsPerBatch)
			bytes += int64(len(p.Records))
		}
		req.Topics = append(req.Topics, t)
		return op{req: req, done: func(r kmsg.Response, d time.Duration) {
			requests.Add(1)
			ok := true
			for _, rt := range r.(*kmsg.ProduceResponse).Topics {
				for _, rp := range rt.Partitions {
					if rp.ErrorCode != 0 {
						partErrs.Add(1)
						ok = false
					} else if rp.Partition >= 0 && rp.Partition < l.partitions {
						written[rp.Partition].Store(true)
					}
				}
			}
			if ok {
				m.Latency(d)
				m.Add(records, bytes)
			}
		}}, true
	})
	var res bench.Result
	m.Finish(&res)
	cpu := (b.cpu() - cpu0).Seconds()
	st := produceStats{RecordsPerSec: res.RecordsPerSec, MBPerSec: res.MBPerSec, BrokerCPUSeconds: cpu,
		PartitionErrors: partErrs.Load(), Requests: requests.Load()}
	if res.Bytes > 0 {
		st.BrokerCPUPerGB = cpu / (float64(res.Bytes) / 1e9)
	}
	if res.Latency != nil {
		st.P50Millis, st.P99Millis = res.Latency.P50, res.Latency.P99
	}
	for i := range written {
		if written[i].Load() {
			st.Written++
		}
	}
	return st, err
}
