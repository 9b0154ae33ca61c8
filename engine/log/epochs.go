package log

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/engine/vfs"
)

// Leader epochs: the first offset each leader epoch wrote, the log's
// history of leadership. Replicas compare theirs to find where their logs
// diverge (OffsetForLeaderEpoch, KIP-101/279). The log keeps it in the
// partition directory as Kafka does:
//
//	leader-epoch-checkpoint:   0            (version)
//	                           N            (entries)
//	                           EPOCH OFFSET (N lines, ascending)
//
// Appending a batch that opens an epoch changes only the in-memory cache
// (as Kafka since KAFKA-15046): the file is rewritten atomically (temp
// file, fsync, rename, directory fsync) by the next Flush, after the data
// and before the recovery point moves, and by a clean Close. So the file
// always covers every batch below the recovery point; after a crash the
// batches above it, which recovery scans anyway, give back the epochs the
// file missed (loadEpochsLocked). Cuts (TruncateTo, TruncateFullyAndStartAt,
// a file ahead of the recovered log end) are rare and rewrite the file at
// once. A missing or unreadable file is rebuilt from the batches' leader
// epochs.

// EpochCheckpointFile is the leader epoch file's name.
const EpochCheckpointFile = "leader-epoch-checkpoint"

// EpochEntry is the first offset written in a leader epoch.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// EpochCache is a log's leader epochs, ascending by epoch and offset. The
// zero value is empty. It is a plain value: Log guards its own.
type EpochCache struct {
	entries []EpochEntry
}

// Entries returns a copy of the cache.
func (c *EpochCache) Entries() []EpochEntry { return append([]EpochEntry(nil), c.entries...) }

// Assign records that epoch starts at offset. Entries at or after offset,
// or of an epoch not older than this one, are dropped first: they
// described a history this log no longer has. It reports whether the
// cache changed.
func (c *EpochCache) Assign(epoch int32, offset int64) bool {
	if n := len(c.entries); n > 0 && c.entries[n-1].Epoch == epoch && c.entries[n-1].StartOffset <= offset {
		return false
	}
	c.TruncateFrom(offset)
	i := len(c.entries)
	for i > 0 && c.entries[i-1].Epoch >= epoch {
		i--
	}
	c.entries = append(c.entries[:i], EpochEntry{epoch, offset})
	return true
}

// TruncateFrom drops epochs that start at or after offset (the log was cut
// there); it reports whether any went.
func (c *EpochCache) TruncateFrom(offset int64) bool {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset >= offset })
	cut := i < len(c.entries)
	c.entries = c.entries[:i]
	return cut
}

// Latest is the newest epoch (-1 when empty).
func (c *EpochCache) Latest() int32 {
	if len(c.entries) == 0 {
		return -1
	}
	return c.entries[len(c.entries)-1].Epoch
}

// EndOffsetFor answers OffsetForLeaderEpoch for epoch on a log ending at
// logEnd: the largest epoch at or below the asked one and the offset where
// it ends (the next epoch's start, or logEnd for the latest). (-1, -1)
// when this log has no such epoch.
func (c *EpochCache) EndOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].Epoch > epoch })
	if i == 0 {
		return -1, -1
	}
	if i == len(c.entries) {
		return c.entries[i-1].Epoch, logEnd
	}
	return c.entries[i-1].Epoch, c.entries[i].StartOffset
}

func (c *EpochCache) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "0\n%d\n", len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return b.Bytes()
}

func decodeEpochs(data []byte) (EpochCache, error) {
	var c EpochCache
	sc := bufio.NewScanner(bytes.NewReader(data))
	var lines []string
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	var n int
	if len(lines) < 2 || lines[0] != "0" {
		return c, fmt.Errorf("leader epoch file: bad header")
	}
	if _, err := fmt.Sscan(lines[1], &n); err != nil || n != len(lines)-2 {
		return c, fmt.Errorf("leader epoch file: %d entries announced, %d present", n, len(lines)-2)
	}
	for _, l := range lines[2:] {
		var e EpochEntry
		if _, err := fmt.Sscan(l, &e.Epoch, &e.StartOffset); err != nil {
			return c, fmt.Errorf("leader epoch file: %q: %w", l, err)
		}
		if k := len(c.entries); k > 0 && (e.Epoch <= c.entries[k-1].Epoch || e.StartOffset < c.entries[k-1].StartOffset) {
			return c, fmt.Errorf("leader epoch file: entries out of order")
		}
		c.entries = append(c.entries, e)
	}
	return c, nil
}

// persistEpochsLocked rewrites the checkpoint now. The caller holds
// epochFile and mu (a cut, which must not be undone by a Flush's older
// write), or is the open's recovery, before the log is shared.
func (l *Log) persistEpochsLocked() error {
	if err := vfs.WriteFileAtomic(l.fs, l.dir, filepath.Join(l.dir, EpochCheckpointFile), l.mu.epochs.encode()); err != nil {
		return err
	}
	l.epochFile.persisted = l.mu.epochsVersion
	return nil
}

