package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceSent is a request on the wire, waiting for its response.
type produceSent struct {
	at   time.Time
	body *produceBody
}

func loadProduce(ctx context.Context, cfg LoadConfig, progress io.Writer, res LoadResult) (LoadResult, error) {
	addr, partitions, err := cfg.leader(ctx)
	if err != nil {
		return res, err
	}
	batches, err := BuildBatches(cfg.Batches, cfg.RecordsPerBatch, cfg.RecordSize, cfg.Compression, time.Now())
	if err != nil {
		return res, err
	}
	assign := connPartitions(cfg.Connections, partitions)
	bodies := make([][]produceBody, cfg.Connections)
	for c := range bodies {
		bodies[c] = produceBodies(cfg, batches, assign[c], cfg.RecordsPerBatch)
	}
	conns, err := dialAll(ctx, addr, cfg.Connections)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWatch := closeOnDone(ctx, conns)
	defer stopWatch()
	fail := &firstError{cancel: cancel}

	// claimed counts records handed to the wire, so a Records bound is
	// never overrun: a request that would pass it is not sent.
	var claimed atomic.Int64
	cpu := startCPU(cfg.BrokerPID)
	m := NewMeter(res.Workload, progress)
	m.Warmup(time.Duration(cfg.WarmupSeconds) * time.Second)
	deadline := time.Now().Add(cfg.Duration)
	var wg sync.WaitGroup
	for c, rc := range conns {
		pending := make(chan produceSent, cfg.InFlight)
		slots := make(chan struct{}, cfg.InFlight)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(pending)
			fail.set(produceWriter(ctx, rc, bodies[c], slots, pending, deadline, cfg.Records, &claimed))
		}()
		go func() {
			defer wg.Done()
			fail.set(produceReader(rc, slots, pending, m))
		}()
	}
	wg.Wait()
	m.Finish(&res.Result)
	if fail.err != nil {
		return res, fail.err
	}
	return res, cpu.finish(&res)
}

// produceWriter sends the connection's bodies in turn until the deadline,
// the record bound or the end of ctx; slots (capacity: the in-flight
// bound) holds a token per request in flight, which the reader takes back.
func produceWriter(ctx context.Context, rc *rawConn, bodies []produceBody, slots chan<- struct{}, pending chan<- produceSent, deadline time.Time, bound int64, claimed *atomic.Int64) error {
	for j := 0; ; j++ {
		b := &bodies[j%len(bodies)]
		if time.Now().After(deadline) {
			return nil
		}
		if bound > 0 && claimed.Add(b.records) > bound {
			return nil
		}
		// A slot first, then the send time: time spent waiting for a
		// slot is the loader's queueing, not the broker's latency.
		select {
		case <-ctx.Done():
			return nil
		case slots <- struct{}{}:
		}
		// Into pending before the write: the reader must find the request
		// there when its response arrives (pending has a slot's room).
		pending <- produceSent{at: time.Now(), body: b}
		if _, err := rc.write(0, loadProduceVersion, b.body); err != nil {
			return writeErr(ctx, err)
		}
	}
}

// writeErr drops the error of a write cut short by the run ending (the
// watch closes the connection).
func writeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// produceReader reads a response for each request in pending, checks it,
// and counts the request's records and bytes.
func produceReader(rc *rawConn, slots <-chan struct{}, pending <-chan produceSent, m *Meter) error {
	var corr int32
	for s := range pending {
		resp := kmsg.NewPtrProduceResponse()
		if err := rc.readResponse(&corr, resp, loadProduceVersion, "produce"); err != nil {
			return err
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return fmt.Errorf("bench: produce to %s/%d: %w", t.Topic, p.Partition, err)
				}
			}
		}
		m.Latency(time.Since(s.at))
		m.Add(s.body.records, s.body.bytes)
		<-slots
	}
	return nil
}
