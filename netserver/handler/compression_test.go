package handler

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/netserver/authz"
)

// Produce below v7 may not carry zstd (KIP-110): such a partition answers
// UNSUPPORTED_COMPRESSION_TYPE and nothing is written, after the topic's
// authorization and existence as in Kafka's KafkaApis; other codecs at
// those versions, and zstd from v7, are appended. Fetch serves the zstd
// batches at every version, Kafka 4's behaviour (compression.go).
func TestZstdByVersion(t *testing.T) {
	requireServed(t, 0, 3)
	requireServed(t, 1, 4)
	b, acls := authzBroker(t, authz.Config{})
	acls.allow(alice, authz.OpWrite, authz.ResourceTopic, "t")
	batch := func(codec format.Codec) []byte {
		return format.SimpleBatch(codec, 1, nil, [][]byte{[]byte("value-value-value-value")})
	}
	produce := func(principal, topic string, partition int32, records []byte, version int16) (int16, int64) {
		t.Helper()
		req := produceRequest(t, topic, partition, nil)
		req.Topics[0].Partitions[0].Records = records
		resp := sendAs[*kmsg.ProduceResponse](t, b, principal, req, version)
		sp := resp.Topics[0].Partitions[0]
		return sp.ErrorCode, sp.BaseOffset
	}
	unsupported := kerr.UnsupportedCompressionType.Code
	zstd := batch(format.CodecZstd)
	offset := int64(0)
	for _, c := range []struct {
		principal, topic string
		partition        int32
		records          []byte
		version          int16
		code             int16
	}{
		{alice, "t", 0, zstd, 3, unsupported},
		{alice, "t", 0, zstd, 6, unsupported},
		// A zstd batch with a broken CRC: Kafka looks at the codec first.
		{alice, "t", 0, append(append([]byte(nil), zstd[:len(zstd)-1]...), zstd[len(zstd)-1]^0xff), 6, unsupported},
		// Refused before, but after the topic's checks.
		{bob, "t", 0, zstd, 6, kerr.TopicAuthorizationFailed.Code},
		{alice, "t", 7, zstd, 6, kerr.UnknownTopicOrPartition.Code},
		// Truncated: not a batch Kafka can read the codec of.
		{alice, "t", 0, zstd[:len(zstd)-1], 6, kerr.CorruptMessage.Code},
		// Appended.
		{alice, "t", 0, batch(format.CodecGzip), 6, 0},
		{alice, "t", 0, batch(format.CodecLZ4), 3, 0},
		{alice, "t", 0, zstd, 7, 0},
		{alice, "t", 0, zstd, 12, 0},
	} {
		code, base := produce(c.principal, c.topic, c.partition, c.records, c.version)
		wantBase := int64(-1)
		if c.code == 0 {
			wantBase = offset
			offset++
		}
		if code != c.code || base != wantBase {
			t.Errorf("%s v%d %s-%d: %v at %d, want %v at %d", c.principal, c.version, c.topic, c.partition,
				kerr.ErrorForCode(code), base, kerr.ErrorForCode(c.code), wantBase)
		}
	}

	// Every fetch version gets the records as stored, zstd included.
	for _, v := range []int16{4, 9, 10, 12} {
		requireServed(t, 1, v)
		resp := sendAs[*FetchResponse](t, b, superUser, fetchRequest("t", 0), v)
		if err := resp.Materialize(); err != nil {
			t.Fatal(err)
		}
		sp := resp.Topics[0].Partitions[0]
		if sp.ErrorCode != 0 || sp.HighWatermark != offset {
			t.Fatalf("fetch v%d: %v, high watermark %d, want %d", v, kerr.ErrorForCode(sp.ErrorCode), sp.HighWatermark, offset)
		}
		var codecs []format.Codec
		for rest := sp.RecordBatches; len(rest) > 0; {
			bt, err := format.Parse(rest)
			if err != nil {
				t.Fatalf("fetch v%d: %v", v, err)
			}
			codecs = append(codecs, bt.Codec())
			rest = rest[len(bt):]
		}
		if want := []format.Codec{format.CodecGzip, format.CodecLZ4, format.CodecZstd, format.CodecZstd}; !slices.Equal(codecs, want) {
			t.Fatalf("fetch v%d: codecs %v, want %v", v, codecs, want)
		}
	}
}
