package format

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Segment file suffixes.
const (
	LogSuffix       = ".log"
	IndexSuffix     = ".index"
	TimeIndexSuffix = ".timeindex"
	// CleanedSuffix marks a compacted copy being written; recovery deletes it.
	CleanedSuffix = ".cleaned"
	// DeletedSuffix marks a segment file scheduled for removal.
	DeletedSuffix = ".deleted"
)

// FileName is the 20-digit zero-padded base offset plus suffix.
func FileName(baseOffset int64, suffix string) string {
	return fmt.Sprintf("%020d%s", baseOffset, suffix)
}

// ParseFileName returns the base offset of a segment file name with the
// given suffix.
func ParseFileName(name, suffix string) (int64, bool) {
	if !strings.HasSuffix(name, suffix) {
		return 0, false
	}
	stem := strings.TrimSuffix(name, suffix)
	if len(stem) != 20 {
		return 0, false
	}
	o, err := strconv.ParseInt(stem, 10, 64)
	if err != nil || o < 0 {
		return 0, false
	}
	return o, true
}

// Index entry sizes, as in Kafka.
const (
	// OffsetEntrySize: relative offset (int32) + file position (int32).
	OffsetEntrySize = 8
	// TimeEntrySize: timestamp (int64) + relative offset (int32).
	TimeEntrySize = 12
)

// PutOffsetEntry writes an offset index entry.
func PutOffsetEntry(b []byte, relOffset, position int32) {
	binary.BigEndian.PutUint32(b, uint32(relOffset))
	binary.BigEndian.PutUint32(b[4:], uint32(position))
}

// OffsetEntry reads an offset index entry.
func OffsetEntry(b []byte) (relOffset, position int32) {
	return int32(binary.BigEndian.Uint32(b)), int32(binary.BigEndian.Uint32(b[4:]))
}

// PutTimeEntry writes a time index entry.
func PutTimeEntry(b []byte, ts int64, relOffset int32) {
	binary.BigEndian.PutUint64(b, uint64(ts))
	binary.BigEndian.PutUint32(b[8:], uint32(relOffset))
}

// TimeEntry reads a time index entry.
func TimeEntry(b []byte) (ts int64, relOffset int32) {
	return int64(binary.BigEndian.Uint64(b)), int32(binary.BigEndian.Uint32(b[8:]))
}
