package handler

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/netserver/wire"
	"github.com/rillmq/rill/replication/replica"
)

func handle[T kmsg.Response](t *testing.T, b *Broker, req kmsg.Request, version int16) T {
	t.Helper()
	req.SetVersion(version)
	resp := b.Handle(context.Background(), &wire.Request{Header: wire.Header{Key: req.Key(), Version: version, ClientID: "test"}, Msg: req, ClientHost: "/127.0.0.1"})
	return resp.(T)
}

// The handlers' side of the group APIs: request shapes per version, topic
// checks, and the wire codes of the coordinator's answers.
func TestGroupHandlers(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 2})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"g1", "g2"}
	fr := handle[*kmsg.FindCoordinatorResponse](t, b, fc, 4)
	if len(fr.Coordinators) != 2 || fr.Coordinators[1].Key != "g2" || fr.Coordinators[0].NodeID != 1 || fr.Coordinators[0].ErrorCode != 0 {
		t.Fatalf("batched FindCoordinator: %+v", fr.Coordinators)
	}
	if _, ok := b.topic(OffsetsTopic); !ok {
		t.Fatal("FindCoordinator did not create the offsets topic")
	}
	fc = kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey, fc.CoordinatorType = "txn", 1
	if fr := handle[*kmsg.FindCoordinatorResponse](t, b, fc, 2); fr.ErrorCode != 0 || fr.NodeID != 1 {
		t.Fatalf("transaction coordinator: %+v", fr)
	}
	if _, ok := b.topic(TransactionStateTopic); !ok {
		t.Fatal("FindCoordinator did not create the transaction state topic")
	}

	// Admin-style commit (generation -1) with one unknown topic and one
	// partition out of range.
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation = "g1", -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{
		{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 1, Offset: 42, LeaderEpoch: 3}, {Partition: 9, Offset: 1}}},
		{Topic: "nope", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}},
	}
	cr := handle[*kmsg.OffsetCommitResponse](t, b, oc, 8)
	if cr.Topics[0].Partitions[0].ErrorCode != 0 || cr.Topics[0].Partitions[1].ErrorCode != kerr.UnknownTopicOrPartition.Code ||
		cr.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("commit codes: %+v", cr.Topics)
	}

	of := kmsg.NewPtrOffsetFetchRequest()
	of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g1"}, {Group: "unknown", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}}}
	ofr := handle[*kmsg.OffsetFetchResponse](t, b, of, 8)
	g1, unknown := ofr.Groups[0], ofr.Groups[1]
	if len(g1.Topics) != 1 || g1.Topics[0].Partitions[0].Offset != 42 || g1.Topics[0].Partitions[0].LeaderEpoch != 3 {
		t.Fatalf("all offsets of g1: %+v", g1)
	}
	if p := unknown.Topics[0].Partitions[0]; unknown.ErrorCode != 0 || p.Offset != -1 || p.ErrorCode != 0 {
		t.Fatalf("unknown group answers -1 and no error: %+v", unknown)
	}

	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Groups = []string{"g1", "missing"}
	dgr := handle[*kmsg.DescribeGroupsResponse](t, b, dg, 6)
	if dgr.Groups[0].State != "Empty" || dgr.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("describe v6: %+v", dgr.Groups)
	}
	if dgr = handle[*kmsg.DescribeGroupsResponse](t, b, dg, 5); dgr.Groups[1].State != "Dead" || dgr.Groups[1].ErrorCode != 0 {
		t.Fatalf("describe v5 of an unknown group: %+v", dgr.Groups[1])
	}

	lg := kmsg.NewPtrListGroupsRequest()
	lg.StatesFilter = []string{"stable"}
	if lr := handle[*kmsg.ListGroupsResponse](t, b, lg, 4); len(lr.Groups) != 0 {
		t.Fatalf("state filter: %+v", lr.Groups)
	}
	lg.StatesFilter, lg.TypesFilter = []string{"empty"}, []string{"classic"}
	if lr := handle[*kmsg.ListGroupsResponse](t, b, lg, 5); len(lr.Groups) != 1 || lr.Groups[0].GroupType != "classic" {
		t.Fatalf("list v5: %+v", lr.Groups)
	}

	// Clients cannot write the offsets topic.
	pr := kmsg.NewPtrProduceRequest()
	pr.Acks = -1
	pr.Topics = []kmsg.ProduceRequestTopic{{Topic: OffsetsTopic, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte("x")})}}}}
	if r := handle[*kmsg.ProduceResponse](t, b, pr, 9); r.Topics[0].Partitions[0].ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("produce to %s: %+v", OffsetsTopic, r.Topics[0].Partitions[0])
	}

	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"g1", "missing"}
	dr := handle[*kmsg.DeleteGroupsResponse](t, b, del, 3)
	if dr.Groups[0].ErrorCode != 0 || dr.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code || dr.Groups[1].ErrorMessage == nil {
		t.Fatalf("delete groups: %+v", dr.Groups)
	}
}

// The group coordinator follows the offsets partitions' leadership: a
// partition this broker stops leading answers NOT_COORDINATOR, and when it
// leads it again its groups come back from the log.
func TestGroupsFollowLeadership(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "g"
	if fr := handle[*kmsg.FindCoordinatorResponse](t, b, fc, 3); fr.ErrorCode != 0 {
		t.Fatalf("find coordinator: %+v", fr)
	}
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation = "g", -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 7}}}}
	if cr := handle[*kmsg.OffsetCommitResponse](t, b, oc, 8); cr.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %+v", cr.Topics)
	}
	fetch := func() kmsg.OffsetFetchResponseGroup {
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}}
		return handle[*kmsg.OffsetFetchResponse](t, b, of, 8).Groups[0]
	}
	p := group.PartitionFor("g", b.cfg.Groups.OffsetsPartitions)
	b.PartitionLeadership(OffsetsTopic, p, false)
	if g := fetch(); g.ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("fetch from a partition no longer led: %+v", g)
	}
	if cr := handle[*kmsg.OffsetCommitResponse](t, b, oc, 8); cr.Topics[0].Partitions[0].ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("commit to a partition no longer led: %+v", cr.Topics)
	}
	b.PartitionLeadership(OffsetsTopic, p, true)
	if g := fetch(); g.ErrorCode != 0 || len(g.Topics) != 1 || g.Topics[0].Partitions[0].Offset != 7 {
		t.Fatalf("fetch after leading again: %+v", g)
	}
}

// A coordinator's append that fails because leadership moved is
// NOT_COORDINATOR to the coordinator; other failures stay what they are.
func TestCoordinatorAppendLeadershipErrors(t *testing.T) {
	for _, err := range []error{replica.ErrNotLeader, replica.ErrLeaderNotAvailable, kerr.LeaderNotAvailable} {
		if got := notCoordinator(err); !errors.Is(got, shard.ErrNotCoordinator) || !errors.Is(got, err) {
			t.Errorf("%v became %v", err, got)
		}
	}
	other := errors.New("disk full")
	if got := notCoordinator(other); got != other {
		t.Errorf("%v became %v", other, got)
	}
	if notCoordinator(nil) != nil {
		t.Error("nil became an error")
	}
}
