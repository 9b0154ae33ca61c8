package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// newTopicCmd: rill topic create|list|describe|delete|alter, after
// kafka-topics.sh.
func newTopicCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "topic", Short: "create, list, describe, delete or alter topics (kafka-topics.sh)"})
	c.AddCommand(
		topicSubCmd("create", "create TOPIC...", "create topics", minArgs(1, "at least one topic")),
		topicSubCmd("list", "list", "list topics", noArgs),
		topicSubCmd("describe", "describe [TOPIC...]", "describe topics: partitions, leaders, replicas, ISR, offsets and config overrides", cobra.ArbitraryArgs),
		topicSubCmd("delete", "delete TOPIC...", "delete topics", minArgs(1, "at least one topic")),
		topicSubCmd("alter", "alter TOPIC...", "change topic configs or add partitions", minArgs(1, "at least one topic")),
	)
	return c
}

func topicSubCmd(sub, use, short string, args cobra.PositionalArgs) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: args}
	fs := c.Flags()
	var tf toolFlags
	tf.register(fs)
	partitions := fs.Int("partitions", -1, "partition count (create: -1 = broker default; alter: new total)")
	rf := fs.Int("replication-factor", -1, "replication factor (-1 = broker default)")
	var configs, deletes []string
	fs.StringArrayVar(&configs, "config", nil, "topic config key=value (repeatable)")
	fs.StringArrayVar(&deletes, "delete-config", nil, "remove a topic config override (repeatable)")
	var out outputFlag
	if sub == "list" || sub == "describe" {
		out.register(c)
	}
	scopeFlags(c, sub, map[string]string{"partitions": "create,alter", "replication-factor": "create",
		"config": "create,alter", "delete-config": "alter"})
	c.RunE = func(c *cobra.Command, names []string) error {
		w := c.OutOrStdout()
		adm, ctx, done, err := tf.admin(c.Context())
		if err != nil {
			return err
		}
		defer done()
		switch sub {
		case "create":
			cfg := map[string]*string{}
			for _, kv := range configs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usageErrorf("--config %q: want key=value", kv)
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
				fmt.Fprintf(w, "created %s (%d partitions, id %s)\n", r.Topic, r.NumPartitions, topicID(r.ID))
			}
		case "list":
			tds, err := adm.ListTopics(ctx)
			if err != nil {
				return err
			}
			if out.json() {
				list := []topicSummary{}
				for _, td := range tds.Sorted() {
					list = append(list, topicSummary{td.Topic, topicID(td.ID), len(td.Partitions), td.Partitions.NumReplicas(), td.IsInternal})
				}
				return writeJSON(w, list)
			}
			for _, td := range tds.Sorted() {
				fmt.Fprintln(w, td.Topic)
			}
		case "describe":
			return describeTopics(ctx, adm, names, out.json(), w, c.ErrOrStderr())
		case "delete":
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
			return alterTopics(ctx, adm, names, configs, deletes, *partitions, w)
		}
		return nil
	}
	return c
}

func alterTopics(ctx context.Context, adm *kadm.Client, names, configs, deletes []string, partitions int, w io.Writer) error {
	var alters []kadm.AlterConfig
	for _, kv := range configs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usageErrorf("--config %q: want key=value", kv)
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
	}
	for _, k := range deletes {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	if len(alters) == 0 && partitions <= 0 {
		return usageErrorf("topic alter: nothing to change: give --config, --delete-config or --partitions")
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
	if partitions > 0 {
		res, err := adm.UpdatePartitions(ctx, partitions, names...)
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
	return nil
}

// topicSummary is a topic of `topic list --format json`.
type topicSummary struct {
	Name              string `json:"name"`
	ID                string `json:"id"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Internal          bool   `json:"internal,omitempty"`
}

// sortedOverrides are a topic's dynamic overrides (source
// DYNAMIC_TOPIC_CONFIG), as kafka-topics.sh --describe shows them.
func sortedOverrides(rc kadm.ResourceConfig) map[string]string {
	m := map[string]string{}
	for _, c := range rc.Configs {
		if c.Source == 1 {
			m[c.Key] = c.MaybeValue()
		}
	}
	return m
}

func joinOverrides(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
