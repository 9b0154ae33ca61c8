package authz

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	recs := []Record{
		{ID: idOf(1), Binding: allow(pre(ResourceTopic, "app."), alice, "*", OpWrite)},
		{ID: idOf(2), Binding: deny(lit(ResourceCluster, ClusterName), "User:*", "10.0.0.1", OpAll)},
		{Remove: true, ID: idOf(3)},
	}
	for _, r := range recs {
		b := r.AppendTo(nil)
		got, err := DecodeRecord(b)
		if err != nil || got != r {
			t.Fatalf("DecodeRecord(%x) = %+v, %v; want %+v", b, got, err, r)
		}
		for n := range len(b) {
			if _, err := DecodeRecord(b[:n]); !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("truncated to %d: %v", n, err)
			}
		}
		if _, err := DecodeRecord(append(b, 0)); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("trailing byte: %v", err)
		}
	}
}

// TestRecordBytes pins the layout of Kafka's AccessControlEntryRecord v0
// under MetadataRecordSerde's frame.
func TestRecordBytes(t *testing.T) {
	var id ID
	for i := range id {
		id[i] = byte(i)
	}
	r := Record{ID: id, Binding: allow(lit(ResourceTopic, "t"), "User:a", "*", OpRead)}
	want := "01" + "12" + "00" + // frame 1, api key 18, version 0
		"000102030405060708090a0b0c0d0e0f" + // id
		"02" + "0274" + "03" + // TOPIC, "t", LITERAL
		"0755736572 3a61" + // "User:a"
		"022a" + "03" + "03" + "00" // "*", READ, ALLOW, no tagged fields
	wantBytes, _ := hex.DecodeString(string(bytes.ReplaceAll([]byte(want), []byte(" "), nil)))
	if got := r.AppendTo(nil); !bytes.Equal(got, wantBytes) {
		t.Fatalf("encoding\n got %x\nwant %x", got, wantBytes)
	}
	rm := Record{Remove: true, ID: id}.AppendTo(nil)
	if hex.EncodeToString(rm) != "011300"+"000102030405060708090a0b0c0d0e0f"+"00" {
		t.Fatalf("remove encoding %x", rm)
	}
	// Unknown tagged fields are skipped.
	tagged := append(rm[:len(rm)-1:len(rm)-1], 0x01, 0x05, 0x02, 0xaa, 0xbb)
	if got, err := DecodeRecord(tagged); err != nil || got.ID != id || !got.Remove {
		t.Fatalf("tagged: %+v %v", got, err)
	}
}

func TestRecordCorrupt(t *testing.T) {
	for name, b := range map[string]string{
		"empty":              "",
		"frame 2":            "021300" + "000102030405060708090a0b0c0d0e0f00",
		"api key 1":          "010100" + "000102030405060708090a0b0c0d0e0f00",
		"version 1":          "011301" + "000102030405060708090a0b0c0d0e0f00",
		"null string":        "011200" + "000102030405060708090a0b0c0d0e0f" + "02" + "00",
		"huge string":        "011200" + "000102030405060708090a0b0c0d0e0f" + "02" + "ffffffff0f",
		"huge tag count":     "011300" + "000102030405060708090a0b0c0d0e0f" + "ffffffff0f",
		"tag value too long": "011300" + "000102030405060708090a0b0c0d0e0f" + "010109aa",
		"overlong uvarint":   "ffffffffffff",
	} {
		raw, err := hex.DecodeString(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeRecord(raw); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
