// Package group is the classic consumer-group coordinator (Kafka's
// GroupCoordinator): membership, rebalances, assignments handed from the
// leader to the members, and committed offsets, persisted in the compacted
// internal topic __consumer_offsets and rebuilt from it on start.
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
// # Time
//
// Time is an input: Config.Now is the clock and Tick does every timed step
// (session expiry, rebalance and sync deadlines, the initial delay, offset
// retention). Run calls Tick on a ticker; tests call it with a fake clock.
//
// # Persistence
//
// Records use Kafka's own formats (kmsg.OffsetCommitKey v1 / OffsetCommitValue
// v3, kmsg.GroupMetadataKey v2 / GroupMetadataValue v3), so the topic reads as
// Kafka's does and compacts by key. A group lives in partition
// abs(javaHashCode(group)) % offsets.topic.num.partitions. Group metadata is
// written when a generation completes (the leader's assignment, or an empty
// group) and when a static member is replaced; an offset commit is answered
// after its batch is appended through Store, whose durability is the topic's
// (the broker sets flush.messages=1 on it: commits are fsynced before the
// answer). A deletion (DeleteGroups, OffsetDelete, expiry) writes tombstones.
// In-memory state changes only after Store.Append succeeds.
//
// # Errors
//
// Outcomes are the classic group protocol's error codes, so methods return
// kerr values (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, ...) that the handlers
// put on the wire unchanged; a Store failure becomes COORDINATOR_NOT_AVAILABLE.
//
// # Concurrency
//
// All methods are safe for concurrent use. Each group has its own lock;
// the coordinator's lock guards only the group map and is taken after a
// group's lock, never before it. Store.Append is called with the group's lock
// held, so one group's commits are ordered as they were answered.
package group
