// Package wio is the engine's write-I/O layer: it makes many partitions'
// files durable in one group commit, through io_uring or through
// overlapping fdatasync calls.
//
// Engines (chosen at start-up by io_engine=auto|uring|pwrite):
//
//	uring   one io_uring submission carries every Op of a Run: each
//	        file's writes linked to its FSYNC(DATASYNC) with
//	        IOSQE_IO_LINK; one io_uring_enter waits for all of them.
//	        Raw syscalls through golang.org/x/sys/unix; no cgo.
//	pwrite  the portable path: the same operations as pwrite/fdatasync
//	        calls, overlapped across goroutines.
//	auto    uring when the kernel allows io_uring_setup, else pwrite.
//
// Files without a descriptor (the in-memory FS of tests) take the portable
// path inside either engine.
//
// GroupCommitter batches concurrent Sync calls: the first caller becomes the
// leader, takes every request queued so far, deduplicates files, runs one
// round on the engine, wakes the callers, and repeats while requests keep
// arriving. Callers return only after their files are durable or failed.
//
// Concurrency: an Engine is used by one goroutine at a time (the leader);
// GroupCommitter is safe for concurrent use.
package wio
