// Package fetchsession is the broker's cache of incremental fetch sessions
// (KIP-227): which partitions a fetcher reads, with what it last asked
// and was told, so that a fetcher names only what changed and is answered
// only with what changed.
//
// # Classification
//
// A Fetch request carries a session id and an epoch:
//
//	epoch  0            full: a new session (any session id given is closed)
//	epoch -1            full and sessionless (any session id given is closed)
//	epoch >0, known id  incremental, when the epoch is the session's
//	                    expected one, else INVALID_FETCH_SESSION_EPOCH
//	otherwise           FETCH_SESSION_ID_NOT_FOUND
//
// A session of topic ids (Fetch v13+) is used only by v13+ requests and
// one of names only by older ones: else FETCH_SESSION_TOPIC_ID_ERROR.
// An incremental request whose forgotten topics empty the session closes
// it and is answered sessionless.
//
// # Use
//
// Open classifies a request and applies it to its session (partitions
// added, updated, forgotten; epoch advanced). The caller then reads
// Context.Partitions, outside any lock, and hands the results to Respond,
// which creates the session of a full request (when a slot is free or can
// be evicted), or, for an incremental one, says which partitions the
// answer must carry (new data, changed high watermark, last stable offset
// or log start offset, an error, a diverging epoch or preferred replica)
// and records what was sent. Respond with commit false only previews that
// answer (for sizing it before a quota decides whether it is sent).
//
// # Eviction
//
// The cache holds at most Slots sessions. A new session takes a free
// slot, else evicts, as Kafka's FetchSessionCache does: first the least
// recently used session if it is stale (unused for longer than
// EvictionAfter); else the least valuable evictable session, if it is
// worth less than the new one. Value orders by privileged (followers'
// sessions) and then by partition count. A privileged newcomer may evict
// any consumer session and any session older than EvictionAfter; a
// consumer only sessions older than EvictionAfter. Whether a session is
// old enough, and its size, are as of its last use, as in Kafka.
//
// # Concurrency and time
//
// A Cache is safe for concurrent use: one mutex guards it, and no method
// does I/O or blocks. Time is an argument of every method that needs it;
// nothing reads the clock. Session ids come from a generator seeded by
// Config.Seed.
package fetchsession
