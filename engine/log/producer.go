package log

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// Idempotent-producer errors (Kafka's INVALID_PRODUCER_EPOCH and
// OUT_OF_ORDER_SEQUENCE_NUMBER).
var (
	ErrInvalidProducerEpoch = errors.New("log: producer epoch is older than the current one")
	ErrOutOfOrderSequence   = errors.New("log: out of order sequence number")
)

// producerBatches is how many recent batches per producer are remembered
// for duplicate detection, as in Kafka (max.in.flight of an idempotent
// producer is at most 5).
const producerBatches = 5

type batchMeta struct {
	FirstSeq, LastSeq int32
	Base, Last        int64
}

type producerEntry struct {
	Epoch   int16       `json:"epoch"`
	Batches []batchMeta `json:"batches"` // oldest first, at most producerBatches
}

// producerState maps producer IDs to their recent batches. It is guarded by
// the log's mu.
type producerState map[int64]*producerEntry

// check validates a batch of an idempotent producer against the state. It
// returns the earlier batch when this one is a retry of it (the caller
// answers with that batch's offsets and writes nothing).
func (ps producerState) check(b format.Batch) (*batchMeta, error) {
	pid, epoch, first := b.ProducerID(), b.ProducerEpoch(), b.BaseSequence()
	last := lastSeq(first, b.LastOffsetDelta())
	e := ps[pid]
	if e == nil {
		return nil, nil // unknown (new or expired) producer: accept any sequence, as Kafka does since KIP-360
	}
	if epoch < e.Epoch {
		return nil, fmt.Errorf("%w: producer %d epoch %d < %d", ErrInvalidProducerEpoch, pid, epoch, e.Epoch)
	}
	if epoch > e.Epoch {
		if first != 0 {
			return nil, fmt.Errorf("%w: producer %d bumped epoch to %d with sequence %d, not 0", ErrOutOfOrderSequence, pid, epoch, first)
		}
		return nil, nil
	}
	for i := range e.Batches {
		if m := &e.Batches[i]; m.FirstSeq == first && m.LastSeq == last {
			return m, nil
		}
	}
	if n := len(e.Batches); n > 0 {
		if want := e.Batches[n-1].LastSeq + 1; first != want && !(want < 0 && first == 0) {
			return nil, fmt.Errorf("%w: producer %d expected sequence %d, got %d", ErrOutOfOrderSequence, pid, want, first)
		}
	}
	return nil, nil
}

// lastSeq is the sequence of a batch's last record; sequences wrap at
// MaxInt32 to 0.
func lastSeq(first, delta int32) int32 {
	s := int64(first) + int64(delta)
	if s > 1<<31-1 {
		s -= 1 << 31
	}
	return int32(s)
}

// update records an appended batch of an idempotent producer.
func (ps producerState) update(b format.Batch) {
	pid := b.ProducerID()
	if pid < 0 || b.IsControl() {
		return
	}
	e := ps[pid]
	if e == nil || b.ProducerEpoch() > e.Epoch {
		e = &producerEntry{Epoch: b.ProducerEpoch()}
		ps[pid] = e
	} else if b.ProducerEpoch() < e.Epoch {
		return
	}
	m := batchMeta{FirstSeq: b.BaseSequence(), LastSeq: lastSeq(b.BaseSequence(), b.LastOffsetDelta()), Base: b.BaseOffset(), Last: b.LastOffset()}
	e.Batches = append(e.Batches, m)
	if len(e.Batches) > producerBatches {
		e.Batches = e.Batches[len(e.Batches)-producerBatches:]
	}
}

// Producer state snapshots: <offset>.snapshot holds the state of every
// producer as of that offset (JSON), written atomically. Like Kafka's, they
// are written when a segment rolls and at clean shutdown, and let opening
// a log rebuild the state by scanning only the batches after the newest
// snapshot at or below the log end.
const snapshotSuffix = ".snapshot"

type snapshot struct {
	Offset    int64                    `json:"offset"`
	Producers map[string]producerEntry `json:"producers"`
}

func (l *Log) snapshotPath(offset int64) string {
	return filepath.Join(l.dir, format.FileName(offset, snapshotSuffix))
}

// writeSnapshotLocked writes the state as of offset (the caller holds mu
// and offset is the log end) and removes older snapshots but the last two.
func (l *Log) writeSnapshotLocked(offset int64) error {
	s := snapshot{Offset: offset, Producers: map[string]producerEntry{}}
	for pid, e := range l.mu.producers {
		s.Producers[strconv.FormatInt(pid, 10)] = *e
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := vfs.WriteFileAtomic(l.fs, l.dir, l.snapshotPath(offset), data); err != nil {
		return err
	}
	offs := l.snapshotOffsets()
	for i := 0; i < len(offs)-2; i++ {
		l.fs.Remove(l.snapshotPath(offs[i]))
	}
	return nil
}

// snapshotOffsets lists the snapshot offsets on disk, ascending.
func (l *Log) snapshotOffsets() []int64 {
	names, _ := l.fs.ReadDir(l.dir)
	var offs []int64
	for _, n := range names {
		if o, ok := format.ParseFileName(n, snapshotSuffix); ok {
			offs = append(offs, o)
		}
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	return offs
}

// rebuildProducersLocked loads the newest readable snapshot at or below the
// log end, drops snapshots above it, and replays batch headers from the
// snapshot's offset (or the log start) to the end.
func (l *Log) rebuildProducersLocked() error {
	leo := l.logEndOffset.Load()
	state := producerState{}
	from := int64(-1)
	offs := l.snapshotOffsets()
	for i := len(offs) - 1; i >= 0; i-- {
		o := offs[i]
		if o > leo {
			l.fs.Remove(l.snapshotPath(o))
			continue
		}
		if from >= 0 {
			continue
		}
		data, err := vfs.ReadFile(l.fs, l.snapshotPath(o))
		var s snapshot
		if err != nil || json.Unmarshal(data, &s) != nil || s.Offset != o {
			l.fs.Remove(l.snapshotPath(o)) // unreadable: fall back to an older one
			continue
		}
		for k, e := range s.Producers {
			pid, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				continue
			}
			e := e
			state[pid] = &e
		}
		from = o
	}
	err := l.forEachBatchLocked(max(from, 0), func(b format.Batch) {
		if b.LastOffset() >= from {
			state.update(b)
		}
	})
	if err != nil {
		return err
	}
	l.mu.producers = state
	return nil
}

// forEachBatchLocked walks the batch headers of the segments that reach
// past offset from, in order, as the rebuilds of producer state and leader
// epochs do. A batch cut short at a segment's end ends that segment's walk.
func (l *Log) forEachBatchLocked(from int64, fn func(format.Batch)) error {
	for _, s := range l.mu.segments {
		if s.NextOffset() <= from {
			continue
		}
		err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			fn(b)
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "EOF") {
			return err
		}
	}
	return nil
}
