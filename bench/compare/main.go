// Command compare runs the same workloads, with the same record sizes and
// counts, against Rill (a `rill serve` process built from this checkout),
// franz-go's kfake (an in-memory Kafka, in-process) and NATS JetStream
// with file storage (nats-server, in-process), measures the machine's
// limits with the same command, and prints medians and ratios. It is a
// separate module so the peers' dependencies stay out of Rill's.
//
//	cd bench/compare && go run . [-records N] [-record-size B] [-runs R] [-systems rill,kfake,jetstream] [-out DIR]
//
// Per system and run: produce Records records as fast as acknowledged
// (acks=all, idempotent for the Kafka ones; async publish with acks for
// JetStream), read them back from the start (catch-up), then at half of
// the median peak produce rate: produce again (send-to-ack latency) and
// run end to end (send-to-receive latency) for about 6 s each, the first
// second's latencies left out as warm-up; then the same two at one common
// rate (the lowest of the half-peak rates), so latencies compare at equal
// load.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/bench"
)

// system is one broker under test.
type system interface {
	produce(ctx context.Context, run int, cfg bench.Config) (bench.Result, error)
	consume(ctx context.Context, run int, cfg bench.Config) (bench.Result, error)
	e2e(ctx context.Context, run int, cfg bench.Config) (bench.Result, error)
	// cleanup deletes a run's topics (streams), so no system carries
	// earlier runs' data: kfake keeps it on the heap of this process,
	// which would slow every client in it.
	cleanup(ctx context.Context, run int, cfg bench.Config) error
	close()
}

// kafkaSystem is a Kafka-protocol broker driven by package bench.
type kafkaSystem struct {
	addr string
	stop func()
	// rf is the replication factor of the topics it creates.
	rf int16
}

func (k *kafkaSystem) close() { k.stop() }

func (k *kafkaSystem) cfg(cfg bench.Config, topic string) bench.Config {
	cfg.Brokers, cfg.Topic = strings.Split(k.addr, ","), topic
	if k.rf > 0 {
		cfg.ReplicationFactor = k.rf
	}
	return cfg
}

func (k *kafkaSystem) produce(ctx context.Context, run int, cfg bench.Config) (bench.Result, error) {
	return bench.Produce(ctx, k.cfg(cfg, fmt.Sprintf("bench-%d-%d", run, cfg.Rate)), nil)
}

func (k *kafkaSystem) consume(ctx context.Context, run int, cfg bench.Config) (bench.Result, error) {
	return bench.Consume(ctx, k.cfg(cfg, fmt.Sprintf("bench-%d-%d", run, cfg.Rate)), nil)
}

func (k *kafkaSystem) e2e(ctx context.Context, run int, cfg bench.Config) (bench.Result, error) {
	return bench.EndToEnd(ctx, k.cfg(cfg, fmt.Sprintf("e2e-%d", run)), nil)
}

func (k *kafkaSystem) cleanup(ctx context.Context, run int, cfg bench.Config) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(k.addr, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kadm.NewClient(cl).DeleteTopics(ctx, fmt.Sprintf("bench-%d-%d", run, cfg.Rate), fmt.Sprintf("e2e-%d", run))
	return err
}

type jsSystem struct{ s *jetStreamServer }

func (j jsSystem) cleanup(ctx context.Context, run int, cfg bench.Config) error {
	_ = j.s.js.DeleteStream(ctx, fmt.Sprintf("BENCH%d_%d", run, cfg.Rate))
	_ = j.s.js.DeleteStream(ctx, fmt.Sprintf("E2E%d", run))
	return nil
}

func (j jsSystem) produce(ctx context.Context, run int, cfg bench.Config) (bench.Result, error) {
	name := fmt.Sprintf("BENCH%d_%d", run, cfg.Rate)
	if err := j.s.stream(ctx, name); err != nil {
		return bench.Result{}, err
	}
	return j.s.produce(ctx, name, cfg, nil)
}

