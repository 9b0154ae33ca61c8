package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/rillmq/rill/engine/vfs"
)

// WAL is durable Storage: one append-only file of records, each
//
//	uint32 length of kind+body | uint32 CRC-32C of kind+body | kind | body
//
// where kind 1 is a HardState and kind 2 an Entry, both protobuf. A later
// entry at an index replaces that index and everything after it, as raft's
// log does. Save appends and fdatasyncs before returning. OpenWAL replays
// the file and cuts it at the first torn or corrupt record: a crash can
// only lose what Save had not returned for, and raft never acted on that.
type WAL struct {
	f    vfs.File
	size int64
}

const (
	walHardState = 1
	walEntry     = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenWAL opens (or creates) the log at path and returns what it holds.
func OpenWAL(fs vfs.FS, path string) (*WAL, *Restored, error) {
	f, err := fs.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, err
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && size > 0 {
		f.Close()
		return nil, nil, err
	}
	r := &Restored{}
	valid := int64(0)
	for len(buf[valid:]) >= 8 {
		rec := buf[valid:]
		n := int64(binary.BigEndian.Uint32(rec))
		if n < 1 || 8+n > int64(len(rec)) || crc32.Checksum(rec[8:8+n], castagnoli) != binary.BigEndian.Uint32(rec[4:]) {
			break
		}
		body := rec[9 : 8+n]
		switch rec[8] {
		case walHardState:
			hs := new(pb.HardState)
			if proto.Unmarshal(body, hs) != nil {
				goto cut
			}
			r.HardState = hs
		case walEntry:
			e := new(pb.Entry)
			if proto.Unmarshal(body, e) != nil {
				goto cut
			}
			r.Entries = appendEntry(r.Entries, e)
		default:
			goto cut
		}
		valid += 8 + n
	}
cut:
	if valid < size {
		if err := f.Truncate(valid); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("quorum: cutting the WAL's torn tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	return &WAL{f: f, size: valid}, r, nil
}

// appendEntry adds e, replacing the entries at and after its index.
func appendEntry(entries []*pb.Entry, e *pb.Entry) []*pb.Entry {
	for len(entries) > 0 && entries[len(entries)-1].GetIndex() >= e.GetIndex() {
		entries = entries[:len(entries)-1]
	}
	return append(entries, e)
}

// Save appends the hard state and entries and syncs.
func (w *WAL) Save(hs *pb.HardState, entries []*pb.Entry) error {
	var buf []byte
	add := func(kind byte, m proto.Message) error {
		body, err := proto.Marshal(m)
		if err != nil {
			return err
		}
		rec := append([]byte{kind}, body...)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec)))
		buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(rec, castagnoli))
		buf = append(buf, rec...)
		return nil
	}
	for _, e := range entries {
		if err := add(walEntry, e); err != nil {
			return err
		}
	}
	if hs != nil {
		if err := add(walHardState, hs); err != nil {
			return err
		}
	}
	if len(buf) == 0 {
		return nil
	}
	if _, err := w.f.WriteAt(buf, w.size); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	w.size += int64(len(buf))
	return nil
}

// Close closes the file.
func (w *WAL) Close() error {
	if w.f == nil {
		return errors.New("quorum: WAL closed twice")
	}
	err := w.f.Close()
	w.f = nil
	return err
}
