package main

// -load: the broker-bound load of `rill bench load` (bench.Load) against
// Rill (and as rill-sendfile with net.sendfile=true) and kfake, each a
// separate process started fresh for each run so its CPU time can be read
// from /proc and no run inherits another's heap or page cache state;
// JetStream beside with its own client, as in the default comparison (it
// does not speak Kafka), in this process. Each run produces for
// -load-seconds (at most -load-records records), then reads everything
// back with the fetch mode. The machine's limits (buffered disk write,
// loopback TCP) are measured in the same invocation.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rillmq/rill/bench"
)

// loadOutcome is one system's runs.
type loadOutcome struct {
	System  string             `json:"system"`
	Produce []bench.LoadResult `json:"produce"`
	Consume []bench.LoadResult `json:"consume"`
	// JetStream's runs: its client, not the loader (process CPU is the
	// server and client together, both in this process).
	JSProduce []bench.Result `json:"jetstream_produce,omitempty"`
	JSConsume []bench.Result `json:"jetstream_consume,omitempty"`
	JSCPU     []float64      `json:"jetstream_cpu_seconds_per_gb,omitempty"`
	JSFailed  []string       `json:"jetstream_failed_runs,omitempty"`
}

func runLoad(lc bench.LoadConfig, runs int, systems []string, out string, jsRecords int) error {
	if os.Getenv(kfakeChildEnv) != "" {
		return serveKfakeChild()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "rill-compare-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin, err := buildRill(work)
	if err != nil {
		return err
	}
	limits, err := loadLimits(work)
	if err != nil {
		return err
	}
	outcomes := make([]loadOutcome, len(systems))
	for r := range runs {
		for i, name := range systems {
			o := &outcomes[i]
			o.System = name
			if name == "jetstream" {
				// Its async publish gives up when the server falls
				// behind ("stalled with too many outstanding"): a failed
				// run is reported and left out, not fatal to the others.
				if err := jetStreamLoadRun(ctx, filepath.Join(work, fmt.Sprint("js", r)), r, lc, jsRecords, o); err != nil {
					o.JSFailed = append(o.JSFailed, fmt.Sprintf("run %d: %v", r, err))
					fmt.Fprintf(os.Stderr, "jetstream run %d failed: %v\n", r, err)
				}
				continue
			}
			var b loadBroker
			switch name {
			case "rill":
				b, err = startRillProcess(bin, filepath.Join(work, fmt.Sprint("rill", r)))
			case "rill-sendfile":
				// net.sendfile is off by default (measured slower with
				// kgo as the client, bench-compare); this loader's
				// client costs less, which changes the trade.
				b, err = startRillProcess(bin, filepath.Join(work, fmt.Sprint("rill", r)), "--set", "net.sendfile=true")
			case "kfake":
				b, err = startKfakeProcess()
			default:
				err = fmt.Errorf("-load runs rill, rill-sendfile, kfake and jetstream, not %q", name)
			}
			if err != nil {
				return err
			}
			cfg := lc
			cfg.Broker, cfg.BrokerPID, cfg.Topic = b.addr, b.pid, fmt.Sprint("load-", r)
			p, err := bench.Load(ctx, "produce", cfg, nil)
			if err == nil {
				var c bench.LoadResult
				c, err = bench.Load(ctx, "consume", cfg, nil)
				o.Produce, o.Consume = append(o.Produce, p), append(o.Consume, c)
				fmt.Fprintf(os.Stderr, "%-9s run %d  %s\n%-9s run %d  %s\n", name, r, p.Summary(), name, r, c.Summary())
			}
			b.stop()
			os.RemoveAll(filepath.Join(work, fmt.Sprint("rill", r)))
			if err != nil {
				return fmt.Errorf("%s run %d: %w", name, r, err)
			}
		}
	}
	loadReport(os.Stdout, lc, runs, limits, outcomes)
	return bench.WriteJSON(filepath.Join(out, "load.json"), map[string]any{"config": lc, "limits": limits, "systems": outcomes})
}

// loadLimits: the ceilings that bound moving bytes on this machine, each
// the median of three: buffered sequential writes (Rill's produce path
// ends in the page cache) and loopback TCP (every byte here crosses it),
// on one connection as `rill bench limits` measures it and on as many as
// the loader uses.
func loadLimits(dir string) ([]bench.Limit, error) {
	var out []bench.Limit
	for _, step := range []func() (bench.Limit, error){
		func() (bench.Limit, error) { return bench.DiskWrite(dir, 512<<20, 1<<20, false) },
		func() (bench.Limit, error) { return bench.Loopback(2<<30, 1<<20) },
		func() (bench.Limit, error) { return loopbackParallel(4, 512<<20) },
	} {
		var l bench.Limit
		for range 3 {
			one, err := step()
			if err != nil {
				return nil, err
			}
			l.Name, l.Runs = one.Name, append(l.Runs, one.MBPerSec)
		}
		s := append([]float64(nil), l.Runs...)
		sort.Float64s(s)
		l.MBPerSec = s[1]
		out = append(out, l)
		fmt.Fprintf(os.Stderr, "limit: %-40s %8.1f MB/s\n", l.Name, l.MBPerSec)
	}
	return out, nil
}

// loopbackParallel is Loopback on n connections at once: the bytes of all
// over the time of the slowest.
func loopbackParallel(n, each int) (bench.Limit, error) {
	type one struct {
		l   bench.Limit
		err error
	}
	res := make(chan one, n)
	for range n {
		go func() {
			l, err := bench.Loopback(each, 1<<20)
			res <- one{l, err}
		}()
	}
	slowest := 0.0
	for range n {
		r := <-res
		if r.err != nil {
			return bench.Limit{}, r.err
		}
		slowest = max(slowest, float64(each)/1e6/r.l.MBPerSec)
	}
	return bench.Limit{Name: fmt.Sprintf("loopback TCP, %d connections, 1024 KiB writes", n), MBPerSec: float64(n*each) / 1e6 / slowest}, nil
}

// patientJetStream waits up to 5 s, not nats.go's default 200 ms, for a
// slot among the 8192 async publishes pending: on this shared 2-core VM
// acknowledgements fall that far behind, and the client then fails the run
// ("stalled with too many outstanding async published messages") where
// the Kafka loader would simply wait for its in-flight slots.
type patientJetStream struct{ jetstream.JetStream }

func (p patientJetStream) PublishAsync(subject string, data []byte, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	return p.JetStream.PublishAsync(subject, data, append(opts, jetstream.WithStallWait(5*time.Second))...)
}

// jetStreamLoadRun produces jsRecords records with JetStream's async
// publish and reads them back with an ordered consumer (the default
// comparison's client), charging the process CPU of both to JetStream.
func jetStreamLoadRun(ctx context.Context, dir string, run int, lc bench.LoadConfig, jsRecords int, o *loadOutcome) error {
	s, err := startJetStream(dir)
	if err != nil {
		return err
	}
	defer func() { s.Close(); os.RemoveAll(dir) }()
	s.js = patientJetStream{s.js}
	cfg := bench.DefaultConfig()
	cfg.Records, cfg.RecordSize, cfg.Partitions = jsRecords, lc.RecordSize, lc.Partitions
	name := fmt.Sprint("LOAD", run)
	if err := s.stream(ctx, name); err != nil {
		return err
	}
	cpu0, _ := bench.ProcessCPU(os.Getpid())
	p, err := s.produce(ctx, name, cfg, nil)
	if err != nil {
		return err
	}
	c, err := s.consumeAll(ctx, name, cfg, nil)
	if err != nil {
		return err
	}
	cpu1, _ := bench.ProcessCPU(os.Getpid())
	o.JSProduce, o.JSConsume = append(o.JSProduce, p), append(o.JSConsume, c)
	o.JSCPU = append(o.JSCPU, (cpu1-cpu0).Seconds()/(float64(p.Bytes+c.Bytes)/1e9))
	fmt.Fprintf(os.Stderr, "jetstream run %d  %s\njetstream run %d  %s\n", run, p.Summary(), run, c.Summary())
	return nil
}
