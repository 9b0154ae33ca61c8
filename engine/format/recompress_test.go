package format

import (
	"bytes"
	"fmt"
	"testing"
)

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// producedBatch is an idempotent, transactional batch of records with
// keys, null keys, values, a tombstone, headers and timestamp deltas.
func producedBatch(t testing.TB, codec Codec, n int) ([]byte, []Record) {
	t.Helper()
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{
			OffsetDelta:    int32(i),
			TimestampDelta: int64(i * 7),
			Key:            []byte(fmt.Sprintf("key-%d", i)),
			Value:          bytes.Repeat([]byte(fmt.Sprintf("value %d ", i)), 1+i%9),
			Headers:        []Header{{Key: "h", Value: []byte{byte(i)}}, {Key: "null"}},
		}
	}
	recs[1].Key = nil
	recs[2].Value = nil
	raw, err := BuildBatch(BatchHeader{
		BaseOffset: 0, LeaderEpoch: -1, Attributes: int16(codec) | AttrTransactional,
		BaseTimestamp: 1700000000000, MaxTimestamp: 1700000000000 + int64(7*(n-1)),
		ProducerID: 4242, ProducerEpoch: 3, BaseSequence: 17,
	}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return raw, recs
}

func TestRecompressEveryCodecPair(t *testing.T) {
	for _, from := range allCodecs {
		for _, to := range allCodecs {
			t.Run(from.String()+"-"+to.String(), func(t *testing.T) {
				in, recs := producedBatch(t, from, 40)
				orig := append([]byte(nil), in...)
				out, err := Recompress(Batch(in), to, DefaultLevel(to))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(in, orig) {
					t.Fatal("Recompress changed its input")
				}
				if from == to && &out[0] != &in[0] {
					t.Fatal("a batch already in the target codec must be returned as is")
				}
				b, err := Validate(out)
				if err != nil {
					t.Fatalf("recompressed batch does not validate: %v", err)
				}
				if len(b) != len(out) {
					t.Fatalf("size %d, batch length says %d", len(out), len(b))
				}
				src := Batch(in)
				if b.Codec() != to {
					t.Fatalf("codec %v, want %v", b.Codec(), to)
				}
				if b.Attributes()&^AttrCodecMask != src.Attributes()&^AttrCodecMask {
					t.Fatalf("attributes %#x from %#x: only the codec bits may change", b.Attributes(), src.Attributes())
				}
				if b.BaseOffset() != src.BaseOffset() || b.LeaderEpoch() != src.LeaderEpoch() ||
					b.LastOffsetDelta() != src.LastOffsetDelta() || b.RecordCount() != src.RecordCount() ||
					b.BaseTimestamp() != src.BaseTimestamp() || b.MaxTimestamp() != src.MaxTimestamp() ||
					b.ProducerID() != src.ProducerID() || b.ProducerEpoch() != src.ProducerEpoch() ||
					b.BaseSequence() != src.BaseSequence() {
					t.Fatalf("header fields changed:\n got %x\nwant %x", out[:HeaderSize], in[:HeaderSize])
				}
				i := 0
				err = b.ForEachRecord(func(r Record) error {
					w := recs[i]
					if r.OffsetDelta != w.OffsetDelta || r.TimestampDelta != w.TimestampDelta ||
						!bytes.Equal(r.Key, w.Key) || (r.Key == nil) != (w.Key == nil) ||
						!bytes.Equal(r.Value, w.Value) || (r.Value == nil) != (w.Value == nil) ||
						len(r.Headers) != 2 || r.Headers[0].Key != "h" || !bytes.Equal(r.Headers[0].Value, w.Headers[0].Value) ||
						r.Headers[1].Value != nil {
						return fmt.Errorf("record %d: %+v, want %+v", i, r, w)
					}
					i++
					return nil
				})
				if err != nil || i != len(recs) {
					t.Fatalf("records: %v (%d of %d)", err, i, len(recs))
				}
			})
		}
	}
}

func TestRecompressKeepsLogAppendTimeBit(t *testing.T) {
	in, _ := producedBatch(t, CodecGzip, 3)
	Batch(in).SetLogAppendTime(123)
	out, err := Recompress(Batch(in), CodecZstd, ZstdDefaultLevel)
	if err != nil {
		t.Fatal(err)
	}
	if b := Batch(out); !b.IsLogAppendTime() || b.MaxTimestamp() != 123 || !b.IsTransactional() {
		t.Fatalf("attributes %#x max timestamp %d", b.Attributes(), b.MaxTimestamp())
	}
}

func TestRecompressLeavesControlBatches(t *testing.T) {
	in := ControlBatch(9, 1, true, 5, 1700000000000)
	out, err := Recompress(Batch(in), CodecZstd, ZstdDefaultLevel)
	if err != nil {
		t.Fatal(err)
	}
	if &out[0] != &in[0] || Batch(out).Codec() != CodecNone {
		t.Fatal("a control batch was recompressed")
	}
}

