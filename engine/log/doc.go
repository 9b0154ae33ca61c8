// Package log implements a partition's log: an ordered set of segments
// (package segment) with a log start offset and a log end offset.
//
//	dir/<topic>-<partition>/
//	    00000000000000000000.log .index .timeindex [.txnindex]
//	    00000000000000052341.log .index .timeindex   ← active segment
//	    00000000000000052341.snapshot                 producer state
//	    cleaned.offset                                how far the cleaner rewrote (cleaned.go)
//
// Producers and transactions (producer.go, txn.go, txnindex.go): the log
// keeps each producer's recent batches (idempotence), its open transaction
// and the coordinator epoch of its last marker, as Kafka's
// ProducerStateManager; snapshots of it are written at rolls and clean
// shutdown. A COMMIT or ABORT marker the leader appends for a transaction
// of version 2 (AppendOptions.TransactionVersion) must carry an epoch
// above the producer's, as Kafka's checkProducerEpoch (KIP-1228). An
// ABORT marker adds the aborted transaction to its segment's .txnindex
// (Kafka's TransactionIndex format), which AbortedTransactions reads for
// read_committed fetches; LastStableOffset gives Kafka's LSO.
// docs/design/log-transactions.md says when each of these files is synced.
//
// Gaps: a compacted log has offsets no batch holds, where the cleaner
// deleted batches left with no record (package compact), as Kafka's. Read
// answers the first batch whose last offset is at or after the offset
// asked, across gaps and segments; a segment may start with a gap (its
// first batch above its base) or, once cleaned, hold no batch at all.
//
// Offsets: the log start offset (LSO) is the first offset a reader may see
// (DeleteRecords and retention move it forward); the log end offset (LEO) is
// the offset the next appended record gets. The recovery point is the offset
// below which every byte is known to be on stable storage; recovery after a
// crash starts scanning there.
//
// Durability: Append writes through the page cache (pwrite). Data becomes
// durable when a flush fsyncs it: right after the append when flush.messages
// is 1 (the append returns only then: "sync before acknowledging"), after
// every flush.messages records, every flush.ms by the engine's scheduler,
// when a segment rolls, and at clean shutdown. Flushes from many logs are
// batched into one group commit by the Syncer.
//
// Concurrency: Append, Roll and TruncateTo serialize on the log's mutex;
// Read runs concurrently and sees only completed appends. Retention,
// compaction, truncation and DeleteRecords also hold the maintenance lock,
// so they never overlap each other.
package log
