package log

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/segment"
)

// CleaningDir is the subdirectory where the cleaner builds compacted
// segments; anything in it at open is an interrupted pass and is dropped.
const CleaningDir = "cleaning"

// load opens the segments in the log directory. After an unclean shutdown
// (opts.NeedsRecovery) every segment from the one holding the recovery point
// onward is validated batch by batch; the first invalid batch cuts the log
// there and every later segment is dropped, so the log never serves bytes
// past a hole. Leftovers of interrupted operations go first: *.deleted
// (async deletes), *.tmp (checkpoint writes), cleaning/ (compaction).
// Every cut and every dropped segment is reported through opts.Logger, one
// Warn record each, naming the partition, the file, where and how much, and why.
func (l *Log) load(opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	partition := filepath.Base(l.dir)
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return err
	}
	var bases, snapshots []int64
	hasEpochFile := false
	hasIndex := map[int64]bool{}
	hasTxnIndex := map[int64]bool{}
	for _, name := range names {
		path := filepath.Join(l.dir, name)
		switch {
		case strings.HasSuffix(name, format.DeletedSuffix), strings.HasSuffix(name, ".tmp"):
			// Interrupted deletions and atomic writes.
			if err := l.fs.Remove(path); err != nil {
				return err
			}
		case name == CleaningDir:
			if err := l.fs.RemoveAll(path); err != nil {
				return err
			}
		case name == EpochCheckpointFile:
			hasEpochFile = true
		default:
			if base, ok := format.ParseFileName(name, format.LogSuffix); ok {
				bases = append(bases, base)
			} else if base, ok := format.ParseFileName(name, format.IndexSuffix); ok {
				hasIndex[base] = true
			} else if base, ok := format.ParseFileName(name, format.TxnIndexSuffix); ok {
				hasTxnIndex[base] = true
			} else if o, ok := format.ParseFileName(name, snapshotSuffix); ok {
				snapshots = append(snapshots, o)
			}
		}
	}
	cfg := l.config.Load()
	segCfg := cfg.segmentConfig()
	cleaned, err := l.readCleaned()
	if err != nil {
		return err
	}
	l.cleaned.Store(cleaned)
	var segs []*segment.Segment
	// rescanned holds the segments recovery validated batch by batch:
	// their transaction indexes are rebuilt from the batches.
	rescanned := map[int64]bool{}
	dropFrom := -1
	var dropWhy string
	for i, base := range bases {
		active := i == len(bases)-1
		recover := !hasIndex[base] ||
			(opts.NeedsRecovery && (active || bases[i+1] > opts.RecoveryPoint))
		limit := int64(math.MaxInt64)
		if !active {
			limit = bases[i+1]
		}
		s, cut, err := segment.OpenBounded(l.fs, l.dir, base, segCfg, active, recover, limit)
		if err != nil && !recover && format.IsCorrupt(err) {
			// A "clean" segment whose tail does not parse: validate it.
			recover = true
			s, cut, err = segment.OpenBounded(l.fs, l.dir, base, segCfg, active, true, limit)
		}
		if err != nil {
			for _, s := range segs {
				s.Close(false)
			}
			return err
		}
		if cut.Dropped > 0 {
			logPath, _, _ := segment.Paths(l.dir, base)
			log.Warn("recovery cut segment", "partition", partition, "segment", logPath,
				"position", cut.Pos, "dropped_bytes", cut.Dropped, "reason", cut.Reason())
		}
		if i > 0 && segs[i-1].NextOffset() > base {
			// Overlap: an earlier segment's tail runs into this one,
			// which no clean history produces. Keep the earlier.
			s.Close(false)
			dropFrom = i
			dropWhy = fmt.Sprintf("segment %d overlaps the previous one, which ends at offset %d", base, segs[i-1].NextOffset())
			break
		}
		segs = append(segs, s)
		if recover {
			rescanned[base] = true
		}
		if !active && s.NextOffset() < bases[i+1] && !cleanerGap(recover, cut, bases[i+1], cleaned) {
			// Outside what the cleaner rewrote, segments are
			// contiguous, so a hole means this segment lost its tail:
			// a crash took unsynced data, or recovery cut corruption.
			// Everything after it was unsynced too; drop it rather than
			// serve offsets past a hole.
			dropFrom = i + 1
			dropWhy = fmt.Sprintf("segment %d ends at offset %d, short of the next segment's base %d", base, s.NextOffset(), bases[i+1])
			break
		}
	}
	if dropFrom >= 0 {
		for _, base := range bases[dropFrom:] {
			logPath, _, _ := segment.Paths(l.dir, base)
			size := int64(-1)
			if st, err := l.fs.Stat(logPath); err == nil {
				size = st.Size()
			}
			log.Warn("recovery dropped segment and its indexes", "partition", partition, "segment", logPath,
				"bytes", size, "reason", dropWhy)
			for _, p := range append(segment.AllPaths(l.dir, base), txnIndexPath(l.dir, base)) {
				if err := l.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return err
		}
		if len(segs) > 0 {
			if err := segs[len(segs)-1].Reactivate(segCfg); err != nil {
				return err
			}
		}
	}
	if len(segs) == 0 {
		s, err := segment.Create(l.fs, l.dir, max(opts.LogStartOffset, 0), segCfg)
		if err != nil {
			return err
		}
		segs = append(segs, s)
	}
	l.mu.segments = segs
	l.mu.created = l.clock()
	leo := segs[len(segs)-1].NextOffset()
	l.logEndOffset.Store(leo)
	l.logStartOffset.Store(min(max(opts.LogStartOffset, segs[0].BaseOffset()), leo))
	if err := l.openTxnIndexesLocked(hasTxnIndex, rescanned, log); err != nil {
		return err
	}
	// The listing above names the snapshots: no second one.
	sort.Slice(snapshots, func(i, j int) bool { return snapshots[i] < snapshots[j] })
	if err := l.rebuildProducersFromLocked(rescanned, snapshots); err != nil {
		return err
	}
	// A clean open leaves the leader epochs to their first use
	// (ensureEpochsLocked); recovery needs them now, with the epochs of
	// the batches past the recovery point.
	switch {
	case opts.NeedsRecovery:
		if err := l.loadEpochsLocked(max(opts.RecoveryPoint, 0)); err != nil {
			return err
		}
		l.mu.epochsLoaded = true
	case !hasEpochFile && len(segs) == 1 && segs[0].Size() == 0:
		// Empty, and no file: no epochs (a new partition's first
		// append reads nothing).
		l.mu.epochsLoaded = true
	}
	if opts.NeedsRecovery {
		// What recovery validated came from the page cache at best; make
		// it durable before calling it recovered.
		l.recoveryPoint.Store(min(opts.RecoveryPoint, leo))
		return l.Flush()
	}
	l.recoveryPoint.Store(leo)
	return nil
}

