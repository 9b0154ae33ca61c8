package main

// rill config: broker, topic and group configs, as kafka-configs.sh shows
// and changes them, over DescribeConfigs and IncrementalAlterConfigs (kadm):
//
//	rill config describe broker [ID] [--all]     (no ID: the cluster-wide default)
//	rill config describe topic TOPIC [--all]
//	rill config describe group GROUP [--all]     (tools_config_loggers.go)
//	rill config alter broker [ID] --set k=v... --delete k...
//	rill config alter topic TOPIC --set k=v... --delete k...
//	rill config alter group GROUP --set k=v... --delete k...
//	rill config describe|alter broker-logger ID  (run-time log levels; tools_config_loggers.go)
//
// Without --all, describe shows what was set dynamically (kafka-configs.sh
// --describe); with --all every config with its source (DEFAULT_CONFIG,
// STATIC_BROKER_CONFIG, DYNAMIC_*), as --describe --all does.

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newConfigCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "config", Short: "describe or alter broker, topic and group configs (kafka-configs.sh)"})
	c.AddCommand(configDescribeCmd(), configAlterCmd())
	return c
}

// configTarget is `broker [ID]`, `broker-logger ID`, `topic NAME` or
// `group NAME`.
type configTarget struct {
	kind    string // "broker", "broker-logger", "topic" or "group"
	name    string // topic name, broker id, or "" for the broker default
	brokers []int32
}

func parseConfigTarget(args []string) (configTarget, error) {
	if len(args) == 0 {
		return configTarget{}, usageErrorf("name broker [ID] or topic TOPIC")
	}
	switch args[0] {
	case "broker", "brokers":
		t := configTarget{kind: "broker"}
		switch len(args) {
		case 1:
		case 2:
			id, err := strconv.ParseInt(args[1], 10, 32)
			if err != nil {
				return t, usageErrorf("broker id %q: want a number", args[1])
			}
			t.name, t.brokers = args[1], []int32{int32(id)}
		default:
			return t, usageErrorf("name one broker (or none, for the cluster-wide default)")
		}
		return t, nil
	case "broker-logger", "broker-loggers":
		if len(args) != 2 {
			return configTarget{}, usageErrorf("name one broker: broker-logger ID")
		}
		if _, err := strconv.ParseInt(args[1], 10, 32); err != nil {
			return configTarget{}, usageErrorf("broker id %q: want a number", args[1])
		}
		return configTarget{kind: "broker-logger", name: args[1]}, nil
	case "topic", "topics":
		if len(args) != 2 {
			return configTarget{}, usageErrorf("name one topic")
		}
		return configTarget{kind: "topic", name: args[1]}, nil
	case "group", "groups":
		if len(args) != 2 || args[1] == "" {
			return configTarget{}, usageErrorf("name one group")
		}
		return configTarget{kind: "group", name: args[1]}, nil
	}
	return configTarget{}, usageErrorf("%q: want broker, broker-logger, group or topic", args[0])
}

func (t configTarget) String() string {
	if t.kind == "broker" && t.name == "" {
		return "broker default"
	}
	return t.kind + " " + t.name
}

// configEntry is one config of `config describe --format json`.
type configEntry struct {
	Name      string  `json:"name"`
	Value     *string `json:"value"`
	Source    string  `json:"source"`
	Sensitive bool    `json:"sensitive,omitempty"`
}

// configSourceName is a config source as Kafka's admin tools print it
// (kmsg calls source 8 GROUP_CONFIG, Kafka DYNAMIC_GROUP_CONFIG).
func configSourceName(s kmsg.ConfigSource) string {
	if s == kmsg.ConfigSourceGroupConfig {
		return "DYNAMIC_GROUP_CONFIG"
	}
	return s.String()
}

// dynamicSource is whether a config was set at run time (what
// kafka-configs.sh --describe shows without --all).
func dynamicSource(s kmsg.ConfigSource) bool {
	switch s {
	case kmsg.ConfigSourceDefaultConfig, kmsg.ConfigSourceStaticBrokerConfig, kmsg.ConfigSourceUnknown:
		return false
	}
	return true
}

func configDescribeCmd() *cobra.Command {
	var tf toolFlags
	var out outputFlag
	var all bool
	c := &cobra.Command{
		Use:   "describe (broker [ID] | broker-logger ID | topic TOPIC | group GROUP) [--all]",
		Short: "show configs set dynamically, or with --all every config and its source",
		Args:  cobra.ArbitraryArgs, // parseConfigTarget checks them
		RunE: func(c *cobra.Command, args []string) error {
			t, err := parseConfigTarget(args)
			if err != nil {
				return err
			}
			if t.kind == "broker-logger" || t.kind == "group" {
				cl, ctx, done, err := tf.loggerClient(c.Context())
				if err != nil {
					return err
				}
				defer done()
				entries, err := describeRawConfigs(ctx, cl, t, all)
				if err != nil {
					return err
				}
				return printConfigEntries(entries, out.json(), c.OutOrStdout())
			}
			adm, ctx, done, err := tf.admin(c.Context())
			if err != nil {
				return err
			}
			defer done()
			return describeConfigs(ctx, adm, t, all, out.json(), c.OutOrStdout())
		},
	}
	tf.register(c.Flags())
	c.Flags().BoolVar(&all, "all", false, "every config with its source, defaults included")
	out.register(c)
	return c
}

