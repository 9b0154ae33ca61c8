// Command fetchsession measures what incremental fetch sessions (KIP-227)
// save a consumer of many partitions (BENCHMARKS.md, "Fetch sessions
// (KIP-227)"). It starts one `rill serve` on 127.0.0.1, creates a topic
// of -partitions partitions (replication factor 1), and keeps a trickle
// of -rate records a second going to random partitions. Then, for -runs
// rounds, a franz-go consumer of the whole topic polls for -duration
// with fetch sessions and one without (kgo.DisableFetchSessions), the
// order alternating by round. Each consumer's first -warmup is not
// counted (its first fetch is full either way and reads the backlog).
// For each it records every Fetch request's and answer's size (kgo's
// broker write and read hooks), the fetches a second, and the broker's
// CPU (utime+stime from /proc/<pid>/stat) over the counted span, and
// prints per-run figures and the medians.
//
// Usage: go run ./bench/fetchsession -rill /tmp/rill [-partitions 5000] [-runs 5] [-duration 10s]
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/bench"
)

func main() {
	rill := flag.String("rill", "", "the rill binary (build it without -race)")
	partitions := flag.Int("partitions", 5000, "partitions of the topic")
	runs := flag.Int("runs", 5, "rounds, each measuring both modes")
	duration := flag.Duration("duration", 10*time.Second, "counted span of each consumer")
	warmup := flag.Duration("warmup", 3*time.Second, "uncounted start of each consumer")
	rate := flag.Int("rate", 100, "records a second produced to random partitions, in tens (0: none)")
	maxWait := flag.Duration("max-wait", 500*time.Millisecond, "the consumer's fetch.max.wait")
	only := flag.String("only", "", "measure one mode: sessions or sessionless")
	cpuProfile := flag.String("cpuprofile", "", "the broker writes a CPU profile here")
	flag.Parse()
	if *rill == "" {
		fmt.Fprintln(os.Stderr, "-rill is required")
		os.Exit(2)
	}
	modes := []string{"sessions", "sessionless"}
	if *only != "" {
		modes = []string{*only}
	}
	if err := run(*rill, *cpuProfile, modes, *partitions, *runs, *duration, *warmup, *rate, *maxWait); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// sample is one consumer's counted span.
type sample struct {
	requestBytes, responseBytes int // medians per fetch
	fetchesPerSecond            float64
	cpuPercent                  float64 // the broker's, of one core
	cpuPerFetch                 float64 // the broker's CPU milliseconds per fetch
}

func run(rill, cpuProfile string, modes []string, partitions, runs int, duration, warmup time.Duration, rate int, maxWait time.Duration) error {
	dir, err := os.MkdirTemp("", "fetchsession-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args := []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--set", "admin.listeners="}
	if cpuProfile != "" {
		args = append(args, "--cpuprofile", cpuProfile)
	}
	fmt.Println("$", rill, strings.Join(args, " "))
	cmd := exec.Command(rill, args...)
	addrs, err := bench.Serve(cmd, nil, 1, 30*time.Second)
	if err != nil {
		return err
	}
	addr := addrs[0]
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }() // SIGTERM: the profile is written

	const topic = "sessions-bench"
	adm := kadm.NewClient(mustClient(addr))
	adm.SetTimeoutMillis(120_000) // thousands of partitions on a busy machine
	created := time.Now()
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, int32(partitions), 1, nil, topic); err != nil {
		// On a loaded machine the answer may time out while the
		// partitions are still being created: wait for them.
		fmt.Printf("creating %d partitions: %v; waiting for them\n", partitions, err)
		if err := waitPartitions(ctx, adm, topic, partitions); err != nil {
			return err
		}
	}
	// One record in every partition: each log is open and serving
	// before anything is measured.
	warm := mustClient(addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(5*time.Minute))
	var rs []*kgo.Record
	for p := range partitions {
		rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte("first")})
	}
	err = warm.ProduceSync(ctx, rs...).FirstErr()
	warm.Close()
	if err != nil {
		return fmt.Errorf("producing to every partition: %w", err)
	}
	fmt.Printf("created %d partitions and wrote one record to each in %v\n", partitions, time.Since(created).Round(time.Millisecond))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go trickle(&wg, stop, addr, topic, partitions, rate)
	defer func() { close(stop); wg.Wait() }()

	results := map[string][]sample{}
	for r := range runs {
		for i := range modes {
			mode := modes[(i+r)%len(modes)]
			s, err := measure(addr, topic, mode == "sessionless", cmd.Process.Pid, duration, warmup, maxWait)
			if err != nil {
				return err
			}
			fmt.Printf("run %d %-11s request %7d B  response %7d B  %5.1f fetches/s  broker CPU %5.1f%%  %5.2f ms/fetch\n",
				r+1, mode, s.requestBytes, s.responseBytes, s.fetchesPerSecond, s.cpuPercent, s.cpuPerFetch)
			results[mode] = append(results[mode], s)
		}
	}
	fmt.Printf("\nmedians of %d runs, %d partitions, %d records/s:\n", runs, partitions, rate)
	fmt.Println("| mode | Fetch request (B) | Fetch answer (B) | fetches/s | broker CPU (% of a core) | broker CPU per fetch (ms) |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, mode := range modes {
		ss := results[mode]
		fmt.Printf("| %s | %.0f | %.0f | %.1f | %.1f | %.2f |\n", mode,
			medianOf(ss, func(s sample) float64 { return float64(s.requestBytes) }),
			medianOf(ss, func(s sample) float64 { return float64(s.responseBytes) }),
			medianOf(ss, func(s sample) float64 { return s.fetchesPerSecond }),
			medianOf(ss, func(s sample) float64 { return s.cpuPercent }),
			medianOf(ss, func(s sample) float64 { return s.cpuPerFetch }))
	}
	return nil
}

