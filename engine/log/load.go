package log

import (
	"errors"
	"math"
	"os"
	"path/filepath"
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
func (l *Log) load(opts Options) error {
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return err
	}
	var bases []int64
	hasIndex := map[int64]bool{}
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
		default:
			if base, ok := format.ParseFileName(name, format.LogSuffix); ok {
				bases = append(bases, base)
			} else if base, ok := format.ParseFileName(name, format.IndexSuffix); ok {
				hasIndex[base] = true
			}
		}
	}
	cfg := l.config.Load()
	segCfg := cfg.segmentConfig()
	var segs []*segment.Segment
	dropFrom := -1
	for i, base := range bases {
		active := i == len(bases)-1
		recover := !hasIndex[base] ||
			(opts.NeedsRecovery && (active || bases[i+1] > opts.RecoveryPoint))
		limit := int64(math.MaxInt64)
		if !active {
			limit = bases[i+1]
		}
		s, err := segment.OpenBounded(l.fs, l.dir, base, segCfg, active, recover, limit)
		if err != nil && !recover && format.IsCorrupt(err) {
			// A "clean" segment whose tail does not parse: validate it.
			recover = true
			s, err = segment.OpenBounded(l.fs, l.dir, base, segCfg, active, true, limit)
		}
		if err != nil {
			for _, s := range segs {
				s.Close(false)
			}
			return err
		}
		if i > 0 && segs[i-1].NextOffset() > base {
			// Overlap: an earlier segment's tail runs into this one,
			// which no clean history produces. Keep the earlier.
			s.Close(false)
			dropFrom = i
			break
		}
		segs = append(segs, s)
		if !active && s.NextOffset() < bases[i+1] {
			// Segments are contiguous (the cleaner keeps each segment's
			// last offset), so a hole means this segment lost its tail:
			// a crash took unsynced data, or recovery cut corruption.
			// Everything after it was unsynced too; drop it rather than
			// serve offsets past a hole.
			dropFrom = i + 1
			break
		}
	}
	if dropFrom >= 0 {
		for _, base := range bases[dropFrom:] {
			for _, p := range segment.AllPaths(l.dir, base) {
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
	if err := l.rebuildProducersLocked(); err != nil {
		return err
	}
	if err := l.loadEpochsLocked(); err != nil {
		return err
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
