package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchSizes records the size of every Fetch request and response a kgo
// client sends and reads, to see its fetch session from outside.
type fetchSizes struct {
	mu                  sync.Mutex
	requests, responses []int
}

func (f *fetchSizes) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	if key == 1 && err == nil {
		f.mu.Lock()
		f.requests = append(f.requests, n)
		f.mu.Unlock()
	}
}

func (f *fetchSizes) OnBrokerRead(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	if key == 1 && err == nil {
		f.mu.Lock()
		f.responses = append(f.responses, n)
		f.mu.Unlock()
	}
}

func (f *fetchSizes) snapshot() (req, resp []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests), slices.Clone(f.responses)
}

// produceSequence produces n records to each of parts partitions of
// topic, valued partition:sequence from start.
func produceSequence(t *testing.T, cl *kgo.Client, topic string, parts, start, n int) {
	t.Helper()
	var rs []*kgo.Record
	for i := start; i < start+n; i++ {
		for p := range parts {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(p), Value: fmt.Appendf(nil, "%d:%d", p, i)})
		}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// kgo keeps an incremental fetch session over many partitions: after
// its first (full) request, its requests name only partitions whose
// position moved, so they are much smaller than the full one; records
// arrive in order, including those produced while the session is open.
func TestFetchSessionKgoIncremental(t *testing.T) {
	const topic, parts, perPart = "sessions", 64, 20
	b := startBroker(t, t.TempDir())
	adm := kadm.NewClient(client(t, b.addr))
	if _, err := adm.CreateTopic(context.Background(), parts, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	prod := client(t, b.addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSequence(t, prod, topic, parts, 0, perPart)

	sizes := &fetchSizes{}
	cons := client(t, b.addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond), kgo.WithHooks(sizes))
	next := map[int32]int{} // the sequence each partition expects next
	consume := func(total int) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for got := 0; got < total; {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d before timing out:\n%s", got, total, b.log())
			}
			fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
			fs.EachRecord(func(r *kgo.Record) {
				want := fmt.Sprintf("%d:%d", r.Partition, next[r.Partition])
				if string(r.Value) != want {
					t.Fatalf("partition %d offset %d: %q, want %q", r.Partition, r.Offset, r.Value, want)
				}
				next[r.Partition]++
				got++
			})
		}
	}
	consume(parts * perPart)
	// More records while the session is open, then idle polls.
	produceSequence(t, prod, topic, parts, perPart, perPart)
	consume(parts * perPart)
	time.Sleep(time.Second)

	reqs, resps := sizes.snapshot()
	if len(reqs) < 4 {
		t.Fatalf("only %d fetch requests", len(reqs))
	}
	// The largest request is a full one: kgo may open the session with
	// the partitions whose offsets it has so far and send a full request
	// again when it adds the rest, so it need not be the first.
	full := slices.Max(reqs)
	var small int
	for _, n := range reqs {
		if n < full/4 {
			small++
		}
	}
	// A full request over 64 partitions is well over a kilobyte; an
	// incremental one naming few partitions is a small fraction of it,
	// and the idle polls at the end name none. Sessionless, every request
	// names all 64.
	if full < 1000 || small < len(reqs)/2 || reqs[len(reqs)-1] >= full/4 {
		t.Errorf("fetch requests %v: want a full one (> 1000 B) and mostly incremental ones (< %d B), the last among them", reqs, full/4)
	}
	// Idle incremental answers carry no partitions.
	if last := resps[len(resps)-1]; last > 100 {
		t.Errorf("idle fetch answer of %d bytes, want an empty incremental answer (responses %v)", last, resps)
	}
}

// kafka-go's Client.Fetch sends session id -1, epoch -1: sessionless
// (KIP-227's final epoch), answered with data.
func TestFetchSessionlessKafkaGo(t *testing.T) {
	const topic = "kafkago-fetch"
	b := startBroker(t, t.TempDir())
	adm := kadm.NewClient(client(t, b.addr))
	if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	produceSequence(t, client(t, b.addr, kgo.RecordPartitioner(kgo.ManualPartitioner())), topic, 1, 0, 10)

	cl := &kafka.Client{Addr: kafka.TCP(b.addr), Timeout: 10 * time.Second}
	for _, from := range []int64{0, 4} {
		resp, err := cl.Fetch(context.Background(), &kafka.FetchRequest{Topic: topic, Partition: 0, Offset: from, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Error != nil {
			t.Fatalf("fetch from %d: %v", from, resp.Error)
		}
		if resp.HighWatermark != 10 {
			t.Errorf("high watermark %d, want 10", resp.HighWatermark)
		}
		var got []string
		for {
			r, err := resp.Records.ReadRecord()
			if err != nil {
				break
			}
			if r.Offset < from {
				continue // the batch holding from starts before it
			}
			v := make([]byte, 16)
			n, _ := r.Value.Read(v)
			got = append(got, strconv.FormatInt(r.Offset, 10)+"="+string(v[:n]))
		}
		if len(got) != int(10-from) || got[0] != fmt.Sprintf("%d=0:%d", from, from) {
			t.Errorf("fetch from %d: %v", from, got)
		}
	}
}
