package format

import (
	"encoding/binary"
	"errors"
)

// Control record types (the type field of a control record's key), as in
// Kafka's ControlRecordType. Only ABORT and COMMIT end a transaction; the
// others are KRaft's and mean nothing to a partition log.
const (
	ControlAbort  int16 = 0
	ControlCommit int16 = 1
)

// Control record layouts (big-endian), as Kafka writes them:
//
//	key   (ControlRecordType): int16 version (0), int16 type
//	value (EndTxnMarker):      int16 version (0), int32 coordinator epoch
const (
	controlKeySize   = 4
	endTxnMarkerSize = 6
)

// ErrEmptyControlBatch is returned by Control for a control batch that holds
// no record (compaction may empty one); it is not corruption.
var ErrEmptyControlBatch = errors.New("format: control batch holds no record")

// ControlRecord is the decoded first record of a control batch. Type is
// ControlAbort, ControlCommit or another (unknown to a partition log) type;
// CoordinatorEpoch is set only for ABORT and COMMIT markers.
type ControlRecord struct {
	Type             int16
	CoordinatorEpoch int32
}

// IsTransactional reports a batch written inside a transaction (data or
// marker).
func (b Batch) IsTransactional() bool { return b.Attributes()&AttrTransactional != 0 }

// Control decodes the first record of a control batch, as Kafka's
// ControlRecordType.parse and EndTransactionMarker.deserialize do: the key
// must hold at least a version and a type with version >= 0 (later versions
// parse as version 0, as Kafka does); for ABORT and COMMIT the value must hold at least a
// version >= 0 and a coordinator epoch. It fails with ErrCorrupt on
// malformed bytes, ErrEmptyControlBatch on a batch without records, and
// never panics, whatever the bytes (Parse checks the CRC; Control does
// not).
func (b Batch) Control() (ControlRecord, error) {
	if len(b) < HeaderSize || b.Size() < HeaderSize || b.Size() > len(b) {
		return ControlRecord{}, corruptf("control batch of %d bytes", len(b))
	}
	if !b.IsControl() {
		return ControlRecord{}, corruptf("not a control batch")
	}
	if b.RecordCount() == 0 {
		return ControlRecord{}, ErrEmptyControlBatch
	}
	raw, err := Decompress(b.Codec(), b.Records())
	if err != nil {
		return ControlRecord{}, err
	}
	// Decode only the first record; the rest of the batch is not read.
	length, n := binary.Varint(raw)
	if n <= 0 || length <= 0 || length > int64(len(raw)-n) {
		return ControlRecord{}, corruptf("control record: bad length")
	}
	var first Record
	err = DecodeRecords(raw[:n+int(length)], 1, func(r Record) error {
		first = r
		return nil
	})
	if err != nil {
		return ControlRecord{}, err
	}
	return ParseControlRecord(first.Key, first.Value)
}

// ParseControlRecord decodes a control record's key and value.
func ParseControlRecord(key, value []byte) (ControlRecord, error) {
	if len(key) < controlKeySize {
		return ControlRecord{}, corruptf("control record key of %d bytes", len(key))
	}
	if v := int16(binary.BigEndian.Uint16(key)); v < 0 {
		return ControlRecord{}, corruptf("control record key version %d", v)
	}
	c := ControlRecord{Type: int16(binary.BigEndian.Uint16(key[2:]))}
	if c.Type != ControlAbort && c.Type != ControlCommit {
		return c, nil
	}
	if len(value) < endTxnMarkerSize {
		return ControlRecord{}, corruptf("end transaction marker of %d bytes", len(value))
	}
	if v := int16(binary.BigEndian.Uint16(value)); v < 0 {
		return ControlRecord{}, corruptf("end transaction marker version %d", v)
	}
	c.CoordinatorEpoch = int32(binary.BigEndian.Uint32(value[2:]))
	return c, nil
}

// ControlBatch builds the end-transaction marker Kafka's coordinator writes
// (MemoryRecords.withEndTransactionMarker): a RecordBatch v2 with base
// offset 0, partition leader epoch -1, attributes transactional|control, no
// compression, create time, base sequence -1 and one record stamped
// timestamp whose key is the ControlRecordType (version 0, ABORT or COMMIT)
// and whose value is the EndTxnMarker (version 0, coordinator epoch).
func ControlBatch(producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32, timestamp int64) []byte {
	typ := ControlAbort
	if commit {
		typ = ControlCommit
	}
	key := make([]byte, controlKeySize)
	binary.BigEndian.PutUint16(key[2:], uint16(typ))
	value := make([]byte, endTxnMarkerSize)
	binary.BigEndian.PutUint32(value[2:], uint32(coordinatorEpoch))
	b, err := BuildBatch(BatchHeader{
		LeaderEpoch: -1, Attributes: AttrTransactional | AttrControl,
		BaseTimestamp: timestamp, MaxTimestamp: timestamp,
		ProducerID: producerID, ProducerEpoch: producerEpoch, BaseSequence: -1,
	}, []Record{{Key: key, Value: value, Headers: nil}})
	if err != nil {
		panic(err) // uncompressed: BuildBatch cannot fail
	}
	return b
}
