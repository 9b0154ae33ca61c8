package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// newGroupCmd: rill group list|describe|reset-offsets|delete|delete-offsets,
// after Kafka's kafka-consumer-groups.sh.
func newGroupCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "group", Short: "list, describe, reset offsets of or delete consumer and share groups, with lag per partition (kafka-consumer-groups.sh, kafka-share-groups.sh)"})
	c.AddCommand(
		groupSubCmd("list", "list", "list groups (classic, consumer and share) with their type", noArgs),
		groupSubCmd("describe", "describe GROUP...", "describe groups: members, and committed offset, end offset and lag per partition (share groups: members, assignments, share-partition start offset and lag)", minArgs(1, "at least one group")),
		groupSubCmd("reset-offsets", "reset-offsets --group G (--to-earliest|--to-latest|--to-offset N|--to-datetime T|--shift-by N) [--execute]", "move a group's committed offsets (dry run without --execute)", noArgs),
		groupSubCmd("delete", "delete GROUP...", "delete groups", minArgs(1, "at least one group")),
		groupSubCmd("delete-offsets", "delete-offsets --group G --topic TOPIC[:P,P...]", "delete a group's committed offsets for a topic or some of its partitions", noArgs),
	)
	return c
}

func groupSubCmd(sub, use, short string, args cobra.PositionalArgs) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: args}
	fs := c.Flags()
	var tf toolFlags
	tf.register(fs)
	groupID := fs.String("group", "", "the group")
	topic := fs.String("topic", "", "TOPIC or TOPIC:P,P,... (reset-offsets default: every topic the group has offsets for)")
	toEarliest := fs.Bool("to-earliest", false, "to the log start offset")
	toLatest := fs.Bool("to-latest", false, "to the log end offset")
	toOffset := fs.Int64("to-offset", -1, "to this offset (clamped to the log)")
	toDatetime := fs.String("to-datetime", "", "to the first offset at or after this RFC 3339 time")
	shiftBy := fs.Int64("shift-by", 0, "move the committed offsets by this much (clamped to the log)")
	execute := fs.Bool("execute", false, "apply the plan (without it the plan is only printed)")
	isolation := fs.String("isolation", "read_uncommitted", "lag up to the high watermark (read_uncommitted) or to the last stable offset (read_committed, what a read_committed consumer can reach)")
	var out outputFlag
	if sub == "list" || sub == "describe" {
		out.register(c)
	}
	reset := "reset-offsets"
	scopeFlags(c, sub, map[string]string{"group": reset + ",delete-offsets", "topic": reset + ",delete-offsets", "to-earliest": reset,
		"to-latest": reset, "to-offset": reset, "to-datetime": reset, "shift-by": reset, "execute": reset, "isolation": "describe"})
	c.RunE = func(c *cobra.Command, args []string) error {
		return runGroup(c.Context(), sub, args, groupRun{tf: &tf, out: &out, groupID: *groupID, topic: *topic, toEarliest: *toEarliest,
			toLatest: *toLatest, toOffset: *toOffset, toDatetime: *toDatetime, shiftBy: *shiftBy, execute: *execute, isolation: *isolation},
			c.OutOrStdout(), c.ErrOrStderr())
	}
	return c
}

// groupRun holds the flags of one group subcommand.
type groupRun struct {
	tf                    *toolFlags
	out                   *outputFlag
	groupID, topic        string
	toEarliest, toLatest  bool
	toOffset, shiftBy     int64
	toDatetime, isolation string
	execute               bool
}

