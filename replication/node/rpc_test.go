package node

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/replication/controller"
)

// startSingle runs a one-voter node and waits until it is active.
func startSingle(t *testing.T) *Node {
	t.Helper()
	n, err := Start(Config{ID: 1, Voters: []uint64{1}, Tick: 5 * time.Millisecond, SessionTimeout: time.Hour,
		Send: func([]*pb.Message) {}, Logger: logtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	for deadline := time.Now().Add(10 * time.Second); !n.IsActive(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a single-voter node never became active")
		}
	}
	return n
}

// rpc sends req to n the way a broker does (Kafka framing, through
// HandleRPC) and returns the answer and its error.
func rpc[R kmsg.Response](t *testing.T, n *Node, req kmsg.Request) (R, error) {
	t.Helper()
	call := func(_ context.Context, _ string, b []byte) ([]byte, error) { return n.HandleRPC(b), nil }
	resp, err := Ask(context.Background(), call, "in process", req)
	if err != nil {
		t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp.(R), ResponseError(resp)
}

func wantCode(t *testing.T, what string, err error, want *kerr.Error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got %v, want %s", what, err, want.Message)
	}
}

func register(t *testing.T, n *Node, id int32) {
	t.Helper()
	reg := kmsg.NewPtrBrokerRegistrationRequest()
	reg.BrokerID = id
	reg.Listeners = []kmsg.BrokerRegistrationRequestListener{{Name: "PLAINTEXT", Host: "h", Port: uint16(9090 + id)}}
	if _, err := rpc[*kmsg.BrokerRegistrationResponse](t, n, reg); err != nil {
		t.Fatal(err)
	}
	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID = id
	if _, err := rpc[*kmsg.BrokerHeartbeatResponse](t, n, hb); err != nil {
		t.Fatal(err)
	}
}

func partition(n *Node, topic string, p int32) (s controller.PartitionState, id [16]byte) {
	n.View(func(im *controller.Image) {
		if t, ok := im.Topics[topic]; ok {
			id = t.ID
			s, _ = im.Partition(topic, p)
		}
	})
	return s, id
}

// Registration and heartbeats: the answers carry the metadata offset the
// controller had applied (MetadataOffsetTag; BrokerEpoch for the
// registration), IsCaughtUp compares the broker's CurrentMetadataOffset
// with it, and the first heartbeat unfences.
func TestRPCBrokerLifecycle(t *testing.T) {
	n := startSingle(t)
	reg := kmsg.NewPtrBrokerRegistrationRequest()
	reg.BrokerID, reg.Rack = 1, kmsg.StringPtr("r1")
	reg.IncarnationID = IncarnationID("00112233445566778899aabbccddeeff")
	reg.Listeners = []kmsg.BrokerRegistrationRequestListener{{Name: "INTERNAL", Host: "10.0.0.1", Port: 9092},
		{Name: "EXTERNAL", Host: "kafka-1.example", Port: 19092}}
	r, err := rpc[*kmsg.BrokerRegistrationResponse](t, n, reg)
	wantCode(t, "register", err, nil)
	if off, ok := MetadataOffset(r); !ok || off == 0 || r.BrokerEpoch != int64(off) || off > n.Applied() {
		t.Fatalf("registration answer: epoch %d, offset %d %v (applied %d)", r.BrokerEpoch, off, ok, n.Applied())
	}
	var b controller.BrokerInfo
	n.View(func(im *controller.Image) { b = im.Brokers[1] })
	if want := (controller.BrokerInfo{ID: 1, Host: "10.0.0.1", Port: 9092, Rack: "r1", Fenced: true,
		Incarnation: "00112233445566778899aabbccddeeff", Listeners: []controller.Endpoint{{Name: "INTERNAL", Host: "10.0.0.1", Port: 9092},
			{Name: "EXTERNAL", Host: "kafka-1.example", Port: 19092}}}); !b.Equal(want) {
		t.Fatalf("registered %+v, want %+v", b, want)
	}

	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID, hb.BrokerEpoch, hb.CurrentMetadataOffset = 1, r.BrokerEpoch, 0
	h, err := rpc[*kmsg.BrokerHeartbeatResponse](t, n, hb)
	wantCode(t, "heartbeat", err, nil)
	off, ok := MetadataOffset(h)
	if !ok || off != n.Applied() || h.IsFenced || h.IsCaughtUp || h.ShouldShutdown {
		t.Fatalf("first heartbeat: offset %d %v (applied %d), fenced %v, caught up %v", off, ok, n.Applied(), h.IsFenced, h.IsCaughtUp)
	}
	hb.CurrentMetadataOffset = int64(off)
	if h, _ = rpc[*kmsg.BrokerHeartbeatResponse](t, n, hb); !h.IsCaughtUp {
		t.Fatal("a broker at the controller's offset is not caught up")
	}
	hb.BrokerID = 9
	_, err = rpc[*kmsg.BrokerHeartbeatResponse](t, n, hb)
	wantCode(t, "heartbeat of an unregistered broker", err, kerr.BrokerIDNotRegistered)
}

// Topic admin: the controller chooses the topic id and answers it;
// errors come back as Kafka codes with the controller's message.
func TestRPCTopicAdmin(t *testing.T) {
	n := startSingle(t)
	register(t, n, 1)

	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "t", NumPartitions: 2, ReplicationFactor: 1,
		Configs: []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1000")}}}}
	c, err := rpc[*kmsg.CreateTopicsResponse](t, n, ct)
	wantCode(t, "create", err, nil)
	_, id := partition(n, "t", 0)
	if id == ([16]byte{}) || c.Topics[0].TopicID != id || c.Topics[0].NumPartitions != 2 || c.Topics[0].ReplicationFactor != 1 {
		t.Fatalf("created %+v, image id %x", c.Topics[0], id)
	}
	_, err = rpc[*kmsg.CreateTopicsResponse](t, n, ct)
	wantCode(t, "create again", err, kerr.TopicAlreadyExists)
	var ne *Error
	if !errors.As(err, &ne) || ne.Message != controller.ErrTopicExists.Error() {
		t.Fatalf("error %#v does not carry the controller's message", err)
	}
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "big", NumPartitions: 1, ReplicationFactor: 3}}
	_, err = rpc[*kmsg.CreateTopicsResponse](t, n, ct)
	wantCode(t, "create rf 3", err, kerr.InvalidReplicationFactor)
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "u", NumPartitions: -1, ReplicationFactor: -1,
		ReplicaAssignment: []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 1, Replicas: []int32{1}}}}}
	_, err = rpc[*kmsg.CreateTopicsResponse](t, n, ct)
	wantCode(t, "assignment without partition 0", err, kerr.InvalidReplicaAssignment)
	ct.Topics[0].ReplicaAssignment[0].Partition = 0
	_, err = rpc[*kmsg.CreateTopicsResponse](t, n, ct)
	wantCode(t, "create by assignment", err, nil)
	ct.ValidateOnly = true
	_, err = rpc[*kmsg.CreateTopicsResponse](t, n, ct)
	wantCode(t, "validate only", err, kerr.InvalidRequest)

	ac := kmsg.NewPtrAlterConfigsRequest()
	ac.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t",
		Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Value: kmsg.StringPtr("compact")}}}}
	_, err = rpc[*kmsg.AlterConfigsResponse](t, n, ac)
	wantCode(t, "alter configs", err, nil)
	var configs map[string]string
	n.View(func(im *controller.Image) { configs = im.Topics["t"].Configs })
	if len(configs) != 1 || configs["cleanup.policy"] != "compact" {
		t.Fatalf("configs %v: not replaced", configs)
	}
	ac.Resources[0].ResourceName = "nope"
	_, err = rpc[*kmsg.AlterConfigsResponse](t, n, ac)
	wantCode(t, "alter configs of an unknown topic", err, kerr.UnknownTopicOrPartition)
	ac.Resources[0].ResourceType = kmsg.ConfigResourceTypeBroker
	_, err = rpc[*kmsg.AlterConfigsResponse](t, n, ac)
	wantCode(t, "alter broker configs", err, kerr.InvalidRequest)

	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "t", Count: 3}}
	_, err = rpc[*kmsg.CreatePartitionsResponse](t, n, cp)
	wantCode(t, "grow", err, nil)
	cp.Topics[0].Count = 4
	cp.Topics[0].Assignment = []kmsg.CreatePartitionsRequestTopicAssignment{{Replicas: []int32{1, 1}}}
	_, err = rpc[*kmsg.CreatePartitionsResponse](t, n, cp)
	wantCode(t, "grow with a replica named twice", err, kerr.InvalidReplicaAssignment)
	cp.Topics[0].Count, cp.Topics[0].Assignment = 2, nil
	_, err = rpc[*kmsg.CreatePartitionsResponse](t, n, cp)
	wantCode(t, "shrink", err, kerr.InvalidPartitions)
	if s, _ := partition(n, "t", 2); len(s.Replicas) != 1 {
		t.Fatalf("partition 2: %+v", s)
	}

	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("u")}}
	_, err = rpc[*kmsg.DeleteTopicsResponse](t, n, dt)
	wantCode(t, "delete", err, nil)
	_, err = rpc[*kmsg.DeleteTopicsResponse](t, n, dt)
	wantCode(t, "delete again", err, kerr.UnknownTopicOrPartition)
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{TopicID: [16]byte{9}}}
	_, err = rpc[*kmsg.DeleteTopicsResponse](t, n, dt)
	wantCode(t, "delete an unknown id", err, kerr.UnknownTopicID)
}

