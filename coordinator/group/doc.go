// Package group is the consumer-group coordinator (Kafka's
// GroupCoordinator), for classic groups, KIP-848 consumer groups and
// KIP-932 share groups: membership, rebalances, assignments, and committed
// offsets, persisted in
// the compacted internal topic __consumer_offsets and rebuilt from a
// partition of it when this broker becomes the partition's leader.
//
// # Protocol
//
// A group moves through Kafka's states:
//
//	Empty --join--> PreparingRebalance --all joined / rebalance timeout--> CompletingRebalance
//	CompletingRebalance --leader's SyncGroup persisted--> Stable
//	Stable --join with new protocols, leader rejoin, leave, session expiry--> PreparingRebalance
//	PreparingRebalance --no member left--> Empty --offsets expired--> Dead (removed)
//
// JoinGroup and SyncGroup block until the rebalance step they wait for
// completes (or their context ends, when the connection closes). The first
// rebalance of an empty group waits group.initial.rebalance.delay.ms, extended
// while members keep arriving, up to the rebalance timeout, so that a
// starting fleet lands in one generation. New dynamic members at JoinGroup
// v4+ get MEMBER_ID_REQUIRED with their id, and must rejoin with it within
// their session timeout. Static members (group.instance.id) keep their
// assignment across restarts: a rejoin with the same protocols replaces the
// member id without a rebalance, and the old id is fenced.
//
// KIP-848 consumer groups (consumer.go) are assigned by the coordinator
// through ConsumerGroupHeartbeat, with the uniform and range assignors
// (assign.go, rack-aware when members have a client.rack). A static member
// leaving with epoch -2 keeps its place for the session timeout. A
// classic group with members is upgraded to a consumer group when a
// ConsumerGroupHeartbeat joins it (group.consumer.migration.policy), and
// its classic members are served in it (consumer_classic.go).
//
// Share groups (share.go) are assigned by the coordinator through
// ShareGroupHeartbeat with the simple assignor (share_assign.go), where a
// partition may go to several members and there is no revocation step.
// They commit no offsets here (their progress is share-partition state,
// kept by the share coordinator): the coordinator tells the broker, through
// Config hooks, when a member is removed and when a group is deleted, and
// ShareGroupInfo tells the share-group offset APIs the group's state and
// topics. Group ids are one namespace: an id held by a group of one type
// answers the others' APIs as Kafka does (GROUP_ID_NOT_FOUND, or
// INCONSISTENT_GROUP_PROTOCOL to JoinGroup).
//
// # Time
//
// Time is an input: Config.Now is the clock, and every timed step
// (session expiry, rebalance and sync deadlines, the initial delay, offset
// retention) is a timer of the coordinator runtime, run as an operation on
// its group. Run ticks on a ticker; tests call Tick with a fake clock.
//
// # Persistence
//
// Records use Kafka's own formats (kmsg.OffsetCommitKey v1 / OffsetCommitValue
// v3, kmsg.GroupMetadataKey v2 / GroupMetadataValue v3), so the topic reads as
// Kafka's does and compacts by key. A group lives in partition
// abs(javaHashCode(group)) % the offsets topic's partition count (as it
// exists; offsets.topic.num.partitions before it does). Group metadata is
// written when a generation completes (the leader's assignment, or an empty
// group) and when a static member is replaced; a KIP-848 group's snapshot
// (key version 100, JSON) and a share group's (key version 101, JSON)
// whenever its membership, subscriptions or assignments change; an offset
// commit is answered after its batch is appended through Store with
// acks=all (and, the broker setting flush.messages=1 on the topic, fsynced).
// A deletion (DeleteGroups, OffsetDelete, expiry) writes tombstones. The
// state a record describes changes only once the log acknowledged it: an
// operation computes its records against the group as it is, and its
// completion applies them; a failed write leaves the group as it was and
// answers COORDINATOR_NOT_AVAILABLE (NOT_COORDINATOR if the partition's
// leadership moved). A failed timed write (an empty generation, expired
// members or offsets) is tried again at the next tick or check.
//
// # Transactions
//
// TxnOffsetCommit (KIP-98, KIP-447) writes offsets as part of a producer's
// transaction: the same records as a commit, in a transactional batch of
// the producer. Once acknowledged they are pending, not fetched (an
// OffsetFetch requiring stable offsets answers UNSTABLE_OFFSET_COMMIT for
// their partitions), until the transaction coordinator appends the
// transaction's marker to the partition and calls CompleteTransaction: a
// commit makes them committed unless a later plain commit of the same
// partition was, an abort drops them. A load replays the same from the
// batches and markers. Offsets with a transaction's pending do not expire,
// and a group with one open stays; deleting offsets or a group deletes
// the pending ones too (Kafka's OffsetMetadataManager). See txn.go.
//
// # Errors
//
// Outcomes are the classic group protocol's error codes, so methods return
// kerr values (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, ...) that the handlers
// put on the wire unchanged.
//
// # Concurrency
//
// The coordinator runs on the coordinator runtime (package
// coordinator/shard): each offsets partition this broker leads is a shard,
// loaded from the log by LoadPartition and dropped by UnloadPartition, and
// one goroutine per shard runs every operation on its groups, one at a
// time. Groups have no locks. Every request on a group is an operation
// keyed by the group id: while the group has a write in flight, its later
// requests (and its timers) wait for the write's completion, so each sees
// the ones before it applied and one group's commits are answered in the
// order they were appended. No lock is held while the log appends: the
// shard's writer appends, and meanwhile the shard serves the partition's
// other groups and runs their timers, so a slow ISR delays only the groups
// that write. JoinGroup and SyncGroup park on a channel outside the shard
// until their rebalance step completes. All methods are safe for
// concurrent use.
package group
