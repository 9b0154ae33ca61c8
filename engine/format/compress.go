package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec is a Kafka compression codec (attributes bits 0-2).
type Codec int8

const (
	CodecNone Codec = iota
	CodecGzip
	CodecSnappy
	CodecLZ4
	CodecZstd
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// maxDecompressed bounds decompression output so a crafted batch cannot
// exhaust memory.
const maxDecompressed = 256 << 20

var (
	zstdDecOnce sync.Once
	zstdDec     *zstd.Decoder
	zstdEncOnce sync.Once
	zstdEnc     *zstd.Encoder
)

func zstdDecoder() *zstd.Decoder {
	zstdDecOnce.Do(func() {
		zstdDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecompressed))
	})
	return zstdDec
}

func zstdEncoder() *zstd.Encoder {
	zstdEncOnce.Do(func() { zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1)) })
	return zstdEnc
}

// xerialHeader starts snappy data framed the way the Java client writes it.
var xerialHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// Decompress returns the raw records of a batch body compressed with c.
func Decompress(c Codec, in []byte) ([]byte, error) {
	switch c {
	case CodecNone:
		return in, nil
	case CodecGzip:
		r, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			return nil, corruptf("gzip: %v", err)
		}
		return readBounded(r, "gzip")
	case CodecSnappy:
		return decodeSnappy(in)
	case CodecLZ4:
		return readBounded(lz4.NewReader(bytes.NewReader(in)), "lz4")
	case CodecZstd:
		out, err := zstdDecoder().DecodeAll(in, nil)
		if err != nil {
			return nil, corruptf("zstd: %v", err)
		}
		return out, nil
	}
	return nil, corruptf("unknown codec %d", c)
}

func readBounded(r io.Reader, name string) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, maxDecompressed+1))
	if err != nil {
		return nil, corruptf("%s: %v", name, err)
	}
	if len(out) > maxDecompressed {
		return nil, corruptf("%s: decompressed size over %d", name, maxDecompressed)
	}
	return out, nil
}

func snappyBlock(in []byte) ([]byte, error) {
	n, err := s2.DecodedLen(in)
	if err != nil || n > maxDecompressed {
		return nil, corruptf("snappy: bad block length")
	}
	out, err := s2.Decode(nil, in)
	if err != nil {
		return nil, corruptf("snappy: %v", err)
	}
	return out, nil
}

// decodeSnappy accepts raw snappy blocks and xerial framing (magic, two
// version ints, then length-prefixed blocks).
func decodeSnappy(in []byte) ([]byte, error) {
	if !bytes.HasPrefix(in, xerialHeader) {
		return snappyBlock(in)
	}
	if len(in) < 16 {
		return nil, corruptf("snappy: short xerial header")
	}
	in = in[16:]
	var out []byte
	for len(in) > 0 {
		if len(in) < 4 {
			return nil, corruptf("snappy: short xerial chunk")
		}
		n := binary.BigEndian.Uint32(in)
		in = in[4:]
		if uint64(n) > uint64(len(in)) {
			return nil, corruptf("snappy: xerial chunk overruns")
		}
		blk, err := snappyBlock(in[:n])
		if err != nil {
			return nil, err
		}
		if len(out)+len(blk) > maxDecompressed {
			return nil, corruptf("snappy: decompressed size over %d", maxDecompressed)
		}
		out = append(out, blk...)
		in = in[n:]
	}
	return out, nil
}

// Compress encodes raw records with c, in the framing Kafka clients expect.
func Compress(c Codec, raw []byte) ([]byte, error) {
	switch c {
	case CodecNone:
		return raw, nil
	case CodecGzip:
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case CodecSnappy:
		return s2.EncodeSnappy(nil, raw), nil
	case CodecLZ4:
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if _, err := w.Write(raw); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case CodecZstd:
		return zstdEncoder().EncodeAll(raw, nil), nil
	}
	return nil, fmt.Errorf("format: unknown codec %d", c)
}