func TestRecompressLevels(t *testing.T) {
	// Compressible but not trivially so: words drawn from a small set.
	var vals [][]byte
	for i := 0; i < 64; i++ {
		var v []byte
		for j := 0; j < 128; j++ {
			v = append(v, []string{"alpha ", "beta ", "gamma ", "delta ", "epsilon "}[(i*31+j*j)%5]...)
			v = fmt.Appendf(v, "%d ", (i*j)%97)
		}
		vals = append(vals, v)
	}
	in := SimpleBatch(CodecNone, 1, nil, vals)
	size := func(c Codec, level int) int {
		out, err := Recompress(Batch(in), c, level)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Validate(out); err != nil {
			t.Fatal(err)
		}
		return len(out)
	}
	for _, tc := range []struct {
		c         Codec
		low, high int
	}{{CodecZstd, 1, 19}, {CodecGzip, 1, 9}, {CodecLZ4, 1, 9}} {
		lo, hi := size(tc.c, tc.low), size(tc.c, tc.high)
		t.Logf("%v: level %d %d bytes, level %d %d bytes", tc.c, tc.low, lo, tc.high, hi)
		if hi >= lo {
			t.Errorf("%v: level %d gave %d bytes, level %d %d: levels are not applied", tc.c, tc.high, hi, tc.low, lo)
		}
	}
	for _, tc := range []struct {
		c     Codec
		level int
	}{{CodecGzip, 0}, {CodecGzip, 10}, {CodecGzip, -2}, {CodecLZ4, 0}, {CodecLZ4, 18}, {CodecZstd, 23}, {CodecZstd, -131073}} {
		if _, err := Recompress(Batch(in), tc.c, tc.level); err == nil {
			t.Errorf("%v level %d accepted", tc.c, tc.level)
		}
	}
	for _, tc := range []struct {
		c     Codec
		level int
	}{{CodecGzip, -1}, {CodecLZ4, 17}, {CodecZstd, -131072}, {CodecZstd, 22}, {CodecZstd, -5}} {
		if _, err := Recompress(Batch(in), tc.c, tc.level); err != nil {
			t.Errorf("%v level %d: %v", tc.c, tc.level, err)
		}
	}
}

func TestRecompressRejectsBadInput(t *testing.T) {
	good, _ := producedBatch(t, CodecGzip, 5)
	for name, mutate := range map[string]func([]byte) []byte{
		"short":     func(b []byte) []byte { return b[:HeaderSize-1] },
		"truncated": func(b []byte) []byte { return b[:len(b)-3] },
		"crc":       func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"count": func(b []byte) []byte {
			b[offRecordCount+3]--
			Batch(b).fixCRC()
			return b
		},
		"payload": func(b []byte) []byte {
			for i := HeaderSize + 10; i < len(b); i++ {
				b[i] = 0
			}
			Batch(b).fixCRC()
			return b
		},
	} {
		in := mutate(append([]byte(nil), good...))
		if _, err := Recompress(Batch(in), CodecZstd, ZstdDefaultLevel); !IsCorrupt(err) {
			t.Errorf("%s: %v, want a corruption error", name, err)
		}
	}
	// Well compressed, but the records' offset deltas are out of order.
	swapped, err := BuildBatch(BatchHeader{Attributes: int16(CodecGzip), ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]Record{{OffsetDelta: 1, Value: []byte("b")}, {OffsetDelta: 0, Value: []byte("a")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Recompress(Batch(swapped), CodecZstd, ZstdDefaultLevel); !IsCorrupt(err) {
		t.Errorf("offset deltas 1,0: %v, want a corruption error", err)
	}
	if _, err := Recompress(Batch(good), Codec(6), 0); err == nil {
		t.Error("unknown target codec accepted")
	}
}

// A small batch whose records decompress past the bound fails, and does
// not allocate the whole expansion.
func TestRecompressBoundsDecompression(t *testing.T) {
	bomb := zstdEncoder().EncodeAll(make([]byte, maxDecompressed+1024), nil)
	b, err := BuildBatch(BatchHeader{Attributes: int16(CodecNone), ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, []Record{{Value: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	// Swap the payload for the bomb and mark it zstd.
	raw := append(append([]byte(nil), b[:HeaderSize]...), bomb...)
	raw[offAttributes+1] = byte(CodecZstd)
	putLength(raw)
	Batch(raw).fixCRC()
	if _, err := Recompress(Batch(raw), CodecGzip, GzipDefaultLevel); !IsCorrupt(err) {
		t.Fatalf("decompression bomb: %v, want a corruption error", err)
	}
}

func putLength(b []byte) {
	n := uint32(len(b) - LogOverhead)
	b[offBatchLength], b[offBatchLength+1], b[offBatchLength+2], b[offBatchLength+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

// BenchmarkRecompress rebuilds a 16 KiB batch of 1 KiB records from each
// codec to each other one at Kafka's default levels; MB/s counts the
// uncompressed record bytes.
func BenchmarkRecompress(b *testing.B) {
	vals := make([][]byte, 16)
	for i := range vals {
		v := make([]byte, 0, 1024)
		for len(v) < 1024 {
			v = fmt.Appendf(v, "{\"user\":%d,\"event\":\"click\",\"page\":\"/p/%d\"} ", i*7919%1000, (i*31+len(v))%257)
		}
		vals[i] = v[:1024]
	}
	rawSize := len(SimpleBatch(CodecNone, 1, nil, vals)) - HeaderSize
	for _, from := range allCodecs {
		in := SimpleBatch(from, 1700000000000, nil, vals)
		for _, to := range allCodecs {
			if to == from {
				continue
			}
			b.Run(from.String()+"-"+to.String(), func(b *testing.B) {
				b.SetBytes(int64(rawSize))
				var out Batch
				var err error
				for i := 0; i < b.N; i++ {
					if out, err = Recompress(Batch(in), to, DefaultLevel(to)); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if _, err := Validate(out); err != nil || out.Codec() != to {
					b.Fatalf("output: %v codec %v", err, out.Codec())
				}
				b.ReportMetric(float64(len(out)), "out-bytes")
			})
		}
	}
}
