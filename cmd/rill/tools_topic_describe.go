package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// topicDescription is a topic of `topic describe --format json`.
type topicDescription struct {
	Name         string                 `json:"name"`
	ID           string                 `json:"id"`
	Internal     bool                   `json:"internal,omitempty"`
	Partitions   []partitionDescription `json:"partitions"`
	Configs      map[string]string      `json:"configs"`
	ConfigsError string                 `json:"configs_error,omitempty"`
	Error        string                 `json:"error,omitempty"`
}

// partitionDescription is one partition; a missing leader is -1 and
// offsets the broker could not answer for are absent, with the reason in
// Error.
type partitionDescription struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	Offline     []int32 `json:"offline_replicas,omitempty"`
	StartOffset *int64  `json:"start_offset,omitempty"`
	EndOffset   *int64  `json:"end_offset,omitempty"`
	Error       string  `json:"error,omitempty"`
}

// describeTopics prints what the cluster can say about the topics even
// when a broker is down: metadata comes from any live broker, and the
// offsets and configs that the dead broker would have answered are shown
// as missing with the error beside them (kadm's ShardErrors), instead of
// the whole command failing. The per-broker failures are listed after the
// table (on stderr) and in the JSON.
func describeTopics(ctx context.Context, adm *kadm.Client, names []string, asJSON bool, w, errw io.Writer) error {
	tds, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return err
	}
	var failures []string
	brokerErrs := map[int32]error{} // the error of each broker that did not answer
	partial := func(err error) error {
		failed, byBroker, other := shardErrorsByBroker(err)
		failures = append(failures, failed...)
		for id, e := range byBroker {
			brokerErrs[id] = e
		}
		return other
	}
	// Describe every listed topic: with no names, ListTopics listed all.
	names = tds.Names()
	var starts, ends kadm.ListedOffsets
	var rcs kadm.ResourceConfigs
	if len(names) > 0 {
		if starts, err = adm.ListStartOffsets(ctx, names...); partial(err) != nil {
			return err
		}
		if ends, err = adm.ListEndOffsets(ctx, names...); partial(err) != nil {
			return err
		}
		if rcs, err = adm.DescribeTopicConfigs(ctx, names...); partial(err) != nil {
			return err
		}
	}
	var topics []topicDescription
	for _, td := range tds.Sorted() {
		d := topicDescription{Name: td.Topic, ID: topicID(td.ID), Internal: td.IsInternal, Partitions: []partitionDescription{}, Error: errString(td.Err)}
		for _, p := range td.Partitions.Sorted() {
			pd := partitionDescription{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				Replicas: nonNil(p.Replicas), ISR: nonNil(p.ISR), Offline: p.OfflineReplicas, Error: errString(p.Err)}
			var errs []string
			if pd.Error != "" {
				errs = append(errs, pd.Error)
			}
			for _, o := range []struct {
				offsets kadm.ListedOffsets
				into    **int64
				what    string
			}{{starts, &pd.StartOffset, "start offset"}, {ends, &pd.EndOffset, "end offset"}} {
				lo, ok := o.offsets.Lookup(td.Topic, p.Partition)
				switch {
				case !ok && brokerErrs[p.Leader] != nil:
					errs = append(errs, fmt.Sprintf("%s: broker %d: %v", o.what, p.Leader, brokerErrs[p.Leader]))
				case !ok:
					errs = append(errs, o.what+": no answer")
				case lo.Err != nil:
					errs = append(errs, fmt.Sprintf("%s: %v", o.what, lo.Err))
				default:
					*o.into = &lo.Offset
				}
			}
			pd.Error = strings.Join(errs, "; ")
			d.Partitions = append(d.Partitions, pd)
		}
		if rc, err := rcs.On(td.Topic, nil); err != nil {
			d.ConfigsError = "no answer"
		} else if rc.Err != nil {
			d.ConfigsError = rc.Err.Error()
		} else {
			d.Configs = sortedOverrides(rc)
		}
		topics = append(topics, d)
	}
	if asJSON {
		if err := writeJSON(w, struct {
			Topics []topicDescription `json:"topics"`
			Errors []string           `json:"errors,omitempty"`
		}{nonNil(topics), failures}); err != nil {
			return err
		}
		return missingTopics(topics)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, d := range topics {
		if d.Error != "" {
			fmt.Fprintf(tw, "Topic: %s\tError: %s\n", d.Name, d.Error)
			continue
		}
		fmt.Fprintf(tw, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\n", d.Name, d.ID, len(d.Partitions), replicationFactor(d))
		for _, p := range d.Partitions {
			fmt.Fprintf(tw, "\tPartition: %d\tLeader: %s\tReplicas: %v\tIsr: %v\tStart: %s\tEnd: %s", p.Partition, leaderText(p.Leader), p.Replicas, p.ISR, offsetText(p.StartOffset), offsetText(p.EndOffset))
			if len(p.Offline) > 0 {
				fmt.Fprintf(tw, "\tOffline: %v", p.Offline)
			}
			if p.Error != "" {
				fmt.Fprintf(tw, "\tError: %s", p.Error)
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
	for _, d := range topics {
		switch {
		case d.Error != "": // the topic's row said why
		case d.ConfigsError != "":
			fmt.Fprintf(w, "Configs for %s: (error: %s)\n", d.Name, d.ConfigsError)
		default:
			fmt.Fprintf(w, "Configs for %s: %s\n", d.Name, joinOverrides(d.Configs))
		}
	}
	for _, f := range failures {
		fmt.Fprintf(errw, "rill: partial answer: %s\n", f)
	}
	return missingTopics(topics)
}

// missingTopics fails a describe that named a topic the cluster does not
// have (after printing the others), as kafka-topics.sh does.
func missingTopics(topics []topicDescription) error {
	var bad []string
	for _, d := range topics {
		if d.Error != "" {
			bad = append(bad, d.Name+": "+d.Error)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("describe %s", strings.Join(bad, "; "))
	}
	return nil
}

func replicationFactor(d topicDescription) int {
	if len(d.Partitions) == 0 {
		return 0
	}
	return len(d.Partitions[0].Replicas)
}

func leaderText(id int32) string {
	if id < 0 {
		return "none"
	}
	return fmt.Sprint(id)
}

func offsetText(o *int64) string {
	if o == nil {
		return "?"
	}
	return fmt.Sprint(*o)
}

// nonNil keeps JSON arrays as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
