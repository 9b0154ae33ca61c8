package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/internal/history"
)

// The ETL process: when the test binary runs with RILL_ETL_BROKERS set,
// TestETLProcess is a consume-transform-produce loop (franz-go's
// GroupTransactSession) from "in" to "out" that the tests below kill and
// restart. It prints "committed" after each committed transaction.
func TestETLProcess(t *testing.T) {
	brokers := os.Getenv("RILL_ETL_BROKERS")
	if brokers == "" {
		t.Skip("run by the exactly-once tests as their ETL process")
	}
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(strings.Split(brokers, ",")...),
		kgo.TransactionalID("etl"),
		kgo.TransactionTimeout(10*time.Second),
		kgo.ConsumerGroup("etl-group"),
		kgo.InstanceID("etl-1"), // a restarted process takes the old one's place at once
		kgo.SessionTimeout(6*time.Second),
		kgo.ConsumeTopics("in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.DefaultProduceTopic("out"),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil)),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	ctx := context.Background()
	for {
		fs := sess.PollRecords(ctx, 50) // small transactions: more of them to kill
		fs.EachError(func(topic string, p int32, err error) { fmt.Fprintf(os.Stderr, "fetch %s-%d: %v\n", topic, p, err) })
		if fs.NumRecords() == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			fmt.Fprintf(os.Stderr, "begin: %v\n", err)
			continue
		}
		fs.EachRecord(func(r *kgo.Record) {
			sess.Produce(ctx, &kgo.Record{Key: r.Key, Value: append([]byte("out-"), r.Value...)}, nil)
		})
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			fmt.Fprintf(os.Stderr, "end: %v\n", err)
		}
		if committed {
			fmt.Println("committed", fs.NumRecords())
		}
	}
}

// etlProcess is a running ETL process.
type etlProcess struct {
	cmd       *exec.Cmd
	committed chan int
	mu        sync.Mutex
	stderr    strings.Builder
}

func startETL(t *testing.T, brokers []string) *etlProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestETLProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RILL_ETL_BROKERS="+strings.Join(brokers, ","))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	e := &etlProcess{cmd: cmd, committed: make(chan int, 1<<16)}
	cmd.Stderr = &lockedWriter{mu: &e.mu, b: &e.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var n int
			if _, err := fmt.Sscanf(sc.Text(), "committed %d", &n); err == nil {
				e.committed <- n
			}
		}
	}()
	t.Cleanup(e.kill)
	return e
}

func (e *etlProcess) kill() {
	if e.cmd.ProcessState == nil {
		e.cmd.Process.Kill()
		e.cmd.Wait()
	}
}

func (e *etlProcess) log() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// runETLWithKills writes n input records, then runs the ETL process,
// SIGKILLing it (and calling chaos, if any) every few committed
// transactions, until the output holds every input; then it checks the
// output read_committed for exactly-once: every input once, nothing else.
func runETLWithKills(t *testing.T, brokers []string, n, kills int, chaos func(round int), logs func() string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	adm := kadm.NewClient(client(t, brokers[0], kgo.SeedBrokers(brokers...)))
	for _, topic := range []string{"in", "out"} {
		if resp, err := adm.CreateTopic(ctx, 3, int16(min(len(brokers), 3)), nil, topic); err != nil || resp.Err != nil {
			t.Fatalf("create %s: %v %v", topic, err, resp.Err)
		}
	}
	var inputs []string
	prod := client(t, brokers[0], kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("in"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := range n {
		v := fmt.Sprintf("in-%05d", i)
		inputs = append(inputs, "out-"+v)
		prod.Produce(ctx, kgo.StringRecord(v), func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce input: %v", err)
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var etl *etlProcess
	for round := 0; round <= kills; round++ {
		etl = startETL(t, brokers)
		if round == kills {
			break
		}
		// Let it commit a few transactions, then kill it, often in the
		// middle of the next one.
		for range 1 + rng.IntN(4) {
			select {
			case <-etl.committed:
			case <-time.After(20 * time.Second):
				// Done already, or stuck: the final check tells.
			}
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		etl.kill()
		if chaos != nil {
			chaos(round)
		}
	}

	// The last ETL process runs to the end: the output's committed end
	// reaches n records.
	cons := client(t, brokers[0], kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	var outputs []history.Read
	deadline := time.Now().Add(2 * time.Minute)
	for len(outputs) < n && time.Now().Before(deadline) {
		pctx, c := context.WithTimeout(ctx, 5*time.Second)
		fs := cons.PollFetches(pctx)
		c()
		fs.EachRecord(func(r *kgo.Record) {
			outputs = append(outputs, history.Read{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
		})
	}
	// A little more, for duplicates past n.
	pctx, c := context.WithTimeout(ctx, time.Second)
	cons.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
		outputs = append(outputs, history.Read{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
	})
	c()
	etl.kill()
	rep := history.CheckExactlyOnce(inputs, outputs)
	if !rep.OK() {
		t.Fatalf("exactly-once violated after %d kills: %v\nETL:\n%s\n%s", kills, rep, etl.log(), logs())
	}
	// The group's committed offsets are the input's end.
	offs, err := adm.FetchOffsets(ctx, "etl-group")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	offs.Each(func(o kadm.OffsetResponse) { total += o.At })
	if total != int64(n) {
		t.Fatalf("committed offsets sum to %d, want %d: %v", total, n, offs)
	}
	t.Logf("exactly-once: %d inputs, %d outputs, %d ETL kills", n, len(outputs), kills)
}

// Exactly-once on one node: the ETL process is SIGKILLed repeatedly, in
// and between transactions.
func TestExactlyOnceETLKilled(t *testing.T) {
	b := startBroker(t, t.TempDir())
	runETLWithKills(t, []string{b.addr}, 2000, 5, nil, b.log)
}

// Exactly-once on three nodes: the ETL process is SIGKILLed, and each
// round also SIGKILLs and restarts a broker (in turn: the coordinators and
// partition leaders move).
func TestExactlyOnceETLClusterKills(t *testing.T) {
	c := startCluster(t)
	c.waitFor("three brokers", func() bool {
		bs, err := c.admin(0).ListBrokers(context.Background())
		return err == nil && len(bs) == 3
	})
	runETLWithKills(t, c.addrs, 2000, 4, func(round int) {
		i := round % 3
		c.bs[i].kill()
		c.start(i)
	}, c.logs)
}
