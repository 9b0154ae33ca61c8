package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// With log.open.files.max a broker holds more partitions than its
// descriptor limit: 2,000 partitions under `ulimit -n 1024` are created,
// produced to and read back, across a clean restart and a SIGKILL
// (issue 16). Without the cap the creation fails (TestTopicCreationAllOrNothing).
func TestPartitionsBeyondTheFileLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 partitions")
	}
	const parts = 2000
	dir := t.TempDir()
	start := func() *broker {
		cmd := exec.Command("sh", "-c", `ulimit -n 1024 && exec "$0" "$@"`, rillBin, "serve", "--data-dir", dir,
			"--listen", "127.0.0.1:0", "--set", "log.open.files.max=256")
		return startBrokerCmd(t, cmd)
	}
	b := start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	adm := kadm.NewClient(client(t, b.addr))
	resp, err := adm.CreateTopic(ctx, parts, 1, nil, "wide")
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.RequestTimedOut) {
		// As on Kafka, the creation goes on past the request's timeout
		// (a loaded CI machine): wait until every partition has its
		// leader.
		err = waitPartitionsLed(ctx, adm, "wide", parts)
	}
	if err != nil {
		t.Fatalf("creating %d partitions under a 1024 descriptor limit: %v\n%s", parts, err, b.log())
	}
	cl := client(t, b.addr, kgo.DefaultProduceTopic("wide"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	want := map[string]int32{}
	for round := range 2 {
		var recs []*kgo.Record
		for p := range int32(parts) {
			v := fmt.Sprintf("p%d-r%d", p, round)
			want[v] = p
			recs = append(recs, &kgo.Record{Partition: p, Value: []byte(v)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce round %d: %v\n%s", round, err, b.log())
		}
	}
	cl.Close()
	check := func(when string, addr string) {
		t.Helper()
		got := consumeAll(t, addr, "wide", len(want))
		seen := map[string]bool{}
		for _, r := range got {
			if p, ok := want[r.val]; !ok || p != r.partition || seen[r.val] {
				t.Fatalf("%s: unexpected record %q in partition %d (duplicate %v)", when, r.val, r.partition, seen[r.val])
			}
			seen[r.val] = true
		}
		if len(seen) != len(want) {
			t.Fatalf("%s: read %d of %d records", when, len(seen), len(want))
		}
	}
	check("before restarting", b.addr)
	b.stop()

	b = start()
	check("after a clean restart", b.addr)
	b.kill()

	b = start()
	check("after SIGKILL", b.addr)
	b.stop()
}

// waitPartitionsLed waits until topic has n partitions, each with a leader.
func waitPartitionsLed(ctx context.Context, adm *kadm.Client, topic string, n int) error {
	for {
		td, err := adm.ListTopics(ctx, topic)
		if err == nil {
			led := 0
			for _, p := range td[topic].Partitions {
				if p.Leader >= 0 && p.Err == nil {
					led++
				}
			}
			if led == n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d partitions of %s not all led: %w", n, topic, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