func runGroup(parent context.Context, sub string, args []string, f groupRun, w, errw io.Writer) error {
	if sub == "describe" && f.isolation != "read_uncommitted" && f.isolation != "read_committed" {
		return usageErrorf("group describe: --isolation %q: want read_uncommitted or read_committed", f.isolation)
	}
	adm, ctx, done, err := f.tf.admin(parent)
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "list":
		// Each broker lists the groups it coordinates: one that does
		// not answer leaves its groups out, reported on stderr.
		groups, err := adm.ListGroups(ctx)
		failures, err := shardErrors(err)
		if err != nil {
			return err
		}
		for _, failure := range failures {
			fmt.Fprintf(errw, "rill: partial answer: %s\n", failure)
		}
		types := groupTypes(ctx, adm)
		if f.out.json() {
			list := []groupSummary{}
			for _, g := range groups.Sorted() {
				list = append(list, groupSummary{g.Group, g.State, g.ProtocolType, g.Coordinator, types[g.Group]})
			}
			return writeJSON(w, list)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE\tTYPE")
		for _, g := range groups.Sorted() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.Group, g.State, dash(g.ProtocolType), dash(types[g.Group]))
		}
		return tw.Flush()
	case "describe":
		// Share groups (ShareGroupDescribe answers them) are described
		// as such (tools_group_share.go), the others as before.
		shares, rest := splitShareGroups(ctx, adm, args)
		var classic []groupDescription
		if len(rest) > 0 {
			if classic, err = describeGroups(ctx, adm, rest, f.isolation == "read_committed"); err != nil {
				return err
			}
		}
		var shared []shareGroupDescription
		if len(shares) > 0 {
			var names []string
			for _, g := range args {
				if _, ok := shares[g]; ok {
					names = append(names, g)
				}
			}
			shared = describeShareGroups(ctx, adm, names, shares)
		}
		if f.out.json() {
			all := []any{}
			for _, d := range classic {
				all = append(all, d)
			}
			for _, d := range shared {
				all = append(all, d)
			}
			return writeJSON(w, all)
		}
		if len(classic) > 0 {
			if err := printGroupDescriptions(classic, f.isolation == "read_committed", w); err != nil {
				return err
			}
		}
		return printShareGroups(shared, w)
	case "delete-offsets":
		return deleteOffsets(ctx, adm, f.groupID, f.topic, w)
	case "delete":
		res, err := adm.DeleteGroups(ctx, args...)
		if err != nil {
			return err
		}
		for _, g := range args {
			if r := res[g]; r.Err != nil {
				return fmt.Errorf("delete %s: %w", g, r.Err)
			}
			fmt.Fprintf(w, "deleted group %s\n", g)
		}
		return nil
	case "reset-offsets":
		chosen := 0
		for _, set := range []bool{f.toEarliest, f.toLatest, f.toOffset >= 0, f.toDatetime != "", f.shiftBy != 0} {
			if set {
				chosen++
			}
		}
		if f.groupID == "" || chosen != 1 {
			return usageErrorf("group reset-offsets: want --group and exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
		}
		plan := resetPlan{earliest: f.toEarliest, latest: f.toLatest, offset: f.toOffset, shift: f.shiftBy}
		if f.toDatetime != "" {
			t, err := time.Parse(time.RFC3339, f.toDatetime)
			if err != nil {
				return usageErrorf("--to-datetime: %w", err)
			}
			plan.at = &t
		}
		return resetOffsets(ctx, adm, f.groupID, f.topic, plan, f.execute, w)
	}
	panic("group: no subcommand " + sub) // newGroupCmd registers only the above
}

// describeGroups prints each group's members and, per partition, its
// committed offset, the end offset and the lag between them. With
// committed (--isolation read_committed) the end is the last stable
// offset (ListOffsets with isolation level read_committed): what a
// read_committed consumer can reach while a transaction is open; without
// it the high watermark, as kafka-consumer-groups.sh measures.
func describeGroups(ctx context.Context, adm *kadm.Client, groups []string, committed bool) ([]groupDescription, error) {
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if d := described[g]; d.Err != nil {
			return nil, fmt.Errorf("describe %s: %w", g, d.Err)
		}
	}
	fetched := adm.FetchManyOffsets(ctx, groups...)
	for _, g := range groups {
		if f := fetched[g]; f.Err != nil {
			return nil, fmt.Errorf("offsets of %s: %w", g, f.Err)
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
			return nil, err
		}
		listEnd := adm.ListEndOffsets
		if committed {
			listEnd = adm.ListCommittedOffsets
		}
		if ends, err = listEnd(ctx, topics...); err != nil && !isShardErr(err) {
			return nil, err
		}
	}
	var described2 []groupDescription
	for _, g := range groups {
		d := described[g]
		gd := groupDescription{Group: g, State: d.State, ProtocolType: d.ProtocolType, Protocol: d.Protocol, Members: len(d.Members), Partitions: []groupPartitionLag{}}
		lag := kadm.CalculateGroupLagWithStartOffsets(d, fetched[g].Fetched, starts, ends)
		for _, ml := range lag.Sorted() {
			if ml.Err != nil {
				return nil, fmt.Errorf("lag of %s on %s-%d: %w", g, ml.Topic, ml.Partition, ml.Err)
			}
			row := groupPartitionLag{Topic: ml.Topic, Partition: ml.Partition, EndOffset: ml.End.Offset, Lag: ml.Lag}
			if ml.Commit.At >= 0 {
				row.CurrentOffset = &ml.Commit.At
			}
			if ml.Member != nil {
				row.MemberID, row.ClientID, row.Host = ml.Member.MemberID, ml.Member.ClientID, ml.Member.ClientHost
			}
			gd.Partitions = append(gd.Partitions, row)
		}
		described2 = append(described2, gd)
	}
	return described2, nil
}

// printGroupDescriptions prints describeGroups' answer as tables.
func printGroupDescriptions(described2 []groupDescription, committed bool, w io.Writer) error {
	endHeader := "LOG-END-OFFSET"
	if committed {
		endHeader = "LAST-STABLE-OFFSET"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, gd := range described2 {
		fmt.Fprintf(tw, "Group: %s\tState: %s\tProtocol: %s/%s\tMembers: %d\n", gd.Group, gd.State, gd.ProtocolType, gd.Protocol, gd.Members)
		fmt.Fprintf(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\t%s\tLAG\tMEMBER-ID\tCLIENT-ID\tHOST\n", endHeader)
		for _, r := range gd.Partitions {
			cur := "-"
			if r.CurrentOffset != nil {
				cur = strconv.FormatInt(*r.CurrentOffset, 10)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n", r.Topic, r.Partition, cur, r.EndOffset, r.Lag, dash(r.MemberID), dash(r.ClientID), dash(r.Host))
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
