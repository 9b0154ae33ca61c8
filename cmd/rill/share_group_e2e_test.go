package main

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// shareBeat sends a ShareGroupHeartbeat v1, retrying while the group's
// coordinator is coming up (the offsets topic is created on first use).
func shareBeat(t *testing.T, cl *kgo.Client, group, member string, epoch int32, topics ...string) *kmsg.ShareGroupHeartbeatResponse {
	t.Helper()
	req := kmsg.NewPtrShareGroupHeartbeatRequest()
	req.Version = 1
	req.GroupID, req.MemberID, req.MemberEpoch = group, member, epoch
	if topics != nil {
		req.SubscribedTopicNames = topics
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			t.Fatal(err)
		}
		err = kerr.ErrorForCode(resp.ErrorCode)
		retry := errors.Is(err, kerr.CoordinatorLoadInProgress) || errors.Is(err, kerr.CoordinatorNotAvailable) || errors.Is(err, kerr.NotCoordinator)
		if !retry || time.Now().After(deadline) {
			return resp
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describeShare(t *testing.T, cl *kgo.Client, group string) kmsg.ShareGroupDescribeResponseGroup {
	t.Helper()
	req := kmsg.NewPtrShareGroupDescribeRequest()
	req.Version = 1
	req.GroupIDs = []string{group}
	req.IncludeAuthorizedOperations = true
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Groups) != 1 {
		t.Fatalf("describe answered %d groups", len(resp.Groups))
	}
	return resp.Groups[0]
}

func listGroups(t *testing.T, cl *kgo.Client, types, states []string) map[string]kmsg.ListGroupsResponseGroup {
	t.Helper()
	req := kmsg.NewPtrListGroupsRequest()
	req.Version = 5
	req.TypesFilter, req.StatesFilter = types, states
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]kmsg.ListGroupsResponseGroup{}
	for _, g := range resp.Groups {
		out[g.Group] = g
	}
	return out
}

