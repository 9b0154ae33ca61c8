// Package index implements a segment's sparse indexes in Kafka's formats:
//
//	offset index (.index)      repeated [relativeOffset int32][position int32]
//	time index (.timeindex)    repeated [timestamp int64][relativeOffset int32]
//
// relativeOffset is the offset minus the segment's base offset. Entries are
// appended roughly every index.interval.bytes of log data, so both files stay
// small and are searched by binary search.
//
// The pure search over []byte lives in search.go; region.go maps the files
// (mmap on the OS file system, a heap buffer written back on Flush
// elsewhere). Files are preallocated to maxBytes while the segment is active
// and trimmed to their entries by Trim when it rolls or closes.
//
// An index is a hint, never the truth: indexes are not checksummed, and
// Open keeps only the leading entries that are strictly increasing. The
// segment validates what an entry points at and recovery rebuilds indexes
// from the log. Concurrency: methods are safe for concurrent use; appends
// come from one writer at a time.
//
// Mappings (cache.go): every mapping is a VMA, and Linux refuses mmap past
// vm.max_map_count (65,530 by default), which a broker with two mapped
// indexes per segment reaches at about 32,000 partitions holding data. An
// index opened by path on an FS that carries a Cache (WithCache; the
// engine's always does, log.index.mapped.max) counts against the cache's
// cap: when more are mapped, the least recently used (CLOCK: a use sets a
// bit without the global lock) are unmapped, and the next use maps the file
// again (open, mmap, close). A victim in use (its lock held) is skipped,
// not waited for, so the cap is soft: it is exceeded by the indexes in use
// at the moment.
//
// Contracts:
//
//   - Safety: whatever reads or writes the mapping holds the index's lock
//     (for reading at least) for as long as it touches the bytes; no slice
//     of them leaves the package (Lookup and Last return values). Eviction
//     unmaps under the index's lock held for writing.
//   - Durability: Flush makes the entries durable. Unmapping loses no
//     write (the pages stay in the page cache), and an index evicted with
//     writes no sync covered remembers it: its next Flush opens the file
//     and fsyncs it, or, if the index was mapped again meanwhile, msyncs
//     the new mapping, which covers the same file. When that fsync fails
//     the error sticks (a second fsync could succeed without the data):
//     every later Flush reports it. Entries found on disk at open count as
//     synced (a clean shutdown flushed them; recovery rewrites the rest).
//   - Identity: an evicted index maps its file again only if it is the same
//     file (device and inode). Rename moves the file and the index with it
//     (a segment marked deleted). A file removed or replaced meanwhile (the
//     cleaner swapping a segment) makes the index forget its entries: it
//     gives no hints (its segment reads from the start, correct since an
//     index is a hint) and takes no new ones. A truncation that cannot map
//     the file again drops the entries and makes Flush fail.
//
// Lock order: an index's lock, then the cache's; never the other way. The
// cache's lock guards only the LRU list and the count: open, mmap, munmap,
// msync and fsync run under the index's lock alone, and an evictor holds
// no index lock when it tries a victim's (it never waits for one).
package index