// waitPartitions waits until topic has n partitions with a leader.
func waitPartitions(ctx context.Context, adm *kadm.Client, topic string, n int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		td, err := adm.ListTopics(ctx, topic)
		if err == nil && td.Has(topic) {
			ready := 0
			for _, p := range td[topic].Partitions {
				if p.Leader >= 0 && p.Err == nil {
					ready++
				}
			}
			if ready == n {
				return nil
			}
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("%s has not %d partitions after 5 minutes", topic, n)
}

func mustClient(addr string, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		panic(err) // only bad options fail here
	}
	return cl
}

// trickle produces rate records a second to random partitions, rate/10
// every 100 ms (0: none).
func trickle(wg *sync.WaitGroup, stop chan struct{}, addr, topic string, partitions, rate int) {
	defer wg.Done()
	cl := mustClient(addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	defer cl.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for range rate / 10 {
			cl.Produce(context.Background(), &kgo.Record{Topic: topic, Partition: int32(rand.IntN(partitions)), Value: []byte("trickle")}, nil)
		}
	}
}

// sizes records Fetch sizes once counting is on.
type sizes struct {
	mu                  sync.Mutex
	counting            bool
	requests, responses []int
}

func (s *sizes) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	s.record(key, n, err, &s.requests)
}

func (s *sizes) OnBrokerRead(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	s.record(key, n, err, &s.responses)
}

func (s *sizes) record(key int16, n int, err error, into *[]int) {
	if key != 1 || err != nil {
		return
	}
	s.mu.Lock()
	if s.counting {
		*into = append(*into, n)
	}
	s.mu.Unlock()
}

func measure(addr, topic string, sessionless bool, pid int, duration, warmup, maxWait time.Duration) (sample, error) {
	sz := &sizes{}
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(maxWait), kgo.WithHooks(sz)}
	if sessionless {
		opts = append(opts, kgo.DisableFetchSessions())
	}
	cl := mustClient(addr, opts...)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), warmup+duration)
	defer cancel()
	var cpu0 time.Duration
	var t0 time.Time
	warm := time.AfterFunc(warmup, func() {
		c, _ := bench.ProcessCPU(pid)
		sz.mu.Lock()
		sz.counting, cpu0, t0 = true, c, time.Now()
		sz.mu.Unlock()
	})
	defer warm.Stop()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil && ctx.Err() == nil {
			return sample{}, err
		}
	}
	cpu1, err := bench.ProcessCPU(pid)
	if err != nil {
		return sample{}, err
	}
	sz.mu.Lock()
	defer sz.mu.Unlock()
	elapsed := time.Since(t0).Seconds()
	cpu := (cpu1 - cpu0).Seconds()
	return sample{
		requestBytes:     median(sz.requests),
		responseBytes:    median(sz.responses),
		fetchesPerSecond: float64(len(sz.requests)) / elapsed,
		cpuPercent:       100 * cpu / elapsed,
		cpuPerFetch:      1000 * cpu / float64(max(len(sz.requests), 1)),
	}, nil
}

func median(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianOf(ss []sample, f func(sample) float64) float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = f(s)
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
