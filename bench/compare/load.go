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
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rillmq/rill/bench"
)

// kfakeChildEnv makes this program, re-executed, serve kfake until its
// stdin closes or it is interrupted.
const kfakeChildEnv = "RILL_COMPARE_KFAKE_CHILD"

// serveKfakeChild is the child's side: one kfake broker on loopback, its
// address printed on stdout.
func serveKfakeChild() error {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, _ string) (net.Listener, error) {
		return net.Listen(network, "127.0.0.1:0")
	}))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("kfake listening addr=" + c.ListenAddrs()[0])
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	eof := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(eof) }()
	select {
	case <-stop:
	case <-eof:
	}
	return nil
}

// loadBroker is a broker process under load.
type loadBroker struct {
	addr string
	pid  int
	stop func()
}

func startKfakeProcess() (loadBroker, error) {
	self, err := os.Executable()
	if err != nil {
		return loadBroker{}, err
	}
	cmd := exec.Command(self, "-load")
	cmd.Env = append(os.Environ(), kfakeChildEnv+"=1")
	stdin, _ := cmd.StdinPipe() // closing it ends the child if we die first
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return loadBroker{}, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "kfake listening addr=")
	if err != nil || !ok {
		cmd.Process.Kill()
		cmd.Wait()
		return loadBroker{}, fmt.Errorf("kfake child: %q %v", line, err)
	}
	return loadBroker{addr: addr, pid: cmd.Process.Pid, stop: func() { stdin.Close(); cmd.Process.Signal(os.Interrupt); cmd.Wait() }}, nil
}

func startRillProcess(bin, dataDir string, extra ...string) (loadBroker, error) {
	addr, stop, err := serveRill(bin, dataDir, "127.0.0.1:0", extra...)
	if err != nil {
		return loadBroker{}, err
	}
	_, port, _ := net.SplitHostPort(addr)
	var n int
	fmt.Sscan(port, &n)
	pid, err := bench.ListenerPID(n)
	if err != nil {
		stop()
		return loadBroker{}, err
	}
	return loadBroker{addr: addr, pid: pid, stop: stop}, nil
}

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

func med(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func loadMedian(rs []bench.LoadResult, f func(bench.LoadResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return med(v)
}

// loadReport prints medians, each system's ratio to Rill, and the
// fraction of the loopback limit (the higher of one connection's and the
// loader's number of connections').
func loadReport(w io.Writer, lc bench.LoadConfig, runs int, limits []bench.Limit, outcomes []loadOutcome) {
	fmt.Fprintf(w, "broker-bound load: %d B records, %d per batch, %d partitions, %d connections x %d in flight, acks=%d, %s produce; medians of %d runs\n",
		lc.RecordSize, lc.RecordsPerBatch, lc.Partitions, lc.Connections, lc.InFlight, lc.Acks, lc.Duration, runs)
	loop := 0.0
	for _, l := range limits {
		fmt.Fprintf(w, "limit: %-40s %.2f GB/s\n", l.Name, l.MBPerSec/1e3)
		if strings.HasPrefix(l.Name, "loopback") {
			loop = max(loop, l.MBPerSec/1e3) // the higher of one and many connections
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tproduce GB/s\tvs rill\tof loopback\tp99 ms\tbroker CPU s/GB\tloader CPU s/GB\tconsume GB/s\tvs rill\tof loopback\tbroker CPU s/GB\tloader CPU s/GB\t")
	gbps := func(r bench.LoadResult) float64 { return r.GBPerSec }
	var rillP, rillC float64
	for _, o := range outcomes {
		if o.System == "rill" {
			rillP, rillC = loadMedian(o.Produce, gbps), loadMedian(o.Consume, gbps)
		}
	}
	ratio := func(a, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	for _, o := range outcomes {
		if o.System == "jetstream" {
			var p, c []float64
			for i := range o.JSProduce {
				p, c = append(p, o.JSProduce[i].MBPerSec/1e3), append(c, o.JSConsume[i].MBPerSec/1e3)
			}
			js := make([]float64, 0, len(o.JSProduce))
			for _, r := range o.JSProduce {
				if r.Latency != nil {
					js = append(js, r.Latency.P99)
				}
			}
			name := "jetstream (own client)"
			if len(o.JSFailed) > 0 {
				name = fmt.Sprintf("jetstream (own client; %d runs failed)", len(o.JSFailed))
			}
			fmt.Fprintf(tw, "%s\t%.3f\t%s\t%.0f%%\t%.1f\t%.3f (with client)\t-\t%.3f\t%s\t%.0f%%\t-\t-\t\n", name,
				med(p), ratio(med(p), rillP), 100*med(p)/loop, med(js), med(o.JSCPU), med(c), ratio(med(c), rillC), 100*med(c)/loop)
			continue
		}
		p, c := loadMedian(o.Produce, gbps), loadMedian(o.Consume, gbps)
		p99 := loadMedian(o.Produce, func(r bench.LoadResult) float64 {
			if r.Latency == nil {
				return 0
			}
			return r.Latency.P99
		})
		fmt.Fprintf(tw, "%s\t%.3f\t%s\t%.0f%%\t%.1f\t%.3f\t%.3f\t%.3f\t%s\t%.0f%%\t%.3f\t%.3f\t\n", o.System,
			p, ratio(p, rillP), 100*p/loop, p99,
			loadMedian(o.Produce, func(r bench.LoadResult) float64 { return r.BrokerCPUPerGB }),
			loadMedian(o.Produce, func(r bench.LoadResult) float64 { return r.LoaderCPUPerGB }),
			c, ratio(c, rillC), 100*c/loop,
			loadMedian(o.Consume, func(r bench.LoadResult) float64 { return r.BrokerCPUPerGB }),
			loadMedian(o.Consume, func(r bench.LoadResult) float64 { return r.LoaderCPUPerGB }))
	}
	tw.Flush()
}
