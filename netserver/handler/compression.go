package handler

// Produce's refusal of zstd below v7 (KIP-110). Kafka's
// ProduceRequest.validateRecords refuses a partition whose first batch is
// zstd-compressed in a request older than v7 with
// UNSUPPORTED_COMPRESSION_TYPE, after the topic's authorization and
// existence and before the batch's CRC and records are looked at.
//
// Fetch has no counterpart: Kafka 2.1-3.9 answered a Fetch below v10
// UNSUPPORTED_COMPRESSION_TYPE for a topic whose compression.type was zstd
// (its configuration, not the batches: zstd batches of a "producer" topic
// were served), and Kafka 4.0 dropped that with down-conversion
// (KAFKA-18269, KIP-724/KIP-896). Kafka 4.2, which Rill follows, serves
// zstd batches at every fetch version it has (4+), and so does Rill.

import "github.com/rillmq/rill/engine/format"

// zstdProduceVersion is the first Produce version that may carry zstd.
const zstdProduceVersion = 7

// zstdRefused reports whether records, a partition's data in a Produce
// request of the given version, must be refused with
// UNSUPPORTED_COMPRESSION_TYPE: below v7, a complete RecordBatch v2 at
// their start whose codec is zstd. Anything else (short, truncated, another
// magic) is left to the batch checks that follow.
func zstdRefused(version int16, records []byte) bool {
	if version >= zstdProduceVersion || len(records) < format.HeaderSize {
		return false
	}
	size, err := format.PeekSize(records)
	if err != nil || size > len(records) {
		return false
	}
	b := format.Batch(records[:size])
	return b.MagicByte() == format.Magic && b.Codec() == format.CodecZstd
}
