package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// runTopic: rill topic create|list|describe|delete|alter.
func runTopic(args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("topic: want create, list, describe, delete or alter")
	}
	fs := flag.NewFlagSet("topic "+args[0], flag.ContinueOnError)
	var tf toolFlags
	tf.register(fs)
	partitions := fs.Int("partitions", -1, "partition count (create: -1 = broker default; alter: new total)")
	rf := fs.Int("replication-factor", -1, "replication factor (-1 = broker default)")
	var configs, deletes multiFlag
	fs.Var(&configs, "config", "topic config key=value (repeatable)")
	fs.Var(&deletes, "delete-config", "alter: remove a topic config override (repeatable)")
	sub := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	adm, ctx, done, err := tf.admin()
	if err != nil {
		return err
	}
	defer done()
	names := fs.Args()
	needName := func() error {
		if len(names) == 0 {
			return fmt.Errorf("topic %s: name at least one topic", sub)
		}
		return nil
	}
	switch sub {
	case "create":
		if err := needName(); err != nil {
			return err
		}
		cfg := map[string]*string{}
		for _, kv := range configs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("--config %q: want key=value", kv)
			}
			cfg[k] = kadm.StringPtr(v)
		}
		res, err := adm.CreateTopics(ctx, int32(*partitions), int16(*rf), cfg, names...)
		if err != nil {
			return err
		}
		for _, r := range res.Sorted() {
			if r.Err != nil {
				return fmt.Errorf("create %s: %w (%s)", r.Topic, r.Err, r.ErrMessage)
			}
			fmt.Fprintf(w, "created %s (%d partitions, id %s)\n", r.Topic, r.NumPartitions, r.ID)
		}
	case "list":
		tds, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		for _, td := range tds.Sorted() {
			fmt.Fprintln(w, td.Topic)
		}
	case "describe":
		tds, err := adm.ListTopics(ctx, names...)
		if err != nil {
			return err
		}
		ends, err := adm.ListEndOffsets(ctx, names...)
		if err != nil {
			return err
		}
		starts, err := adm.ListStartOffsets(ctx, names...)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, td := range tds.Sorted() {
			if td.Err != nil {
				return fmt.Errorf("describe %s: %w", td.Topic, td.Err)
			}
			fmt.Fprintf(tw, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\n", td.Topic, td.ID, len(td.Partitions), td.Partitions.NumReplicas())
			for _, p := range td.Partitions.Sorted() {
				s, _ := starts.Lookup(td.Topic, p.Partition)
				e, _ := ends.Lookup(td.Topic, p.Partition)
				fmt.Fprintf(tw, "\tPartition: %d\tLeader: %d\tReplicas: %v\tIsr: %v\tStart: %d\tEnd: %d\n", p.Partition, p.Leader, p.Replicas, p.ISR, s.Offset, e.Offset)
			}
		}
		tw.Flush()
		rcs, err := adm.DescribeTopicConfigs(ctx, names...)
		if err != nil {
			return err
		}
		for _, rc := range rcs {
			var overrides []string
			for _, c := range rc.Configs {
				if c.Source == 1 {
					overrides = append(overrides, c.Key+"="+c.MaybeValue())
				}
			}
			sort.Strings(overrides)
			fmt.Fprintf(w, "Configs for %s: %s\n", rc.Name, strings.Join(overrides, ","))
		}
	case "delete":
		if err := needName(); err != nil {
			return err
		}
		res, err := adm.DeleteTopics(ctx, names...)
		if err != nil {
			return err
		}
		for _, r := range res.Sorted() {
			if r.Err != nil {
				return fmt.Errorf("delete %s: %w", r.Topic, r.Err)
			}
			fmt.Fprintf(w, "deleted %s\n", r.Topic)
		}
	case "alter":
		if err := needName(); err != nil {
			return err
		}
		var alters []kadm.AlterConfig
		for _, kv := range configs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("--config %q: want key=value", kv)
			}
			alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
		}
		for _, k := range deletes {
			alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
		}
		if len(alters) > 0 {
			res, err := adm.AlterTopicConfigs(ctx, alters, names...)
			if err != nil {
				return err
			}
			for _, r := range res {
				if r.Err != nil {
					return fmt.Errorf("alter %s: %w (%s)", r.Name, r.Err, r.ErrMessage)
				}
			}
		}
		if *partitions > 0 {
			res, err := adm.UpdatePartitions(ctx, *partitions, names...)
			if err != nil {
				return err
			}
			for _, r := range res.Sorted() {
				if r.Err != nil {
					return fmt.Errorf("partitions of %s: %w (%s)", r.Topic, r.Err, r.ErrMessage)
				}
			}
		}
		fmt.Fprintf(w, "altered %s\n", strings.Join(names, ", "))
	default:
		return fmt.Errorf("topic: unknown subcommand %q", sub)
	}
	return nil
}
