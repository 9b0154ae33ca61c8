package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression levels, as Kafka names and bounds them (KIP-390:
// compression.gzip.level, compression.lz4.level, compression.zstd.level).
const (
	// GzipDefaultLevel is Deflater.DEFAULT_COMPRESSION: the library's
	// default. Valid gzip levels are -1 and 1..9.
	GzipDefaultLevel = -1
	GzipMinLevel     = 1
	GzipMaxLevel     = 9

	// LZ4 levels 1..17: 1 is LZ4's fast compressor, higher levels its
	// high-compression one. The Go encoder has levels up to 9; 10..17
	// compress at 9.
	LZ4DefaultLevel = 9
	LZ4MinLevel     = 1
	LZ4MaxLevel     = 17

	// Zstd levels -131072..22. The Go encoder has four speeds: levels
	// below 3 are its fastest, 3..5 its default, 6..9 better and 10..22
	// its best.
	ZstdDefaultLevel = 3
	ZstdMinLevel     = -131072
	ZstdMaxLevel     = 22
)

// DefaultLevel is Kafka's default level for c (0 for codecs without
// levels).
func DefaultLevel(c Codec) int {
	switch c {
	case CodecGzip:
		return GzipDefaultLevel
	case CodecLZ4:
		return LZ4DefaultLevel
	case CodecZstd:
		return ZstdDefaultLevel
	}
	return 0
}

// CheckLevel reports whether level is valid for c, with Kafka's bounds.
func CheckLevel(c Codec, level int) error {
	var lo, hi int
	switch c {
	case CodecGzip:
		if level == GzipDefaultLevel {
			return nil
		}
		if level < GzipMinLevel || level > GzipMaxLevel {
			return fmt.Errorf("gzip level %d is not -1 (the default) or in [%d,...,%d]", level, GzipMinLevel, GzipMaxLevel)
		}
		return nil
	case CodecLZ4:
		lo, hi = LZ4MinLevel, LZ4MaxLevel
	case CodecZstd:
		lo, hi = ZstdMinLevel, ZstdMaxLevel
	default:
		return nil
	}
	if level < lo || level > hi {
		return fmt.Errorf("%s level %d is outside [%d,...,%d]", c, level, lo, hi)
	}
	return nil
}

// zstdEncoders caches one encoder per speed: the Go encoder has four,
// and an encoder's EncodeAll is safe for concurrent use.
var zstdEncoders sync.Map // zstd.EncoderLevel → *zstd.Encoder

func zstdEncoderAt(level int) *zstd.Encoder {
	speed := zstd.EncoderLevelFromZstd(level)
	if e, ok := zstdEncoders.Load(speed); ok {
		return e.(*zstd.Encoder)
	}
	e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(speed))
	if err != nil {
		panic(err) // only invalid options fail, and these are constant
	}
	actual, _ := zstdEncoders.LoadOrStore(speed, e)
	return actual.(*zstd.Encoder)
}

// gzipWriters and lz4Writers pool writers per level: a gzip or lz4
// writer's state is larger than a typical batch, and allocating it per
// batch cost more than the compression.
var (
	gzipWriters [GzipMaxLevel - GzipDefaultLevel + 1]sync.Pool
	lz4Writers  [LZ4MaxLevel + 1]sync.Pool
)

func lz4Level(level int) lz4.CompressionLevel {
	switch {
	case level <= 1:
		return lz4.Fast
	case level >= 9:
		return lz4.Level9
	}
	return []lz4.CompressionLevel{lz4.Level2, lz4.Level3, lz4.Level4, lz4.Level5, lz4.Level6, lz4.Level7, lz4.Level8}[level-2]
}

// CompressLevel encodes raw records with c at level (DefaultLevel(c) for
// Kafka's default), in the framing Kafka clients expect. The level must
// pass CheckLevel.
func CompressLevel(c Codec, raw []byte, level int) ([]byte, error) {
	if err := CheckLevel(c, level); err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	switch c {
	case CodecNone:
		return raw, nil
	case CodecGzip:
		var buf bytes.Buffer
		pool := &gzipWriters[level-GzipDefaultLevel]
		w, _ := pool.Get().(*gzip.Writer)
		if w == nil {
			var err error
			if w, err = gzip.NewWriterLevel(&buf, level); err != nil {
				return nil, err
			}
		} else {
			w.Reset(&buf)
		}
		w.Write(raw)
		err := w.Close()
		pool.Put(w)
		if err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case CodecSnappy:
		return s2.EncodeSnappy(nil, raw), nil
	case CodecLZ4:
		var buf bytes.Buffer
		pool := &lz4Writers[level]
		w, _ := pool.Get().(*lz4.Writer)
		if w == nil {
			w = lz4.NewWriter(&buf)
			if err := w.Apply(lz4.CompressionLevelOption(lz4Level(level))); err != nil {
				return nil, err
			}
		} else {
			w.Reset(&buf) // keeps the options
		}
		_, err := w.Write(raw)
		if err == nil {
			err = w.Close()
		}
		pool.Put(w)
		if err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case CodecZstd:
		return zstdEncoderAt(level).EncodeAll(raw, nil), nil
	}
	return nil, fmt.Errorf("format: unknown codec %d", c)
}

// Recompress returns a produced batch with its records compressed with c
// at level, as Kafka's leader does when a topic's compression.type names
// a codec other than the producer's (LogValidator). The new batch keeps
// every header field (base offset, leader epoch, timestamps, producer id,
// epoch and base sequence, the transactional and timestamp-type bits)
// except the codec bits, the batch length and the CRC; the records are
// the same bytes, since a v2 record's encoding does not depend on the
// codec.
//
// b itself is returned, not copied, when its codec already is c, and for
// control batches, which are never recompressed. Otherwise b is checked
// as Validate checks it (the records are walked once decompressed) and
// malformed input fails with ErrCorrupt; decompression is bounded as
// Decompress bounds it.
func Recompress(b Batch, c Codec, level int) (Batch, error) {
	if c < CodecNone || c > CodecZstd {
		return nil, fmt.Errorf("format: unknown codec %d", c)
	}
	if len(b) < HeaderSize {
		return nil, corruptf("short batch: %d bytes", len(b))
	}
	if b.Codec() == c || b.IsControl() {
		return b, nil
	}
	if _, err := Parse(b); err != nil {
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
	payload, err := CompressLevel(c, raw, level)
	if err != nil {
		return nil, err
	}
	if HeaderSize+len(payload)-LogOverhead > MaxBatchSize {
		return nil, corruptf("recompressed batch of %d bytes is over %d", HeaderSize+len(payload), MaxBatchSize)
	}
	out := make(Batch, HeaderSize, HeaderSize+len(payload))
	copy(out, b[:HeaderSize])
	out = append(out, payload...)
	binary.BigEndian.PutUint32(out[offBatchLength:], uint32(len(out)-LogOverhead))
	attrs := uint16(b.Attributes())&^AttrCodecMask | uint16(c)
	binary.BigEndian.PutUint16(out[offAttributes:], attrs)
	out.fixCRC()
	return out, nil
}