func describeConfigs(ctx context.Context, adm *kadm.Client, t configTarget, all, asJSON bool, w io.Writer) error {
	var rcs kadm.ResourceConfigs
	var err error
	if t.kind == "topic" {
		rcs, err = adm.DescribeTopicConfigs(ctx, t.name)
	} else {
		rcs, err = adm.DescribeBrokerConfigs(ctx, t.brokers...)
	}
	if err != nil {
		return fmt.Errorf("describe configs of %s: %w", t, err)
	}
	rc, err := rcs.On(t.name, nil)
	if err != nil {
		return fmt.Errorf("describe configs of %s: no answer", t)
	}
	if rc.Err != nil {
		return fmt.Errorf("describe configs of %s: %s", t, brokerError(rc.Err, rc.ErrMessage))
	}
	entries := []configEntry{}
	for _, cfg := range rc.Configs {
		if !all && !dynamicSource(cfg.Source) {
			continue
		}
		entries = append(entries, configEntry{Name: cfg.Key, Value: cfg.Value, Source: configSourceName(cfg.Source), Sensitive: cfg.Sensitive})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	return printConfigEntries(entries, asJSON, w)
}

// printConfigEntries prints configs as a table or JSON.
func printConfigEntries(entries []configEntry, asJSON bool, w io.Writer) error {
	if asJSON {
		return writeJSON(w, entries)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, e := range entries {
		v := "null"
		switch {
		case e.Sensitive:
			v = "(sensitive)"
		case e.Value != nil:
			v = *e.Value
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, v, e.Source)
	}
	return tw.Flush()
}

func configAlterCmd() *cobra.Command {
	var tf toolFlags
	var sets, deletes []string
	var validate bool
	c := &cobra.Command{
		Use:   "alter (broker [ID] | broker-logger ID | topic TOPIC | group GROUP) [--set k=v]... [--delete k]...",
		Short: "set or remove dynamic configs (IncrementalAlterConfigs)",
		Args:  cobra.ArbitraryArgs, // parseConfigTarget checks them
		RunE: func(c *cobra.Command, args []string) error {
			t, err := parseConfigTarget(args)
			if err != nil {
				return err
			}
			verb := "altered"
			if validate {
				verb = "validated"
			}
			if t.kind == "broker-logger" || t.kind == "group" {
				cl, ctx, done, err := tf.loggerClient(c.Context())
				if err != nil {
					return err
				}
				defer done()
				if err := alterRawConfigs(ctx, cl, t, sets, deletes, validate); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "%s configs of %s\n", verb, t)
				return nil
			}
			alters, err := configAlters(sets, deletes)
			if err != nil {
				return err
			}
			adm, ctx, done, err := tf.admin(c.Context())
			if err != nil {
				return err
			}
			defer done()
			alter := adm.AlterTopicConfigs
			if validate {
				alter = adm.ValidateAlterTopicConfigs
			}
			var res kadm.AlterConfigsResponses
			if t.kind == "topic" {
				res, err = alter(ctx, alters, t.name)
			} else if validate {
				res, err = adm.ValidateAlterBrokerConfigs(ctx, alters, t.brokers...)
			} else {
				res, err = adm.AlterBrokerConfigs(ctx, alters, t.brokers...)
			}
			if err != nil {
				return fmt.Errorf("alter configs of %s: %w", t, err)
			}
			for _, r := range res {
				if r.Err != nil {
					return fmt.Errorf("alter configs of %s: %s", t, brokerError(r.Err, r.ErrMessage))
				}
			}
			fmt.Fprintf(c.OutOrStdout(), "%s configs of %s\n", verb, t)
			return nil
		},
	}
	tf.register(c.Flags())
	c.Flags().StringArrayVar(&sets, "set", nil, "set a config, key=value (repeatable)")
	c.Flags().StringArrayVar(&deletes, "delete", nil, "remove a dynamic config, back to its static or default value (repeatable)")
	c.Flags().BoolVar(&validate, "validate-only", false, "have the broker check the change without making it")
	return c
}

func configAlters(sets, deletes []string) ([]kadm.AlterConfig, error) {
	var alters []kadm.AlterConfig
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--set %q: want key=value", kv)
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
	}
	for _, k := range deletes {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	if len(alters) == 0 {
		return nil, usageErrorf("nothing to change: give --set or --delete")
	}
	return alters, nil
}
