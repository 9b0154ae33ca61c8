package log

import "sort"

// Transactions, as Kafka's ProducerStateManager keeps them for a partition:
// a transactional data batch (attribute bit 0x10) opens its producer's
// transaction at its base offset unless one is open; a COMMIT or ABORT
// marker (a control batch a coordinator writes) closes it. An ABORT marker
// adds the transaction to its segment's transaction index (txnindex.go).
// The last stable offset (LSO) is the first offset a read_committed
// consumer may not read yet: no transaction before it is undecided.

// noteTxnCountLocked publishes how many transactions hold the LSO back.
func (l *Log) noteTxnCountLocked() {
	l.txnCount.Store(int64(l.mu.producers.txnCount()))
}

// LastStableOffset is Kafka's last stable offset given the partition's high
// watermark: the least of highWatermark, the first offset of every open
// transaction, and the first offset of every completed transaction whose
// marker is at or past highWatermark (not replicated yet, so not decided
// for a reader). Completed transactions whose marker is below
// highWatermark are forgotten, as Kafka's onHighWatermarkUpdated does, so
// callers pass a high watermark that only grows. With no transaction in
// flight it returns highWatermark without locking.
func (l *Log) LastStableOffset(highWatermark int64) int64 {
	if l.txnCount.Load() == 0 {
		return highWatermark
	}
	l.mu.RLock()
	lso, prunable := l.mu.producers.firstUnstable(highWatermark)
	l.mu.RUnlock()
	// A transaction whose start retention or DeleteRecords removed holds
	// the LSO at the log start, never below it (Kafka's
	// max(firstUnstableOffset, logStartOffset)): a reader given an LSO
	// below the log start would loop on OFFSET_OUT_OF_RANGE.
	lso = max(lso, min(l.logStartOffset.Load(), highWatermark))
	if prunable {
		l.mu.Lock()
		l.mu.producers.dropCompletedBelow(highWatermark)
		l.noteTxnCountLocked()
		l.mu.Unlock()
	}
	return lso
}

// ProducerInfo is what DescribeProducers reports of a producer.
type ProducerInfo struct {
	ProducerID    int64
	Epoch         int16
	LastSequence  int32 // -1: none
	LastTimestamp int64 // -1: none
	// CoordinatorEpoch is that of the producer's last transaction marker
	// (-1: none).
	CoordinatorEpoch int32
	// TxnStartOffset is the first offset of the open transaction (-1:
	// none).
	TxnStartOffset int64
}

// Producers returns the state of every producer the log knows, by id.
func (l *Log) Producers() []ProducerInfo {
	l.mu.RLock()
	out := make([]ProducerInfo, 0, len(l.mu.producers.byID))
	for pid, e := range l.mu.producers.byID {
		seq := int32(-1)
		if n := len(e.Batches); n > 0 {
			seq = e.Batches[n-1].LastSeq
		}
		out = append(out, ProducerInfo{ProducerID: pid, Epoch: e.Epoch, LastSequence: seq,
			LastTimestamp: e.LastTimestamp, CoordinatorEpoch: e.CoordinatorEpoch, TxnStartOffset: e.TxnFirstOffset})
	}
	l.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ProducerID < out[j].ProducerID })
	return out
}

// OngoingTxnCount is the number of open transactions.
func (l *Log) OngoingTxnCount() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.mu.producers.ongoing)
}
