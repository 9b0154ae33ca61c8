package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/bench"
)

// txnOutcome is one system's plain and transactional produce runs.
type txnOutcome struct {
	System        string         `json:"system"`
	Plain         []bench.Result `json:"produce"`
	Transactional []bench.Result `json:"produce_transactional"`
}

// runTxn produces cfg.Records records per run to each Kafka system twice,
// plainly (idempotent) and in transactions (each producer committing every
// cfg.TxnRecords records or cfg.TxnMillis ms), taking turns as run does,
// and prints medians: what transactions cost on each system.
func runTxn(cfg bench.Config, runs int, systems []string, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "rill-compare-txn")
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
	var syss []*kafkaSystem
	outcomes := make([]txnOutcome, len(systems))
	for i, sys := range started {
		k, ok := sys.(*kafkaSystem)
		if !ok {
			return fmt.Errorf("%s has no Kafka transactions", systems[i])
		}
		syss = append(syss, k)
		outcomes[i].System = systems[i]
	}
	for r := 0; r < runs; r++ {
		for i, k := range syss {
			for _, tx := range []bool{false, true} {
				c := cfg
				c.Transactional = tx
				topic := fmt.Sprintf("txn-bench-%d-%v", r, tx)
				res, err := bench.Produce(ctx, k.cfg(c, topic), nil)
				if err != nil {
					return fmt.Errorf("%s produce (transactional %v): %w", systems[i], tx, err)
				}
				fmt.Fprintf(os.Stderr, "%-9s run %d  %s\n", systems[i], r, res.Summary())
				if tx {
					outcomes[i].Transactional = append(outcomes[i].Transactional, res)
				} else {
					outcomes[i].Plain = append(outcomes[i].Plain, res)
				}
				if err := deleteTopic(ctx, k.addr, topic); err != nil {
					return fmt.Errorf("%s cleanup: %w", systems[i], err)
				}
			}
		}
	}
	fmt.Printf("\n%d records of %d B, %d partitions, %d producer(s), transactions of %d records or %d ms; medians of %d runs\n\n",
		cfg.Records, cfg.RecordSize, cfg.Partitions, cfg.Producers, cfg.TxnRecords, cfg.TxnMillis, runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "system\tplain MB/s\tplain rec/s\ttxn MB/s\ttxn rec/s\ttxn / plain\tcommits/s\ttxn produce p99 ms\t")
	txnsPerSec := func(r bench.Result) float64 { return float64(r.Transactions) / r.ElapsedSeconds }
	for _, o := range outcomes {
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%.1f\t%.0f\t%.2fx\t%.0f\t%.2f\t\n", o.System, median(o.Plain, mbps), median(o.Plain, recs),
			median(o.Transactional, mbps), median(o.Transactional, recs), median(o.Transactional, mbps)/median(o.Plain, mbps),
			median(o.Transactional, txnsPerSec), median(o.Transactional, p99))
	}
	tw.Flush()
	return bench.WriteJSON(filepath.Join(out, "compare-txn.json"), map[string]any{"config": cfg, "systems": outcomes})
}

func deleteTopic(ctx context.Context, addr, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).DeleteTopics(ctx, topic)
	return err
}
