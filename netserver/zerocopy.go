package netserver

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"golang.org/x/sys/unix"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/netserver/wire"
)

// piece is part of a response frame: bytes, or a file range to sendfile.
type piece struct {
	bytes []byte
	file  vfs.File
	pos   int64
	n     int64
}

const markerLen = 16

// encodeFetch encodes a Fetch answer whose record data are file ranges
// without reading them. kmsg encodes the response with a random 16-byte
// marker in place of each range's records; the marker and its length
// prefix (int32 before v12, uvarint(len+1) from v12) are then replaced by
// the range's real length prefix and the range itself. Everything but the
// record bytes is thus kmsg's encoding.
func encodeFetch(correlationID int32, fr *handler.FetchResponse) ([]piece, error) {
	var nonce [markerLen - 4]byte
	rand.Read(nonce[:])
	markers := make([][]byte, len(fr.Ranges))
	for i, r := range fr.Ranges {
		m := binary.BigEndian.AppendUint32(append([]byte(nil), nonce[:]...), uint32(i))
		markers[i] = m
		fr.Topics[r.Topic].Partitions[r.Partition].RecordBatches = m
	}
	enc := wire.AppendResponse(nil, correlationID, fr.FetchResponse)
	flexible := fr.Version >= 12
	var pieces []piece
	cursor := 0
	var total int64
	for i, r := range fr.Ranges {
		at := bytes.Index(enc[cursor:], markers[i])
		if at < 0 {
			return nil, fmt.Errorf("netserver: fetch marker %d not found", i)
		}
		at += cursor
		prefixLen := 4
		if flexible {
			prefixLen = 1 // uvarint(17) is one byte
		}
		head := enc[cursor : at-prefixLen]
		if flexible {
			head = binary.AppendUvarint(append([]byte(nil), head...), uint64(r.Len)+1)
		} else {
			head = binary.BigEndian.AppendUint32(append([]byte(nil), head...), uint32(r.Len))
		}
		pieces = append(pieces, piece{bytes: head}, piece{file: r.File, pos: r.Pos, n: r.Len})
		total += int64(len(head)) + r.Len
		cursor = at + markerLen
	}
	tail := enc[cursor:]
	pieces = append(pieces, piece{bytes: tail})
	total += int64(len(tail))
	// The frame size counts everything after the 4-byte size itself.
	binary.BigEndian.PutUint32(pieces[0].bytes, uint32(total-4))
	for _, r := range fr.Ranges {
		fr.Topics[r.Topic].Partitions[r.Partition].RecordBatches = nil
	}
	return pieces, nil
}

// writePieces writes a frame: bytes through w, file ranges with sendfile
// when both ends have descriptors (after flushing w), else by one copy.
func writePieces(w interface {
	io.Writer
	Flush() error
}, conn net.Conn, pieces []piece) error {
	for _, p := range pieces {
		if p.file == nil {
			if _, err := w.Write(p.bytes); err != nil {
				return err
			}
			continue
		}
		fdf, okFile := p.file.(vfs.FdFile)
		tcp, okConn := conn.(*net.TCPConn)
		if !okFile || !okConn {
			buf := make([]byte, p.n)
			if _, err := p.file.ReadAt(buf, p.pos); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
			continue
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := sendfile(tcp, fdf, p.pos, p.n); err != nil {
			return err
		}
	}
	return nil
}

// sendfile copies n bytes of f at pos to the socket inside the kernel. The
// file offset is passed explicitly, so concurrent readers of one segment
// file do not disturb each other.
func sendfile(conn *net.TCPConn, f vfs.FdFile, pos, n int64) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var sendErr error
	off := pos
	remain := n
	err = rc.Write(func(fd uintptr) bool {
		for remain > 0 {
			k, err := unix.Sendfile(int(fd), int(f.Fd()), &off, int(min(remain, 1<<30)))
			if k > 0 {
				remain -= int64(k)
			}
			switch {
			case err == unix.EAGAIN:
				return false // wait until the socket is writable
			case err == unix.EINTR:
				continue
			case err != nil:
				sendErr = fmt.Errorf("sendfile: %w", err)
				return true
			case k == 0:
				sendErr = fmt.Errorf("sendfile: %s shorter than the range being sent", f.Name())
				return true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return sendErr
}
