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
package segment
