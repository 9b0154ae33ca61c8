package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Consume reads cfg.Records records from the start of the topic: catch-up
// reading, with no latency (the records were written before).
func Consume(ctx context.Context, cfg Config, progress io.Writer) (Result, error) {
	res := Result{Workload: "consume", Config: cfg}
	if len(cfg.Brokers) == 0 || cfg.Records <= 0 {
		return res, errors.New("bench: consume needs brokers and a record count")
	}
	cl, err := kgo.NewClient(cfg.clientOpts(kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))...)
	if err != nil {
		return res, err
	}
	defer cl.Close()
	m := NewMeter("consume", progress)
	err = poll(ctx, cl, cfg.Records, func(r *kgo.Record) { m.Add(1, int64(len(r.Value)+len(r.Key))) })
	m.Finish(&res)
	return res, err
}

// poll reads until n records arrived, calling fn for each.
func poll(ctx context.Context, cl *kgo.Client, n int, fn func(*kgo.Record)) error {
	seen := 0
	for seen < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("bench: read %d of %d records: %w", seen, n, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("bench: fetch %s-%d: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			fn(r)
		})
	}
	return nil
}

// EndToEnd produces at cfg.Rate while a consumer tails the topic; latency
// is from send to receive.
func EndToEnd(ctx context.Context, cfg Config, progress io.Writer) (Result, error) {
	res := Result{Workload: "e2e", Config: cfg}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	if cfg.Rate <= 0 {
		return res, errors.New("bench: end-to-end latency needs a fixed --rate")
	}
	if err := EnsureTopic(ctx, cfg); err != nil {
		return res, err
	}
	// Start exactly at today's end offsets, so every record sent next is
	// read and none before.
	start, err := endOffsets(ctx, cfg)
	if err != nil {
		return res, err
	}
	iso := kgo.ReadUncommitted()
	if cfg.Transactional {
		// Latency to when a consumer can see a record: its commit.
		iso = kgo.ReadCommitted()
	}
	cl, err := kgo.NewClient(cfg.clientOpts(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: start}),
		kgo.FetchMaxWait(100*time.Millisecond), kgo.FetchIsolationLevel(iso))...)
	if err != nil {
		return res, err
	}
	defer cl.Close()
	m := NewMeter("e2e", progress)
	m.Warmup(time.Duration(cfg.WarmupSeconds) * time.Second)
	prodErr := make(chan error, 1)
	go func() {
		_, err := produceRecords(ctx, cfg, func(_ time.Time, _ int, err error) {
			if err != nil {
				select {
				case prodErr <- err:
				default:
				}
			}
		})
		prodErr <- err
	}()
	err = poll(ctx, cl, cfg.Records, func(r *kgo.Record) {
		if len(r.Value) >= 8 {
			m.Latency(time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))))
		}
		m.Add(1, int64(len(r.Value)))
	})
	m.Finish(&res)
	if err == nil {
		err = <-prodErr
	}
	return res, err
}

// endOffsets is every partition's end offset. Right after a topic is
// created a cluster's brokers may not all serve it yet (a retriable error
// such as LEADER_NOT_AVAILABLE): it asks again for up to 10 s.
func endOffsets(ctx context.Context, cfg Config) (map[int32]kgo.Offset, error) {
	cl, err := kgo.NewClient(cfg.clientOpts()...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, cfg.Topic)
		if err != nil {
			return nil, err
		}
		out := map[int32]kgo.Offset{}
		var lerr error
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err != nil {
				lerr = o.Err
			}
			out[o.Partition] = kgo.NewOffset().At(o.Offset)
		})
		if lerr == nil && len(out) == 0 {
			lerr = fmt.Errorf("bench: topic %s has no partitions", cfg.Topic)
		}
		if lerr == nil || !kerr.IsRetriable(lerr) || time.Now().After(deadline) {
			return out, lerr
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
