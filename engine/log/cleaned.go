package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rillmq/rill/engine/vfs"
)

// CleanedFile records how far the cleaner has rewritten a compacted log:
// every segment below the offset it holds (and the gap after it, up to the
// next segment's base) was written by the cleaner, or was durable when the
// cleaner read it. The cleaner deletes batches left with no record (package
// compact), so such a segment may end short of the next segment's base,
// or hold no batch at all; recovery accepts that gap there, and only there,
// since anywhere else a segment that ends short of the next one lost its
// unsynced tail in a crash (load.go). Kafka keeps the like per log
// directory (cleaner-offset-checkpoint) and lowers it on truncation, as
// TruncateTo does here.
const CleanedFile = "cleaned.offset"

// readCleaned reads the log's CleanedFile (0 when there is none).
func (l *Log) readCleaned() (int64, error) {
	data, err := vfs.ReadFile(l.fs, filepath.Join(l.dir, CleanedFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	o, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || o < 0 {
		// Written atomically, so never torn; an unreadable one only
		// makes recovery stricter.
		return 0, nil
	}
	return o, nil
}

// writeCleanedLocked stores offset in the log's CleanedFile, durably. The
// caller holds the maintenance lock.
func (l *Log) writeCleanedLocked(offset int64) error {
	if err := vfs.WriteFileAtomic(l.fs, l.dir, filepath.Join(l.dir, CleanedFile), []byte(strconv.FormatInt(offset, 10)+"\n")); err != nil {
		return fmt.Errorf("log %s: cleaned offset: %w", l.dir, err)
	}
	l.cleaned.Store(offset)
	return nil
}

// MarkCleaned raises the log's cleaned offset to offset before the cleaner
// swaps in segments that end below it: every segment below offset must be
// durable (below the recovery point) and the cleaner's to rewrite. The
// caller holds the maintenance lock.
func (l *Log) MarkCleaned(offset int64) error {
	if offset <= l.cleaned.Load() {
		return nil
	}
	if rp := l.recoveryPoint.Load(); offset > rp {
		return fmt.Errorf("log %s: cleaned offset %d past the recovery point %d", l.dir, offset, rp)
	}
	return l.writeCleanedLocked(offset)
}

// lowerCleanedLocked brings the cleaned offset down to offset before a
// truncation lets new, unsynced data in below it. The caller holds the
// maintenance lock.
func (l *Log) lowerCleanedLocked(offset int64) error {
	if offset >= l.cleaned.Load() {
		return nil
	}
	return l.writeCleanedLocked(max(offset, 0))
}
