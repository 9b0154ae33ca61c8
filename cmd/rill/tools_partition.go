package main

// rill partition: replica placement and leadership, as
// kafka-reassign-partitions.sh and kafka-leader-election.sh change them:
//
//	rill partition reassign TOPIC:P=B,B,B... [--file F] [--wait] [--cancel]
//	rill partition reassignments [--format json]
//	rill partition elect [--type preferred|unclean] [TOPIC[:P,P...]]...
//
// reassign sends AlterPartitionReassignments (the first broker listed is
// the preferred leader); --file takes kafka-reassign-partitions.sh's JSON
// ({"partitions":[{"topic":..,"partition":..,"replicas":[..]}]}); --wait
// polls ListPartitionReassignments and prints a line whenever a
// partition's adding or removing replicas change, until none is moving.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newPartitionCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "partition", Short: "reassign partitions' replicas and elect leaders (kafka-reassign-partitions.sh, kafka-leader-election.sh)"})
	c.AddCommand(reassignCmd(), reassignmentsCmd(), electCmd())
	return c
}

// reassignmentFile is kafka-reassign-partitions.sh's --reassignment-json-file.
type reassignmentFile struct {
	Partitions []struct {
		Topic     string  `json:"topic"`
		Partition int32   `json:"partition"`
		Replicas  []int32 `json:"replicas"`
	} `json:"partitions"`
}

// parseAssignment reads TOPIC:P=B,B,... (the topic may itself contain ':';
// the last one separates the partition).
func parseAssignment(arg string) (string, int32, []int32, error) {
	tp, replicas, ok := strings.Cut(arg, "=")
	i := strings.LastIndexByte(tp, ':')
	if !ok || i <= 0 {
		return "", 0, nil, usageErrorf("%q: want TOPIC:PARTITION=BROKER,BROKER,...", arg)
	}
	p, err := strconv.ParseInt(tp[i+1:], 10, 32)
	if err != nil || p < 0 {
		return "", 0, nil, usageErrorf("%q: bad partition %q", arg, tp[i+1:])
	}
	var brokers []int32
	for _, b := range splitList(replicas) {
		id, err := strconv.ParseInt(b, 10, 32)
		if err != nil {
			return "", 0, nil, usageErrorf("%q: bad broker id %q", arg, b)
		}
		brokers = append(brokers, int32(id))
	}
	return tp[:i], int32(p), brokers, nil
}

func reassignCmd() *cobra.Command {
	var tf toolFlags
	var file string
	var wait, cancel bool
	var interval time.Duration
	c := &cobra.Command{
		Use:   "reassign [TOPIC:P=B,B,...]... [--file F] [--wait] [--cancel]",
		Short: "move partitions' replicas to the brokers given (first = preferred leader)",
		RunE: func(c *cobra.Command, args []string) error {
			req := kadm.AlterPartitionAssignmentsReq{}
			parts := kadm.TopicsSet{}
			for _, a := range args {
				if cancel {
					t, ps, err := parseTopicPartitions(a)
					if err != nil {
						return err
					}
					if len(ps) == 0 {
						return usageErrorf("--cancel %q: name the partitions, TOPIC:P,P", a)
					}
					for _, p := range ps {
						req.CancelAssign(t, p)
					}
					parts.Add(t, ps...)
					continue
				}
				t, p, brokers, err := parseAssignment(a)
				if err != nil {
					return err
				}
				req.Assign(t, p, brokers)
				parts.Add(t, p)
			}
			if file != "" {
				if cancel {
					return usageErrorf("--cancel takes TOPIC:P,P arguments, not --file")
				}
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				var rf reassignmentFile
				if err := json.Unmarshal(data, &rf); err != nil {
					return fmt.Errorf("--file %s: %w", file, err)
				}
				for _, p := range rf.Partitions {
					req.Assign(p.Topic, p.Partition, p.Replicas)
					parts.Add(p.Topic, p.Partition)
				}
			}
			if len(req) == 0 {
				return usageErrorf("%s: name partitions to move (TOPIC:P=B,B,... or --file)", c.CommandPath())
			}
			adm, ctx, done, err := tf.admin(c.Context())
			if err != nil {
				return err
			}
			defer done()
			w := c.OutOrStdout()
			res, err := adm.AlterPartitionAssignments(ctx, req)
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range res.Sorted() {
				if r.Err != nil {
					failed++
					fmt.Fprintf(w, "%s-%d: %s\n", r.Topic, r.Partition, brokerError(r.Err, r.ErrMessage))
					parts.Delete(r.Topic, r.Partition)
					continue
				}
				verb := "reassigning"
				if cancel {
					verb = "cancelled the reassignment of"
				}
				fmt.Fprintf(w, "%s %s-%d\n", verb, r.Topic, r.Partition)
			}
			if failed > 0 {
				return fmt.Errorf("partition reassign: %d partitions refused", failed)
			}
			if wait && !cancel {
				return waitReassignments(ctx, adm, parts, interval, w)
			}
			return nil
		},
	}
	tf.register(c.Flags())
	c.Flags().StringVar(&file, "file", "", "kafka-reassign-partitions.sh reassignment JSON file")
	c.Flags().BoolVar(&wait, "wait", false, "wait until the moves are done, printing progress (bounded by --timeout)")
	c.Flags().DurationVar(&interval, "interval", time.Second, "with --wait: how often to check")
	c.Flags().BoolVar(&cancel, "cancel", false, "cancel the reassignments of the TOPIC:P,P... given")
	return c
}