// Partition changes: AlterPartition by topic id answers the new state;
// reassignment, elections and producer id blocks.
func TestRPCPartitionChanges(t *testing.T) {
	n := startSingle(t)
	register(t, n, 1)
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "t", NumPartitions: 1, ReplicationFactor: 1}}
	if _, err := rpc[*kmsg.CreateTopicsResponse](t, n, ct); err != nil {
		t.Fatal(err)
	}
	s, id := partition(n, "t", 0)

	ap := kmsg.NewPtrAlterPartitionRequest()
	ap.BrokerID = s.Leader
	ap.Topics = []kmsg.AlterPartitionRequestTopic{{TopicID: id, Partitions: []kmsg.AlterPartitionRequestTopicPartition{{
		Partition: 0, LeaderEpoch: s.LeaderEpoch, PartitionEpoch: s.PartitionEpoch,
		NewEpochISR: []kmsg.AlterPartitionRequestTopicPartitionNewEpochISR{{BrokerID: 1, BrokerEpoch: -1}}}}}}
	a, err := rpc[*kmsg.AlterPartitionResponse](t, n, ap)
	wantCode(t, "alter partition", err, nil)
	if p := a.Topics[0].Partitions[0]; a.Topics[0].TopidID != id || p.LeaderID != 1 || p.PartitionEpoch != s.PartitionEpoch+1 || len(p.ISR) != 1 {
		t.Fatalf("alter partition answer %+v", a.Topics[0])
	}
	_, err = rpc[*kmsg.AlterPartitionResponse](t, n, ap)
	wantCode(t, "alter partition at a stale partition epoch", err, kerr.InvalidUpdateVersion)
	ap.Topics[0].Partitions[0].LeaderEpoch--
	_, err = rpc[*kmsg.AlterPartitionResponse](t, n, ap)
	wantCode(t, "alter partition at a stale leader epoch", err, kerr.FencedLeaderEpoch)
	ap.Topics[0].TopicID = [16]byte{7}
	_, err = rpc[*kmsg.AlterPartitionResponse](t, n, ap)
	wantCode(t, "alter partition of an unknown topic id", err, kerr.UnknownTopicID)

	ra := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	ra.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: "t",
		Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{{Partition: 0, Replicas: nil}}}}
	_, err = rpc[*kmsg.AlterPartitionAssignmentsResponse](t, n, ra)
	wantCode(t, "cancel with no move", err, kerr.NoReassignmentInProgress)
	ra.Topics[0].Partitions[0].Replicas = []int32{}
	_, err = rpc[*kmsg.AlterPartitionAssignmentsResponse](t, n, ra)
	wantCode(t, "move to no replicas", err, kerr.InvalidRequest)
	ra.Topics[0].Partitions[0].Replicas = []int32{1, 1}
	_, err = rpc[*kmsg.AlterPartitionAssignmentsResponse](t, n, ra)
	wantCode(t, "move to a replica named twice", err, kerr.InvalidReplicaAssignment)
	ra.Topics[0].Partitions[0].Replicas = []int32{1}
	_, err = rpc[*kmsg.AlterPartitionAssignmentsResponse](t, n, ra)
	wantCode(t, "move to where it is", err, nil)

	el := kmsg.NewPtrElectLeadersRequest()
	el.ElectionType = controller.PreferredElection
	e, err := rpc[*kmsg.ElectLeadersResponse](t, n, el)
	wantCode(t, "elect all", err, nil)
	if len(e.Topics) != 1 || e.Topics[0].Partitions[0].ErrorCode != kerr.ElectionNotNeeded.Code {
		t.Fatalf("elect all: %+v", e.Topics)
	}
	el.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "nope", Partitions: []int32{0}}}
	if e, _ = rpc[*kmsg.ElectLeadersResponse](t, n, el); e.Topics[0].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("elect unknown: %+v", e.Topics)
	}
	el.Topics = []kmsg.ElectLeadersRequestTopic{} // none, not all
	if e, _ = rpc[*kmsg.ElectLeadersResponse](t, n, el); len(e.Topics) != 0 {
		t.Fatalf("elect none: %+v", e.Topics)
	}

	pid := kmsg.NewPtrAllocateProducerIDsRequest()
	pid.BrokerID = 1
	first, err := rpc[*kmsg.AllocateProducerIDsResponse](t, n, pid)
	wantCode(t, "producer ids", err, nil)
	second, _ := rpc[*kmsg.AllocateProducerIDsResponse](t, n, pid)
	if first.ProducerIDLen != controller.ProducerIDBlockSize || second.ProducerIDStart != first.ProducerIDStart+int64(first.ProducerIDLen) {
		t.Fatalf("blocks %+v then %+v", first, second)
	}
	pid.BrokerID = 5
	_, err = rpc[*kmsg.AllocateProducerIDsResponse](t, n, pid)
	wantCode(t, "producer ids of an unregistered broker", err, kerr.BrokerIDNotRegistered)
}

