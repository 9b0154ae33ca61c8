package log

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// AbortedTxn is an aborted transaction, as Kafka's AbortedTxn: its
// producer, its first offset, the offset of its ABORT marker (LastOffset)
// and the last stable offset once it completed (the first offset of the
// earliest transaction still open then, or LastOffset+1).
type AbortedTxn struct {
	ProducerID, FirstOffset, LastOffset, LastStableOffset int64
}

// txnIndex is one segment's transaction index: <base>.txnindex, Kafka's
// TransactionIndex file (format.TxnEntrySize-byte entries in marker order,
// see engine/format). It holds the aborted transactions whose ABORT marker
// is in the segment. The file is created on the first entry. Entries are
// read from the file when a fetch asks; in memory there is only a summary
// that lets AbortedTransactions skip the file. It is guarded by the log's
// mu (written under the write lock, read under the read lock).
type txnIndex struct {
	path string
	f    vfs.File // nil until the file exists
	n    int      // entries in the file
	// Summary of the entries (meaningful when n > 0).
	minFirst, maxLast, maxLastStable int64
	// unsynced is set by writes the next Flush must fsync.
	unsynced bool
}

func txnIndexPath(dir string, base int64) string {
	return filepath.Join(dir, format.FileName(base, format.TxnIndexSuffix))
}

func (t *txnIndex) note(e AbortedTxn) {
	if t.n == 0 {
		t.minFirst, t.maxLast, t.maxLastStable = e.FirstOffset, e.LastOffset, e.LastStableOffset
	} else {
		t.minFirst = min(t.minFirst, e.FirstOffset)
		t.maxLast = max(t.maxLast, e.LastOffset)
		t.maxLastStable = max(t.maxLastStable, e.LastStableOffset)
	}
	t.n++
}

func encodeAbortedTxn(b []byte, e AbortedTxn) {
	format.PutTxnEntry(b, format.TxnEntry{Version: format.TxnEntryVersion, ProducerID: e.ProducerID,
		FirstOffset: e.FirstOffset, LastOffset: e.LastOffset, LastStable: e.LastStableOffset})
}

// wellFormed reports whether an entry decoded from a segment [base, next)
// file can be an aborted transaction of it, after an entry whose marker was
// at prevLast (-1 for the first).
func wellFormed(e format.TxnEntry, base, next, prevLast int64) bool {
	return e.Version == format.TxnEntryVersion && e.ProducerID >= 0 &&
		e.FirstOffset >= 0 && e.FirstOffset <= e.LastOffset &&
		e.LastOffset >= base && e.LastOffset < next && e.LastOffset > prevLast &&
		e.LastStable >= 0 && e.LastStable <= e.LastOffset+1
}

// openTxnIndex opens the existing transaction index of the segment [base,
// next) at path and keeps its longest well-formed prefix: a torn last
// entry (a crash mid-write) or anything that cannot be an entry of this
// segment cuts the file there. It returns the number of bytes cut.
func openTxnIndex(fs vfs.FS, path string, base, next int64) (*txnIndex, int64, error) {
	f, err := fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, err
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, 0, err
	}
	t := &txnIndex{path: path, f: f}
	prev := int64(-1)
	for len(buf)-t.n*format.TxnEntrySize >= format.TxnEntrySize {
		e := format.ReadTxnEntry(buf[t.n*format.TxnEntrySize:])
		if !wellFormed(e, base, next, prev) {
			break
		}
		prev = e.LastOffset
		t.note(AbortedTxn{ProducerID: e.ProducerID, FirstOffset: e.FirstOffset, LastOffset: e.LastOffset, LastStableOffset: e.LastStable})
	}
	valid := int64(t.n) * format.TxnEntrySize
	if valid < size {
		if err := f.Truncate(valid); err != nil {
			f.Close()
			return nil, 0, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, 0, err
		}
	}
	return t, size - valid, nil
}

