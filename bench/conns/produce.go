package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

type produceOpts struct {
	producers           int
	duration            time.Duration
	records, recordSize int
}

type produceResult struct {
	recordsPerSec float64
	p50, p99      time.Duration
	cpuCores      float64 // broker CPU time per wall second
	errors        int64   // partition errors in answers
}

// latencySample bounds what each producer keeps of its latencies.
const latencySample = 4096

func runProduce(ctx context.Context, s setup, o produceOpts) (produceResult, error) {
	b, err := startBroker(s.bin, s.transport, s.logw, s.brokerArgs...)
	if err != nil {
		return produceResult{}, err
	}
	defer b.stop()
	first, err := prepare(b.addr, s.partitions)
	if err != nil {
		return produceResult{}, err
	}
	first.close()
	conns, err := openIdle(ctx, b.addr, o.producers, 0)
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	if err != nil {
		return produceResult{}, err
	}

	// One batch for every request: no producer ID, so the broker takes
	// it again and again (it assigns the offsets).
	values := make([][]byte, o.records)
	for i := range values {
		values[i] = make([]byte, o.recordSize)
	}
	batch := format.SimpleBatch(format.CodecNone, time.Now().UnixMilli(), nil, values)

	cpuBefore, err := b.cpu()
	if err != nil {
		return produceResult{}, err
	}
	rctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	var produced, partErrors atomic.Int64
	lat := make([][]time.Duration, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i], errs[i] = produceLoop(rctx, c, int32(i)%s.partitions, batch, o.records, &produced, &partErrors)
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	cpuAfter, err := b.cpu()
	if err != nil {
		return produceResult{}, err
	}
	if err := errors.Join(errs...); err != nil {
		return produceResult{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := produceResult{
		recordsPerSec: float64(produced.Load()) / wall.Seconds(),
		cpuCores:      (cpuAfter - cpuBefore).Seconds() / wall.Seconds(),
		errors:        partErrors.Load(),
	}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r, nil
}

// produceLoop produces batch to one partition, one request in flight,
// until ctx ends. It keeps a sample of its latencies (every one until
// latencySample, then the oldest place is overwritten).
func produceLoop(ctx context.Context, c *conn, partition int32, batch []byte, records int, produced, partErrors *atomic.Int64) ([]time.Duration, error) {
	req := produceRequest(partition, batch)
	var lat []time.Duration
	for n := 0; ctx.Err() == nil; n++ {
		start := time.Now()
		resp := kmsg.NewPtrProduceResponse()
		if err := c.roundTrip(req, resp); err != nil {
			return lat, fmt.Errorf("produce: %w", err)
		}
		d := time.Since(start)
		if len(lat) < latencySample {
			lat = append(lat, d)
		} else {
			lat[n%latencySample] = d
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if rp.ErrorCode != 0 {
					partErrors.Add(1)
				} else {
					produced.Add(int64(records))
				}
			}
		}
	}
	return lat, nil
}

// produceRequest is an acks=1 Produce of batch to one partition.
func produceRequest(partition int32, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = 1
	req.TimeoutMillis = 30000
	t := kmsg.NewProduceRequestTopic()
	t.Topic = topic
	p := kmsg.NewProduceRequestTopicPartition()
	p.Partition, p.Records = partition, batch
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	return req
}

// produceOnce produces batch once and checks the answer.
func (c *conn) produceOnce(partition int32, batch []byte) error {
	resp := kmsg.NewPtrProduceResponse()
	if err := c.roundTrip(produceRequest(partition, batch), resp); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				return fmt.Errorf("produce: partition %d: error code %d", rp.Partition, rp.ErrorCode)
			}
		}
	}
	return nil
}
