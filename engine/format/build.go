package format

import "encoding/binary"

// BatchHeader carries the header fields a builder sets. LastOffsetDelta and
// RecordCount come from the records unless LastOffsetDelta is set higher
// (compaction keeps the original last offset of a batch it shrinks).
type BatchHeader struct {
	BaseOffset      int64
	LeaderEpoch     int32
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
}

// BuildBatch encodes records into a RecordBatch v2 compressed with the codec
// in h.Attributes. Records carry their own OffsetDelta and TimestampDelta.
func BuildBatch(h BatchHeader, records []Record) ([]byte, error) {
	var raw []byte
	last := h.LastOffsetDelta
	for _, r := range records {
		raw = AppendRecord(raw, r)
		if r.OffsetDelta > last {
			last = r.OffsetDelta
		}
	}
	payload, err := Compress(Codec(h.Attributes&AttrCodecMask), raw)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, HeaderSize, HeaderSize+len(payload))
	buf = append(buf, payload...)
	binary.BigEndian.PutUint64(buf[offBaseOffset:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(buf[offBatchLength:], uint32(len(buf)-LogOverhead))
	binary.BigEndian.PutUint32(buf[offLeaderEpoch:], uint32(h.LeaderEpoch))
	buf[offMagic] = Magic
	binary.BigEndian.PutUint16(buf[offAttributes:], uint16(h.Attributes))
	binary.BigEndian.PutUint32(buf[offLastOffsetDelta:], uint32(last))
	binary.BigEndian.PutUint64(buf[offBaseTimestamp:], uint64(h.BaseTimestamp))
	binary.BigEndian.PutUint64(buf[offMaxTimestamp:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint64(buf[offProducerID:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(buf[offProducerEpoch:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(buf[offBaseSequence:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(buf[offRecordCount:], uint32(len(records)))
	Batch(buf).fixCRC()
	return buf, nil
}

// SimpleBatch builds an uncompressed (or codec-compressed) batch of values
// with optional keys, all stamped ts, base offset 0 and no producer. It is
// the builder tests, tools and benchmarks use.
func SimpleBatch(codec Codec, ts int64, keys, values [][]byte) []byte {
	recs := make([]Record, len(values))
	for i := range values {
		recs[i] = Record{OffsetDelta: int32(i), Value: values[i]}
		if keys != nil {
			recs[i].Key = keys[i]
		}
	}
	b, err := BuildBatch(BatchHeader{
		Attributes: int16(codec), BaseTimestamp: ts, MaxTimestamp: ts,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
	}, recs)
	if err != nil {
		panic(err) // only unknown codecs fail, and Codec values here are ours
	}
	return b
}
