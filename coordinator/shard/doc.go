// Package shard is the coordinator runtime (Kafka's CoordinatorRuntime):
// it runs a coordinator as one shard per partition of the coordinator's
// internal topic (__consumer_offsets for groups; __transaction_state and
// __share_group_state later), each holding the state of the keys (groups,
// transactional ids, ...) that hash to its partition. The runtime knows
// nothing about what the state is: a coordinator gives it a State per
// partition and runs operations on it.
//
// # Lifecycle
//
// Load starts a partition's shard when this broker becomes the
// partition's leader; the shard replays the partition's records from the
// Log into a new State (State.Replay, then State.Loaded) before it runs
// anything else. Operations that arrive while a shard loads wait for the
// load; a load that fails (the log cannot be read) answers them ErrLoading
// and is tried again.
//
// Unload stops the shard when the broker stops leading, and returns at
// once. From then on no operation or timer starts on the shard (one
// running finishes; the rest, queued or waiting for a key, answer
// ErrNotCoordinator) and its writer takes no batch, so writes queued
// behind an append in flight are never appended. The shard's goroutine
// runs the completions of its writes, with their append's outcome when it
// came back first and ErrNotCoordinator for those still in the log's
// hands (such a write may still land: a later load replays it), then
// calls State.Unloaded (to answer requests the coordinator parked). It
// does not wait for the log: the batch the writer took before Unload may
// still be in Log.Append, or about to enter it, after Unload returned.
// Until that append returned and both goroutines exited, the stopped
// shard is draining.
//
// Load of a partition that has a shard (a new leader epoch) stops and
// replaces it as Unload would. Either way, the new shard reads the log
// only after the partition's previous shard, replaced or unloaded and
// still draining, has exited and its last append has returned, so no write
// of an old shard lands behind the new shard's load: not on a new epoch
// while leading, nor when leadership is lost and comes back (Unload, then
// Load).
//
// # Operations and writes
//
// Every loaded shard has two goroutines. The shard's goroutine runs
// everything touching its state, one at a time: operations (Do), reads
// (Read), timers (State.Tick) and write completions. No lock is held
// while an operation runs, so an operation needs none.
//
// An operation returns the records it writes and a completion (Op). The
// records go to the shard's writer, the second goroutine, which appends
// them to the log (Log.Append: acks=all, so the append returns once every
// in-sync replica has them) while the shard's goroutine goes on with
// other work. When the append returns, the completion runs on the shard's
// goroutine with the append's outcome: it changes the state and answers
// the request only then, so the in-memory state never holds what the log
// does not. (Kafka replays a write into its state at once and keeps
// snapshots to revert a failed one; applying on acknowledgement needs no
// revert, at the cost of the rule below.)
//
// Operations carry a key (a group id). While a key has a write in flight,
// later operations on that key wait, in order, and run after its
// completion; operations on other keys, and timers of other keys, run in
// the meantime. So an operation always sees every earlier operation on
// its key applied, one key's answers come in the order its writes were
// appended, and a slow append (a lagging ISR) delays only the keys that
// write, never another key's timers. Appends are issued in operation
// order, one at a time per shard; writes that queue up meanwhile go to
// the log together as one batch (up to Config.MaxBatchBytes), which
// completes or fails as a whole.
//
// DoAfterWrites runs an operation once the writes in flight when it
// arrived have completed, for a change the shard learns of after the log
// has it: the transaction coordinator appends an end-transaction marker
// to the partition itself, then has the group coordinator apply it, and
// the shard's own writes that may precede the marker in the log must be
// applied first.
//
// # Transactions
//
// A Record may carry a Producer: it is part of that producer's
// transaction, and the Log writes it in a transactional batch of the
// producer (one batch per run of records with the same producer, in
// order, when an append mixes them). On load the Log hands such records
// back with Producer set, and every end-transaction marker as a Record
// with Control set (Key and Value nil). Coordinators that take no part in
// transactions never write them and skip them on replay.
//
// # Time
//
// Time is an input: Config.Now is the clock. Each shard's State.Tick
// returns the timed operations due (session expiry, rebalance deadlines,
// retention), each keyed, and the runtime runs them as operations: a timer
// of a key with a write in flight waits for it, and at most one timer per
// key waits. Run ticks every interval; tests call Tick, which returns once
// the due timers ran and their writes completed.
//
// # Concurrency
//
// Runtime's methods are safe for concurrent use, but must not be called
// from an operation, a completion or a State method (they run on a shard's
// goroutine, which would wait for itself). The runtime has three kinds
// of lock: the runtime's (its live and draining shard maps), each shard's
// queue lock (its event queue) and each writer's lock (its queued writes
// and whether it stopped). The last two may be taken inside the first
// (Load, Unload, Close and Run stop or tick shards under it), never the
// other way, and never inside each other. Log.Append and Log.Load are
// never called with one held, and Load and Unload never wait for the log
// (a new shard's goroutine waits for its predecessor, not Load).
package shard
