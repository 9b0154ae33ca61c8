package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/rillmq/rill/engine/vfs"
)

// WAL is durable Storage: one append-only file of records, each
//
//	uint32 length of kind+body | uint32 CRC-32C of kind+body | kind | body
//
// where kind 1 is a HardState, kind 2 an Entry and kind 3 a Snapshot, all
// protobuf. A later entry at an index replaces that index and everything
// after it, as raft's log does. Save appends and fdatasyncs before
// returning. OpenWAL replays the file and cuts it at the first torn or
// corrupt record: a crash can only lose what Save had not returned for,
// and raft never acted on that.
//
// SaveSnapshot rewrites the file as the snapshot, the hard state and the
// entries after the snapshot: a new file is written and fsynced beside the
// old one, renamed over it and the directory synced, so a crash leaves
// either file whole.
type WAL struct {
	fs   vfs.FS
	path string
	f    vfs.File
	size int64
	// What the file holds, for rewriting it.
	hs      *pb.HardState
	snap    *pb.Snapshot
	entries []*pb.Entry
}

const (
	walHardState = 1
	walEntry     = 2
	walSnapshot  = 3
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
		case walSnapshot:
			snap := new(pb.Snapshot)
			if proto.Unmarshal(body, snap) != nil {
				goto cut
			}
			r.Snapshot = snap
			r.Entries = afterIndex(r.Entries, snap.GetMetadata().GetIndex())
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
	return &WAL{fs: fs, path: path, f: f, size: valid, hs: r.HardState, snap: r.Snapshot, entries: r.Entries}, r, nil
}

// afterIndex keeps the entries after index.
func afterIndex(entries []*pb.Entry, index uint64) []*pb.Entry {
	i := 0
	for i < len(entries) && entries[i].GetIndex() <= index {
		i++
	}
	return entries[i:]
}

// record frames one WAL record.
func record(buf []byte, kind byte, m proto.Message) ([]byte, error) {
	body, err := proto.Marshal(m)
	if err != nil {
		return buf, err
	}
	rec := append([]byte{kind}, body...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec)))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(rec, castagnoli))
	return append(buf, rec...), nil
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
		var err error
		buf, err = record(buf, kind, m)
		return err
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
	for _, e := range entries {
		w.entries = appendEntry(w.entries, e)
	}
	if hs != nil {
		w.hs = hs
	}
	return nil
}

// SaveSnapshot rewrites the WAL as snap, the hard state and the entries
// after snap.
func (w *WAL) SaveSnapshot(snap *pb.Snapshot) error {
	if w.snap != nil && w.snap.GetMetadata().GetIndex() >= snap.GetMetadata().GetIndex() {
		return nil
	}
	entries := afterIndex(w.entries, snap.GetMetadata().GetIndex())
	buf, err := record(nil, walSnapshot, snap)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if buf, err = record(buf, walEntry, e); err != nil {
			return err
		}
	}
	if w.hs != nil {
		if buf, err = record(buf, walHardState, w.hs); err != nil {
			return err
		}
	}
	tmp := w.path + ".tmp"
	f, err := w.fs.OpenFile(tmp, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := w.fs.Rename(tmp, w.path); err != nil {
		f.Close()
		return err
	}
	if err := w.fs.SyncDir(filepath.Dir(w.path)); err != nil {
		f.Close()
		return err
	}
	w.f.Close()
	w.f, w.size, w.snap, w.entries = f, int64(len(buf)), snap, entries
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
