// Package sharestate is the share coordinator (Kafka's ShareCoordinator,
// KIP-932): the durable state of every share partition — a share group's
// view of one topic partition — kept on the internal topic
// __share_group_state, served to the partition leaders that run the share
// partitions (ReadShareGroupState and WriteShareGroupState), to the group
// coordinator that creates and resets them (InitializeShareGroupState,
// DeleteShareGroupState) and to the admin APIs (ReadShareGroupStateSummary).
//
// # Keys and placement
//
// A share partition is a Key: group id, topic id, partition. Its
// coordinator key (FindCoordinator key type 2) is Kafka's SharePartitionKey
// string "group:topicId:partition", the topic id in Kafka's Uuid.toString
// form (URL-safe base64 without padding); it lives in partition
// PartitionFor(key.String(), n) = abs(javaHashCode) % n of
// __share_group_state (share.coordinator.state.topic.num.partitions, 50), as
// Kafka's ShareCoordinatorService.partitionFor.
//
// # State
//
// Per key: the state epoch (bumped by the group coordinator when it
// initializes or resets the share partition), the leader epoch of the
// partition leader that last read it, the start offset (-1: not yet
// started), the in-flight batches above it (first, last, delivery state,
// delivery count; the leader persists Acquired records as Available with
// their count), and the delivery-complete count (KIP-1226: how many
// offsets at or above the start offset are Acknowledged or Archived, -1
// when unknown). Kafka keeps the highest leader and state epochs it has
// seen per key apart from the state (its leaderEpochMap and stateEpochMap:
// an Initialize stores leader epoch 0 but fencing keeps the higher one);
// so does Rill, and it writes them into its record so a reload fences
// exactly as before.
//
// # Operations (Kafka 4.2's ShareCoordinatorShard)
//
//	Initialize(k, stateEpoch, startOffset)
//	    FENCED_STATE_EPOCH when stateEpoch != -1 is below the highest seen;
//	    else a fresh state: no batches, leader epoch 0, delivery-complete
//	    count 0 (or -1 when startOffset is -1). An existing key is replaced.
//	Read(k, leaderEpoch)
//	    INVALID_REQUEST for a key never initialized (Kafka 4.2:
//	    "read on uninitialized share partition"); FENCED_LEADER_EPOCH
//	    below the highest leader epoch seen (-1 included, as Kafka); a
//	    higher epoch is recorded (a record is written before the answer).
//	Write(k, leaderEpoch, stateEpoch, startOffset, deliveryCompleteCount, batches)
//	    INVALID_REQUEST for a key never initialized; FENCED_LEADER_EPOCH and
//	    FENCED_STATE_EPOCH for epochs (other than -1) below the highest
//	    seen; else startOffset (-1: unchanged) moves the start, and the
//	    batches merge into the stored ones (Merge). The leader and state
//	    epochs stored do not change (Kafka's writeState keeps them).
//	Delete(k)
//	    a tombstone; nothing for a key that does not exist.
//	ReadSummary(k)
//	    the state's epochs, start offset and delivery-complete count; a key
//	    never initialized answers start offset -1, epochs 0, count -1. No
//	    fencing (the request's leader epoch is not checked by Kafka 4.2).
//	ForgetTopic(topicID)
//	    tombstones for every share partition of a deleted topic (Kafka's
//	    maybeCleanupShareState), without the topic check.
//
// Write is Coordinator.Write (v0: the delivery-complete count becomes -1,
// unknown) or Coordinator.WriteWithCount (v1, the leader's count).
//
// Every operation first checks the partition (INVALID_REQUEST below 0) and,
// when the coordinator is given CoordinatorConfig.TopicPartitions, that the
// topic partition exists (UNKNOWN_TOPIC_OR_PARTITION), as Kafka checks its
// metadata image.
//
// # Merge
//
// Kafka's PersisterStateBatchCombiner: batches below the start offset drop
// (one straddling it is cut at it); where batches overlap, each offset
// takes the state of the batch with the highest (delivery count, delivery
// state), so a newer state of a record (its count only grows, its terminal
// states rank above Available) overrides an older one; adjacent offsets of
// equal state and count coalesce into one batch. Merge computes exactly
// that per offset with one sweep.
//
// # Records
//
// Kafka writes ShareSnapshot and ShareUpdate records (key versions 0 and
// 1 of its own schema), which kmsg does not define. Rill writes each key's
// whole merged state as one record instead: the key is a
// kmsg.GroupMetadataKey with Version 110 (a version Kafka does not use, as
// coordinator/group writes KIP-848 groups under 100) whose Group is the
// coordinator key string; the value is JSON (record.go). A Delete writes a
// tombstone. Compaction of the topic (cleanup.policy=compact) keeps the
// latest record per key, so a load replays one record per live share
// partition. A record that does not decode is skipped and reported by the
// load (ErrCorrupt).
//
// # Usage contract
//
// A Partition is the state of one __share_group_state partition and the
// shard.State of its shard on the coordinator runtime (package
// coordinator/shard), apply-on-ack: an operation decides from the state,
// returns the record to write, and its completion applies the new entry
// once the log acknowledged the record. The runtime runs one write per
// key at a time, so an operation always sees the key's earlier writes.
// Coordinator (coordinator.go) runs the Partitions; its methods are safe
// for concurrent use and return *kerr.Error values (NOT_COORDINATOR and
// COORDINATOR_LOAD_IN_PROGRESS from the runtime; a failed append as Kafka's
// handleOperationException maps it: NOT_COORDINATOR when leadership was
// lost, COORDINATOR_NOT_AVAILABLE for too few replicas or a timeout).
//
// # Concurrency
//
// None inside a Partition: its methods run on its shard's goroutine.
package sharestate
