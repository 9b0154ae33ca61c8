package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"net"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

// The prebuilt batches decode with kmsg (not our format package), carry a
// CRC-32C that checks over the bytes after it, and hold the records asked
// for; compressed ones decompress with kgo's decompressor.
func TestBuildBatches(t *testing.T) {
	ts := time.UnixMilli(1_700_000_000_000)
	for _, codec := range []string{"none", "zstd", "lz4"} {
		batches, err := BuildBatches(3, 10, 100, codec, ts)
		if err != nil {
			t.Fatal(err)
		}
		for i, raw := range batches {
			var b kmsg.RecordBatch
			if err := b.ReadFrom(raw); err != nil {
				t.Fatalf("%s batch %d: %v", codec, i, err)
			}
			if b.Magic != 2 || b.NumRecords != 10 || b.LastOffsetDelta != 9 || b.ProducerID != -1 || b.FirstTimestamp != ts.UnixMilli() {
				t.Fatalf("%s batch %d header: %+v", codec, i, b)
			}
			if want := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)); uint32(b.CRC) != want {
				t.Fatalf("%s batch %d: crc %08x, want %08x", codec, i, uint32(b.CRC), want)
			}
			if int(b.Length)+12 != len(raw) {
				t.Fatalf("%s batch %d: length %d for %d bytes", codec, i, b.Length, len(raw))
			}
			records := b.Records
			if codec != "none" {
				ct := map[string]kgo.CompressionCodecType{"zstd": kgo.CodecZstd, "lz4": kgo.CodecLz4}[codec]
				if kgo.CompressionCodecType(b.Attributes&7) != ct {
					t.Fatalf("%s batch %d: attributes %x", codec, i, b.Attributes)
				}
				if records, err = kgo.DefaultDecompressor().Decompress(b.Records, ct); err != nil {
					t.Fatalf("%s batch %d: %v", codec, i, err)
				}
			}
			for j := range 10 {
				n, w := binary.Varint(records)
				var r kmsg.Record
				if w <= 0 || r.ReadFrom(records[:w+int(n)]) != nil || r.OffsetDelta != int32(j) || len(r.Value) != 100 {
					t.Fatalf("%s batch %d record %d: %+v", codec, i, j, r)
				}
				records = records[w+int(n):]
			}
			if len(records) != 0 {
				t.Fatalf("%s batch %d: %d bytes after the records", codec, i, len(records))
			}
		}
		if bytes.Equal(batches[0], batches[1]) {
			t.Fatalf("%s: batches 0 and 1 are the same", codec)
		}
	}
	if _, err := BuildBatches(1, 1, 1, "brotli", ts); err == nil {
		t.Fatal("unknown codec accepted")
	}
}

func TestConnPartitions(t *testing.T) {
	for _, c := range []struct {
		conns int
		parts int32
		want  [][]int32
	}{
		{2, 4, [][]int32{{0, 2}, {1, 3}}},
		{4, 4, [][]int32{{0}, {1}, {2}, {3}}},
		{6, 4, [][]int32{{0}, {1}, {2}, {3}, {0}, {1}}},
	} {
		got := connPartitions(c.conns, c.parts)
		if len(got) != len(c.want) {
			t.Fatalf("%d conns over %d: %v", c.conns, c.parts, got)
		}
		for i := range got {
			if !equalInt32s(got[i], c.want[i]) {
				t.Fatalf("%d conns over %d: %v, want %v", c.conns, c.parts, got, c.want)
			}
		}
	}
}

