package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rillmq/rill/bench"
)

// rill bench load against a real `rill serve`: the records a bounded
// produce run reports acknowledged are the broker's log end offsets, kgo
// consumes them as ordinary records, and the consume mode reads back the
// same records and bytes; --broker-pid auto finds the serve process.
func TestBenchLoad(t *testing.T) {
	b := startBroker(t, t.TempDir())
	dir := t.TempDir()
	common := []string{"bench", "load", "--bootstrap", b.addr, "--topic", "load-e2e", "--partitions", "4",
		"--record-size", "200", "--records-per-batch", "100", "--batches", "4", "--connections", "3", "--in-flight", "3",
		"--duration", "30s", "--timeout", "60s", "--broker-pid", "auto"}
	read := func(path string) bench.LoadResult {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var r bench.LoadResult
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}

	prodJSON := filepath.Join(dir, "produce.json")
	out := rill(t, "", append(common, "--mode", "produce", "--records", "20000", "--acks", "all", "--json", prodJSON)...)
	if !strings.Contains(out, "load-produce:") || !strings.Contains(out, "broker CPU") {
		t.Fatalf("produce: %s", out)
	}
	prod := read(prodJSON)
	// Connection 0 carries partitions 0 and 3: 200 records a request.
	if prod.Records > 20_000 || prod.Records < 19_800 || prod.Load.BrokerPID != b.cmd.Process.Pid || prod.BrokerCPUSeconds <= 0 {
		t.Fatalf("produce result: %+v", prod)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(client(t, b.addr)).ListEndOffsets(ctx, "load-e2e")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	if sum != prod.Records {
		t.Fatalf("log end offsets add to %d, produced %d", sum, prod.Records)
	}

	got := consumeAll(t, b.addr, "load-e2e", int(prod.Records))
	perPartition := map[int32]int64{}
	for _, r := range got {
		if len(r.val) != 200 || r.offset != perPartition[r.partition] {
			t.Fatalf("record %d/%d with %d bytes, want offset %d and 200 bytes", r.partition, r.offset, len(r.val), perPartition[r.partition])
		}
		perPartition[r.partition]++
	}

	consJSON := filepath.Join(dir, "consume.json")
	rill(t, "", append(common, "--mode", "consume", "--fetch-bytes", "100000", "--json", consJSON)...)
	cons := read(consJSON)
	if cons.Records != prod.Records || cons.Bytes != prod.Bytes {
		t.Fatalf("consume read %d records %d bytes, produced %d records %d bytes", cons.Records, cons.Bytes, prod.Records, prod.Bytes)
	}
}
