package bench

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

var loadCodecs = map[string]format.Codec{"none": format.CodecNone, "gzip": format.CodecGzip,
	"snappy": format.CodecSnappy, "lz4": format.CodecLZ4, "zstd": format.CodecZstd}

// BuildBatches returns n distinct RecordBatch v2 batches of records records
// of size bytes each, compressed with codec ("none", "gzip", "snappy",
// "lz4" or "zstd"), stamped ts, base offset 0, no producer id (so a broker
// takes them without idempotence) and their CRC set. Values are
// incompressible like Payload's, from a seed per batch, so batches differ
// and compression saves nothing: with a codec the run measures the
// broker's handling of compressed batches, not a compression ratio.
func BuildBatches(n, records, size int, codec string, ts time.Time) ([][]byte, error) {
	c, ok := loadCodecs[codec]
	if !ok {
		return nil, fmt.Errorf("bench: unknown compression %q", codec)
	}
	batches := make([][]byte, n)
	for i := range batches {
		rng := rand.New(rand.NewSource(int64(i) + 1))
		values := make([][]byte, records)
		for j := range values {
			values[j] = make([]byte, size)
			rng.Read(values[j])
		}
		batches[i] = format.SimpleBatch(c, ts.UnixMilli(), nil, values)
	}
	return batches, nil
}

// produceBody is one prebuilt Produce request: its encoded body, and the
// records and batch bytes it carries.
type produceBody struct {
	body    []byte
	records int64
	bytes   int64
}

// produceBodies encodes, once, the Produce requests one connection sends
// in turn: request j carries one batch for each of the connection's
// partitions, batches taken round-robin from j on, so consecutive requests
// and partitions carry different bytes.
func produceBodies(cfg LoadConfig, batches [][]byte, partitions []int32, recordsPerBatch int) []produceBody {
	bodies := make([]produceBody, len(batches))
	for j := range bodies {
		req := kmsg.NewProduceRequest()
		req.SetVersion(loadProduceVersion)
		req.Acks = cfg.Acks
		req.TimeoutMillis = 30_000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = cfg.Topic
		pb := produceBody{}
		for k, p := range partitions {
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Partition = p
			rp.Records = batches[(j+k)%len(batches)]
			rt.Partitions = append(rt.Partitions, rp)
			pb.records += int64(recordsPerBatch)
			pb.bytes += int64(len(rp.Records))
		}
		req.Topics = append(req.Topics, rt)
		pb.body = req.AppendTo(nil)
		bodies[j] = pb
	}
	return bodies
}

// connPartitions spreads partitions over connections: round-robin when
// there are at least as many partitions, else each connection takes one
// partition (several connections then write the same partition).
func connPartitions(conns int, partitions int32) [][]int32 {
	out := make([][]int32, conns)
	if int(partitions) >= conns {
		for p := range partitions {
			out[int(p)%conns] = append(out[int(p)%conns], p)
		}
		return out
	}
	for c := range out {
		out[c] = []int32{int32(c) % partitions}
	}
	return out
}
