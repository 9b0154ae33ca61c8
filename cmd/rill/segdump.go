package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// segdump prints segment files like Kafka's DumpLogSegments: batches of
// a .log (with --records, every record), entries of .index and .timeindex.
// It reads files whole and never modifies them; a .log is checked the way
// recovery checks it and the first invalid batch is reported with where
// recovery would cut.
func newSegdumpCmd() *cobra.Command {
	c := &cobra.Command{Use: "segdump [--records [--payload]] FILE...", Short: "print segment, index and time index files (kafka-dump-log.sh)",
		Args: minArgs(1, "at least one .log, .index or .timeindex file")}
	records := c.Flags().Bool("records", false, "print every record of each batch")
	payload := c.Flags().Bool("payload", false, "with --records, print keys and values")
	c.RunE = func(c *cobra.Command, args []string) error {
		return segdump(args, *records, *payload, c.OutOrStdout())
	}
	return c
}

func segdump(paths []string, records, payload bool, w io.Writer) error {
	for _, path := range paths {
		fmt.Fprintf(w, "Dumping %s\n", path)
		data, err := vfs.ReadFile(vfs.Default, path)
		if err != nil {
			return err
		}
		base, _ := format.ParseFileName(filepath.Base(path), filepath.Ext(path))
		switch {
		case strings.HasSuffix(path, format.LogSuffix):
			dumpLog(w, data, records, payload)
		case strings.HasSuffix(path, format.TimeIndexSuffix):
			for i := 0; i+format.TimeEntrySize <= len(data); i += format.TimeEntrySize {
				ts, rel := format.TimeEntry(data[i:])
				if i > 0 && ts == 0 && rel == 0 {
					break // preallocated space
				}
				fmt.Fprintf(w, "timestamp: %d offset: %d\n", ts, base+int64(rel))
			}
		case strings.HasSuffix(path, format.IndexSuffix):
			for i := 0; i+format.OffsetEntrySize <= len(data); i += format.OffsetEntrySize {
				rel, pos := format.OffsetEntry(data[i:])
				if i > 0 && rel == 0 && pos == 0 {
					break
				}
				fmt.Fprintf(w, "offset: %d position: %d\n", base+int64(rel), pos)
			}
		default:
			return fmt.Errorf("segdump: %s: not a .log, .index or .timeindex file", path)
		}
	}
	return nil
}

func dumpLog(w io.Writer, data []byte, records, payload bool) {
	valid, err := format.Iterate(data, func(pos int, b format.Batch) error {
		tsType := "CreateTime"
		if b.IsLogAppendTime() {
			tsType = "LogAppendTime"
		}
		lastSeq := int32(-1)
		if b.BaseSequence() >= 0 {
			lastSeq = b.BaseSequence() + b.LastOffsetDelta()
		}
		fmt.Fprintf(w, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %v isControl: %v position: %d %s: %d size: %d magic: %d compresscodec: %s crc: %d isvalid: true\n",
			b.BaseOffset(), b.LastOffset(), b.RecordCount(), b.BaseSequence(), lastSeq, b.ProducerID(), b.ProducerEpoch(),
			b.LeaderEpoch(), b.Attributes()&format.AttrTransactional != 0, b.IsControl(), pos, tsType, b.MaxTimestamp(),
			len(b), b.MagicByte(), b.Codec(), b.CRC())
		if !records {
			return nil
		}
		return b.ForEachRecord(func(r format.Record) error {
			ts := b.BaseTimestamp() + r.TimestampDelta
			if b.IsLogAppendTime() {
				ts = b.MaxTimestamp()
			}
			keys := make([]string, len(r.Headers))
			for i, h := range r.Headers {
				keys[i] = h.Key
			}
			fmt.Fprintf(w, "| offset: %d %s: %d keySize: %d valueSize: %d headerKeys: [%s]",
				b.BaseOffset()+int64(r.OffsetDelta), tsType, ts, size(r.Key), size(r.Value), strings.Join(keys, ","))
			if payload {
				fmt.Fprintf(w, " key: %s payload: %s", printable(r.Key), printable(r.Value))
			}
			fmt.Fprintln(w)
			return nil
		})
	})
	if err != nil {
		fmt.Fprintf(w, "INVALID at position %d: %v\nrecovery would truncate this segment to %d bytes (%d bytes dropped)\n",
			valid, err, valid, len(data)-valid)
	}
}

func size(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

func printable(b []byte) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprintf("%q", b)
}