// noteEpochsChangedLocked marks the cache as ahead of the file; the next
// Flush writes it.
func (l *Log) noteEpochsChangedLocked() { l.mu.epochsVersion++ }

// persistEpochs writes the cache when it changed since version last
// reached the file and has at least version. Flush calls it after syncing
// the data and before advancing the recovery point; mu is not held across
// the write, epochFile orders it against other writers.
func (l *Log) persistEpochs(version uint64) error {
	l.epochFile.Lock()
	defer l.epochFile.Unlock()
	if l.epochFile.persisted >= version {
		return nil // a concurrent Flush or a cut wrote it
	}
	l.mu.RLock()
	data, v := l.mu.epochs.encode(), l.mu.epochsVersion
	l.mu.RUnlock()
	if err := vfs.WriteFileAtomic(l.fs, l.dir, filepath.Join(l.dir, EpochCheckpointFile), data); err != nil {
		return err
	}
	l.epochFile.persisted = v
	return nil
}

// loadEpochsLocked reads the checkpoint, or rebuilds it from the batches
// when it is missing or unreadable. A file reaching past the log end (a
// crash took the batches it named) is cut there. After an unclean
// shutdown (from >= 0, at open) the batches from the recovery point on add
// the epochs they open, since the file covers only what lies below it, and
// a repaired file is written at once. On a first use after a clean open
// (from < 0; a Flush may run concurrently, and only Flush and cuts write
// the file) a repair is left to the next Flush.
func (l *Log) loadEpochsLocked(from int64) error {
	leo := l.logEndOffset.Load()
	repaired := func() error {
		l.noteEpochsChangedLocked()
		if from < 0 {
			return nil
		}
		return l.persistEpochsLocked()
	}
	data, err := vfs.ReadFile(l.fs, filepath.Join(l.dir, EpochCheckpointFile))
	if err == nil {
		if c, derr := decodeEpochs(data); derr == nil {
			l.mu.epochs = c
			if l.mu.epochs.TruncateFrom(leo) {
				if err := repaired(); err != nil {
					return err
				}
			}
			if from < 0 || from >= leo {
				return nil
			}
			return l.forEachBatchLocked(from, func(_ *segment.Segment, b format.Batch) {
				if e := b.LeaderEpoch(); e > l.mu.epochs.Latest() {
					l.mu.epochs.Assign(e, b.BaseOffset())
					l.noteEpochsChangedLocked()
				}
			})
		}
	}
	var c EpochCache
	err = l.forEachBatchLocked(0, func(_ *segment.Segment, b format.Batch) {
		if e := b.LeaderEpoch(); e > c.Latest() {
			c.Assign(e, b.BaseOffset())
		}
	})
	if err != nil {
		return err
	}
	l.mu.epochs = c
	if len(c.entries) == 0 && !vfs.Exists(l.fs, filepath.Join(l.dir, EpochCheckpointFile)) {
		return nil // nothing to record yet
	}
	return repaired()
}

// ensureEpochsLocked loads the cache on first use after a clean open,
// which does not read the file (issue 16: a clean start with 100,000
// partitions reads no per-partition file it can do without). The caller
// holds mu. An error (the batch scan that rebuilds a missing file failed)
// leaves the cache unloaded.
func (l *Log) ensureEpochsLocked() error {
	if l.mu.epochsLoaded {
		return nil
	}
	if err := l.loadEpochsLocked(-1); err != nil {
		return fmt.Errorf("log %s: leader epochs: %w", l.dir, err)
	}
	l.mu.epochsLoaded = true
	return nil
}

// rlockEpochs takes mu's read lock with the cache loaded. On an error it
// returns without the lock, and the log takes no more writes (ErrFailed):
// its callers answer queries and have no error to return.
func (l *Log) rlockEpochs() bool {
	l.mu.RLock()
	if l.mu.epochsLoaded {
		return true
	}
	l.mu.RUnlock()
	l.mu.Lock()
	err := l.ensureEpochsLocked()
	if err != nil {
		l.mu.failed = true
	}
	l.mu.Unlock()
	if err != nil {
		return false
	}
	l.mu.RLock()
	return true
}

// noteEpochLocked records an appended batch's epoch in the cache (loaded:
// Append ensured it); the next Flush makes it durable (no file write on
// the append path).
func (l *Log) noteEpochLocked(b format.Batch) {
	if e := b.LeaderEpoch(); e > l.mu.epochs.Latest() {
		l.mu.epochs.Assign(e, b.BaseOffset())
		l.noteEpochsChangedLocked()
	}
}

// LeaderEpochs returns the log's leader epochs (none if they could not be
// read; the log is then failed).
func (l *Log) LeaderEpochs() []EpochEntry {
	if !l.rlockEpochs() {
		return nil
	}
	defer l.mu.RUnlock()
	return l.mu.epochs.Entries()
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch from this log ((-1, -1)
// if its epochs could not be read; the log is then failed).
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	if !l.rlockEpochs() {
		return -1, -1
	}
	defer l.mu.RUnlock()
	return l.mu.epochs.EndOffsetFor(epoch, l.logEndOffset.Load())
}
