package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// groupSummary is a group of `group list --format json`.
type groupSummary struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
	Coordinator  int32  `json:"coordinator"`
	// Type is the group's type (classic, consumer, share, streams),
	// absent when the broker did not say.
	Type string `json:"type,omitempty"`
}

// groupDescription is a group of `group describe --format json`.
type groupDescription struct {
	Group        string              `json:"group"`
	State        string              `json:"state"`
	ProtocolType string              `json:"protocol_type"`
	Protocol     string              `json:"protocol"`
	Members      int                 `json:"members"`
	Partitions   []groupPartitionLag `json:"partitions"`
}

// groupPartitionLag is one partition's committed offset (absent when the
// group has none), end offset and lag.
type groupPartitionLag struct {
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	CurrentOffset *int64 `json:"current_offset,omitempty"`
	EndOffset     int64  `json:"end_offset"`
	Lag           int64  `json:"lag"`
	MemberID      string `json:"member_id,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	Host          string `json:"host,omitempty"`
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseTopicPartitions reads TOPIC or TOPIC:P,P,... (no partitions: the
// whole topic).
func parseTopicPartitions(arg string) (string, []int32, error) {
	name, parts, _ := strings.Cut(arg, ":")
	if name == "" {
		return "", nil, usageErrorf("--topic %q: want TOPIC or TOPIC:P,P,...", arg)
	}
	var ps []int32
	for _, p := range strings.Split(parts, ",") {
		if p == "" {
			continue
		}
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			return "", nil, usageErrorf("--topic %q: bad partition %q", arg, p)
		}
		ps = append(ps, int32(n))
	}
	return name, ps, nil
}

// deleteOffsets removes a group's committed offsets for a topic (every
// partition the group has an offset for) or some of its partitions, as
// kafka-consumer-groups.sh --delete-offsets does over OffsetDelete. The
// broker refuses partitions the group's live members are subscribed to
// (GROUP_SUBSCRIBED_TO_TOPIC); each partition's result is printed.
func deleteOffsets(ctx context.Context, adm *kadm.Client, group, topicArg string, w io.Writer) error {
	if group == "" || topicArg == "" {
		return usageErrorf("group delete-offsets: want --group and --topic")
	}
	topic, partitions, err := parseTopicPartitions(topicArg)
	if err != nil {
		return err
	}
	set := kadm.TopicsSet{}
	if len(partitions) == 0 {
		current, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		for p := range current[topic] {
			partitions = append(partitions, p)
		}
		if len(partitions) == 0 {
			return fmt.Errorf("group %s has no committed offsets for %s", group, topic)
		}
	}
	set.Add(topic, partitions...)
	res, err := adm.DeleteOffsets(ctx, group, set)
	if err != nil {
		return err
	}
	slices.Sort(partitions)
	failed := 0
	for _, p := range partitions {
		err, ok := res.Lookup(topic, p)
		if !ok {
			err = errors.New("no answer")
		}
		if err != nil {
			failed++
			fmt.Fprintf(w, "%s-%d: %v\n", topic, p, err)
			continue
		}
		fmt.Fprintf(w, "deleted offset of %s-%d for group %s\n", topic, p, group)
	}
	if failed > 0 {
		return fmt.Errorf("group delete-offsets: %d partitions failed", failed)
	}
	return nil
}
