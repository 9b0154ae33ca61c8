package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// runGroup: rill group list|describe|reset-offsets|delete, after Kafka's
// kafka-consumer-groups.sh.
func runGroup(args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("group: want list, describe, reset-offsets or delete")
	}
	sub := args[0]
	fs := flag.NewFlagSet("group "+sub, flag.ContinueOnError)
	var tf toolFlags
	tf.register(fs)
	groupID := fs.String("group", "", "reset-offsets: the group")
	topic := fs.String("topic", "", "reset-offsets: TOPIC or TOPIC:P,P,... (default: every topic the group has offsets for)")
	toEarliest := fs.Bool("to-earliest", false, "reset-offsets: to the log start offset")
	toLatest := fs.Bool("to-latest", false, "reset-offsets: to the log end offset")
	toOffset := fs.Int64("to-offset", -1, "reset-offsets: to this offset (clamped to the log)")
	toDatetime := fs.String("to-datetime", "", "reset-offsets: to the first offset at or after this RFC 3339 time")
	shiftBy := fs.Int64("shift-by", 0, "reset-offsets: move the committed offsets by this much (clamped to the log)")
	execute := fs.Bool("execute", false, "reset-offsets: apply the plan (without it the plan is only printed)")
	isolation := fs.String("isolation", "read_uncommitted", "describe: lag up to the high watermark (read_uncommitted) or to the last stable offset (read_committed, what a read_committed consumer can reach)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	adm, ctx, done, err := tf.admin()
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "list":
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE")
		for _, g := range groups.Sorted() {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Group, g.State, g.ProtocolType)
		}
		return tw.Flush()
	case "describe":
		if fs.NArg() == 0 {
			return errors.New("group describe: name at least one group")
		}
		if *isolation != "read_uncommitted" && *isolation != "read_committed" {
			return fmt.Errorf("group describe: --isolation %q: want read_uncommitted or read_committed", *isolation)
		}
		return describeGroups(ctx, adm, fs.Args(), *isolation == "read_committed", w)
	case "delete":
		if fs.NArg() == 0 {
			return errors.New("group delete: name at least one group")
		}
		res, err := adm.DeleteGroups(ctx, fs.Args()...)
		if err != nil {
			return err
		}
		for _, g := range fs.Args() {
			if r := res[g]; r.Err != nil {
				return fmt.Errorf("delete %s: %w", g, r.Err)
			}
			fmt.Fprintf(w, "deleted group %s\n", g)
		}
		return nil
	case "reset-offsets":
		chosen := 0
		for _, set := range []bool{*toEarliest, *toLatest, *toOffset >= 0, *toDatetime != "", *shiftBy != 0} {
			if set {
				chosen++
			}
		}
		if *groupID == "" || chosen != 1 {
			return errors.New("group reset-offsets: want --group and exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
		}
		plan := resetPlan{earliest: *toEarliest, latest: *toLatest, offset: *toOffset, shift: *shiftBy}
		if *toDatetime != "" {
			t, err := time.Parse(time.RFC3339, *toDatetime)
			if err != nil {
				return fmt.Errorf("--to-datetime: %w", err)
			}
			plan.at = &t
		}
		return resetOffsets(ctx, adm, *groupID, *topic, plan, *execute, w)
	}
	return fmt.Errorf("group: unknown subcommand %q", sub)
}

