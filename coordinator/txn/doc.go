// Package txn is the transaction coordinator's core (Kafka's
// TransactionCoordinator, TransactionMetadata and TransactionLog): the
// state of each transactional id, the decisions of InitProducerId,
// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn, the coordinator's own
// aborts and expirations, and the records of __transaction_state. The
// core (Partition) is pure: no goroutines, clock, log or sockets; time is
// an argument. Coordinator (coordinator.go) runs the Partitions as shards
// of the coordinator runtime over the broker's __transaction_state and
// sends the markers through a MarkerWriter (the broker's,
// netserver/handler/txns.go); it is safe for concurrent use.
//
// # Usage contract
//
// A Partition is the state of one __transaction_state partition and the
// shard.State of its shard on the coordinator runtime (package
// coordinator/shard). Every change follows apply-on-ack:
//
//  1. a decision (InitProducerID, AddPartitions, AddOffsets, EndTxn,
//     Complete, AbortTimedOut, Expire) reads the state and returns a
//     Decision: the Transit to write (nil: none) and the Answer;
//  2. the caller appends Records(transit) (Partition.Op does 1-3 as a
//     shard operation);
//  3. once the log acknowledged the append, Apply(transit) makes it the
//     state and the Answer is sent; a failed append drops the transit and
//     answers its error. Nothing else changes the state.
//
// The runtime runs one write per key (transactional id) at a time, so
// Kafka's pendingState is the runtime's key queue: a request that arrives
// while its id has a write in flight waits for it. A fence that failed to
// write leaves the epoch where it was, so the retry bumps to the same
// epoch (Kafka's hasFailedEpochFence).
//
// # States
//
//	(new id) --InitProducerId--> Empty
//	Empty|CompleteCommit|CompleteAbort --InitProducerId--> Empty   (epoch+1; new producer id at epoch 0 once exhausted)
//	Empty|Ongoing|CompleteCommit|CompleteAbort --AddPartitions/AddOffsets--> Ongoing
//	Ongoing --EndTxn commit--> PrepareCommit --markers written (Complete)--> CompleteCommit
//	Ongoing --EndTxn abort--> PrepareAbort --markers written (Complete)--> CompleteAbort
//	Ongoing --InitProducerId / timeout: PrepareEpochFence (epoch+1)--> PrepareAbort
//	Empty|CompleteCommit|CompleteAbort --transactional.id.expiration.ms idle--> Dead (tombstone, removed)
//
// PrepareEpochFence is never written and never held: the fence is one
// PrepareAbort record at the bumped epoch (Transit.Fence), as Kafka writes
// it. Under TV2 (KIP-890 part 2, EndTxn v5+) every end bumps the epoch
// again at Prepare (a fence too), and an end with an exhausted epoch
// moves to NextProducerID at epoch 0 at Complete.
//
// # Markers
//
// When a transit to PrepareCommit or PrepareAbort is applied, the
// transaction owes a COMMIT or ABORT marker to each of its partitions:
// Apply returns them and keeps them in an outbox (TakeMarkers); Pending
// lists all that are owed (after a load, Loaded puts them in the outbox,
// as Kafka re-sends them). The caller writes them (WriteTxnMarkers) and
// reports them with Complete, whose transit clears the partitions. The
// partitions of a transaction leave it only there.
//
// # Records
//
// Kafka's own format through kmsg: key TxnMetadataKey v0 (the
// transactional id), value TxnMetadataValue v0, or v1 (flexible, with the
// previous/next producer id and client transaction version tags) once
// Config.LogVersion is TV1 or more; the partition list is null for Empty.
// A tombstone removes the id. LastProducerEpoch is not in the record, as
// in Kafka before KIP-939: a replayed id has -1, so a retried
// InitProducerId that spans a coordinator move is fenced, as Kafka's is. A
// transactional id lives in partition PartitionFor(id, partitions) =
// abs(javaHashCode(id)) % transaction.state.log.num.partitions.
//
// # Errors
//
// Decisions return these domain errors; the handlers map them to Kafka
// codes (and the runtime's shard.ErrNotCoordinator/ErrLoading to
// NOT_COORDINATOR/COORDINATOR_LOAD_IN_PROGRESS; a failed append as
// Kafka's appendTransactionToLog: not enough replicas or a timeout to
// COORDINATOR_NOT_AVAILABLE, not leader or storage error to
// NOT_COORDINATOR):
//
//	ErrInvalidRequest             INVALID_REQUEST
//	ErrInvalidTransactionTimeout  INVALID_TRANSACTION_TIMEOUT
//	ErrConcurrentTransactions     CONCURRENT_TRANSACTIONS
//	ErrProducerFenced             PRODUCER_FENCED; INVALID_PRODUCER_EPOCH for clients that predate KIP-588
//	                              (InitProducerId < v4, AddPartitionsToTxn < v2, AddOffsetsToTxn < v2,
//	                              EndTxn < v2, as KafkaApis maps it)
//	ErrInvalidProducerIDMapping   INVALID_PRODUCER_ID_MAPPING
//	ErrInvalidTxnState            INVALID_TXN_STATE
//	ErrTransactionAbortable       TRANSACTION_ABORTABLE (verify-only AddPartitionsToTxn, per partition)
//	ErrStaleMarkers               none: the marker sender drops the report
//	ErrEpochExhausted             UNKNOWN_SERVER_ERROR (unreachable through the API)
//	producer id allocator errors  wrapped; as the allocator's error (COORDINATOR_LOAD_IN_PROGRESS
//	                              while no block is held, else UNKNOWN_SERVER_ERROR)
//
// # Concurrency
//
// None inside a Partition: its methods run on its shard's goroutine, one
// at a time. ProducerIDs.NextProducerID is called from there and must not
// wait on the runtime.
package txn
