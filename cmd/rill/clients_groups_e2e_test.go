package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupTopic creates a topic with partitions and n records "v0".."v(n-1)"
// for the third-party group consumers to read.
func groupTopic(t *testing.T, addr, topic string, partitions int32, n int) {
	t.Helper()
	ctx := context.Background()
	// gzip: kafkajs reads no snappy (kgo's default) without a plugin.
	cl := client(t, addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerBatchCompression(kgo.GzipCompression()))
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		cl.Produce(ctx, kgo.StringRecord(fmt.Sprintf("v%d", i)), func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// requireCommittedToEnd waits until group has committed every partition
// of topic up to its end.
func requireCommittedToEnd(t *testing.T, addr, group string) {
	t.Helper()
	adm := kadm.NewClient(client(t, addr))
	deadline := time.Now().Add(30 * time.Second)
	for {
		lags, err := adm.Lag(context.Background(), group)
		l := lags[group]
		if err == nil && l.Error() == nil && l.Lag.Total() == 0 && len(l.Lag) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s did not commit to the end: %+v %v", group, l, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func requireAll(t *testing.T, seen map[string]bool, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprintf("v%d", i)] {
			t.Fatalf("v%d never consumed (%d distinct seen)", i, len(seen))
		}
	}
}

// saramaHandler records values and marks each message for commit.
type saramaHandler struct {
	mu   *sync.Mutex
	seen map[string]bool
}

func (saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		h.seen[string(m.Value)] = true
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

// Two sarama ConsumerGroup members share a topic.
func TestSaramaConsumerGroup(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	const topic, group, n = "sarama", "sarama-group", 2000
	groupTopic(t, b.addr, topic, 4, n)
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_0_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	h := saramaHandler{mu: &sync.Mutex{}, seen: map[string]bool{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		cg, err := sarama.NewConsumerGroup([]string{b.addr}, group, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cg.Close()
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
					t.Errorf("sarama consume: %v", err)
					return
				}
			}
		}()
	}
	for ctx.Err() == nil {
		h.mu.Lock()
		done := len(h.seen) == n
		h.mu.Unlock()
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	requireCommittedToEnd(t, b.addr, group)
	cancel()
	wg.Wait()
	requireAll(t, h.seen, n)
	b.stop()
}

// kafka-go's Reader in group mode (JoinGroup v1, OffsetCommit v2: the old
// versions) commits synchronously after each message.
func TestKafkaGoReaderGroup(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	const topic, group, n = "kafkago", "kafkago-group", 500
	groupTopic(t, b.addr, topic, 3, n)
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: []string{b.addr}, GroupID: group, Topic: topic,
		MaxWait: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, StartOffset: kafkago.FirstOffset,
	})
	seen := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(seen) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go read after %d: %v\n%s", len(seen), err, b.log())
		}
		seen[string(m.Value)] = true
	}
	requireAll(t, seen, n)
	requireCommittedToEnd(t, b.addr, group)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b.stop()
}

// kcat's balanced consumer (-G, librdkafka's KafkaConsumer) reads to the
// end of every partition and commits.
func TestKcatGroup(t *testing.T) {
	requireTool(t, "kcat")
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	const topic, group, n = "kcatg", "kcat-group", 1000
	groupTopic(t, b.addr, topic, 3, n)
	out, err := toolCommand(t, "kcat", "-b", b.addr, "-G", group, "-o", "beginning", "-e", "-q", "-f", "%s\n",
		"-X", "auto.commit.interval.ms=100", topic).CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -G: %v\n%s\n%s", err, out, b.log())
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		seen[l] = true
	}
	requireAll(t, seen, n)
	requireCommittedToEnd(t, b.addr, group)
	b.stop()
}

// Two kafkajs consumers in one group.
func TestKafkaJSConsumerGroup(t *testing.T) {
	script, _ := filepath.Abs("../../test/clients/kafkajs_group.js")
	requireTool(t, "node")
	requireTool(t, filepath.Join(filepath.Dir(script), "node_modules", "kafkajs"))
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	const topic, group, n = "kjsg", "kafkajs-group", 1000
	groupTopic(t, b.addr, topic, 4, n)
	out, err := toolCommand(t, "node", script, b.addr, topic, group, fmt.Sprint(n)).CombinedOutput()
	if err != nil {
		t.Fatalf("kafkajs group: %v\n%s\n%s", err, out, b.log())
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		seen[strings.Fields(l)[0]] = true
	}
	requireAll(t, seen, n)
	requireCommittedToEnd(t, b.addr, group)
	b.stop()
}
