package compact

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rillmq/rill/engine/fdcache"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
)

// TestCompactionAgainstModel interleaves random keyed appends (with
// tombstones), rolls, cleaner passes, crashes and clean reopens on a
// compacted log, and checks after every step that
//   - every record the log holds is the one appended at that offset;
//   - each key's latest value (or a tombstone younger than
//     delete.retention.ms) is still there;
//   - the log end never moves except by appends;
//   - offsets only grow, batch after batch, and no batch emptied by the
//     cleaner stays but the last pass's last (KAFKA-17076).
func TestCompactionAgainstModel(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 4
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runCompactionModel(t, uint64(seed), 0) })
	}
	// With a descriptor cap of 1 (log.open.files.max): cleaned segments
	// are renamed over open ones whose descriptors may be evicted.
	for seed := 0; seed < max(seeds/4, 2); seed++ {
		t.Run(fmt.Sprintf("openfiles=1/%d", seed), func(t *testing.T) { runCompactionModel(t, uint64(seed), 1) })
	}
}

type modelRecord struct {
	key, value string
	tombstone  bool
	ts         int64
}

func runCompactionModel(t *testing.T, seed uint64, openFiles int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	mem := vfs.NewMemFS()
	now := int64(1_000_000_000)
	cfg := log.DefaultConfig()
	cfg.SegmentBytes = int64(600 + rng.IntN(3000))
	cfg.CleanupCompact, cfg.CleanupDelete = true, false
	cfg.DeleteRetentionMs = 5000
	cfg.FileDeleteDelayMs = 0
	open := func(fs vfs.FS, recover bool) *log.Log {
		if openFiles > 0 {
			fs = fdcache.New(fs, openFiles, func(name string) bool { return strings.HasSuffix(name, format.LogSuffix) })
		}
		l, err := log.Open(log.Options{FS: fs, Dir: "/d/c-0", Config: cfg, Clock: func() int64 { return now }, NeedsRecovery: recover})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open(mem, false)
	defer func() { l.Close(false) }()
	written := map[int64]modelRecord{}
	latest := map[string]int64{}
	var durable int64
	codecs := []format.Codec{format.CodecNone, format.CodecSnappy, format.CodecZstd}
	check := func(step int) {
		t.Helper()
		held := map[int64]bool{}
		prevNext, empties := int64(-1), 0
		for _, s := range l.Segments() {
			err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
				if b.BaseOffset() < prevNext || b.BaseOffset() < s.BaseOffset() {
					t.Fatalf("step %d: batch at %d after offset %d (segment %d)", step, b.BaseOffset(), prevNext, s.BaseOffset())
				}
				prevNext = b.NextOffset()
				if b.RecordCount() == 0 {
					// Only the last pass's last batch may stay empty
					// (no producers here; KAFKA-17076).
					if empties++; empties > 1 {
						t.Fatalf("step %d: a second empty batch, at %d", step, b.BaseOffset())
					}
				}
				return b.ForEachRecord(func(r format.Record) error {
					o := b.BaseOffset() + int64(r.OffsetDelta)
					w, ok := written[o]
					if !ok || w.key != string(r.Key) || w.tombstone != (r.Value == nil) || (!w.tombstone && w.value != string(r.Value)) {
						t.Fatalf("step %d: offset %d holds %q=%q, written %+v", step, o, r.Key, r.Value, w)
					}
					held[o] = true
					return nil
				})
			})
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		for k, o := range latest {
			w := written[o]
			if o >= l.LogEndOffset() {
				continue
			}
			if w.tombstone && w.ts < now-cfg.DeleteRetentionMs {
				continue // may be gone
			}
			if !held[o] {
				t.Fatalf("step %d: key %s lost its latest record at offset %d", step, k, o)
			}
		}
	}
	for step := 0; step < 250; step++ {
		switch p := rng.IntN(100); {
		case p < 60:
			n := 1 + rng.IntN(5)
			keys, vals := make([][]byte, n), make([][]byte, n)
			base := l.LogEndOffset()
			for i := range keys {
				k := fmt.Sprintf("k%d", rng.IntN(12))
				keys[i] = []byte(k)
				rec := modelRecord{key: k, ts: now}
				if rng.IntN(8) == 0 {
					rec.tombstone = true
				} else {
					rec.value = fmt.Sprintf("s%d-%d", step, i)
					vals[i] = []byte(rec.value)
				}
				written[base+int64(i)] = rec
				latest[k] = base + int64(i)
			}
			if _, err := l.Append(format.SimpleBatch(codecs[rng.IntN(len(codecs))], now, keys, vals), log.AppendOptions{AssignOffsets: true}); err != nil {
				t.Fatal(err)
			}
		case p < 70:
			l.Roll()
		case p < 82:
			leo := l.LogEndOffset()
			if _, err := Clean(l, now); err != nil {
				t.Fatal(err)
			}
			if l.LogEndOffset() != leo {
				t.Fatalf("compaction moved the log end %d → %d", leo, l.LogEndOffset())
			}
		case p < 88:
			now += int64(rng.IntN(4000))
		case p < 92:
			l.Flush()
			durable = l.LogEndOffset()
		case p < 96: // crash
			crashed := mem.CrashClone()
			l.Close(false)
			mem = crashed
			l = open(mem, true)
			if l.LogEndOffset() < durable {
				t.Fatalf("crash lost flushed data: %d < %d", l.LogEndOffset(), durable)
			}
			for o := range written {
				if o >= l.LogEndOffset() {
					delete(written, o)
				}
			}
			for k, o := range latest {
				if o >= l.LogEndOffset() {
					delete(latest, k)
					for q := l.LogEndOffset() - 1; q >= 0; q-- {
						if w, ok := written[q]; ok && w.key == k {
							latest[k] = q
							break
						}
					}
				}
			}
			durable = l.LogEndOffset()
		default:
			l.Close(true)
			l = open(mem, false)
		}
		check(step)
	}
}