// entries reads every entry from the file.
func (t *txnIndex) entries() ([]AbortedTxn, error) {
	if t.n == 0 || t.f == nil {
		return nil, nil
	}
	buf := make([]byte, t.n*format.TxnEntrySize)
	if _, err := t.f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("log: read %s: %w", t.path, err)
	}
	out := make([]AbortedTxn, t.n)
	for i := range out {
		e := format.ReadTxnEntry(buf[i*format.TxnEntrySize:])
		out[i] = AbortedTxn{ProducerID: e.ProducerID, FirstOffset: e.FirstOffset, LastOffset: e.LastOffset, LastStableOffset: e.LastStable}
	}
	return out, nil
}

// txnIndexLocked returns the transaction index of the segment at base,
// creating it (not yet its file) when missing.
func (l *Log) txnIndexLocked(base int64) *txnIndex {
	t := l.mu.txnIndexes[base]
	if t == nil {
		t = &txnIndex{path: txnIndexPath(l.dir, base)}
		l.mu.txnIndexes[base] = t
	}
	return t
}

// writeTxnEntryLocked writes e after the entries of the segment at base
// without counting it yet: the caller appends the ABORT marker next and
// calls commitTxnEntryLocked only when that succeeded (an entry past the
// count is overwritten by the next one, and cut at open).
func (l *Log) writeTxnEntryLocked(base int64, e AbortedTxn) error {
	t := l.txnIndexLocked(base)
	if t.f == nil {
		f, err := l.fs.OpenFile(t.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		t.f = f
		l.mu.txnDirUnsynced = true
	}
	var buf [format.TxnEntrySize]byte
	encodeAbortedTxn(buf[:], e)
	if _, err := t.f.WriteAt(buf[:], int64(t.n)*format.TxnEntrySize); err != nil {
		return fmt.Errorf("log: write %s: %w", t.path, err)
	}
	t.unsynced = true
	return nil
}

func (l *Log) commitTxnEntryLocked(base int64, e AbortedTxn) {
	l.mu.txnIndexes[base].note(e)
	l.mu.txnEntries++
}

// rewriteTxnIndexLocked replaces the index of the segment at base with
// entries (recovery's rebuild), synced; with no entries the file goes.
//
// changed reports whether the directory changed (a file created or
// removed), which the caller must then sync.
func (l *Log) rewriteTxnIndexLocked(base int64, entries []AbortedTxn) (changed bool, err error) {
	if old := l.mu.txnIndexes[base]; old != nil {
		l.mu.txnEntries -= old.n
		if old.f != nil {
			old.f.Close()
		}
		delete(l.mu.txnIndexes, base)
	}
	path := txnIndexPath(l.dir, base)
	if len(entries) == 0 {
		err := l.fs.Remove(path)
		if errors.Is(err, os.ErrNotExist) {
			// The common case (no transactions): nothing to sync, which
			// spares recovery a directory fsync per partition.
			return false, nil
		}
		return err == nil, err
	}
	f, err := l.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return false, err
	}
	buf := make([]byte, len(entries)*format.TxnEntrySize)
	t := &txnIndex{path: path, f: f}
	for i, e := range entries {
		encodeAbortedTxn(buf[i*format.TxnEntrySize:], e)
		t.note(e)
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		f.Close()
		return true, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return true, err
	}
	l.mu.txnIndexes[base] = t
	l.mu.txnEntries += t.n
	return true, nil
}

// truncateTxnIndexLocked drops the entries of the segment at base whose
// marker is at or after offset, synced (a truncation must be durable
// before new markers reuse the offsets).
func (l *Log) truncateTxnIndexLocked(base, offset int64) error {
	t := l.mu.txnIndexes[base]
	if t == nil || t.f == nil {
		return nil
	}
	all, err := t.entries()
	if err != nil {
		return err
	}
	keep := &txnIndex{path: t.path, f: t.f}
	for _, e := range all {
		if e.LastOffset >= offset {
			break
		}
		keep.note(e)
	}
	if err := t.f.Truncate(int64(keep.n) * format.TxnEntrySize); err != nil {
		return err
	}
	if err := t.f.Sync(); err != nil {
		return err
	}
	l.mu.txnEntries += keep.n - t.n
	l.mu.txnIndexes[base] = keep
	return nil
}