// FetchSnapshot copies the image (JSON) at the node's applied offset, and
// sends no bytes to a broker that has that offset already.
func TestRPCFetchSnapshot(t *testing.T) {
	n := startSingle(t)
	register(t, n, 3)
	req := kmsg.NewPtrFetchSnapshotRequest()
	req.Topics = []kmsg.FetchSnapshotRequestTopic{{Topic: MetadataSnapshotTopic, Partitions: []kmsg.FetchSnapshotRequestTopicPartition{{
		Partition: 0, SnapshotID: kmsg.FetchSnapshotRequestTopicPartitionSnapshotID{EndOffset: -1}}}}}
	r, err := rpc[*kmsg.FetchSnapshotResponse](t, n, req)
	wantCode(t, "fetch snapshot", err, nil)
	p := r.Topics[0].Partitions[0]
	im := controller.NewImage()
	if err := json.Unmarshal(p.Bytes, im); err != nil || im.Brokers[3].ID != 3 || p.Size != int64(len(p.Bytes)) {
		t.Fatalf("snapshot %q: %v", p.Bytes, err)
	}
	if p.SnapshotID.EndOffset != int64(n.Applied()) || p.CurrentLeader.LeaderID != 1 {
		t.Fatalf("snapshot at %d led by %d; applied %d", p.SnapshotID.EndOffset, p.CurrentLeader.LeaderID, n.Applied())
	}
	req.Topics[0].Partitions[0].SnapshotID.EndOffset = p.SnapshotID.EndOffset
	if r, _ = rpc[*kmsg.FetchSnapshotResponse](t, n, req); len(r.Topics[0].Partitions[0].Bytes) != 0 {
		t.Fatal("bytes sent to a broker that has this snapshot")
	}
	req.Topics[0].Partitions[0].Partition = 1
	_, err = rpc[*kmsg.FetchSnapshotResponse](t, n, req)
	wantCode(t, "fetch snapshot of another partition", err, kerr.UnknownTopicOrPartition)
}

