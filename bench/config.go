package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config is a workload.
type Config struct {
	Brokers []string `json:"-"`
	// ClientOpts are kgo options every client of the workload takes
	// before its own (TLS, SASL, client ID: rill bench --command-config);
	// Brokers seeds them, overriding any seed brokers among these.
	ClientOpts []kgo.Opt `json:"-"`
	Topic      string    `json:"topic"`
	Records    int       `json:"records"`
	RecordSize int       `json:"record_size"`
	Partitions int32     `json:"partitions"`
	// ReplicationFactor is a created topic's (-1: the broker's default).
	ReplicationFactor int16  `json:"replication_factor"`
	Producers         int    `json:"producers"`
	Acks              string `json:"acks"`
	Idempotent        bool   `json:"idempotent"`
	Compression       string `json:"compression"`
	// LingerMillis and BatchBytes are linger.ms and batch.size.
	LingerMillis int `json:"linger_ms"`
	BatchBytes   int `json:"batch_bytes"`
	// Rate paces producers to this many records/s in all (0: as fast as
	// the broker acknowledges).
	Rate int `json:"rate,omitempty"`
	// WarmupSeconds of latencies are left out of the percentiles.
	WarmupSeconds int `json:"warmup_seconds,omitempty"`
	// Transactional producers (each its own transactional id) commit a
	// transaction every TxnRecords records or TxnMillis milliseconds,
	// whichever comes first (0: no bound of that kind; with neither, one
	// transaction per producer). Needs acks=all and idempotence.
	Transactional bool `json:"transactional,omitempty"`
	TxnRecords    int  `json:"txn_records,omitempty"`
	TxnMillis     int  `json:"txn_ms,omitempty"`
}

// DefaultConfig is 100,000 records of 1 KiB over 4 partitions (replication
// factor 1), acks=all,
// idempotent, uncompressed, kgo's default linger (0) and 1 MB batches.
func DefaultConfig() Config {
	return Config{Topic: "rill-bench", Records: 100_000, RecordSize: 1024, Partitions: 4, ReplicationFactor: 1, Producers: 1,
		Acks: "all", Idempotent: true, Compression: "none", BatchBytes: 1 << 20}
}

func (c Config) validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("bench: no brokers")
	case c.Records <= 0 || c.RecordSize < 8 || c.Partitions <= 0 || c.Producers <= 0:
		return errors.New("bench: records, partitions and producers must be positive and record size at least 8 bytes")
	case c.Idempotent && c.Acks != "all":
		return errors.New("bench: idempotence needs acks=all")
	case c.Transactional && (!c.Idempotent || c.Acks != "all"):
		return errors.New("bench: transactions need an idempotent producer with acks=all")
	case c.TxnRecords < 0 || c.TxnMillis < 0:
		return errors.New("bench: transaction bounds must not be negative")
	}
	return nil
}

func (c Config) producerOpts() ([]kgo.Opt, error) {
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	codec, ok := codecs[c.Compression]
	if !ok {
		return nil, fmt.Errorf("bench: unknown compression %q", c.Compression)
	}
	opts := c.clientOpts(kgo.DefaultProduceTopic(c.Topic), kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(time.Duration(c.LingerMillis)*time.Millisecond), kgo.ProducerBatchMaxBytes(int32(c.BatchBytes)),
		kgo.MaxBufferedRecords(max(10_000, 4*c.BatchBytes/c.RecordSize)))
	switch c.Acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	default:
		return nil, fmt.Errorf("bench: acks %q: want 0, 1 or all", c.Acks)
	}
	if !c.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts, nil
}

// clientOpts are the options of every client the workload makes:
// ClientOpts, the seed brokers, then extra.
func (c Config) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	opts := append(append([]kgo.Opt(nil), c.ClientOpts...), kgo.SeedBrokers(c.Brokers...))
	return append(opts, extra...)
}

// EnsureTopic creates the topic with the configured partitions if it does
// not exist.
func EnsureTopic(ctx context.Context, c Config) error {
	cl, err := kgo.NewClient(c.clientOpts()...)
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := kadm.NewClient(cl).CreateTopic(ctx, c.Partitions, c.ReplicationFactor, nil, c.Topic)
	if err == nil {
		err = res.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	return err
}
