package fuzz

import (
	"bytes"
	"testing"

	"github.com/rillmq/rill/engine/format"
)

func seedBatches(f *testing.F) {
	for _, c := range []format.Codec{format.CodecNone, format.CodecGzip, format.CodecSnappy, format.CodecLZ4, format.CodecZstd} {
		f.Add(format.SimpleBatch(c, 1234, [][]byte{[]byte("k1"), nil}, [][]byte{[]byte("value one"), nil}))
	}
	recs := []format.Record{{OffsetDelta: 0, Key: []byte("k"), Value: []byte("v"), Headers: []format.Header{{Key: "h", Value: []byte("x")}}}}
	b, _ := format.BuildBatch(format.BatchHeader{ProducerID: 7, BaseSequence: 3}, recs)
	f.Add(b)
	f.Add([]byte{})
	f.Add(make([]byte, 61))
}

// FuzzBatch: Parse, Validate and record decoding on arbitrary bytes.
func FuzzBatch(f *testing.F) {
	seedBatches(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := append([]byte(nil), data...)
		b, err := format.Parse(data)
		if err != nil {
			if !format.IsCorrupt(err) {
				t.Fatalf("non-corruption error from Parse: %v", err)
			}
			return
		}
		if len(b) > len(data) || b.Size() != len(b) {
			t.Fatalf("parsed %d bytes of %d", len(b), len(data))
		}
		var recs []format.Record
		err = b.ForEachRecord(func(r format.Record) error {
			recs = append(recs, r)
			return nil
		})
		if !bytes.Equal(data, orig) {
			t.Fatal("decoding modified its input")
		}
		if err != nil {
			if !format.IsCorrupt(err) {
				t.Fatalf("non-corruption error from records: %v", err)
			}
			return
		}
		if len(recs) != int(b.RecordCount()) {
			t.Fatalf("decoded %d records, header says %d", len(recs), b.RecordCount())
		}
		// Round trip: re-encoding the decoded records with the same header
		// gives a batch that decodes to the same records.
		h := format.BatchHeader{BaseOffset: b.BaseOffset(), Attributes: b.Attributes(), LastOffsetDelta: b.LastOffsetDelta(),
			BaseTimestamp: b.BaseTimestamp(), MaxTimestamp: b.MaxTimestamp(), ProducerID: b.ProducerID(),
			ProducerEpoch: b.ProducerEpoch(), BaseSequence: b.BaseSequence()}
		nb, err := format.BuildBatch(h, recs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		b2, err := format.Parse(nb)
		if err != nil {
			t.Fatalf("re-encoded batch does not parse: %v", err)
		}
		i := 0
		err = b2.ForEachRecord(func(r format.Record) error {
			o := recs[i]
			if !bytes.Equal(r.Key, o.Key) || !bytes.Equal(r.Value, o.Value) || (r.Key == nil) != (o.Key == nil) ||
				(r.Value == nil) != (o.Value == nil) || r.OffsetDelta != o.OffsetDelta || len(r.Headers) != len(o.Headers) {
				t.Fatalf("record %d changed in round trip", i)
			}
			i++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzRecords: the record decoder on raw (uncompressed) bytes.
func FuzzRecords(f *testing.F) {
	f.Add(format.AppendRecord(nil, format.Record{Key: []byte("a"), Value: []byte("b")}), int32(1))
	f.Add([]byte{0x02, 0x00}, int32(3))
	f.Fuzz(func(t *testing.T, raw []byte, count int32) {
		if count > 1<<16 {
			count = 1 << 16
		}
		n := int32(0)
		err := format.DecodeRecords(raw, count, func(format.Record) error { n++; return nil })
		if err == nil && n != max(count, 0) {
			t.Fatalf("decoded %d of %d without error", n, count)
		}
		if err != nil && !format.IsCorrupt(err) {
			t.Fatal(err)
		}
	})
}
