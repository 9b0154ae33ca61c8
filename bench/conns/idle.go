package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

const topic = "conns-bench"

type idleResult struct {
	rss, anon float64 // bytes grown over the run
	openIn    time.Duration
}

// dialers bounds the connections being opened at once: the broker's
// listen backlog and this machine's two cores, not the test, set the pace.
const dialers = 32

func runIdle(ctx context.Context, s setup, n, batchBytes int) (idleResult, error) {
	b, err := startBroker(s.bin, s.transport, s.logw, s.brokerArgs...)
	if err != nil {
		return idleResult{}, err
	}
	defer b.stop()
	first, err := prepare(b.addr, s.partitions)
	if err != nil {
		return idleResult{}, err
	}
	defer first.close()
	// What the broker holds before: its start, the topic, one client.
	if err := settle(ctx); err != nil {
		return idleResult{}, err
	}
	before, err := b.memory()
	if err != nil {
		return idleResult{}, err
	}

	start := time.Now()
	conns, err := openIdle(ctx, b.addr, n, batchBytes)
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	if err != nil {
		return idleResult{}, err
	}
	openIn := time.Since(start)
	if err := settle(ctx); err != nil {
		return idleResult{}, err
	}
	after, err := b.memory()
	if err != nil {
		return idleResult{}, err
	}
	// The connections are still served: a sample answers.
	for i := 0; i < len(conns); i += max(1, len(conns)/10) {
		if err := conns[i].roundTrip(kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrApiVersionsResponse()); err != nil {
			return idleResult{}, fmt.Errorf("idle connection %d after the measurement: %w", i, err)
		}
	}
	return idleResult{rss: float64(after.RSS - before.RSS), anon: float64(after.Anon - before.Anon), openIn: openIn}, nil
}

// openIdle opens n connections, each after ApiVersions and Metadata and,
// when batchBytes > 0, one Produce of a batch of that many bytes (acks=1),
// so the broker has read and answered something larger before the
// connection goes idle.
func openIdle(ctx context.Context, addr string, n, batchBytes int) ([]*conn, error) {
	var batch []byte
	if batchBytes > 0 {
		batch = format.SimpleBatch(format.CodecNone, time.Now().UnixMilli(), nil, [][]byte{make([]byte, batchBytes)})
	}
	conns := make([]*conn, n)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := dial(addr)
				if err == nil {
					err = c.hello(topic)
					if err == nil && batch != nil {
						err = c.produceOnce(int32(i)%16, batch)
					}
					if err != nil {
						c.close()
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					continue
				}
				conns[i] = c
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
	}
	close(next)
	wg.Wait()
	opened := conns[:0]
	for _, c := range conns {
		if c != nil {
			opened = append(opened, c)
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return opened, firstErr
}

// prepare creates the bench topic and returns the connection that did.
func prepare(addr string, partitions int32) (*conn, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 5
	req.TimeoutMillis = 30000
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, t)
	resp := kmsg.NewPtrCreateTopicsResponse()
	if err := c.roundTrip(req, resp); err != nil {
		c.close()
		return nil, fmt.Errorf("CreateTopics: %w", err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		c.close()
		return nil, fmt.Errorf("CreateTopics: %+v", resp.Topics)
	}
	if err := c.hello(topic); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// settle gives the broker 2 s to finish what the connections started (a
// GC cycle, stack shrinking) before its memory is read.
func settle(ctx context.Context) error {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
