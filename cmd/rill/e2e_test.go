package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var rillBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rill-e2e")
	if err != nil {
		panic(err)
	}
	rillBin = filepath.Join(dir, "rill")
	// Every broker a test starts has its admin listener off unless the
	// test sets admin.listeners (--set wins over the environment): brokers
	// of parallel tests, or a `make run` on this machine, would all bind
	// the default 127.0.0.1:9644.
	os.Setenv("KAFKA_ADMIN_LISTENERS", "")
	if out, err := exec.Command("go", "build", "-race", "-o", rillBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building rill: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// broker is a `rill serve` process on an ephemeral loopback port.
type broker struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	logs *strings.Builder
	mu   *sync.Mutex
	done chan struct{}
}

var listening = regexp.MustCompile(`msg=listening .*?\baddr=(127\.0\.0\.1:\d+)`)

func startBroker(t *testing.T, dataDir string, extra ...string) *broker {
	t.Helper()
	return startBrokerAt(t, dataDir, "127.0.0.1:0", extra...)
}

// startBrokerAt starts a broker on a given address (":0" for any port).
func startBrokerAt(t *testing.T, dataDir, addr string, extra ...string) *broker {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--listen", addr}, extra...)
	return startBrokerCmd(t, exec.Command(rillBin, args...))
}

// startBrokerCmd starts a broker command (a `rill serve`, possibly under a
// wrapper such as a shell that sets limits) and waits until it listens.
func startBrokerCmd(t *testing.T, cmd *exec.Cmd) *broker {
	t.Helper()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &broker{t: t, cmd: cmd, logs: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			b.mu.Lock()
			b.logs.WriteString(line + "\n")
			b.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case addrCh <- m[1]: // the first listener's address
				default: // more listeners: never block the log reader
				}
			}
		}
		close(b.done)
	}()
	select {
	case b.addr = <-addrCh:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("broker did not start:\n%s", b.log())
	}
	t.Cleanup(func() { b.kill() })
	return b
}

func (b *broker) log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.logs.String()
}

// stop sends SIGTERM and waits for a clean exit.
func (b *broker) stop() {
	b.t.Helper()
	b.cmd.Process.Signal(syscall.SIGTERM)
	if err := b.cmd.Wait(); err != nil {
		b.t.Fatalf("broker exited with %v:\n%s", err, b.log())
	}
	<-b.done
	if !strings.Contains(b.log(), "clean shutdown") {
		b.t.Fatalf("no clean shutdown:\n%s", b.log())
	}
}

func (b *broker) kill() {
	if b.cmd.ProcessState == nil {
		b.cmd.Process.Signal(syscall.SIGKILL)
		b.cmd.Wait()
	}
}

func client(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

type rec struct {
	partition int32
	offset    int64
	key, val  string
}

func consumeAll(t *testing.T, addr, topic string, want int) []rec {
	t.Helper()
	cl := client(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []rec
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before timing out", len(out), want)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, rec{r.Partition, r.Offset, string(r.Key), string(r.Value)})
		})
	}
	return out
}

func TestProduceConsumeAllCodecs(t *testing.T) {
	for name, args := range map[string][]string{
		"netconn":          {"--set", "net.transport=netconn"},
		"netconn-sendfile": {"--set", "net.transport=netconn", "--set", "net.sendfile=true"},
		"gnet":             {"--set", "net.transport=gnet"},
	} {
		t.Run(name, func(t *testing.T) { produceConsumeAllCodecs(t, args) })
	}
}

func produceConsumeAllCodecs(t *testing.T, args []string) {
	dir := t.TempDir()
	b := startBroker(t, dir, args...)
	adm := kadm.NewClient(client(t, b.addr))
	ctx := context.Background()
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	const perCodec = 20000
	for name, codec := range codecs {
		topic := "codec-" + name
		if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		cl := client(t, b.addr, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic(topic))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for i := 0; i < perCodec; i++ {
			wg.Add(1)
			r := &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%100)), Value: []byte(fmt.Sprintf("%s-%08d", name, i))}
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			t.Fatalf("%s: produce: %v", name, firstErr)
		}
		got := consumeAll(t, b.addr, topic, perCodec)
		checkOrder(t, got, perCodec)
	}
	b.stop()
}

// checkOrder: every record once; per key (so per partition) in produce order.
func checkOrder(t *testing.T, got []rec, want int) {
	t.Helper()
	if len(got) != want {
		t.Fatalf("got %d records, want %d", len(got), want)
	}
	seen := map[string]bool{}
	lastByKey := map[string]string{}
	lastOffset := map[int32]int64{}
	for _, r := range got {
		if seen[r.val] {
			t.Fatalf("duplicate %s", r.val)
		}
		seen[r.val] = true
		if prev, ok := lastByKey[r.key]; ok && prev >= r.val[strings.LastIndexByte(r.val, '-'):] {
			t.Fatalf("key %s out of order: %s after %s", r.key, r.val, prev)
		}
		lastByKey[r.key] = r.val[strings.LastIndexByte(r.val, '-'):]
		if o, ok := lastOffset[r.partition]; ok && r.offset != o+1 {
			t.Fatalf("partition %d: offset %d after %d", r.partition, r.offset, o)
		}
		lastOffset[r.partition] = r.offset
	}
}

// Nothing acknowledged is lost across a clean restart and a SIGKILL.
func TestRestartKeepsAcknowledged(t *testing.T) {
	dir := t.TempDir()
	for round, how := range []string{"sigterm", "sigkill"} {
		b := startBroker(t, dir)
		cl := client(t, b.addr, kgo.DefaultProduceTopic("restart"), kgo.AllowAutoTopicCreation())
		ctx := context.Background()
		for i := 0; i < 5000; i++ {
			r := &kgo.Record{Value: []byte(fmt.Sprintf("r%d-%06d", round, i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v\n%s", i, err, b.log())
			}
		}
		cl.Close()
		if how == "sigterm" {
			b.stop()
		} else {
			b.kill()
		}
	}
	b := startBroker(t, dir)
	got := consumeAll(t, b.addr, "restart", 10000)
	if len(got) != 10000 || got[0].val != "r0-000000" || got[9999].val != "r1-004999" {
		t.Fatalf("after restarts: %d records, first %q last %q", len(got), got[0].val, got[len(got)-1].val)
	}
	b.stop()
}

// produceOne is an acks=all Produce of one batch to one partition (with
// the transactional id, when given), for tests that speak the protocol
// directly.
func produceOne(ctx context.Context, cl *kgo.Client, topic string, partition int32, txnID *string, timeoutMillis int32, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.TransactionID, req.Acks, req.TimeoutMillis = txnID, -1, timeoutMillis
	rt := kmsg.NewProduceRequestTopic()
	// kgo sends a raw request at the highest version both sides serve,
	// and Produce v13 names topics by id only: name it both ways (an id
	// not found is left zero, which the broker answers UNKNOWN_TOPIC_ID).
	rt.Topic = topic
	if td, err := kadm.NewClient(cl).ListTopics(ctx, topic); err == nil {
		rt.TopicID = td[topic].ID
	}
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}
