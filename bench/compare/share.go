package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/bench"
)

// shareRun is one share-group read of a topic.
type shareRun struct {
	Records   int     `json:"records"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"records_per_second"`
	// Redelivered counts records handed out more than once (a lock that
	// lapsed, a member that left): 0 on a healthy run.
	Redelivered int `json:"redelivered"`
}

// shareOutcome is one system's plain and share-group reads.
type shareOutcome struct {
	System  string         `json:"system"`
	Consume []bench.Result `json:"consume"`
	Share   []shareRun     `json:"share"`
}

// runShare produces cfg.Records records per run to each Kafka system and
// reads them twice: with one plain consumer (bench.Consume, from the
// start), and with members share-group consumers (kgo.ShareGroup, each
// record accepted as it is polled) until every record was delivered;
// taking turns as run does, it prints medians: what a share group's
// per-record bookkeeping (acquisition, acknowledgement written to the
// share coordinator) costs next to a plain read on each system.
//
// locks, when above 0, is the group's share.partition.max.record.locks
// (the in-flight window of each share partition; 2000 by default).
func runShare(cfg bench.Config, runs, members, locks int, systems []string, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "rill-compare-share")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	started, err := startAll(systems, work)
	defer closeAll(started)
	if err != nil {
		return err
	}
	outcomes := make([]shareOutcome, len(systems))
	for r := 0; r < runs; r++ {
		for i, sys := range started {
			k, ok := sys.(*kafkaSystem)
			if !ok {
				return fmt.Errorf("%s has no share groups", systems[i])
			}
			outcomes[i].System = systems[i]
			topic := fmt.Sprintf("share-bench-%d", r)
			c := k.cfg(cfg, topic)
			if _, err := bench.Produce(ctx, c, nil); err != nil {
				return fmt.Errorf("%s produce: %w", systems[i], err)
			}
			res, err := bench.Consume(ctx, c, nil)
			if err != nil {
				return fmt.Errorf("%s consume: %w", systems[i], err)
			}
			outcomes[i].Consume = append(outcomes[i].Consume, res)
			sr, err := shareRead(ctx, c, fmt.Sprintf("share-bench-%d", r), members, locks)
			if err != nil {
				return fmt.Errorf("%s share read: %w", systems[i], err)
			}
			fmt.Fprintf(os.Stderr, "%-9s run %d  consume %.0f rec/s  share (%d members) %.0f rec/s, %d redelivered\n",
				systems[i], r, res.RecordsPerSec, members, sr.PerSecond, sr.Redelivered)
			outcomes[i].Share = append(outcomes[i].Share, sr)
			if err := deleteTopic(ctx, k.addr, topic); err != nil {
				return fmt.Errorf("%s cleanup: %w", systems[i], err)
			}
		}
	}
	window := "2000 (default)"
	if locks > 0 {
		window = fmt.Sprint(locks)
	}
	fmt.Printf("\n%d records of %d B, %d partitions, %d share-group members, share.partition.max.record.locks %s; medians of %d runs\n\n",
		cfg.Records, cfg.RecordSize, cfg.Partitions, members, window, runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "system\tconsume rec/s\tshare rec/s\tshare / consume\tredelivered\t")
	for _, o := range outcomes {
		plain := median(o.Consume, func(r bench.Result) float64 { return r.RecordsPerSec })
		var rates []float64
		redelivered := 0
		for _, s := range o.Share {
			rates = append(rates, s.PerSecond)
			redelivered += s.Redelivered
		}
		share := medianOf(rates)
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%d\t\n", o.System, plain, share, share/plain, redelivered)
	}
	tw.Flush()
	return bench.WriteJSON(filepath.Join(out, "compare-share.json"), map[string]any{"config": cfg, "members": members, "record_locks": locks, "systems": outcomes})
}

// shareRead reads cfg.Records records of cfg.Topic with members share
// consumers of group, from the start of the topic.
func shareRead(ctx context.Context, cfg bench.Config, group string, members, locks int) (shareRun, error) {
	admin, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		return shareRun{}, err
	}
	defer admin.Close()
	if err := setGroupConfig(ctx, admin, group, "share.auto.offset.reset", "earliest"); err != nil {
		return shareRun{}, err
	}
	if locks > 0 {
		if err := setGroupConfig(ctx, admin, group, "share.partition.max.record.locks", fmt.Sprint(locks)); err != nil {
			return shareRun{}, err
		}
	}
	var mu sync.Mutex
	seen := map[[2]int64]int{} // partition, offset
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	var done time.Time
	var wg sync.WaitGroup
	errs := make(chan error, members)
	for m := 0; m < members; m++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ShareGroup(group), kgo.ConsumeTopics(cfg.Topic))
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				mu.Lock()
				fs.EachRecord(func(r *kgo.Record) {
					seen[[2]int64{int64(r.Partition), r.Offset}]++
					r.Ack(kgo.AckAccept)
				})
				if len(seen) >= cfg.Records && done.IsZero() {
					done = time.Now()
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return shareRun{}, err
	}
	mu.Lock()
	defer mu.Unlock()
	if done.IsZero() {
		return shareRun{}, fmt.Errorf("read %d of %d records", len(seen), cfg.Records)
	}
	run := shareRun{Records: len(seen), Seconds: done.Sub(start).Seconds()}
	run.PerSecond = float64(run.Records) / run.Seconds
	for _, n := range seen {
		run.Redelivered += n - 1
	}
	return run, nil
}

// setGroupConfig sets one group config (IncrementalAlterConfigs on the
// GROUP resource).
func setGroupConfig(ctx context.Context, cl *kgo.Client, group, name, value string) error {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = name, kmsg.StringPtr(value)
	r.Configs = append(r.Configs, c)
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("group config %s=%s: %w", name, value, err)
		}
	}
	return nil
}

// medianOf is the median of v (0 when empty).
func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