// cleanerGap reports whether a closed segment that ends short of the next
// segment's base (next) may: the cleaner deletes emptied batches, at a
// segment's end too, and may leave a segment with no batch at all
// (package compact), as Kafka's does, whose loader accepts the gaps. Such
// a gap is accepted when the segment lies below the log's cleaned offset
// (cleaned.go: the cleaner's, and durable) and recovery cut nothing from
// it, or when the segment was trusted without a rescan (below the
// recovery point: durable, so it cannot have lost a tail). Anywhere else
// the hole is the trace of a crash.
func cleanerGap(rescanned bool, cut segment.Cut, next, cleaned int64) bool {
	if cut.Dropped > 0 {
		return false
	}
	return !rescanned || next <= cleaned
}

// openTxnIndexesLocked opens the transaction index of every segment that
// recovery did not rescan (those it did are rebuilt by the producer state
// replay) and removes index files whose segment is gone.
func (l *Log) openTxnIndexesLocked(files, rescanned map[int64]bool, log *slog.Logger) error {
	live := map[int64]*segment.Segment{}
	for _, s := range l.mu.segments {
		live[s.BaseOffset()] = s
	}
	for base := range files {
		path := txnIndexPath(l.dir, base)
		s := live[base]
		if s == nil {
			if err := l.fs.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		if rescanned[base] {
			continue
		}
		t, cut, err := openTxnIndex(l.fs, path, base, s.NextOffset())
		if err != nil {
			return err
		}
		if cut > 0 {
			log.Warn("recovery cut a torn or invalid transaction index entry", "partition", filepath.Base(l.dir),
				"index", path, "dropped_bytes", cut)
		}
		l.mu.txnIndexes[base] = t
		l.mu.txnEntries += t.n
	}
	return nil
}
