package format

import "encoding/binary"

// TxnIndexSuffix names a segment's transaction index: the aborted
// transactions whose ABORT marker lies in the segment.
const TxnIndexSuffix = ".txnindex"

// A transaction index entry is Kafka's AbortedTxn (TransactionIndex.java),
// 34 bytes, big-endian:
//
//	offset size field
//	     0    2 version           0
//	     2    8 producerId
//	    10    8 firstOffset       the transaction's first offset
//	    18    8 lastOffset        the ABORT marker's offset
//	    26    8 lastStableOffset  the first unstable offset once it completed
//
// The file is a plain sequence of entries in lastOffset order, appended as
// markers are written, with no header and no checksum (recovery rebuilds
// it, as it does the offset indexes).
const (
	TxnEntrySize    = 34
	TxnEntryVersion = 0
)

// TxnEntry is one decoded transaction index entry.
type TxnEntry struct {
	Version                                         int16
	ProducerID, FirstOffset, LastOffset, LastStable int64
}

// PutTxnEntry writes e (its Version as given) into b[:TxnEntrySize].
func PutTxnEntry(b []byte, e TxnEntry) {
	_ = b[TxnEntrySize-1]
	binary.BigEndian.PutUint16(b, uint16(e.Version))
	binary.BigEndian.PutUint64(b[2:], uint64(e.ProducerID))
	binary.BigEndian.PutUint64(b[10:], uint64(e.FirstOffset))
	binary.BigEndian.PutUint64(b[18:], uint64(e.LastOffset))
	binary.BigEndian.PutUint64(b[26:], uint64(e.LastStable))
}

// ReadTxnEntry decodes the entry at the start of b, which must hold at
// least TxnEntrySize bytes.
func ReadTxnEntry(b []byte) TxnEntry {
	_ = b[TxnEntrySize-1]
	return TxnEntry{
		Version:     int16(binary.BigEndian.Uint16(b)),
		ProducerID:  int64(binary.BigEndian.Uint64(b[2:])),
		FirstOffset: int64(binary.BigEndian.Uint64(b[10:])),
		LastOffset:  int64(binary.BigEndian.Uint64(b[18:])),
		LastStable:  int64(binary.BigEndian.Uint64(b[26:])),
	}
}
