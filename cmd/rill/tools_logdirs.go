package main

// rill log-dirs: DescribeLogDirs of every broker (or those given), as
// kafka-log-dirs.sh --describe: each log directory with its volume's total
// and usable bytes, and each partition replica in it with its size and
// offset lag (how far the replica is behind the high watermark). A broker
// that does not answer is listed with its error; the others are shown.

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// logDirEntry is one directory of `log-dirs --format json`.
type logDirEntry struct {
	Broker      int32             `json:"broker"`
	Dir         string            `json:"dir,omitempty"`
	TotalBytes  int64             `json:"total_bytes,omitempty"`
	UsableBytes int64             `json:"usable_bytes,omitempty"`
	Error       string            `json:"error,omitempty"`
	Partitions  []logDirPartition `json:"partitions"`
}

type logDirPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Size      int64  `json:"size"`
	OffsetLag int64  `json:"offset_lag"`
	IsFuture  bool   `json:"is_future,omitempty"`
}

func newLogDirsCmd() *cobra.Command {
	var tf toolFlags
	var out outputFlag
	var brokers []int32
	var topics []string
	c := &cobra.Command{
		Use:   "log-dirs [--broker ID]... [--topic T]...",
		Short: "log directories of the brokers: volume sizes, and partition sizes and offset lag (kafka-log-dirs.sh)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			adm, ctx, done, err := tf.admin(c.Context())
			if err != nil {
				return err
			}
			defer done()
			var set kadm.TopicsSet // nil: every partition
			if len(topics) > 0 {
				set = kadm.TopicsSet{}
				for _, t := range topics {
					set[t] = map[int32]struct{}{} // every partition: fillPartitions lists them
				}
				if err := fillPartitions(ctx, adm, set); err != nil {
					return err
				}
			}
			all, err := adm.DescribeAllLogDirs(ctx, set)
			failures, other := shardErrors(err)
			if other != nil {
				return other
			}
			entries := logDirEntries(all, brokers)
			if out.json() {
				return writeJSON(c.OutOrStdout(), struct {
					Dirs   []logDirEntry `json:"dirs"`
					Errors []string      `json:"errors,omitempty"`
				}{entries, failures})
			}
			printLogDirs(c.OutOrStdout(), entries)
			for _, f := range failures {
				fmt.Fprintf(c.ErrOrStderr(), "rill: partial answer: %s\n", f)
			}
			return nil
		},
	}
	tf.register(c.Flags())
	out.register(c)
	c.Flags().Int32SliceVar(&brokers, "broker", nil, "only these brokers (repeatable or comma separated)")
	c.Flags().StringArrayVar(&topics, "topic", nil, "only the partitions of this topic (repeatable)")
	return c
}

func logDirEntries(all kadm.DescribedAllLogDirs, only []int32) []logDirEntry {
	entries := []logDirEntry{}
	for broker, dirs := range all {
		if len(only) > 0 && !slices.Contains(only, broker) {
			continue
		}
		for _, d := range dirs {
			e := logDirEntry{Broker: broker, Dir: d.Dir, TotalBytes: d.TotalBytes, UsableBytes: d.UsableBytes, Error: errString(d.Err), Partitions: []logDirPartition{}}
			for _, p := range d.Topics.Sorted() {
				e.Partitions = append(e.Partitions, logDirPartition{p.Topic, p.Partition, p.Size, p.OffsetLag, p.IsFuture})
			}
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b logDirEntry) int {
		if a.Broker != b.Broker {
			return int(a.Broker - b.Broker)
		}
		if a.Dir < b.Dir {
			return -1
		}
		if a.Dir > b.Dir {
			return 1
		}
		return 0
	})
	return entries
}

func printLogDirs(w io.Writer, entries []logDirEntry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(tw, "Broker: %d\tDir: %s\tTotal: %s\tUsable: %s", e.Broker, e.Dir, bytesText(e.TotalBytes), bytesText(e.UsableBytes))
		if e.Error != "" {
			fmt.Fprintf(tw, "\tError: %s", e.Error)
		}
		fmt.Fprintln(tw)
		if len(e.Partitions) > 0 {
			fmt.Fprintln(tw, "\tTOPIC\tPARTITION\tSIZE\tOFFSET-LAG\tFUTURE")
		}
		for _, p := range e.Partitions {
			fmt.Fprintf(tw, "\t%s\t%d\t%d\t%d\t%v\n", p.Topic, p.Partition, p.Size, p.OffsetLag, p.IsFuture)
		}
	}
	tw.Flush()
}

// bytesText is a byte count, or "-" for the -1 of a broker that does not
// report volume sizes.
func bytesText(n int64) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
