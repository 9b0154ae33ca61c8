// Package format holds the byte-level formats of the storage engine as pure
// functions on []byte: Kafka's RecordBatch v2 (the on-disk and on-the-wire
// unit), the records inside it, compression codecs, index entries and
// segment file names. Nothing here does I/O.
//
// RecordBatch v2, as Kafka defines it (big-endian):
//
//	offset size field
//	     0    8 baseOffset            assigned by the broker on append
//	     8    4 batchLength           bytes after this field
//	    12    4 partitionLeaderEpoch  set by the broker on append
//	    16    1 magic                 2
//	    17    4 crc                   CRC-32C of bytes [21, end)
//	    21    2 attributes            bits 0-2 codec, 3 timestamp type,
//	                                  4 transactional, 5 control
//	    23    4 lastOffsetDelta
//	    27    8 baseTimestamp
//	    35    8 maxTimestamp
//	    43    8 producerId
//	    51    2 producerEpoch
//	    53    4 baseSequence
//	    57    4 recordCount
//	    61    … records (compressed as a whole when codec != 0)
//
// baseOffset and partitionLeaderEpoch sit before the CRC'd range, so the
// broker rewrites them in place without touching the CRC. LogAppendTime
// changes attributes and maxTimestamp, so it recomputes the CRC, as Kafka
// does.
//
// Errors: every decoding error wraps ErrCorrupt, so IsCorrupt tells a bad
// byte sequence from an I/O failure.
package format