func (j jsSystem) consume(ctx context.Context, run int, cfg bench.Config) (bench.Result, error) {
	return j.s.consumeAll(ctx, fmt.Sprintf("BENCH%d_%d", run, cfg.Rate), cfg, nil)
}

func (j jsSystem) e2e(ctx context.Context, run int, cfg bench.Config) (bench.Result, error) {
	name := fmt.Sprintf("E2E%d", run)
	if err := j.s.stream(ctx, name); err != nil {
		return bench.Result{}, err
	}
	return j.s.endToEnd(ctx, name, cfg, nil)
}

func (j jsSystem) close() { j.s.Close() }

// buildRill builds cmd/rill from this checkout into dir.
func buildRill(dir string) (string, error) {
	bin := filepath.Join(dir, "rill")
	// Built in Rill's own module (this one's replace directive does not
	// carry Rill's dependencies into this go.sum).
	build := exec.Command("go", "build", "-o", bin, "./cmd/rill")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building rill (run from bench/compare): %v\n%s", err, out)
	}
	return bin, nil
}

// serveRill starts `rill serve` and returns its Kafka address and a stop.
func serveRill(bin, dataDir, listen string, extra ...string) (string, func(), error) {
	// No admin listener: the nodes of a cluster would share its default
	// port.
	cmd := exec.Command(bin, append([]string{"serve", "--data-dir", dataDir, "--listen", listen, "--set", "admin.listeners="}, extra...)...)
	addrs, err := bench.Serve(cmd, nil, 1, 30*time.Second)
	if err != nil {
		return "", nil, err
	}
	return addrs[0], func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }, nil
}

// startRill builds cmd/rill from this checkout and serves from dir.
func startRill(dir string) (system, error) {
	bin, err := buildRill(dir)
	if err != nil {
		return nil, err
	}
	addr, stop, err := serveRill(bin, filepath.Join(dir, "data"), "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &kafkaSystem{addr: addr, stop: stop}, nil
}

// startRillCluster runs three `rill serve` nodes (both roles) whose topics
// get replication factor 3 and min.insync.replicas=2.
func startRillCluster(dir string) (system, error) {
	bin, err := buildRill(dir)
	if err != nil {
		return nil, err
	}
	var voters []string
	for i := 1; i <= 3; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		voters = append(voters, fmt.Sprintf("%d@%s", i, l.Addr()))
		l.Close()
	}
	var addrs []string
	var stops []func()
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	for i := 1; i <= 3; i++ {
		addr, s, err := serveRill(bin, filepath.Join(dir, fmt.Sprint("node", i)), "127.0.0.1:0",
			"--set", "process.roles=broker,controller", "--set", fmt.Sprint("node.id=", i),
			"--set", "controller.quorum.voters="+strings.Join(voters, ","),
			"--set", "default.replication.factor=3", "--set", "min.insync.replicas=2")
		if err != nil {
			stop()
			return nil, err
		}
		addrs, stops = append(addrs, addr), append(stops, s)
	}
	// Wait for all three brokers to be registered and unfenced.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		stop()
		return nil, err
	}
	defer cl.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if m, err := kadm.NewClient(cl).BrokerMetadata(context.Background()); err == nil && len(m.Brokers) == 3 {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("rill cluster did not form")
		}
	}
	return &kafkaSystem{addr: strings.Join(addrs, ","), stop: stop, rf: 3}, nil
}

func start(name, dir string) (system, error) {
	switch name {
	case "rill":
		return startRill(dir)
	case "kfake":
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return nil, err
		}
		return &kafkaSystem{addr: c.ListenAddrs()[0], stop: c.Close}, nil
	case "jetstream":
		s, err := startJetStream(dir)
		if err != nil {
			return nil, err
		}
		return jsSystem{s}, nil
	case "rill-rf3":
		return startRillCluster(dir)
	case "jetstream-r3":
		s, err := startJetStreamCluster(dir)
		if err != nil {
			return nil, err
		}
		return jsSystem{s}, nil
	}
	return nil, fmt.Errorf("unknown system %q", name)
}

