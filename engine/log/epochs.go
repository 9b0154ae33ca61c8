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
// rewritten atomically whenever an epoch is added or cut. A missing or
// unreadable file is rebuilt from the batches' leader epochs.

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

// persistEpochsLocked rewrites the checkpoint.
func (l *Log) persistEpochsLocked() error {
	return vfs.WriteFileAtomic(l.fs, l.dir, filepath.Join(l.dir, EpochCheckpointFile), l.mu.epochs.encode())
}

// loadEpochsLocked reads the checkpoint, or rebuilds it from the batches
// when it is missing, unreadable, or reaches past the log end.
func (l *Log) loadEpochsLocked() error {
	leo := l.logEndOffset.Load()
	data, err := vfs.ReadFile(l.fs, filepath.Join(l.dir, EpochCheckpointFile))
	if err == nil {
		if c, derr := decodeEpochs(data); derr == nil {
			l.mu.epochs = c
			if l.mu.epochs.TruncateFrom(leo) {
				return l.persistEpochsLocked()
			}
			return nil
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
	return l.persistEpochsLocked()
}

// noteEpochLocked records an appended batch's epoch.
func (l *Log) noteEpochLocked(b format.Batch) error {
	if e := b.LeaderEpoch(); e > l.mu.epochs.Latest() {
		l.mu.epochs.Assign(e, b.BaseOffset())
		return l.persistEpochsLocked()
	}
	return nil
}

// LeaderEpochs returns the log's leader epochs.
func (l *Log) LeaderEpochs() []EpochEntry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.mu.epochs.Entries()
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch from this log.
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.mu.epochs.EndOffsetFor(epoch, l.logEndOffset.Load())
}
