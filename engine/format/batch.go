package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Header field offsets and sizes of a RecordBatch v2.
const (
	offBaseOffset      = 0
	offBatchLength     = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// HeaderSize is the size of a RecordBatch v2 header.
	HeaderSize = 61
	// LogOverhead is the baseOffset and batchLength prefix that
	// batchLength does not count.
	LogOverhead = 12
	// Magic is the only record format version the engine stores.
	Magic = 2
	// MaxBatchSize bounds a single batch; larger lengths are treated as
	// corruption rather than allocated.
	MaxBatchSize = 1 << 30
)

// Attribute bits.
const (
	AttrCodecMask     = 0x07
	AttrLogAppendTime = 0x08
	AttrTransactional = 0x10
	AttrControl       = 0x20
)

// NoTimestamp is Kafka's "no timestamp" value (-1).
const NoTimestamp = int64(-1)

// ErrCorrupt marks bytes that are not a valid record batch.
var ErrCorrupt = errors.New("format: corrupt record batch")

// ErrCRCMismatch marks a batch whose stored CRC-32C does not match its
// bytes. It is an ErrCorrupt too.
var ErrCRCMismatch = fmt.Errorf("%w: crc mismatch", ErrCorrupt)

// IsCorrupt reports whether err marks corrupt data.
func IsCorrupt(err error) bool { return errors.Is(err, ErrCorrupt) }

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C returns the Castagnoli CRC of b.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Batch is a view over the bytes of one RecordBatch v2. Its methods read
// fields in place; it never copies.
type Batch []byte

// BaseOffset is the offset of the first record.
func (b Batch) BaseOffset() int64 { return int64(binary.BigEndian.Uint64(b[offBaseOffset:])) }

// BatchLength is the length of the batch after the length field.
func (b Batch) BatchLength() int32 { return int32(binary.BigEndian.Uint32(b[offBatchLength:])) }

// Size is the total size of the batch in bytes.
func (b Batch) Size() int { return int(b.BatchLength()) + LogOverhead }

func (b Batch) LeaderEpoch() int32 { return int32(binary.BigEndian.Uint32(b[offLeaderEpoch:])) }
func (b Batch) MagicByte() int8    { return int8(b[offMagic]) }
func (b Batch) CRC() uint32        { return binary.BigEndian.Uint32(b[offCRC:]) }
func (b Batch) Attributes() int16  { return int16(binary.BigEndian.Uint16(b[offAttributes:])) }
func (b Batch) LastOffsetDelta() int32 {
	return int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:]))
}
func (b Batch) BaseTimestamp() int64 { return int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])) }
func (b Batch) MaxTimestamp() int64  { return int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])) }
func (b Batch) ProducerID() int64    { return int64(binary.BigEndian.Uint64(b[offProducerID:])) }
func (b Batch) ProducerEpoch() int16 { return int16(binary.BigEndian.Uint16(b[offProducerEpoch:])) }
func (b Batch) BaseSequence() int32  { return int32(binary.BigEndian.Uint32(b[offBaseSequence:])) }
func (b Batch) RecordCount() int32   { return int32(binary.BigEndian.Uint32(b[offRecordCount:])) }

// LastOffset is the offset of the last record in the batch.
func (b Batch) LastOffset() int64 { return b.BaseOffset() + int64(b.LastOffsetDelta()) }

// NextOffset is the offset after the batch.
func (b Batch) NextOffset() int64 { return b.LastOffset() + 1 }

// Codec is the compression codec of the records.
func (b Batch) Codec() Codec { return Codec(b.Attributes() & AttrCodecMask) }

// IsControl reports a transaction control batch.
func (b Batch) IsControl() bool { return b.Attributes()&AttrControl != 0 }

// IsLogAppendTime reports whether timestamps are broker-assigned.
func (b Batch) IsLogAppendTime() bool { return b.Attributes()&AttrLogAppendTime != 0 }

// Records returns the (possibly compressed) record bytes.
func (b Batch) Records() []byte { return b[HeaderSize:b.Size()] }

// SetBaseOffset rewrites the base offset in place; the CRC does not cover it.
func (b Batch) SetBaseOffset(o int64) { binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(o)) }

// SetLeaderEpoch rewrites the partition leader epoch in place; the CRC does
// not cover it.
func (b Batch) SetLeaderEpoch(e int32) { binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(e)) }

// SetLogAppendTime marks the batch as LogAppendTime with max timestamp ts and
// recomputes the CRC, as Kafka's broker does.
func (b Batch) SetLogAppendTime(ts int64) {
	attrs := uint16(b.Attributes()) | AttrLogAppendTime
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts))
	b.fixCRC()
}

func (b Batch) fixCRC() {
	binary.BigEndian.PutUint32(b[offCRC:], CRC32C(b[offAttributes:b.Size()]))
}

