// Package fdcache bounds how many descriptors the engine's segment log files
// hold open, so that a broker can carry far more partitions than its
// process file limit (issue 16: 100,000 partitions under 20,000 fds).
//
// FS wraps a vfs.FS. Files whose names the cache covers (a predicate; the
// engine passes segment .log files) come back as *Handle: a vfs.File that
// remembers its path and opens its descriptor on demand. Every operation
// acquires the descriptor (reopening the file if it was evicted), pins it
// for the call, and releases it. When more than Max descriptors are open,
// the least recently used unpinned handles are closed.
//
// Contracts:
//
//   - A descriptor that a caller uses directly (sendfile, io_uring fsync,
//     sync_file_range) comes from Handle.Pin, which returns a File pinned
//     until Release is called or, when the caller never calls it, until the
//     returned File becomes unreachable (the vfs.FdFile rule: keep the File
//     reachable while using its fd). A pinned descriptor is never closed,
//     so the cap is soft: it is exceeded by what is pinned at the moment.
//   - Durability: a handle with writes that were not synced through it is
//     fdatasynced before its descriptor is closed. Eviction therefore only
//     makes data durable sooner, never later, and a writeback error can
//     never be lost with the descriptor that would have reported it: when
//     that sync fails the descriptor stays open and every later Sync of the
//     handle (and every File Pin returns) reports the error.
//   - Renames through FS follow open handles (a segment renamed to
//     .deleted keeps reopening under its new name). A handle whose name is
//     renamed over or removed through FS is detached: it keeps (reopening
//     if needed first) its descriptor until Close, so its readers keep the
//     file they had, as without the cache. Renames and removals that
//     bypass FS are not seen: the engine makes all of them through it.
//
// Concurrency: all methods are safe for concurrent use. Disk I/O (open,
// sync, close) happens under a handle's own lock, never under the cache's
// global lock, which guards only the LRU list and the open count. Lock
// order: Handle.mu, then Cache.mu; never the other way round.
package fdcache