// Share group membership against rill serve: two members of a share group
// on a 3-partition topic are assigned every partition between them; the
// group is described by ShareGroupDescribe and kadm, listed as type
// "share", survives a restart, is Dead to the classic DescribeGroups, and
// is deleted only once empty.
func TestShareGroupMembership(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	ctx := context.Background()
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopics(ctx, 3, 1, nil, "share-t"); err != nil {
		t.Fatal(err)
	}
	const group = "share-g"
	const memberA, memberB = "5Wq8bXJYTs2H3kQ0aLzP1A", "m0aQ1Zk3ReW9xYt7Bv2C4D"

	ra := shareBeat(t, cl, group, memberA, 0, "share-t")
	if ra.ErrorCode != 0 || ra.MemberEpoch != 1 || ra.Assignment == nil || ra.HeartbeatIntervalMillis != 5000 {
		t.Fatalf("A joins: %+v (%v)", ra, kerr.ErrorForCode(ra.ErrorCode))
	}
	rb := shareBeat(t, cl, group, memberB, 0, "share-t")
	if rb.ErrorCode != 0 || rb.MemberEpoch != 2 || rb.Assignment == nil {
		t.Fatalf("B joins: %+v (%v)", rb, kerr.ErrorForCode(rb.ErrorCode))
	}
	ra = shareBeat(t, cl, group, memberA, ra.MemberEpoch)
	if ra.ErrorCode != 0 || ra.MemberEpoch != 2 || ra.Assignment == nil {
		t.Fatalf("A after B joined: %+v (%v)", ra, kerr.ErrorForCode(ra.ErrorCode))
	}
	parts := func(a *kmsg.ShareGroupHeartbeatResponseAssignment) []int32 {
		var out []int32
		for _, tp := range a.TopicPartitions {
			out = append(out, tp.Partitions...)
		}
		return out
	}
	all := append(parts(ra.Assignment), parts(rb.Assignment)...)
	slices.Sort(all)
	if !slices.Equal(all, []int32{0, 1, 2}) || len(parts(ra.Assignment)) == 0 || len(parts(rb.Assignment)) == 0 {
		t.Fatalf("assignments A %v, B %v", parts(ra.Assignment), parts(rb.Assignment))
	}
	// Fenced and unknown members.
	if r := shareBeat(t, cl, group, memberA, 7); r.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("epoch 7: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	if r := shareBeat(t, cl, group, "nobody", 2); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %v", kerr.ErrorForCode(r.ErrorCode))
	}

	checkDescribed := func(when string) {
		t.Helper()
		d := describeShare(t, cl, group)
		if d.ErrorCode != 0 || d.GroupState != "Stable" || d.GroupEpoch != 2 || d.AssignmentEpoch != 2 || d.Assignor != "simple" || len(d.Members) != 2 {
			t.Fatalf("%s: described %+v", when, d)
		}
		var described []int32
		for _, m := range d.Members {
			if !slices.Equal(m.SubscribedTopicNames, []string{"share-t"}) || m.MemberEpoch != 2 {
				t.Fatalf("%s: member %+v", when, m)
			}
			for _, tp := range m.Assignment.TopicPartitions {
				if tp.Topic != "share-t" {
					t.Fatalf("%s: assignment names %q", when, tp.Topic)
				}
				described = append(described, tp.Partitions...)
			}
		}
		slices.Sort(described)
		if !slices.Equal(described, []int32{0, 1, 2}) {
			t.Fatalf("%s: described assignments %v", when, described)
		}
	}
	checkDescribed("running")

	// ListGroups v5 filters by type and (case-insensitively) state.
	if g, ok := listGroups(t, cl, []string{"share"}, nil)[group]; !ok || g.GroupType != "share" || g.ProtocolType != "share" || g.GroupState != "Stable" {
		t.Fatalf("listed as share: %+v %v", g, ok)
	}
	if _, ok := listGroups(t, cl, []string{"consumer", "classic"}, nil)[group]; ok {
		t.Fatal("listed as consumer or classic")
	}
	if _, ok := listGroups(t, cl, nil, []string{"stable"})[group]; !ok {
		t.Fatal("not listed as stable")
	}
	if _, ok := listGroups(t, cl, nil, []string{"Empty"})[group]; ok {
		t.Fatal("listed as empty")
	}

	// kadm's share group listing and describe.
	listed, err := adm.ListGroupsByType(ctx, []string{"share"})
	if err != nil || !slices.Contains(listed.Groups(), group) {
		t.Fatalf("kadm list: %v %v", listed.Groups(), err)
	}
	ds, err := adm.DescribeShareGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	dg := ds[group]
	if dg.Err != nil || dg.GroupState != "Stable" || len(dg.Members) != 2 || dg.Assignor != "simple" {
		t.Fatalf("kadm describe: %+v", dg)
	}
	if got := dg.AssignedPartitions().Sorted(); len(got) != 1 || !slices.Equal(got[0].Partitions, []int32{0, 1, 2}) {
		t.Fatalf("kadm assigned partitions: %+v", got)
	}
	if !slices.Contains(dg.AuthorizedOperations, kadm.OpDescribe) {
		t.Fatalf("authorized operations: %v", dg.AuthorizedOperations)
	}

	// The classic DescribeGroups (kgo sends v6): Dead, GROUP_ID_NOT_FOUND.
	dreq := kmsg.NewPtrDescribeGroupsRequest()
	dreq.Groups = []string{group}
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if g := dresp.Groups[0]; g.State != "Dead" || g.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("DescribeGroups: %+v", g)
	}
	// A consumer group heartbeat on the share group's id.
	chb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	chb.Group, chb.MemberID, chb.RebalanceTimeoutMillis, chb.SubscribedTopicNames = group, "c1", 10000, []string{"share-t"}
	if r, err := chb.RequestWith(ctx, cl); err != nil || r.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("consumer heartbeat on a share group: %+v %v", r, err)
	}

	// The group survives a restart: members carry on with their epochs.
	b.stop()
	b = startBroker(t, dir)
	cl = client(t, b.addr)
	adm = kadm.NewClient(cl)
	if r := shareBeat(t, cl, group, memberB, 2); r.ErrorCode != 0 || r.MemberEpoch != 2 {
		t.Fatalf("B after restart: %+v (%v)", r, kerr.ErrorForCode(r.ErrorCode))
	}
	checkDescribed("after restart")

	// Deleted only once empty.
	del := func() error {
		resps, err := adm.DeleteGroups(ctx, group)
		if err != nil {
			return err
		}
		return resps[group].Err
	}
	if err := del(); !errors.Is(err, kerr.NonEmptyGroup) {
		t.Fatalf("delete with members: %v", err)
	}
	for _, m := range []string{memberA, memberB} {
		if r := shareBeat(t, cl, group, m, -1); r.ErrorCode != 0 || r.MemberEpoch != -1 {
			t.Fatalf("%s leaves: %+v (%v)", m, r, kerr.ErrorForCode(r.ErrorCode))
		}
	}
	if d := describeShare(t, cl, group); d.GroupState != "Empty" || len(d.Members) != 0 || d.GroupEpoch != 4 {
		t.Fatalf("after the members left: %+v", d)
	}
	if err := del(); err != nil {
		t.Fatalf("delete empty: %v", err)
	}
	if d := describeShare(t, cl, group); d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("describe deleted: %+v", d)
	}
	if _, ok := listGroups(t, cl, nil, nil)[group]; ok {
		t.Fatal("deleted group listed")
	}
}
