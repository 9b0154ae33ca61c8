package handler

// Acquiring records for a member: reading the partition from the share
// partition's fetch offset, in chunks, and handing the batches to the
// state machine.

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/sharepart"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/segment"
)

// acquire reads the partition from the share partition's fetch offset and
// acquires up to maxRecords of what it read for member. It returns the
// record data covering the acquired records and the acquired ranges.
func (sp *sharePart) acquire(member string, maxRecords int, strict bool, maxBytes int, readCommitted bool) ([]byte, []sharepart.Acquired, *kerr.Error) {
	b := sp.s.b
	rep, code := b.replicaOf(sp.tp.Topic, sp.tp.Partition)
	if code != nil {
		return nil, nil, code
	}
	l := rep.Log()
	hw, err := rep.HighWatermark()
	if err != nil {
		return nil, nil, toKerr(err)
	}
	limit := hw
	if readCommitted {
		limit = l.LastStableOffset(hw)
	}
	sp.mu.Lock()
	if sp.dropped {
		sp.mu.Unlock()
		return nil, nil, kerr.NotLeaderForPartition
	}
	if ls := l.LogStartOffset(); sp.sm.StartOffset() < ls {
		sp.sm.MoveStartOffset(ls, b.now())
		sp.changedLocked()
	}
	sp.sm.SetConfig(b.sharePartConfig(sp.key.group))
	from, can := sp.sm.FetchOffset(), sp.sm.CanAcquire()
	sp.mu.Unlock()
	if from >= limit || !can {
		return nil, nil, nil
	}
	r, err := l.Read(from, max(maxBytes, 0), limit, true)
	if err != nil {
		return nil, nil, toKerr(err)
	}
	if r.Len == 0 {
		return nil, nil, nil
	}
	var aborted []log.AbortedTxn
	if readCommitted {
		if aborted, err = l.ReadAbortedTransactions(from, limit); err != nil {
			return nil, nil, kerr.KafkaStorageError
		}
	}
	data, batches, ends, err := readForAcquire(r, maxRecords, sp.recordBytes.Load(), limit, aborted)
	if err != nil {
		return nil, nil, kerr.KafkaStorageError
	}
	if len(batches) == 0 {
		return nil, nil, nil
	}
	if last := ends[len(ends)-1]; last.last >= ends[0].first {
		sp.recordBytes.Store(int64(last.end) / (last.last - ends[0].first + 1))
	}
	sp.mu.Lock()
	if sp.dropped {
		sp.mu.Unlock()
		return nil, nil, kerr.NotLeaderForPartition
	}
	acq := sp.sm.AcquireFrom(member, from, batches, maxRecords, strict, b.now())
	sp.changedLocked()
	sp.mu.Unlock()
	if len(acq) == 0 {
		return nil, nil, nil
	}
	// The delivery counts the acquisition raised are written with the
	// next acknowledgement, expiry or release (not on their own: a write
	// per fetch would double the share coordinator's load, and Kafka
	// does not write them either).
	return trimBatches(data, ends, acq[0].First, acq[len(acq)-1].Last), acq, nil
}

// firstAcquireRead is the first chunk acquire reads of a partition; each
// further chunk doubles it.
const firstAcquireRead = 64 << 10

// readForAcquire reads r (data from the share partition's fetch offset,
// up to the fetch's byte budget) in growing chunks until its whole batches
// hold want records or r ends: a fetch that may take 500 records need not
// copy the megabytes its budget allows (the copy and the zeroing of a
// budget-sized buffer were three quarters of a share-group read's broker
// CPU). Records already in flight count too, so a read may hold fewer
// acquirable records than want; the member then fetches again.
//
// recordBytes, when known, is the partition's bytes per record from the
// last read: the first chunk is sized to hold want records at that rate
// (a tenth more), so a steady partition is read once, with no regrowth.
func readForAcquire(r segment.FileRange, want int, recordBytes int64, limit int64, aborted []log.AbortedTxn) ([]byte, []sharepart.LogBatch, []batchEnd, error) {
	var data []byte
	chunk := int64(firstAcquireRead)
	if recordBytes > 0 {
		chunk = max(int64(want)*recordBytes*11/10, 4<<10)
	}
	for read := int64(0); read < r.Len; chunk *= 2 {
		n := min(chunk, r.Len-read)
		data = slices.Grow(data, int(n))[:read+n]
		m, err := r.File.ReadAt(data[read:], r.Pos+read)
		if int64(m) < n && err != nil {
			return nil, nil, nil, err
		}
		read += n
		batches, ends := logBatches(data, limit, aborted)
		records := int64(0)
		for _, bt := range batches {
			if !bt.Skip {
				records += bt.Last - bt.First + 1
			}
		}
		if records >= int64(want) || read == r.Len {
			return data, batches, ends, nil
		}
	}
	return nil, nil, nil, nil
}

// batchEnd is a batch's position in read data and its offsets.
type batchEnd struct {
	first, last int64
	start, end  int
}

// logBatches lists the whole batches of data below limit for the share
// partition, and every batch's position. Control batches and (for a
// read_committed group) the batches of aborted transactions are marked
// Skip: no record of theirs is handed out, the share partition archives
// their offsets, and a read that ends in them still moves past them.
func logBatches(data []byte, limit int64, aborted []log.AbortedTxn) (batches []sharepart.LogBatch, ends []batchEnd) {
	pos := 0
	for len(data)-pos >= format.HeaderSize {
		bt := format.Batch(data[pos:])
		size := bt.Size()
		if size < format.HeaderSize || pos+size > len(data) || bt.BaseOffset() >= limit {
			break
		}
		ends = append(ends, batchEnd{first: bt.BaseOffset(), last: bt.LastOffset(), start: pos, end: pos + size})
		batches = append(batches, sharepart.LogBatch{
			First: bt.BaseOffset(), Last: bt.LastOffset(),
			Skip: bt.IsControl() || abortedBatch(bt, aborted),
		})
		pos += size
	}
	return batches, ends
}

// abortedBatch reports whether bt belongs to one of the aborted
// transactions.
func abortedBatch(bt format.Batch, aborted []log.AbortedTxn) bool {
	if !bt.IsTransactional() {
		return false
	}
	for _, a := range aborted {
		if a.ProducerID == bt.ProducerID() && bt.BaseOffset() >= a.FirstOffset && bt.BaseOffset() <= a.LastOffset {
			return true
		}
	}
	return false
}

// trimBatches is the part of data whose batches hold offsets first..last.
func trimBatches(data []byte, ends []batchEnd, first, last int64) []byte {
	start, end := -1, 0
	for _, e := range ends {
		if e.last < first || e.first > last {
			continue
		}
		if start < 0 {
			start = e.start
		}
		end = e.end
	}
	if start < 0 {
		return nil
	}
	return data[start:end]
}
