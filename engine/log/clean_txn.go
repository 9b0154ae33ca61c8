package log

import (
	"errors"
	"fmt"
	"os"

	"github.com/rillmq/rill/engine/format"
)

// What the log cleaner (engine/compact) needs from the transaction state to
// follow Kafka's rules: where it must stop, which transactions were
// aborted, which batch of each producer it must keep, and how a cleaned
// segment's transaction index replaces the old one (SwapCleaned).

// FirstUnstableOffset is the first offset of the earliest open
// transaction, or the log end offset when none is open. The cleaner never
// cleans at or past it, as Kafka's cleaner stops at the first unstable
// offset: an open transaction may still abort, and its marker is not in
// the log yet. Completed transactions whose marker may not be replicated
// yet (which LastStableOffset still counts) do not hold it back: a marker
// is written only once the coordinator has decided the outcome, so it
// cannot change, and a marker a truncation takes comes back the same.
func (l *Log) FirstUnstableOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	fu := l.logEndOffset.Load()
	for _, first := range l.mu.producers.ongoing {
		fu = min(fu, first)
	}
	return fu
}

// ProducerTail is what the cleaner must keep of a producer so that its
// state can be rebuilt from the log alone, as Kafka's LastRecord: the
// batch holding LastDataOffset (the producer's last sequence), or, when
// the producer has no data batch with a sequence at its epoch, its markers
// of that epoch.
type ProducerTail struct {
	Epoch int16
	// LastDataOffset is the last offset of the producer's last data batch
	// with a sequence at Epoch (-1: none).
	LastDataOffset int64
}

// ProducerTails returns the tail of every producer the log knows, by id.
func (l *Log) ProducerTails() map[int64]ProducerTail {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[int64]ProducerTail, len(l.mu.producers.byID))
	for pid, e := range l.mu.producers.byID {
		t := ProducerTail{Epoch: e.Epoch, LastDataOffset: -1}
		if n := len(e.Batches); n > 0 {
			t.LastDataOffset = e.Batches[n-1].Last
		}
		out[pid] = t
	}
	return out
}

// CleanerAbortedTxns returns every aborted transaction whose ABORT marker
// is at or after from and whose first offset is below upTo, in first
// offset order. Unlike AbortedTransactions it reads every segment's index
// from the one holding from, and fails on a read error instead of
// answering what it read.
func (l *Log) CleanerAbortedTxns(from, upTo int64) ([]AbortedTxn, error) {
	out, err := l.abortedTxns(from, upTo, false)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteCleanedTxnIndex writes the transaction index of the cleaned copy of
// the segment at base under CleaningPath, synced, with entries in marker
// order. With no entries it removes any file left there by an earlier
// failed pass, so that SwapCleaned removes the segment's index.
func (l *Log) WriteCleanedTxnIndex(base int64, entries []AbortedTxn) error {
	path := txnIndexPath(l.CleaningPath(), base)
	if len(entries) == 0 {
		if err := l.fs.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	buf := make([]byte, len(entries)*format.TxnEntrySize)
	for i, e := range entries {
		encodeAbortedTxn(buf[i*format.TxnEntrySize:], e)
	}
	f, err := l.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
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
	return f.Close()
}

// moveCleanedTxnIndexLocked puts the cleaned copy's transaction index (if
// any) in place of the segment's, or removes the segment's when the copy
// has none. SwapCleaned calls it while the segment has no offset index on
// disk, so that a crash before the next directory sync leaves a segment
// that recovery rescans, rebuilding its transaction index from its batches.
func (l *Log) moveCleanedTxnIndexLocked(base int64) error {
	cleaned, path := txnIndexPath(l.CleaningPath(), base), txnIndexPath(l.dir, base)
	if _, err := l.fs.Stat(cleaned); err == nil {
		return l.fs.Rename(cleaned, path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := l.fs.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// reloadTxnIndexLocked replaces the in-memory index of the segment at base
// (ending at next) with the file now on disk, and returns the old one,
// whose handle the caller closes after the delete delay (a Flush may be
// syncing it).
func (l *Log) reloadTxnIndexLocked(base, next int64) (*txnIndex, error) {
	old := l.mu.txnIndexes[base]
	delete(l.mu.txnIndexes, base)
	if old != nil {
		l.mu.txnEntries -= old.n
	}
	path := txnIndexPath(l.dir, base)
	if _, err := l.fs.Stat(path); errors.Is(err, os.ErrNotExist) {
		return old, nil
	}
	t, cut, err := openTxnIndex(l.fs, path, base, next)
	if err != nil {
		return old, err
	}
	if cut > 0 {
		t.f.Close()
		return old, fmt.Errorf("log %s: cleaned transaction index %s has %d bytes of invalid entries", l.dir, path, cut)
	}
	l.mu.txnIndexes[base] = t
	l.mu.txnEntries += t.n
	return old, nil
}