// Every request a node serves is answered NOT_CONTROLLER by a node that
// is not active (or not started), so the broker asks another; bytes that
// are no such request get no answer.
func TestRPCNotControllerAndMalformed(t *testing.T) {
	reqs := []kmsg.Request{
		kmsg.NewPtrBrokerRegistrationRequest(), kmsg.NewPtrBrokerHeartbeatRequest(), kmsg.NewPtrAlterPartitionRequest(),
		kmsg.NewPtrAllocateProducerIDsRequest(), kmsg.NewPtrElectLeadersRequest(), kmsg.NewPtrFetchSnapshotRequest(),
		&kmsg.CreateTopicsRequest{Topics: []kmsg.CreateTopicsRequestTopic{{Topic: "t"}}},
		&kmsg.DeleteTopicsRequest{Topics: []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("t")}}},
		&kmsg.CreatePartitionsRequest{Topics: []kmsg.CreatePartitionsRequestTopic{{Topic: "t"}}},
		&kmsg.AlterConfigsRequest{Resources: []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}}},
		kmsg.NewPtrAlterPartitionAssignmentsRequest(),
		&kmsg.CreateACLsRequest{Creations: []kmsg.CreateACLsRequestCreation{kmsg.NewCreateACLsRequestCreation()}},
		&kmsg.DeleteACLsRequest{Filters: []kmsg.DeleteACLsRequestFilter{kmsg.NewDeleteACLsRequestFilter()}},
		&kmsg.AlterUserSCRAMCredentialsRequest{Deletions: []kmsg.AlterUserSCRAMCredentialsRequestDeletion{{Name: "u", Mechanism: 1}}},
		&kmsg.AlterClientQuotasRequest{Entries: []kmsg.AlterClientQuotasRequestEntry{{Entity: []kmsg.AlterClientQuotasRequestEntryEntity{{Type: "user"}}}}},
		kmsg.NewPtrDescribeQuorumRequest(),
		&kmsg.UpdateFeaturesRequest{FeatureUpdates: []kmsg.UpdateFeaturesRequestFeatureUpdate{{Feature: "transaction.version", MaxVersionLevel: 1, UpgradeType: 2}}},
	}
	if len(reqs) != len(versions) {
		t.Fatalf("%d requests tested, %d served", len(reqs), len(versions))
	}
	for _, req := range reqs {
		call := func(_ context.Context, _ string, b []byte) ([]byte, error) { return NotController(b), nil }
		resp, err := Ask(context.Background(), call, "starting", req)
		if err != nil {
			t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
		}
		if err := ResponseError(resp); !errors.Is(err, kerr.NotController) {
			t.Errorf("%s: %v, want NOT_CONTROLLER", kmsg.NameForKey(req.Key()), err)
		}
		if _, ok := MetadataOffset(resp); ok {
			t.Errorf("%s: a refusal carries a metadata offset", kmsg.NameForKey(req.Key()))
		}
	}

	// A voter of three with no peers never becomes active.
	alone, err := Start(Config{ID: 1, Voters: []uint64{1, 2, 3}, Tick: 5 * time.Millisecond, Send: func([]*pb.Message) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Stop()
	if _, err := rpc[*kmsg.BrokerHeartbeatResponse](t, alone, kmsg.NewPtrBrokerHeartbeatRequest()); !errors.Is(err, kerr.NotController) {
		t.Fatalf("inactive node: %v", err)
	}

	valid := AppendRequest(nil, 1, kmsg.NewPtrBrokerHeartbeatRequest())
	old := kmsg.NewPtrAlterPartitionRequest()
	old.SetVersion(1) // by topic name: not served
	for name, b := range map[string][]byte{
		"nothing":             nil,
		"a cut header":        valid[:5],
		"a cut body":          valid[:len(valid)-3],
		"an unserved key":     (&kmsg.RequestFormatter{}).AppendRequest(nil, kmsg.NewPtrProduceRequest(), 1)[4:],
		"an unserved version": (&kmsg.RequestFormatter{}).AppendRequest(nil, old, 1)[4:],
	} {
		if got := alone.HandleRPC(b); got != nil {
			t.Errorf("%s: answered %x", name, got)
		}
	}
}

// DescribeQuorum on the active node: it leads the one-voter quorum at its
// last index; a registered broker that heartbeats (and is no voter) is an
// observer at the metadata offset it reported.
func TestRPCDescribeQuorum(t *testing.T) {
	n := startSingle(t)
	register(t, n, 3)
	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID, hb.CurrentMetadataOffset = 3, int64(n.Applied())
	if _, err := rpc[*kmsg.BrokerHeartbeatResponse](t, n, hb); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: MetadataSnapshotTopic, Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
	r, err := rpc[*kmsg.DescribeQuorumResponse](t, n, req)
	wantCode(t, "describe quorum", err, nil)
	p := r.Topics[0].Partitions[0]
	if p.LeaderID != 1 || p.HighWatermark < 1 || len(p.CurrentVoters) != 1 || p.CurrentVoters[0].LogEndOffset < p.HighWatermark {
		t.Fatalf("quorum: %+v", p)
	}
	if len(p.Observers) != 1 || p.Observers[0].ReplicaID != 3 || p.Observers[0].LogEndOffset != hb.CurrentMetadataOffset || p.Observers[0].LastFetchTimestamp <= 0 {
		t.Fatalf("observers: %+v", p.Observers)
	}
}

// A new metadata log finalizes the supported features at their bootstrap
// levels; UpdateFeatures changes them as Kafka's controller decides.
func TestRPCUpdateFeatures(t *testing.T) {
	n := startSingle(t)
	level := func() (int16, bool) {
		var l int16
		var ok bool
		n.View(func(im *controller.Image) { l, ok = im.Features[controller.FeatureTransactionVersion] })
		return l, ok
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if l, ok := level(); ok {
			if l != 2 {
				t.Fatalf("bootstrapped transaction.version %d, want its highest, 2", l)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("features never bootstrapped")
		}
	}
	update := func(version int16, validateOnly bool, us ...kmsg.UpdateFeaturesRequestFeatureUpdate) (*kmsg.UpdateFeaturesResponse, error) {
		req := kmsg.NewPtrUpdateFeaturesRequest()
		req.Version, req.FeatureUpdates, req.ValidateOnly = version, us, validateOnly
		return rpc[*kmsg.UpdateFeaturesResponse](t, n, req)
	}
	tv := func(level int16, typ int8) kmsg.UpdateFeaturesRequestFeatureUpdate {
		return kmsg.UpdateFeaturesRequestFeatureUpdate{Feature: controller.FeatureTransactionVersion, MaxVersionLevel: level, UpgradeType: typ}
	}
	for _, c := range []struct {
		what string
		u    []kmsg.UpdateFeaturesRequestFeatureUpdate
		want *kerr.Error
	}{
		{"downgrade as an upgrade", []kmsg.UpdateFeaturesRequestFeatureUpdate{tv(1, 1)}, kerr.InvalidUpdateVersion},
		{"above the supported range", []kmsg.UpdateFeaturesRequestFeatureUpdate{tv(3, 1)}, kerr.InvalidUpdateVersion},
		{"unknown feature", []kmsg.UpdateFeaturesRequestFeatureUpdate{{Feature: "no.such.version", MaxVersionLevel: 1, UpgradeType: 1}}, kerr.InvalidUpdateVersion},
		{"unknown upgrade type", []kmsg.UpdateFeaturesRequestFeatureUpdate{tv(1, 4)}, kerr.InvalidUpdateVersion},
		{"named twice", []kmsg.UpdateFeaturesRequestFeatureUpdate{tv(1, 2), tv(1, 2)}, kerr.InvalidRequest},
	} {
		_, err := update(2, false, c.u...)
		wantCode(t, c.what, err, c.want)
	}
	if _, err := update(2, true, tv(1, 2)); err != nil {
		t.Fatal(err)
	}
	if l, _ := level(); l != 2 {
		t.Fatalf("validate only changed the level to %d", l)
	}
	if r, err := update(2, false, tv(1, 2)); err != nil || len(r.Results) != 0 {
		t.Fatalf("safe downgrade: %+v %v", r, err)
	}
	if l, _ := level(); l != 1 {
		t.Fatalf("after the downgrade: %d", l)
	}
	if _, err := update(2, false, tv(0, 3)); err != nil {
		t.Fatal(err)
	}
	if l, _ := level(); l != 0 {
		t.Fatalf("after the unsafe downgrade to 0: %d", l)
	}
	if r, err := update(2, false, tv(2, 1)); err != nil || len(r.Results) != 0 {
		t.Fatalf("v2 upgrade: %+v %v", r, err)
	}
	if l, _ := level(); l != 2 {
		t.Fatalf("after the upgrade: %d", l)
	}
}
