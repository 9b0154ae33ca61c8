package compact

import (
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
)

// txnTracker follows transactions through one walk of the cleanable
// segments, in offset order, as Kafka's CleanedTransactionMetadata: it
// says which data batches belong to an aborted transaction and which
// markers no longer have any batch of their transaction before them.
type txnTracker struct {
	// pending are the aborted transactions not reached yet, by first
	// offset.
	pending []log.AbortedTxn
	// aborted is each producer's aborted transaction the walk is inside.
	aborted map[int64]*abortedTxn
	// open marks the producers with a transactional data batch not known
	// to be aborted since their last marker (a committed transaction, or
	// one the index does not know): their next marker must stay.
	open map[int64]bool
}

type abortedTxn struct {
	log.AbortedTxn
	// observed is set once a batch of the transaction was met.
	observed bool
}

// newTxnTracker starts a walk; aborted is in first offset order
// (log.CleanerAbortedTxns).
func newTxnTracker(aborted []log.AbortedTxn) *txnTracker {
	return &txnTracker{pending: aborted, aborted: map[int64]*abortedTxn{}, open: map[int64]bool{}}
}

// advance enters the aborted transactions that start at or before offset.
func (t *txnTracker) advance(offset int64) {
	for len(t.pending) > 0 && t.pending[0].FirstOffset <= offset {
		a := t.pending[0]
		t.pending = t.pending[1:]
		t.aborted[a.ProducerID] = &abortedTxn{AbortedTxn: a}
	}
}

// data walks a data batch and reports whether it belongs to an aborted
// transaction: transactional, of the transaction's producer, from its
// first offset on and before its ABORT marker.
func (t *txnTracker) data(b format.Batch) bool {
	t.advance(b.LastOffset())
	pid := b.ProducerID()
	if !b.IsTransactional() || pid < 0 {
		return false
	}
	if a := t.aborted[pid]; a != nil && b.BaseOffset() >= a.FirstOffset && b.LastOffset() < a.LastOffset {
		a.observed = true
		return true
	}
	t.open[pid] = true
	return false
}

// marker walks a COMMIT or ABORT marker and reports whether no batch of
// its transaction was met before it in this walk: only then may the
// cleaner remove it (after the delete horizon). A marker after a
// transactional batch the index does not place in an aborted transaction
// always stays, whatever its type, so a missing index entry can never get
// a marker removed while its data remains.
func (t *txnTracker) marker(b format.Batch, _ format.ControlRecord) bool {
	t.advance(b.LastOffset())
	pid := b.ProducerID()
	seen := t.open[pid]
	delete(t.open, pid)
	if a := t.aborted[pid]; a != nil && a.LastOffset <= b.BaseOffset() {
		// Its ABORT marker (or, below it, an entry whose marker is
		// gone: the transaction is over either way).
		if a.LastOffset == b.BaseOffset() {
			seen = seen || a.observed
		}
		delete(t.aborted, pid)
	}
	return !seen
}
