package log

// Verification guards (KIP-890 part 1). Before a partition leader appends
// the first batch of a producer's transaction, it asks the transaction
// coordinator whether the partition is in the producer's ongoing
// transaction. The question takes a round trip, and an answer can be
// stale by the time the batch is appended: the coordinator may have
// aborted the transaction and its ABORT marker landed meanwhile, and the
// batch would then open a transaction nobody ends (a hanging transaction,
// which holds the last stable offset back forever). A guard closes that
// window: StartTxnVerification registers one before the question, any
// marker of the producer (or a newer guard) drops it, and Append with the
// guard opens the transaction only if it is still registered.

import "fmt"

// VerificationGuard is a pending verification of one producer's
// transaction on this log; compare by identity.
type VerificationGuard struct {
	producerID int64
}

// StartTxnVerification registers a guard for the producer's next
// transactional batch, or returns nil when the producer already has a
// transaction open in this log (its batches need no verification).
// Concurrent batches of the producer (several in flight) share the guard
// registered first, so one does not void another's.
func (l *Log) StartTxnVerification(producerID int64) *VerificationGuard {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.mu.producers.byID[producerID]; e != nil && e.TxnFirstOffset >= 0 {
		return nil
	}
	if g := l.mu.guards[producerID]; g != nil {
		return g
	}
	g := &VerificationGuard{producerID: producerID}
	if l.mu.guards == nil {
		l.mu.guards = map[int64]*VerificationGuard{}
	}
	l.mu.guards[producerID] = g
	return g
}

// AbandonTxnVerification drops g when the verification it guarded
// failed (the batch is not appended), unless a newer one replaced it.
func (l *Log) AbandonTxnVerification(g *VerificationGuard) {
	if g == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.guards[g.producerID] == g {
		delete(l.mu.guards, g.producerID)
	}
}

// checkGuardLocked is Append's check of a transactional data batch that
// carries a guard: it may open the producer's transaction only while the
// guard is the one registered (no marker of the producer came since).
func (l *Log) checkGuardLocked(producerID int64, g *VerificationGuard) error {
	if e := l.mu.producers.byID[producerID]; e != nil && e.TxnFirstOffset >= 0 {
		return nil // the transaction is open: verified when it opened
	}
	if g == nil || l.mu.guards[producerID] != g {
		return fmt.Errorf("%w: producer %d: the transaction ended or was not verified before this batch", ErrInvalidTxnState, producerID)
	}
	return nil
}

// dropGuardLocked forgets the producer's guard: its transaction opened
// (verified) or a marker ended whatever the guard was verifying.
func (l *Log) dropGuardLocked(producerID int64) {
	delete(l.mu.guards, producerID)
}
