package format

import (
	"bytes"
	"fmt"
	"testing"
)

func TestBuildParseRoundTripAllCodecs(t *testing.T) {
	for _, codec := range []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			var keys, vals [][]byte
			for i := 0; i < 50; i++ {
				keys = append(keys, []byte(fmt.Sprintf("k%d", i)))
				vals = append(vals, bytes.Repeat([]byte{byte(i)}, i*3))
			}
			vals[7] = nil // tombstone
			raw := SimpleBatch(codec, 1700000000000, keys, vals)
			b, err := Validate(raw)
			if err != nil {
				t.Fatal(err)
			}
			if b.Codec() != codec || b.RecordCount() != 50 || b.LastOffsetDelta() != 49 {
				t.Fatalf("header: codec %v count %d lod %d", b.Codec(), b.RecordCount(), b.LastOffsetDelta())
			}
			i := 0
			err = b.ForEachRecord(func(r Record) error {
				if !bytes.Equal(r.Key, keys[i]) || !bytes.Equal(r.Value, vals[i]) || (vals[i] == nil) != (r.Value == nil) {
					return fmt.Errorf("record %d: key %q value %q", i, r.Key, r.Value)
				}
				i++
				return nil
			})
			if err != nil || i != 50 {
				t.Fatalf("records: %v (%d)", err, i)
			}
		})
	}
}

func TestOffsetAndEpochRewriteKeepCRC(t *testing.T) {
	raw := SimpleBatch(CodecNone, 5, nil, [][]byte{[]byte("a"), []byte("b")})
	b := Batch(raw)
	b.SetBaseOffset(1234)
	b.SetLeaderEpoch(7)
	if _, err := Parse(raw); err != nil {
		t.Fatalf("rewrite of uncovered fields broke the CRC: %v", err)
	}
	if b.BaseOffset() != 1234 || b.LastOffset() != 1235 || b.LeaderEpoch() != 7 {
		t.Fatalf("offsets %d..%d epoch %d", b.BaseOffset(), b.LastOffset(), b.LeaderEpoch())
	}
	b.SetLogAppendTime(99)
	if _, err := Parse(raw); err != nil {
		t.Fatalf("LogAppendTime must recompute the CRC: %v", err)
	}
	if !b.IsLogAppendTime() || b.MaxTimestamp() != 99 {
		t.Fatal("LogAppendTime not applied")
	}
}

func TestParseRejects(t *testing.T) {
	good := SimpleBatch(CodecNone, 5, nil, [][]byte{[]byte("hello")})
	cases := map[string]func([]byte) []byte{
		"short":     func(b []byte) []byte { return b[:20] },
		"truncated": func(b []byte) []byte { return b[:len(b)-1] },
		"crc":       func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"magic":     func(b []byte) []byte { b[16] = 1; return b },
		"length":    func(b []byte) []byte { b[8] = 0x7f; return b },
	}
	for name, mut := range cases {
		b := mut(append([]byte(nil), good...))
		if _, err := Parse(b); !IsCorrupt(err) {
			t.Errorf("%s: got %v, want corruption", name, err)
		}
	}
}

func TestValidateRejectsCountMismatch(t *testing.T) {
	raw, _ := BuildBatch(BatchHeader{LastOffsetDelta: 3}, []Record{{OffsetDelta: 0, Value: []byte("x")}})
	if _, err := Validate(raw); !IsCorrupt(err) {
		t.Fatalf("got %v", err)
	}
}

func TestXerialSnappy(t *testing.T) {
	raw := AppendRecord(nil, Record{Value: []byte("framed by the java client")})
	block, _ := Compress(CodecSnappy, raw)
	framed := append([]byte(nil), xerialHeader...)
	framed = append(framed, 0, 0, 0, 1, 0, 0, 0, 1) // versions
	framed = append(framed, byte(len(block)>>24), byte(len(block)>>16), byte(len(block)>>8), byte(len(block)))
	framed = append(framed, block...)
	out, err := Decompress(CodecSnappy, framed)
	if err != nil || !bytes.Equal(out, raw) {
		t.Fatalf("xerial: %v", err)
	}
}