// dropTxnIndexLocked removes the index of a segment leaving the log (its
// segment files were just renamed away and the directory synced). The file
// is removed now, so that a segment created later at the same base starts
// without it (segment creation syncs the directory); the handle closes
// with the segment, after the delete delay, as a Flush may be syncing it.
func (l *Log) dropTxnIndexLocked(base int64) (*txnIndex, error) {
	t := l.mu.txnIndexes[base]
	delete(l.mu.txnIndexes, base)
	if t != nil {
		l.mu.txnEntries -= t.n
	}
	if err := l.fs.Remove(txnIndexPath(l.dir, base)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return t, err
	}
	return t, nil
}

// unsyncedTxnFilesLocked returns the index files written since their last
// sync and clears the marks (the caller restores them with
// markTxnUnsyncedLocked when the sync fails).
func (l *Log) unsyncedTxnFilesLocked() ([]vfs.File, []*txnIndex, bool) {
	var files []vfs.File
	var idx []*txnIndex
	for _, t := range l.mu.txnIndexes {
		if t.unsynced && t.f != nil {
			files = append(files, t.f)
			idx = append(idx, t)
			t.unsynced = false
		}
	}
	dir := l.mu.txnDirUnsynced
	l.mu.txnDirUnsynced = false
	return files, idx, dir
}

// AbortedTransactions returns the aborted transactions a read_committed
// fetch of [from, upTo) must be told of: every one whose ABORT marker is at
// or after from and whose first offset is below upTo, in first offset
// order. It reads only the transaction indexes of segments from the one
// holding from that have entries in range, and stops, as Kafka does, at
// the first entry whose last stable offset reaches upTo (no transaction
// aborted later can have started below upTo). With no aborted transaction
// in the log it returns nil without any reading. A transaction index
// that cannot be read ends the list there (ReadAbortedTransactions
// reports it).
func (l *Log) AbortedTransactions(from, upTo int64) []AbortedTxn {
	out, _ := l.ReadAbortedTransactions(from, upTo)
	return out
}

// ReadAbortedTransactions is AbortedTransactions with the error of a
// transaction index that could not be read: a read_committed fetch then
// answers KAFKA_STORAGE_ERROR rather than a list that misses aborted
// transactions (whose records the reader would take as committed).
func (l *Log) ReadAbortedTransactions(from, upTo int64) ([]AbortedTxn, error) {
	return l.abortedTxns(from, upTo, true)
}

// abortedTxns lists the aborted transactions in [from, upTo) (see
// AbortedTransactions). With stopEarly it stops, as Kafka's fetch does, at
// the first index whose last stable offset reaches upTo; without, it reads
// every index from the one holding from (the cleaner's need).
func (l *Log) abortedTxns(from, upTo int64, stopEarly bool) ([]AbortedTxn, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.mu.txnEntries == 0 || from >= upTo {
		return nil, nil
	}
	segs := l.mu.segments
	var out []AbortedTxn
	for i := max(segmentFor(segs, from), 0); i < len(segs); i++ {
		t := l.mu.txnIndexes[segs[i].BaseOffset()]
		if t == nil || t.n == 0 {
			continue
		}
		if t.maxLast >= from && t.minFirst < upTo {
			all, err := t.entries()
			if err != nil {
				return out, fmt.Errorf("log: transaction index of segment %d: %w", segs[i].BaseOffset(), err)
			}
			for _, e := range all {
				if e.LastOffset >= from && e.FirstOffset < upTo {
					out = append(out, e)
				}
			}
		}
		if stopEarly && t.maxLastStable >= upTo {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FirstOffset < out[j].FirstOffset })
	return out, nil
}