// describeGroups prints each group's members and, per partition, its
// committed offset, the end offset and the lag between them. With
// committed (--isolation read_committed) the end is the last stable
// offset (ListOffsets with isolation level read_committed): what a
// read_committed consumer can reach while a transaction is open; without
// it the high watermark, as kafka-consumer-groups.sh measures.
func describeGroups(ctx context.Context, adm *kadm.Client, groups []string, committed bool, w io.Writer) error {
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if d := described[g]; d.Err != nil {
			return fmt.Errorf("describe %s: %w", g, d.Err)
		}
	}
	fetched := adm.FetchManyOffsets(ctx, groups...)
	for _, g := range groups {
		if f := fetched[g]; f.Err != nil {
			return fmt.Errorf("offsets of %s: %w", g, f.Err)
		}
	}
	parts := described.AssignedPartitions()
	parts.MergeTopics(described.JoinTopics())
	parts.Merge(fetched.CommittedPartitions())
	var starts, ends kadm.ListedOffsets
	if topics := parts.Topics(); len(topics) > 0 {
		// Shard errors leave partitions out; their rows then carry the
		// error, as kadm.Lag does.
		if starts, err = adm.ListStartOffsets(ctx, topics...); err != nil && !isShardErr(err) {
			return err
		}
		listEnd := adm.ListEndOffsets
		if committed {
			listEnd = adm.ListCommittedOffsets
		}
		if ends, err = listEnd(ctx, topics...); err != nil && !isShardErr(err) {
			return err
		}
	}
	endHeader := "LOG-END-OFFSET"
	if committed {
		endHeader = "LAST-STABLE-OFFSET"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, g := range groups {
		d := described[g]
		fmt.Fprintf(tw, "Group: %s\tState: %s\tProtocol: %s/%s\tMembers: %d\n", g, d.State, d.ProtocolType, d.Protocol, len(d.Members))
		fmt.Fprintf(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\t%s\tLAG\tMEMBER-ID\tCLIENT-ID\tHOST\n", endHeader)
		lag := kadm.CalculateGroupLagWithStartOffsets(d, fetched[g].Fetched, starts, ends)
		for _, ml := range lag.Sorted() {
			if ml.Err != nil {
				return fmt.Errorf("lag of %s on %s-%d: %w", g, ml.Topic, ml.Partition, ml.Err)
			}
			cur, member, client, host := "-", "-", "-", "-"
			if ml.Commit.At >= 0 {
				cur = strconv.FormatInt(ml.Commit.At, 10)
			}
			if ml.Member != nil {
				member, client, host = ml.Member.MemberID, ml.Member.ClientID, ml.Member.ClientHost
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n", ml.Topic, ml.Partition, cur, ml.End.Offset, ml.Lag, member, client, host)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func isShardErr(err error) bool {
	_, ok := errors.AsType[*kadm.ShardErrors](err)
	return ok
}

// resetPlan is the target of reset-offsets: exactly one field is set.
type resetPlan struct {
	earliest, latest bool
	offset           int64
	at               *time.Time
	shift            int64
}

// resetOffsets moves a group's committed offsets, as
// kafka-consumer-groups.sh --reset-offsets does: only while the group has
// no members, printing the plan, applying it with execute.
func resetOffsets(ctx context.Context, adm *kadm.Client, group, topicArg string, plan resetPlan, execute bool, w io.Writer) error {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return err
	}
	if d := described[group]; d.Err == nil && d.State != "Empty" && d.State != "Dead" {
		return fmt.Errorf("group %s is %s: stop its consumers first (offsets can only be reset while it has no members)", group, d.State)
	}
	current, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return err
	}
	var topics []string
	partitions := map[int32]bool{}
	if topicArg != "" {
		name, parts, _ := strings.Cut(topicArg, ":")
		topics = []string{name}
		for _, p := range strings.Split(parts, ",") {
			if p == "" {
				continue
			}
			n, err := strconv.Atoi(p)
			if err != nil {
				return fmt.Errorf("--topic %q: bad partition %q", topicArg, p)
			}
			partitions[int32(n)] = true
		}
	} else {
		for t := range current {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		if len(topics) == 0 {
			return fmt.Errorf("group %s has no offsets; name --topic", group)
		}
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return err
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return err
	}
	var byTime kadm.ListedOffsets
	if plan.at != nil {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, plan.at.UnixMilli(), topics...); err != nil {
			return err
		}
	}
	next := kadm.Offsets{}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET")
	var failed error
	ends.Each(func(e kadm.ListedOffset) {
		if failed != nil || (len(partitions) > 0 && !partitions[e.Partition]) {
			return
		}
		if e.Err != nil {
			failed = fmt.Errorf("%s-%d: %w", e.Topic, e.Partition, e.Err)
			return
		}
		s, _ := starts.Lookup(e.Topic, e.Partition)
		cur := int64(-1)
		if o, ok := current.Lookup(e.Topic, e.Partition); ok && o.Err == nil {
			cur = o.At
		}
		var target int64
		switch {
		case plan.earliest:
			target = s.Offset
		case plan.latest:
			target = e.Offset
		case plan.at != nil:
			o, _ := byTime.Lookup(e.Topic, e.Partition)
			target = o.Offset
		case plan.shift != 0:
			target = max(cur, s.Offset) + plan.shift
		default:
			target = plan.offset
		}
		target = min(max(target, s.Offset), e.Offset)
		curText := "-"
		if cur >= 0 {
			curText = strconv.FormatInt(cur, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", e.Topic, e.Partition, curText, target)
		next.Add(kadm.Offset{Topic: e.Topic, Partition: e.Partition, At: target, LeaderEpoch: -1})
	})
	if failed != nil {
		return failed
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !execute {
		fmt.Fprintln(w, "(dry run: add --execute to apply)")
		return nil
	}
	res, err := adm.CommitOffsets(ctx, group, next)
	if err != nil {
		return err
	}
	if err := res.Error(); err != nil {
		return fmt.Errorf("committing the new offsets: %w", err)
	}
	fmt.Fprintf(w, "reset %d partitions of group %s\n", len(next.Sorted()), group)
	return nil
}
