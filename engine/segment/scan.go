package segment

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// batchHead is the part of a batch header reads need.
type batchHead struct {
	base, last int64
	size       int
}

const headLen = 27 // through lastOffsetDelta

// readHead reads the header of the batch at pos, bounded by end.
func readHead(f vfs.File, pos, end int64) (batchHead, error) {
	if end-pos < format.HeaderSize {
		return batchHead{}, io.ErrUnexpectedEOF
	}
	var b [headLen]byte
	if _, err := f.ReadAt(b[:], pos); err != nil {
		return batchHead{}, err
	}
	size, err := format.PeekSize(b[:])
	if err != nil {
		return batchHead{}, err
	}
	if int64(size) > end-pos {
		return batchHead{}, io.ErrUnexpectedEOF
	}
	base := int64(binary.BigEndian.Uint64(b[0:]))
	delta := int32(binary.BigEndian.Uint32(b[23:]))
	return batchHead{base: base, last: base + int64(delta), size: size}, nil
}

// chunkSize is how much scanning reads at a time.
const chunkSize = 1 << 20

// scan reads whole batches in [from, end), parses each (CRC included) and
// calls fn with its position. It returns the position after the last valid
// batch and the error that stopped it: nil at a clean end, ErrCorrupt-marked
// for invalid data, io.ErrUnexpectedEOF for a torn tail, or fn's/the file's
// error.
func scan(f vfs.File, from, end int64, fn func(pos int64, b format.Batch) error) (int64, error) {
	buf := make([]byte, 0, max(min(chunkSize, end-from), format.HeaderSize))
	bufPos := from // file position of buf[0]
	pos := from
	for pos < end {
		off := int(pos - bufPos)
		if len(buf)-off < format.LogOverhead || needMore(buf[off:]) {
			// Refill: keep the unconsumed tail, read more after it.
			rest := copy(buf[:cap(buf)], buf[off:])
			buf, bufPos, off = buf[:rest], pos, 0
			want := int(min(chunkSize, end-bufPos))
			if len(buf) >= format.LogOverhead {
				if size, err := format.PeekSize(buf); err == nil && size > want {
					want = size
				}
			}
			if cap(buf) < want {
				nb := make([]byte, len(buf), want)
				copy(nb, buf)
				buf = nb
			}
			n := min(int64(cap(buf)-len(buf)), end-(bufPos+int64(len(buf))))
			if n > 0 {
				m, err := f.ReadAt(buf[len(buf):len(buf)+int(n)], bufPos+int64(len(buf)))
				buf = buf[:len(buf)+m]
				if err != nil && !errors.Is(err, io.EOF) {
					return pos, err
				}
			}
			if len(buf) < format.LogOverhead {
				return pos, io.ErrUnexpectedEOF
			}
		}
		size, err := format.PeekSize(buf[off:])
		if err != nil {
			return pos, err
		}
		if len(buf)-off < size {
			return pos, io.ErrUnexpectedEOF
		}
		b, err := format.Parse(buf[off : off+size])
		if err != nil {
			return pos, err
		}
		if err := fn(pos, b); err != nil {
			return pos, err
		}
		pos += int64(size)
	}
	return pos, nil
}

// needMore reports whether b lacks the whole batch it starts with.
func needMore(b []byte) bool {
	size, err := format.PeekSize(b)
	return err == nil && len(b) < size
}
