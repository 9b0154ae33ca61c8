package format

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// ControlBatch writes the bytes Kafka's MemoryRecords.withEndTransactionMarker
// writes: the header below, then one 17-byte record.
func TestControlBatchBytes(t *testing.T) {
	b := Batch(ControlBatch(4242, 3, true, 7, 1_700_000_000_000))
	p, err := Validate(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != len(b) || len(b) != HeaderSize+17 {
		t.Fatalf("size %d", len(b))
	}
	checks := []struct {
		name      string
		got, want int64
	}{
		{"base offset", b.BaseOffset(), 0},
		{"batch length", int64(b.BatchLength()), HeaderSize - LogOverhead + 17},
		{"leader epoch", int64(b.LeaderEpoch()), -1},
		{"magic", int64(b.MagicByte()), 2},
		{"attributes", int64(b.Attributes()), 0x30},
		{"last offset delta", int64(b.LastOffsetDelta()), 0},
		{"base timestamp", b.BaseTimestamp(), 1_700_000_000_000},
		{"max timestamp", b.MaxTimestamp(), 1_700_000_000_000},
		{"producer id", b.ProducerID(), 4242},
		{"producer epoch", int64(b.ProducerEpoch()), 3},
		{"base sequence", int64(b.BaseSequence()), -1},
		{"record count", int64(b.RecordCount()), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	// length 16 | attributes 0 | timestamp delta 0 | offset delta 0 |
	// key length 4 | version 0, type 1 (COMMIT) | value length 6 |
	// version 0, coordinator epoch 7 | no headers.
	want, _ := hex.DecodeString("20" + "00" + "00" + "00" + "08" + "00000001" + "0c" + "0000" + "00000007" + "00")
	if !bytes.Equal(b.Records(), want) {
		t.Fatalf("records %x, want %x", b.Records(), want)
	}
	if !b.IsTransactional() || !b.IsControl() {
		t.Fatal("not a transactional control batch")
	}
	c, err := b.Control()
	if err != nil || c != (ControlRecord{Type: ControlCommit, CoordinatorEpoch: 7}) {
		t.Fatalf("Control: %+v %v", c, err)
	}
	a, err := Batch(ControlBatch(1, 0, false, -1, 5)).Control()
	if err != nil || a != (ControlRecord{Type: ControlAbort, CoordinatorEpoch: -1}) {
		t.Fatalf("abort: %+v %v", a, err)
	}
}

func TestParseControlRecord(t *testing.T) {
	cases := []struct {
		key, value string
		want       ControlRecord
		corrupt    bool
	}{
		{"00000000", "000000000005", ControlRecord{Type: ControlAbort, CoordinatorEpoch: 5}, false},
		// A later key or value version parses as version 0, as in Kafka.
		{"00010001", "0003000000090000", ControlRecord{Type: ControlCommit, CoordinatorEpoch: 9}, false},
		// Other types (KRaft's) carry no end-transaction marker.
		{"00000002", "", ControlRecord{Type: 2}, false},
		{"000000", "000000000005", ControlRecord{}, true},   // short key
		{"ffff0000", "000000000005", ControlRecord{}, true}, // negative version
		{"00000001", "0000000000", ControlRecord{}, true},   // short value
		{"00000001", "ffff00000000", ControlRecord{}, true}, // negative marker version
	}
	for _, c := range cases {
		k, _ := hex.DecodeString(c.key)
		v, _ := hex.DecodeString(c.value)
		got, err := ParseControlRecord(k, v)
		if c.corrupt != IsCorrupt(err) || (!c.corrupt && (err != nil || got != c.want)) {
			t.Errorf("key %s value %s: %+v %v", c.key, c.value, got, err)
		}
	}
}

func TestControlOnOddBatches(t *testing.T) {
	data := Batch(SimpleBatch(CodecNone, 1, nil, [][]byte{[]byte("x")}))
	if _, err := data.Control(); !IsCorrupt(err) {
		t.Fatalf("data batch: %v", err)
	}
	empty, _ := BuildBatch(BatchHeader{Attributes: AttrTransactional | AttrControl, ProducerID: 1, BaseSequence: -1}, nil)
	if _, err := Batch(empty).Control(); !errors.Is(err, ErrEmptyControlBatch) {
		t.Fatalf("empty control batch: %v", err)
	}
	if _, err := Batch(empty[:20]).Control(); !IsCorrupt(err) {
		t.Fatalf("short: %v", err)
	}
}

// FuzzControl: Control never panics, and a batch that decodes answers
// consistently with the builder's own markers.
func FuzzControl(f *testing.F) {
	f.Add(ControlBatch(1, 2, true, 3, 4))
	f.Add(ControlBatch(9, 0, false, -5, -1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := Batch(data)
		c, err := b.Control()
		if err != nil {
			return
		}
		if c.Type != ControlAbort && c.Type != ControlCommit && c.CoordinatorEpoch != 0 {
			t.Fatalf("unknown type %d with a coordinator epoch", c.Type)
		}
		// Mutating the control batch must not panic either.
		if len(data) > HeaderSize {
			m := append([]byte(nil), data...)
			m[len(m)-1] ^= 0xff
			Batch(m).Control()
		}
	})
}

func TestTxnEntryRoundTrip(t *testing.T) {
	e := TxnEntry{Version: 0, ProducerID: 1 << 40, FirstOffset: 17, LastOffset: 1 << 33, LastStable: 18}
	buf := make([]byte, TxnEntrySize)
	PutTxnEntry(buf, e)
	if got := ReadTxnEntry(buf); got != e {
		t.Fatalf("%+v != %+v", got, e)
	}
	want, _ := hex.DecodeString("0000" + "0000010000000000" + "0000000000000011" + "0000000200000000" + "0000000000000012")
	if !bytes.Equal(buf, want) {
		t.Fatalf("%x", buf)
	}
}
