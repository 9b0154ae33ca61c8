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
package index
