package txn

import "errors"

// Domain errors of the coordinator's decisions. The package doc lists the
// Kafka error code each maps to; codes are chosen only at the wire edge.
var (
	// ErrInvalidRequest: an empty transactional id.
	ErrInvalidRequest = errors.New("txn: invalid request (empty transactional id)")
	// ErrInvalidTransactionTimeout: transaction.timeout.ms not in
	// (0, transaction.max.timeout.ms].
	ErrInvalidTransactionTimeout = errors.New("txn: transaction timeout is not positive or exceeds transaction.max.timeout.ms")
	// ErrConcurrentTransactions: the transactional id is completing a
	// transaction (markers not yet written, or an InitProducerId that
	// fenced an ongoing transaction): retry later.
	ErrConcurrentTransactions = errors.New("txn: a transaction of this transactional id is still completing")
	// ErrProducerFenced: the request carries an epoch (or producer id for
	// KIP-360 recovery) older than the transactional id's: a zombie.
	ErrProducerFenced = errors.New("txn: producer fenced by a newer epoch of its transactional id")
	// ErrInvalidProducerIDMapping: the transactional id is unknown here, or
	// its producer id is another.
	ErrInvalidProducerIDMapping = errors.New("txn: producer id does not belong to the transactional id")
	// ErrInvalidTxnState: the request does not fit the transaction's state
	// (EndTxn commit of a transaction that is aborting, EndTxn with no
	// transaction).
	ErrInvalidTxnState = errors.New("txn: request does not fit the transaction's state")
	// ErrTransactionAbortable: verify-only AddPartitionsToTxn (KIP-890 part
	// 1) for a partition that is not in the transaction.
	ErrTransactionAbortable = errors.New("txn: partition is not in the transaction; the producer must abort")
	// ErrStaleMarkers: a report that markers were written does not match
	// the transaction in PrepareCommit/PrepareAbort (an older attempt, or
	// the transaction already completed).
	ErrStaleMarkers = errors.New("txn: markers reported for a transaction that is not (or no longer) preparing")
	// ErrEpochExhausted: a fence on an epoch that cannot be bumped
	// (Short.MAX_VALUE); never reached through the API's own transitions.
	ErrEpochExhausted = errors.New("txn: producer epoch cannot be bumped")
)
