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
// anything else. Unload stops it when the broker stops leading: operations
// that have not run answer ErrNotCoordinator, writes still in the log's
// hands complete with ErrNotCoordinator, then State.Unloaded is called (to
// answer requests the coordinator parked). Load of a partition that has a
// shard (a new leader epoch) replaces it; the new shard replays the log
// only after the old one has stopped and its last append has returned, so
// no write of the old shard lands behind the new shard's load. Operations
// that arrive while a shard loads wait for the load; a load that fails
// (the log cannot be read) answers them ErrLoading and is tried again.
//
// # Operations and writes
//
// Every shard has one goroutine that runs everything touching its state,
// one at a time: operations (Do), reads (Read), timers (State.Tick) and
// write completions. No lock is held while an operation runs, so an
// operation needs none.
//
// An operation returns the records it writes and a completion (Op). The
// records go to the shard's writer, a second goroutine that appends them
// to the log (Log.Append: acks=all, so the append returns once every
// in-sync replica has them) while the shard's goroutine goes on with other
// work. When the append returns, the completion runs on the shard's
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
// goroutine, which would wait for itself). The runtime's own locks guard
// only its shard map and each shard's event queue; Log.Append and Log.Load
// are never called with one held.
package shard
