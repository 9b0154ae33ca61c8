// Package segment implements one log segment: an append-only .log file of
// RecordBatch v2 bytes, named by its base offset, with a sparse offset index
// and a sparse time index (package index).
//
//	00000000000000000000.log        batches, back to back
//	00000000000000000000.index      offset → file position, every IndexIntervalBytes
//	00000000000000000000.timeindex  max timestamp so far → offset, same cadence
//
// Contract: one goroutine appends at a time (the owning log serializes
// appends, truncation and recovery); reads may run concurrently with an
// append and see only bytes whose append has returned. Batches handed to
// Append already carry their final offsets. A segment never validates on
// read: Recover validates CRCs once, at start-up, and truncates at the first
// invalid batch, as Kafka's LogSegment.recover does.
//
// Descriptors: the .log file may come from a descriptor cache (package
// fdcache, when the FS is an *fdcache.FS): the segment then uses it through
// the handle, which reopens it on demand, and pins it only where a raw
// descriptor is needed (PinFile: group-commit fsync, writeback hints).
// Read's FileRange carries the handle itself, so fetches copy.
// Empty indexes hold no descriptor and no mapping (package index), so an
// idle, empty segment costs at most its log descriptor, and none once
// evicted. Indexes with entries hold a mapping each unless the FS carries
// an index.Cache, which unmaps idle ones (MarkDeleted renames the index
// files through the indexes so that they map them again from their new
// names).
package segment