// waitReassignments polls until none of parts is moving, printing each
// partition's state when it changes.
func waitReassignments(ctx context.Context, adm *kadm.Client, parts kadm.TopicsSet, interval time.Duration, w io.Writer) error {
	start := time.Now()
	last := map[string]string{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		moving, err := adm.ListPartitionReassignments(ctx, parts)
		if err != nil {
			return fmt.Errorf("waiting for the reassignment: %w", err)
		}
		now := map[string]string{}
		for _, r := range moving.Sorted() {
			if len(r.AddingReplicas)+len(r.RemovingReplicas) == 0 {
				continue
			}
			key := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
			now[key] = fmt.Sprintf("replicas %v adding %v removing %v", r.Replicas, r.AddingReplicas, r.RemovingReplicas)
		}
		for _, key := range sortedKeys(now) {
			if last[key] != now[key] {
				fmt.Fprintf(w, "[%s] %s: %s\n", time.Since(start).Round(time.Second), key, now[key])
			}
		}
		for _, key := range sortedKeys(last) {
			if _, still := now[key]; !still {
				fmt.Fprintf(w, "[%s] %s: done\n", time.Since(start).Round(time.Second), key)
			}
		}
		if len(now) == 0 {
			fmt.Fprintf(w, "reassignment complete after %s\n", time.Since(start).Round(time.Millisecond))
			return nil
		}
		last = now
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the reassignment: %w (%d partitions still moving)", ctx.Err(), len(now))
		case <-tick.C:
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// reassignmentEntry is one moving partition of `partition reassignments`.
type reassignmentEntry struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
	Adding    []int32 `json:"adding_replicas"`
	Removing  []int32 `json:"removing_replicas"`
}

func reassignmentsCmd() *cobra.Command {
	var tf toolFlags
	var out outputFlag
	c := &cobra.Command{
		Use:   "reassignments",
		Short: "list the reassignments in progress",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := tf.client()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(c.Context(), tf.timeout)
			defer cancel()
			// kadm lists only named partitions; null topics asks the
			// controller for every reassignment.
			req := kmsg.NewPtrListPartitionReassignmentsRequest()
			req.TimeoutMillis = int32(tf.timeout.Milliseconds())
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return err
			}
			if err := kerrFor(resp.ErrorCode, resp.ErrorMessage); err != nil {
				return err
			}
			entries := []reassignmentEntry{}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					entries = append(entries, reassignmentEntry{t.Topic, p.Partition, nonNil(p.Replicas), nonNil(p.AddingReplicas), nonNil(p.RemovingReplicas)})
				}
			}
			slices.SortFunc(entries, func(a, b reassignmentEntry) int {
				if c := strings.Compare(a.Topic, b.Topic); c != 0 {
					return c
				}
				return int(a.Partition - b.Partition)
			})
			w := c.OutOrStdout()
			if out.json() {
				return writeJSON(w, entries)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITION\tREPLICAS\tADDING\tREMOVING")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%d\t%v\t%v\t%v\n", e.Topic, e.Partition, e.Replicas, e.Adding, e.Removing)
			}
			return tw.Flush()
		},
	}
	tf.register(c.Flags())
	out.register(c)
	return c
}

