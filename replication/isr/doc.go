// Package isr is one partition's replication state as a pure state
// machine, after Kafka's Partition.scala: no goroutines, clock, disk or
// sockets. Events go in (a local append, a follower's fetch, the
// controller's answer to an ISR change, the time), decisions come out (the
// high watermark, finished acks=all waits, the ISR change to propose).
// Package replica drives it in a broker.
//
// # Leader
//
// The leader tracks each follower's log end offset (LEO), taken from the
// offset it fetches at, and when it was last caught up: a fetch at or past
// the leader's LEO at that moment, or past the leader's LEO at the
// follower's previous fetch (Kafka's rule, so a follower that keeps up
// under constant load counts as caught up).
//
// The high watermark is the smallest LEO in the maximal ISR: the committed
// ISR plus a follower being added (PendingExpand), since an added replica
// must hold everything below the HW the moment the controller commits it.
// It never moves back.
//
// The ISR changes one step at a time through the controller
// (AlterPartition): a follower whose LEO reaches the HW (and the start of
// the leader's epoch) is proposed for addition, unless the controller has
// fenced its broker (SetIneligible, KIP-841); one not caught up for
// replica.lag.time.max.ms is proposed for removal. Until the controller
// answers, the leader acts on the maximal ISR and proposes nothing else.
//
// acks=all: an append is refused (ErrNotEnoughReplicas) while the ISR is
// smaller than min.insync.replicas; a waiting append completes when the HW
// passes it, with ErrNotEnoughReplicasAfterAppend if the ISR shrank below
// the minimum meanwhile. Errors are the package's sentinels (errors.go);
// the broker's handlers map them to Kafka codes.
//
// # Epochs
//
// A log's leader epochs (engine/log.EpochCache, Kafka's
// leader-epoch-checkpoint) answer OffsetForLeaderEpoch; Divergence turns
// the leader's answer into the offset a follower truncates to after a
// leader change, so logs agree below the HW whatever the history of
// failovers.
package isr