// PeekSize returns the total size of the batch starting at buf, reading only
// the first 12 bytes. It fails when the prefix is short or the length is out
// of range.
func PeekSize(buf []byte) (int, error) {
	if len(buf) < LogOverhead {
		return 0, corruptf("short batch prefix: %d bytes", len(buf))
	}
	l := int32(binary.BigEndian.Uint32(buf[offBatchLength:]))
	if l < HeaderSize-LogOverhead || l > MaxBatchSize {
		return 0, corruptf("batch length %d out of range", l)
	}
	return int(l) + LogOverhead, nil
}

// Parse checks that buf starts with one complete, well-formed batch and
// returns it (sliced to its size) and its size. It checks length, magic,
// CRC and header consistency; it does not walk the records (Validate does).
func Parse(buf []byte) (Batch, error) {
	size, err := PeekSize(buf)
	if err != nil {
		return nil, err
	}
	if len(buf) < size {
		return nil, corruptf("batch of %d bytes truncated to %d", size, len(buf))
	}
	b := Batch(buf[:size])
	if m := b.MagicByte(); m != Magic {
		return nil, corruptf("unsupported magic %d", m)
	}
	if got, want := CRC32C(b[offAttributes:]), b.CRC(); got != want {
		return nil, fmt.Errorf("%w: computed %08x, stored %08x", ErrCRCMismatch, got, want)
	}
	if b.LastOffsetDelta() < 0 {
		return nil, corruptf("negative last offset delta %d", b.LastOffsetDelta())
	}
	// A record count of 0 is legal: compaction keeps an emptied batch so
	// the segment's last offset survives.
	if n := b.RecordCount(); n < 0 || int64(n) > int64(b.LastOffsetDelta())+1 {
		return nil, corruptf("record count %d", n)
	}
	if b.Codec() > CodecZstd {
		return nil, corruptf("unknown codec %d", b.Codec())
	}
	return b, nil
}

// Validate is Parse plus the checks a broker makes on produced data before
// assigning offsets: recordCount == lastOffsetDelta+1, and, walking the
// (decompressed) records, well-formed records whose offset deltas run
// 0,1,2… and whose count matches the header.
func Validate(buf []byte) (Batch, error) {
	b, err := Parse(buf)
	if err != nil {
		return nil, err
	}
	if int64(b.RecordCount()) != int64(b.LastOffsetDelta())+1 {
		return nil, corruptf("record count %d does not match last offset delta %d", b.RecordCount(), b.LastOffsetDelta())
	}
	raw, err := Decompress(b.Codec(), b.Records())
	if err != nil {
		return nil, err
	}
	if err := walkOffsetDeltas(raw, b.RecordCount()); err != nil {
		return nil, err
	}
	return b, nil
}

// walkOffsetDeltas checks record framing and that offset deltas run 0..n-1
// without decoding keys, values or headers (what Kafka's produce validation
// checks with its skip-key-value iterator). It runs for every produced
// record, so it decodes varints in place instead of through a reader.
func walkOffsetDeltas(raw []byte, count int32) error {
	pos := 0
	for i := int32(0); i < count; i++ {
		length, n := binary.Varint(raw[pos:])
		if n <= 0 || length <= 0 || length > int64(len(raw)-pos-n) {
			return corruptf("record %d: bad length at byte %d", i, pos)
		}
		pos += n
		rec := raw[pos : pos+int(length)]
		pos += int(length)
		if len(rec) < 3 { // attributes + two one-byte varints at least
			return corruptf("record %d: %d bytes is too short", i, len(rec))
		}
		_, n1 := binary.Varint(rec[1:]) // timestamp delta
		if n1 <= 0 {
			return corruptf("record %d: bad timestamp delta", i)
		}
		delta, n2 := binary.Varint(rec[1+n1:])
		if n2 <= 0 {
			return corruptf("record %d: bad offset delta", i)
		}
		if delta != int64(i) {
			return corruptf("record %d has offset delta %d", i, delta)
		}
	}
	if pos != len(raw) {
		return corruptf("%d bytes after record %d", len(raw)-pos, count)
	}
	return nil
}

// Iterate calls fn for each complete batch at the start of buf, in order,
// and returns the number of bytes consumed by valid batches. It stops at the
// first batch that is incomplete or fails Parse and returns that error
// (nil when buf ends exactly on a batch boundary).
func Iterate(buf []byte, fn func(pos int, b Batch) error) (int, error) {
	pos := 0
	for pos < len(buf) {
		b, err := Parse(buf[pos:])
		if err != nil {
			return pos, err
		}
		if err := fn(pos, b); err != nil {
			return pos, err
		}
		pos += len(b)
	}
	return pos, nil
}