func equalInt32s(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The cursors tile each partition's range exactly: contiguous, disjoint,
// covering [start, end).
func TestSplitRanges(t *testing.T) {
	starts, ends := []int64{0, 10, 5}, []int64{1000, 10, 6}
	cursors := splitRanges(8, starts, ends)
	next := append([]int64(nil), starts...)
	for _, c := range cursors {
		if c.from != next[c.partition] || c.to < c.from || c.next != c.from {
			t.Fatalf("cursor %+v after %v", c, next)
		}
		next[c.partition] = c.to
	}
	for p := range ends {
		if next[p] != ends[p] {
			t.Fatalf("partition %d covered to %d, want %d", p, next[p], ends[p])
		}
	}
}

// A batch counts for the cursor whose range holds its base offset; a cut
// batch at the end of a response is neither counted nor skipped.
func TestCursorAdvance(t *testing.T) {
	batches, err := BuildBatches(3, 10, 50, "none", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var log []byte
	for i, b := range batches {
		b = append([]byte(nil), b...)
		format.Batch(b).SetBaseOffset(int64(i * 10))
		log = append(log, b...)
	}
	size := int64(len(batches[0]))

	// [15, 25): gets batch 10-19 (not its own), counts 20-29, is done.
	c := &cursor{partition: 0, from: 15, to: 25, next: 15}
	records, n, err := c.advance(log[size:])
	if err != nil || records != 10 || n != size || !c.done() || c.next != 30 {
		t.Fatalf("advance: %d records %d bytes err %v, cursor %+v", records, n, err, c)
	}

	// [0, 15) with the response cut inside the second batch: counts the
	// first, waits at 10 for the second.
	c = &cursor{partition: 0, from: 0, to: 15, next: 0}
	records, n, err = c.advance(log[:size+size/2])
	if err != nil || records != 10 || n != size || c.done() || c.next != 10 {
		t.Fatalf("cut: %d records %d bytes err %v, cursor %+v", records, n, err, c)
	}
	records, n, err = c.advance(log[size:])
	if err != nil || records != 10 || n != size || !c.done() {
		t.Fatalf("rest: %d records %d bytes err %v, cursor %+v", records, n, err, c)
	}

	// Empty responses fail the run after maxStalls.
	c = &cursor{partition: 0, from: 0, to: 15, next: 0}
	for i := 0; i <= maxStalls; i++ {
		_, _, err = c.advance(nil)
	}
	if err == nil {
		t.Fatal("no error after the stalls")
	}
}

func TestParseStatCPU(t *testing.T) {
	// comm with a space and a parenthesis; utime 250, stime 150 ticks.
	stat := "4242 (rill (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 12 0 100 0 0"
	d, err := parseStatCPU(stat)
	if err != nil || d != 4*time.Second {
		t.Fatalf("parseStatCPU: %v %v", d, err)
	}
	if _, err := parseStatCPU("4242 (rill) S 1"); err == nil {
		t.Fatal("short stat accepted")
	}
}

// ProcessCPU of this process sees CPU it burns; ListenerPID finds it
// behind a socket it listens on.
func TestProcessCPUAndListenerPID(t *testing.T) {
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := ProcessCPU(os.Getpid())
	if err != nil || after-before < 100*time.Millisecond {
		t.Fatalf("ProcessCPU: %v to %v (%v)", before, after, err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pid, err := ListenerPID(l.Addr().(*net.TCPAddr).Port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("ListenerPID: %d (%v), want %d", pid, err, os.Getpid())
	}
}

// A bounded produce run against an in-memory Rill: the log end offsets
// add up to the records acknowledged, and a consume run reads back exactly
// those records and bytes.
func TestLoadProduceConsume(t *testing.T) {
	addr := broker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := DefaultLoadConfig()
	cfg.Broker, cfg.Topic, cfg.Partitions = addr, "load", 3
	cfg.RecordSize, cfg.RecordsPerBatch, cfg.Batches = 100, 50, 4
	cfg.Connections, cfg.InFlight, cfg.Records, cfg.Duration = 2, 3, 10_000, 30*time.Second
	cfg.BrokerPID = os.Getpid() // the broker is in this process
	prod, err := Load(ctx, "produce", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Connection 0 carries partitions 0 and 2 (100 records a request),
	// so the bound stops the run within 100 records of it.
	if prod.Records > 10_000 || prod.Records < 9_900 || prod.Bytes <= prod.Records*100 || prod.Latency == nil {
		t.Fatalf("produce: %+v", prod)
	}
	if prod.BrokerCPUSeconds <= 0 || prod.LoaderCPUSeconds <= 0 || prod.GBPerSec <= 0 {
		t.Fatalf("produce CPU and rate: %+v", prod)
	}
	_, ends, err := offsetBounds(ctx, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if sum := ends[0] + ends[1] + ends[2]; sum != prod.Records {
		t.Fatalf("end offsets %v add to %d, produced %d", ends, sum, prod.Records)
	}

	cfg.FetchBytes = 3000 // a few batches a fetch, so cursors fetch many times
	cons, err := Load(ctx, "consume", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cons.Records != prod.Records || cons.Bytes != prod.Bytes {
		t.Fatalf("consumed %d records %d bytes, produced %d records %d bytes", cons.Records, cons.Bytes, prod.Records, prod.Bytes)
	}

	// One connection with one fetch in flight still reads every
	// partition: a cursor each.
	cfg.Connections, cfg.InFlight = 1, 1
	if cons, err = Load(ctx, "consume", cfg, nil); err != nil || cons.Records != prod.Records {
		t.Fatalf("one cursor a partition: %d records (%v), produced %d", cons.Records, err, prod.Records)
	}

	cfg.Acks = 0
	if _, err := Load(ctx, "produce", cfg, nil); err == nil {
		t.Fatal("acks=0 accepted")
	}
}

// Batches compressed up front are taken by the broker (acks=all) and read
// back whole: the consume mode counts the compressed batch bytes.
func TestLoadCompressed(t *testing.T) {
	addr := broker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := DefaultLoadConfig()
	cfg.Broker, cfg.Topic, cfg.Partitions, cfg.Acks = addr, "load-zstd", 2, -1
	cfg.RecordSize, cfg.RecordsPerBatch, cfg.Batches, cfg.Compression = 100, 20, 2, "zstd"
	cfg.Connections, cfg.InFlight, cfg.Records, cfg.Duration = 2, 2, 1000, 30*time.Second
	prod, err := Load(ctx, "produce", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if prod.Records != 1000 {
		t.Fatalf("produced %d records, want 1000 (requests of 20)", prod.Records)
	}
	cons, err := Load(ctx, "consume", cfg, nil)
	if err != nil || cons.Records != prod.Records || cons.Bytes != prod.Bytes {
		t.Fatalf("consumed %d records %d bytes (%v), produced %d records %d bytes", cons.Records, cons.Bytes, err, prod.Records, prod.Bytes)
	}
}