func electCmd() *cobra.Command {
	var tf toolFlags
	var how string
	c := &cobra.Command{
		Use:   "elect [--type preferred|unclean] [TOPIC[:P,P...]]...",
		Short: "elect leaders: the preferred replica, or (unclean) any live replica of a leaderless partition",
		Long: `Elect leaders, as kafka-leader-election.sh does. With no partitions named,
every partition's (the broker answers for those that need an election).
preferred moves leadership to the first replica when it is in sync;
unclean elects an out-of-sync replica of a partition that has no leader,
which may lose acknowledged records.`,
		RunE: func(c *cobra.Command, args []string) error {
			var typ kadm.ElectLeadersHow
			switch how {
			case "preferred":
				typ = kadm.ElectPreferredReplica
			case "unclean":
				typ = kadm.ElectLiveReplica
			default:
				return usageErrorf("--type %q: want preferred or unclean", how)
			}
			var set kadm.TopicsSet
			for _, a := range args {
				t, ps, err := parseTopicPartitions(a)
				if err != nil {
					return err
				}
				if set == nil {
					set = kadm.TopicsSet{}
				}
				if len(ps) == 0 {
					set.Add(t) // every partition: filled in below
				} else {
					set.Add(t, ps...)
				}
			}
			adm, ctx, done, err := tf.admin(c.Context())
			if err != nil {
				return err
			}
			defer done()
			if err := fillPartitions(ctx, adm, set); err != nil {
				return err
			}
			res, err := adm.ElectLeaders(ctx, typ, set)
			if err != nil {
				return err
			}
			return printElection(res, c.OutOrStdout())
		},
	}
	tf.register(c.Flags())
	c.Flags().StringVar(&how, "type", "preferred", "preferred or unclean")
	return c
}

// fillPartitions names every partition of the topics given without any:
// ElectLeaders takes partitions, not topics.
func fillPartitions(ctx context.Context, adm *kadm.Client, set kadm.TopicsSet) error {
	var whole []string
	for t, ps := range set {
		if len(ps) == 0 {
			whole = append(whole, t)
		}
	}
	if len(whole) == 0 {
		return nil
	}
	tds, err := adm.ListTopics(ctx, whole...)
	if err != nil {
		return err
	}
	for _, td := range tds {
		if td.Err != nil {
			return fmt.Errorf("%s: %w", td.Topic, td.Err)
		}
		for p := range td.Partitions {
			set.Add(td.Topic, p)
		}
	}
	return nil
}

// printElection prints each partition's outcome; a partition whose leader
// is already the preferred one (ELECTION_NOT_NEEDED) is not a failure, as
// kafka-leader-election.sh treats it.
func printElection(res kadm.ElectLeadersResults, w io.Writer) error {
	var rows []kadm.ElectLeadersResult
	for _, ps := range res {
		for _, r := range ps {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].Topic < rows[j].Topic || rows[i].Topic == rows[j].Topic && rows[i].Partition < rows[j].Partition
	})
	failed := 0
	for _, r := range rows {
		switch {
		case r.Err == nil:
			fmt.Fprintf(w, "elected a leader for %s-%d\n", r.Topic, r.Partition)
		case isElectionNotNeeded(r.Err):
			fmt.Fprintf(w, "%s-%d: election not needed\n", r.Topic, r.Partition)
		default:
			failed++
			fmt.Fprintf(w, "%s-%d: %s\n", r.Topic, r.Partition, brokerError(r.Err, r.ErrMessage))
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "no partition needed an election")
	}
	if failed > 0 {
		return fmt.Errorf("partition elect: %d partitions failed", failed)
	}
	return nil
}