// outcome is one system's runs.
type outcome struct {
	System      string         `json:"system"`
	Produce     []bench.Result `json:"produce"`
	Consume     []bench.Result `json:"consume"`
	HalfProduce []bench.Result `json:"produce_at_half_peak"`
	EndToEnd    []bench.Result `json:"e2e_at_half_peak"`
	// SameRate runs are at one rate for all: the lowest half-peak rate.
	SameProduce  []bench.Result `json:"produce_at_common_rate"`
	SameEndToEnd []bench.Result `json:"e2e_at_common_rate"`
}

func median(rs []bench.Result, f func(bench.Result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func mbps(r bench.Result) float64 { return r.MBPerSec }
func recs(r bench.Result) float64 { return r.RecordsPerSec }
func p50(r bench.Result) float64 {
	if r.Latency == nil {
		return 0
	}
	return r.Latency.P50
}

func p99(r bench.Result) float64 {
	if r.Latency == nil {
		return 0
	}
	return r.Latency.P99
}

func main() {
	cfg := bench.DefaultConfig()
	flag.IntVar(&cfg.Records, "records", 200_000, "records per produce/consume run")
	flag.IntVar(&cfg.RecordSize, "record-size", cfg.RecordSize, "bytes per record")
	partitions := flag.Int("partitions", int(cfg.Partitions), "partitions (subjects for JetStream)")
	runs := flag.Int("runs", 5, "runs per system, taken in turns; medians are reported")
	systems := flag.String("systems", "rill,kfake,jetstream", "systems to compare")
	out := flag.String("out", "results", "directory for compare.json and the charts")
	halfSeconds := flag.Int("half-seconds", 6, "length of the half-peak-rate runs")
	txn := flag.Bool("txn", false, "instead: plain vs transactional produce side by side on the Kafka systems (rill, kfake, rill-rf3)")
	txnRecords := flag.Int("txn-records", 1000, "with -txn: each producer commits every this many records")
	txnMillis := flag.Int("txn-ms", 100, "with -txn: or once its transaction is this old")
	share := flag.Bool("share", false, "instead: a plain read against a share-group read (KIP-932) on the Kafka systems (rill, kfake, rill-rf3)")
	shareMembers := flag.Int("share-members", 4, "with -share: share-group members")
	shareLocks := flag.Int("share-locks", 0, "with -share: the group's share.partition.max.record.locks (0: the broker's default, 2000)")
	load := flag.Bool("load", false, "instead: broker-bound load (rill bench load's loader) against rill and kfake processes, jetstream beside with its client")
	loadSeconds := flag.Duration("load-seconds", 5*time.Second, "with -load: produce for this long per run")
	loadRecords := flag.Int64("load-records", 3_000_000, "with -load: at most this many records per produce run (bounds kfake's heap)")
	jsRecords := flag.Int("load-js-records", 300_000, "with -load: records JetStream's client produces and reads per run")
	flag.Parse()
	cfg.Partitions = int32(*partitions)
	if *load {
		lc := bench.DefaultLoadConfig()
		lc.RecordSize, lc.Partitions, lc.ReplicationFactor = cfg.RecordSize, cfg.Partitions, 1
		lc.Duration, lc.Records = *loadSeconds, *loadRecords
		if err := runLoad(lc, *runs, strings.Split(*systems, ","), *out, *jsRecords); err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		return
	}
	if *share {
		if err := runShare(cfg, *runs, *shareMembers, *shareLocks, strings.Split(*systems, ","), *out); err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		return
	}
	if *txn {
		cfg.TxnRecords, cfg.TxnMillis = *txnRecords, *txnMillis
		if err := runTxn(cfg, *runs, strings.Split(*systems, ","), *out); err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(cfg, *runs, strings.Split(*systems, ","), *out, *halfSeconds); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(cfg bench.Config, runs int, systems []string, out string, halfSeconds int) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "rill-compare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	fmt.Fprintf(os.Stderr, "machine limits (data dir %s)\n", work)
	limits, err := bench.Limits(work, nil)
	if err != nil {
		return err
	}
	// All systems run side by side and take turns run by run, so the
	// VM's drifting noise falls on each of them alike.
	syss, err := startAll(systems, work)
	defer closeAll(syss)
	if err != nil {
		return err
	}
	outcomes := make([]outcome, len(systems))
	for i, name := range systems {
		outcomes[i].System = name
	}
	for r := 0; r < runs; r++ {
		for i, sys := range syss {
			name := systems[i]
			p, err := sys.produce(ctx, r, cfg)
			if err != nil {
				return fmt.Errorf("%s produce: %w", name, err)
			}
			c, err := sys.consume(ctx, r, cfg)
			if err != nil {
				return fmt.Errorf("%s consume: %w", name, err)
			}
			fmt.Fprintf(os.Stderr, "%-9s run %d  %s\n%-9s run %d  %s\n", name, r, p.Summary(), name, r, c.Summary())
			o := &outcomes[i]
			o.Produce, o.Consume = append(o.Produce, p), append(o.Consume, c)
			if err := settle(ctx, sys, r, cfg); err != nil {
				return fmt.Errorf("%s cleanup: %w", name, err)
			}
		}
	}
	halves := make([]bench.Config, len(syss))
	for i := range syss {
		half := cfg
		half.Rate = int(median(outcomes[i].Produce, recs) / 2)
		half.Records = max(1000, half.Rate*halfSeconds)
		half.WarmupSeconds = 1
		halves[i] = half
	}
	common := halves[0]
	for _, h := range halves {
		if h.Rate < common.Rate {
			common = h
		}
	}
	sames := make([]bench.Config, len(syss))
	for i := range sames {
		sames[i] = common
	}
	paced := func(cfgs []bench.Config, keep func(o *outcome, p, e bench.Result)) error {
		for r := 0; r < runs; r++ {
			for i, sys := range syss {
				name := systems[i]
				p, err := sys.produce(ctx, r, cfgs[i])
				if err != nil {
					return fmt.Errorf("%s produce at %d rec/s: %w", name, cfgs[i].Rate, err)
				}
				e, err := sys.e2e(ctx, r, cfgs[i])
				if err != nil {
					return fmt.Errorf("%s e2e at %d rec/s: %w", name, cfgs[i].Rate, err)
				}
				fmt.Fprintf(os.Stderr, "%-9s run %d  %s\n%-9s run %d  %s\n", name, r, p.Summary(), name, r, e.Summary())
				keep(&outcomes[i], p, e)
				if err := settle(ctx, sys, r, cfgs[i]); err != nil {
					return fmt.Errorf("%s cleanup: %w", name, err)
				}
			}
		}
		return nil
	}
	if err := paced(halves, func(o *outcome, p, e bench.Result) {
		o.HalfProduce, o.EndToEnd = append(o.HalfProduce, p), append(o.EndToEnd, e)
	}); err != nil {
		return err
	}
	if err := paced(sames, func(o *outcome, p, e bench.Result) {
		o.SameProduce, o.SameEndToEnd = append(o.SameProduce, p), append(o.SameEndToEnd, e)
	}); err != nil {
		return err
	}
	report(os.Stdout, cfg, runs, limits, outcomes)
	if err := bench.WriteJSON(filepath.Join(out, "compare.json"), map[string]any{"config": cfg, "limits": limits, "systems": outcomes}); err != nil {
		return err
	}
	var prod, e2e []bench.Result
	var labels []string
	for _, o := range outcomes {
		prod = append(prod, o.Produce[len(o.Produce)/2])
		e2e = append(e2e, o.EndToEnd[len(o.EndToEnd)/2])
		labels = append(labels, o.System)
	}
	if err := bench.WriteChart(filepath.Join(out, "produce.png"), prod, labels); err != nil {
		return err
	}
	return bench.WriteChart(filepath.Join(out, "e2e.png"), e2e, labels)
}

// settle deletes a run's data and lets this process's heap shrink, so
// every run starts alike.
func settle(ctx context.Context, sys system, run int, cfg bench.Config) error {
	err := sys.cleanup(ctx, run, cfg)
	runtime.GC()
	debug.FreeOSMemory()
	return err
}

func report(w *os.File, cfg bench.Config, runs int, limits []bench.Limit, outcomes []outcome) {
	fmt.Fprintf(w, "\n%d records of %d B, %d partitions, medians of %d runs\n\n", cfg.Records, cfg.RecordSize, cfg.Partitions, runs)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "system\tproduce MB/s\tproduce rec/s\tconsume MB/s\thalf-peak rate rec/s\tproduce p99 ms\te2e p50 ms\te2e p99 ms\t")
	for _, o := range outcomes {
		e2e50 := median(o.EndToEnd, p50)
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%.1f\t%d\t%.2f\t%.2f\t%.2f\t\n", o.System, median(o.Produce, mbps), median(o.Produce, recs),
			median(o.Consume, mbps), o.HalfProduce[0].Config.Rate, median(o.HalfProduce, p99), e2e50, median(o.EndToEnd, p99))
	}
	tw.Flush()
	if len(outcomes) > 0 && len(outcomes[0].SameProduce) > 0 {
		fmt.Fprintf(w, "\nall at the same rate, %d rec/s\n", outcomes[0].SameProduce[0].Config.Rate)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "system\tproduce p50 ms\tproduce p99 ms\te2e p50 ms\te2e p99 ms\t")
		for _, o := range outcomes {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t\n", o.System, median(o.SameProduce, p50), median(o.SameProduce, p99),
				median(o.SameEndToEnd, p50), median(o.SameEndToEnd, p99))
		}
		tw.Flush()
	}
	if len(outcomes) > 1 && outcomes[0].System == "rill" {
		fmt.Fprintln(w, "\nratios (rill / peer)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "peer\tproduce\tconsume\tproduce p99 (lower is better)\te2e p99 (lower is better)\t")
		r := outcomes[0]
		for _, o := range outcomes[1:] {
			fmt.Fprintf(tw, "%s\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t\n", o.System, median(r.Produce, mbps)/median(o.Produce, mbps),
				median(r.Consume, mbps)/median(o.Consume, mbps), median(r.HalfProduce, p99)/median(o.HalfProduce, p99),
				median(r.EndToEnd, p99)/median(o.EndToEnd, p99))
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nmachine limits")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, l := range limits {
		fmt.Fprintf(tw, "%s\t%.1f MB/s\t\n", l.Name, l.MBPerSec)
	}
	tw.Flush()
	if len(outcomes) > 0 && outcomes[0].System == "rill" && len(limits) > 0 {
		fmt.Fprintf(w, "rill produce is %.0f%% of buffered disk writes and %.0f%% of loopback TCP\n",
			100*median(outcomes[0].Produce, mbps)/limits[0].MBPerSec, 100*median(outcomes[0].Produce, mbps)/limits[len(limits)-1].MBPerSec)
	}
}

// startAll starts each named system in its own directory under work, in
// order; on an error it returns the ones started so far with it (close
// them with closeAll either way).
func startAll(names []string, work string) ([]system, error) {
	var syss []system
	for _, name := range names {
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return syss, err
		}
		sys, err := start(name, dir)
		if err != nil {
			return syss, err
		}
		syss = append(syss, sys)
	}
	return syss, nil
}

func closeAll(syss []system) {
	for _, sys := range syss {
		sys.close()
	}
}
