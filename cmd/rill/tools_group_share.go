package main

// Share groups (KIP-932) in rill group: the TYPE column of `group list`
// and `group describe` of a share group (members, their assignments, the
// group's state and, per partition, the share-partition start offset and
// lag), as kafka-share-groups.sh --describe shows them. A group is
// described as a share group when ShareGroupDescribe answers for it; a
// broker without the API (or any other group) is described as before.

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// groupTypeNames are the group types ListGroups v5 filters by.
var groupTypeNames = []string{"classic", "consumer", "share", "streams"}

// groupTypes maps the listed groups to their type (classic, consumer,
// share, streams), one type-filtered ListGroups per type; a group whose
// type is unknown (a broker without the filter, or one that failed) is
// absent.
func groupTypes(ctx context.Context, adm *kadm.Client) map[string]string {
	types := map[string]string{}
	for _, typ := range groupTypeNames {
		listed, err := adm.ListGroupsByType(ctx, []string{typ})
		if _, err := shardErrors(err); err != nil {
			continue
		}
		for g := range listed {
			types[g] = typ
		}
	}
	return types
}

// shareGroupDescription is a share group of `group describe --format json`.
type shareGroupDescription struct {
	Group           string               `json:"group"`
	Type            string               `json:"type"`
	State           string               `json:"state"`
	GroupEpoch      int32                `json:"group_epoch"`
	AssignmentEpoch int32                `json:"assignment_epoch"`
	Assignor        string               `json:"assignor"`
	Members         []shareGroupMember   `json:"members"`
	Partitions      []sharePartitionInfo `json:"partitions"`
	// OffsetsError is why the share offsets could not be read (the
	// broker does not serve DescribeShareGroupOffsets, say).
	OffsetsError string `json:"offsets_error,omitempty"`
}

// shareGroupMember is one member of a share group and its assignment.
type shareGroupMember struct {
	MemberID    string           `json:"member_id"`
	ClientID    string           `json:"client_id"`
	Host        string           `json:"host"`
	MemberEpoch int32            `json:"member_epoch"`
	Subscribed  []string         `json:"subscribed_topics"`
	Assignment  map[string][]int `json:"assignment"`
}

// sharePartitionInfo is one share-partition's start offset and lag (nil:
// not known).
type sharePartitionInfo struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	StartOffset int64  `json:"start_offset"`
	Lag         *int64 `json:"lag,omitempty"`
	Error       string `json:"error,omitempty"`
}

// splitShareGroups describes groups as share groups and returns those
// that are (ShareGroupDescribe answered them without an error) and the
// rest. A broker that does not serve ShareGroupDescribe leaves every
// group in the rest.
func splitShareGroups(ctx context.Context, adm *kadm.Client, groups []string) (shares kadm.DescribedShareGroups, rest []string) {
	described, err := adm.DescribeShareGroups(ctx, groups...)
	if _, other := shardErrors(err); other != nil {
		return nil, groups
	}
	shares = kadm.DescribedShareGroups{}
	for _, g := range groups {
		if d, ok := described[g]; ok && d.Err == nil && d.GroupState != "" && d.GroupState != "Dead" {
			shares[g] = d
			continue
		}
		rest = append(rest, g)
	}
	return shares, rest
}

// describeShareGroups reads the share groups' offsets and builds their
// descriptions, in groups' order.
func describeShareGroups(ctx context.Context, adm *kadm.Client, groups []string, described kadm.DescribedShareGroups) []shareGroupDescription {
	offsets, offsetsErr := adm.DescribeShareGroupOffsets(ctx, groups...)
	var out []shareGroupDescription
	for _, g := range groups {
		d := described[g]
		sd := shareGroupDescription{Group: g, Type: "share", State: d.GroupState, GroupEpoch: d.GroupEpoch, AssignmentEpoch: d.AssignmentEpoch,
			Assignor: d.Assignor, Members: []shareGroupMember{}, Partitions: []sharePartitionInfo{}}
		for _, m := range d.Members {
			sm := shareGroupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, MemberEpoch: m.MemberEpoch,
				Subscribed: append([]string{}, m.SubscribedTopicNames...), Assignment: map[string][]int{}}
			sort.Strings(sm.Subscribed)
			for _, tp := range m.Assignment.Sorted() {
				for _, p := range tp.Partitions {
					sm.Assignment[tp.Topic] = append(sm.Assignment[tp.Topic], int(p))
				}
			}
			sd.Members = append(sd.Members, sm)
		}
		sort.Slice(sd.Members, func(i, j int) bool { return sd.Members[i].MemberID < sd.Members[j].MemberID })
		o, ok := offsets[g]
		switch {
		case offsetsErr != nil && !ok:
			sd.OffsetsError = offsetsErr.Error()
		case o.Err != nil:
			sd.OffsetsError = o.Err.Error()
		default:
			o.Offsets.Each(func(so kadm.ShareOffset) {
				row := sharePartitionInfo{Topic: so.Topic, Partition: so.Partition, StartOffset: so.StartOffset}
				if so.Lag >= 0 {
					lag := so.Lag
					row.Lag = &lag
				}
				if so.Err != nil {
					row.Error = so.Err.Error()
				}
				sd.Partitions = append(sd.Partitions, row)
			})
			sort.Slice(sd.Partitions, func(i, j int) bool {
				a, b := sd.Partitions[i], sd.Partitions[j]
				return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
			})
		}
		out = append(out, sd)
	}
	return out
}

// printShareGroups prints share group descriptions as tables.
func printShareGroups(descs []shareGroupDescription, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, sd := range descs {
		fmt.Fprintf(tw, "Group: %s\tType: share\tState: %s\tEpoch: %d\tAssignor: %s\tMembers: %d\n", sd.Group, sd.State, sd.GroupEpoch, dash(sd.Assignor), len(sd.Members))
		fmt.Fprintln(tw, "MEMBER-ID\tCLIENT-ID\tHOST\tMEMBER-EPOCH\tASSIGNMENT")
		for _, m := range sd.Members {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", m.MemberID, dash(m.ClientID), dash(m.Host), m.MemberEpoch, formatAssignment(m.Assignment))
		}
		if sd.OffsetsError != "" {
			fmt.Fprintf(tw, "(share offsets unavailable: %s)\n", sd.OffsetsError)
		} else {
			fmt.Fprintln(tw, "TOPIC\tPARTITION\tSTART-OFFSET\tLAG")
			for _, p := range sd.Partitions {
				lag := "-"
				if p.Lag != nil {
					lag = strconv.FormatInt(*p.Lag, 10)
				}
				if p.Error != "" {
					lag += " (" + p.Error + ")"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", p.Topic, p.Partition, p.StartOffset, lag)
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// formatAssignment is topic:p,p;topic:p in topic order ("-": none).
func formatAssignment(a map[string][]int) string {
	if len(a) == 0 {
		return "-"
	}
	topics := make([]string, 0, len(a))
	for t := range a {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	var parts []string
	for _, t := range topics {
		ps := make([]string, len(a[t]))
		for i, p := range a[t] {
			ps[i] = strconv.Itoa(p)
		}
		parts = append(parts, t+":"+strings.Join(ps, ","))
	}
	return strings.Join(parts, ";")
}
