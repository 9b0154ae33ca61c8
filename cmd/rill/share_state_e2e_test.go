package main

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
)

// TestShareStateE2E drives the share coordinator's APIs 83-87 against a
// real `rill serve` with kgo, as a broker would (FindCoordinator key type
// 2 first), then restarts the broker: the state, the recorded leader
// epoch and a deletion survive through __share_group_state.
func TestShareStateE2E(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := startBroker(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	adm := kadm.NewClient(client(t, b.addr))
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "share-state-t"); err != nil {
		t.Fatal(err)
	}
	td, err := adm.ListTopics(ctx, "share-state-t")
	if err != nil || td["share-state-t"].Err != nil {
		t.Fatalf("list topics: %v %v", err, td)
	}
	id := [16]byte(td["share-state-t"].ID)
	k := sharestate.Key{Group: "sg", TopicID: id, Partition: 1}
	gone := sharestate.Key{Group: "sg", TopicID: id, Partition: 0}

	cl := client(t, b.addr)
	coord := findShareCoordinator(ctx, t, cl, k)
	if code := shareInit(ctx, t, coord, k, 1, 0); code != 0 {
		t.Fatalf("initialize: %v", kerr.ErrorForCode(code))
	}
	if code := shareInit(ctx, t, findShareCoordinator(ctx, t, cl, gone), gone, 0, 0); code != 0 {
		t.Fatalf("initialize: %v", kerr.ErrorForCode(code))
	}
	if st, code := shareRead(ctx, t, coord, k, 4); code != 0 || st.StateEpoch != 1 || st.StartOffset != 0 {
		t.Fatalf("read: %+v %v", st, kerr.ErrorForCode(code))
	}
	w := kmsg.NewPtrWriteShareGroupStateRequest()
	w.GroupID = k.Group
	wp := kmsg.NewWriteShareGroupStateRequestTopicPartition()
	wp.Partition, wp.LeaderEpoch, wp.StateEpoch, wp.StartOffset, wp.DeliveryCompleteCount = k.Partition, 4, 1, 3, 2
	for _, b := range [][4]int64{{3, 9, 0, 1}, {5, 6, 2, 1}} {
		sb := kmsg.NewWriteShareGroupStateRequestTopicPartitionStateBatch()
		sb.FirstOffset, sb.LastOffset, sb.DeliveryState, sb.DeliveryCount = b[0], b[1], int8(b[2]), int16(b[3])
		wp.StateBatches = append(wp.StateBatches, sb)
	}
	w.Topics = []kmsg.WriteShareGroupStateRequestTopic{{TopicID: id, Partitions: []kmsg.WriteShareGroupStateRequestTopicPartition{wp}}}
	wr, err := w.RequestWith(ctx, coord)
	if err != nil || wr.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("write: %+v %v", wr, err)
	}
	d := kmsg.NewPtrDeleteShareGroupStateRequest()
	d.GroupID = gone.Group
	d.Topics = []kmsg.DeleteShareGroupStateRequestTopic{{TopicID: id, Partitions: []kmsg.DeleteShareGroupStateRequestTopicPartition{{Partition: gone.Partition}}}}
	dr, err := d.RequestWith(ctx, findShareCoordinator(ctx, t, cl, gone))
	if err != nil || dr.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("delete: %+v %v", dr, err)
	}

	wantBatches := []kmsg.ReadShareGroupStateResponseTopicPartitionStateBatch{
		{FirstOffset: 3, LastOffset: 4, DeliveryState: 0, DeliveryCount: 1},
		{FirstOffset: 5, LastOffset: 6, DeliveryState: 2, DeliveryCount: 1},
		{FirstOffset: 7, LastOffset: 9, DeliveryState: 0, DeliveryCount: 1},
	}
	check := func(coord *kgo.Broker, gonec *kgo.Broker) {
		t.Helper()
		st, code := shareRead(ctx, t, coord, k, 4)
		if code != 0 || st.StateEpoch != 1 || st.StartOffset != 3 || !reflect.DeepEqual(st.StateBatches, wantBatches) {
			t.Fatalf("read: %+v %v", st, kerr.ErrorForCode(code))
		}
		if _, code := shareRead(ctx, t, coord, k, 3); code != kerr.FencedLeaderEpoch.Code {
			t.Fatalf("read at an older leader epoch: %v", kerr.ErrorForCode(code))
		}
		s := kmsg.NewPtrReadShareGroupStateSummaryRequest()
		s.GroupID = k.Group
		s.Topics = []kmsg.ReadShareGroupStateSummaryRequestTopic{{TopicID: id, Partitions: []kmsg.ReadShareGroupStateSummaryRequestTopicPartition{{Partition: k.Partition}}}}
		sr, err := s.RequestWith(ctx, coord)
		if err != nil {
			t.Fatal(err)
		}
		if p := sr.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.StateEpoch != 1 || p.LeaderEpoch != 4 || p.StartOffset != 3 || p.DeliveryCompleteCount != 2 {
			t.Fatalf("summary: %+v", p)
		}
		if _, code := shareRead(ctx, t, gonec, gone, 4); code != kerr.InvalidRequest.Code {
			t.Fatalf("read of a deleted share partition: %v", kerr.ErrorForCode(code))
		}
	}
	check(coord, findShareCoordinator(ctx, t, cl, gone))

	b.stop()
	b = startBroker(t, dir)
	cl = client(t, b.addr)
	check(findShareCoordinator(ctx, t, cl, k), findShareCoordinator(ctx, t, cl, gone))
}

// findShareCoordinator asks FindCoordinator (key type 2, v6) for k's
// share coordinator until it has one, and returns that broker.
func findShareCoordinator(ctx context.Context, t *testing.T, cl *kgo.Client, k sharestate.Key) *kgo.Broker {
	t.Helper()
	b, _ := findShareCoordinatorID(ctx, t, cl, k)
	return b
}

// findShareCoordinatorID is findShareCoordinator with the node id.
func findShareCoordinatorID(ctx context.Context, t *testing.T, cl *kgo.Client, k sharestate.Key) (*kgo.Broker, int32) {
	t.Helper()
	for {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKeys = 2, []string{k.String()}
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && len(resp.Coordinators) == 1 && resp.Coordinators[0].ErrorCode == 0 {
			if resp.Version < 6 {
				t.Fatalf("FindCoordinator answered at v%d", resp.Version)
			}
			return cl.Broker(int(resp.Coordinators[0].NodeID)), resp.Coordinators[0].NodeID
		}
		if ctx.Err() != nil {
			t.Fatalf("no share coordinator for %s: %+v %v", k, resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shareRetriable: the coordinator is moving or loading.
func shareRetriable(code int16) bool {
	return code == kerr.NotCoordinator.Code || code == kerr.CoordinatorLoadInProgress.Code || code == kerr.CoordinatorNotAvailable.Code
}

func shareInit(ctx context.Context, t *testing.T, coord *kgo.Broker, k sharestate.Key, stateEpoch int32, start int64) int16 {
	t.Helper()
	for {
		req := kmsg.NewPtrInitializeShareGroupStateRequest()
		req.GroupID = k.Group
		req.Topics = []kmsg.InitializeShareGroupStateRequestTopic{{TopicID: k.TopicID,
			Partitions: []kmsg.InitializeShareGroupStateRequestTopicPartition{{Partition: k.Partition, StateEpoch: stateEpoch, StartOffset: start}}}}
		resp, err := req.RequestWith(ctx, coord)
		if err != nil {
			t.Fatal(err)
		}
		if code := resp.Topics[0].Partitions[0].ErrorCode; !shareRetriable(code) || ctx.Err() != nil {
			return code
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func shareRead(ctx context.Context, t *testing.T, coord *kgo.Broker, k sharestate.Key, leaderEpoch int32) (kmsg.ReadShareGroupStateResponseTopicPartition, int16) {
	t.Helper()
	for {
		req := kmsg.NewPtrReadShareGroupStateRequest()
		req.GroupID = k.Group
		req.Topics = []kmsg.ReadShareGroupStateRequestTopic{{TopicID: k.TopicID,
			Partitions: []kmsg.ReadShareGroupStateRequestTopicPartition{{Partition: k.Partition, LeaderEpoch: leaderEpoch}}}}
		resp, err := req.RequestWith(ctx, coord)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if !shareRetriable(p.ErrorCode) || ctx.Err() != nil {
			return p, p.ErrorCode
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShareStateClusterE2E: on three nodes, __share_group_state is
// replicated (replication factor 3, min.insync.replicas 2), a share
// partition's state is served by its coordinator only (NOT_COORDINATOR
// elsewhere), and when the coordinator stops another node takes over
// with the state intact.
func TestShareStateClusterE2E(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "--set", "broker.heartbeat.interval.ms=200", "--set", "share.coordinator.state.topic.num.partitions=5")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	adm := c.admin(0)
	if res, err := adm.CreateTopic(ctx, 1, 3, nil, "share-state-c"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	var id [16]byte
	c.waitFor("the topic's id", func() bool {
		td, err := c.admin(0).ListTopics(ctx, "share-state-c")
		if err != nil || td["share-state-c"].Err != nil {
			return false
		}
		id = [16]byte(td["share-state-c"].ID)
		return true
	})
	k := sharestate.Key{Group: "sg", TopicID: id, Partition: 0}

	cl := client(t, c.addrs[0], kgo.SeedBrokers(c.addrs...))
	findShareCoordinator(ctx, t, cl, k) // creates __share_group_state
	c.waitFor("__share_group_state fully replicated", func() bool { return c.fullISR(sharestate.TopicName, 5, 0) })
	rc, err := c.admin(0).DescribeTopicConfigs(ctx, sharestate.TopicName)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := rc.On(sharestate.TopicName, nil); err != nil {
		t.Fatal(err)
	} else {
		got := map[string]string{}
		for _, cf := range v.Configs {
			if cf.Value != nil {
				got[cf.Key] = *cf.Value
			}
		}
		if got["min.insync.replicas"] != "2" || got["cleanup.policy"] != "compact" {
			t.Fatalf("__share_group_state configs: min.insync.replicas %q cleanup.policy %q", got["min.insync.replicas"], got["cleanup.policy"])
		}
	}

	coord, leader := findShareCoordinatorID(ctx, t, cl, k)
	if code := shareInit(ctx, t, coord, k, 1, 10); code != 0 {
		t.Fatalf("initialize: %v", kerr.ErrorForCode(code))
	}
	if st, code := shareRead(ctx, t, coord, k, 2); code != 0 || st.StartOffset != 10 {
		t.Fatalf("read: %+v %v", st, kerr.ErrorForCode(code))
	}
	// Another node is not the coordinator.
	other := cl.Broker(int(leader%3 + 1))
	req := kmsg.NewPtrReadShareGroupStateRequest()
	req.GroupID = k.Group
	req.Topics = []kmsg.ReadShareGroupStateRequestTopic{{TopicID: id, Partitions: []kmsg.ReadShareGroupStateRequestTopicPartition{{Partition: 0, LeaderEpoch: 2}}}}
	if resp, err := req.RequestWith(ctx, other); err != nil || resp.Topics[0].Partitions[0].ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("read at node %d, not the coordinator (%d): %+v %v", leader%3+1, leader, resp, err)
	}

	// The coordinator stops: another node leads the partition and has the
	// state (replicated with acks=all before the answers).
	c.bs[leader-1].stop()
	alive := (leader % 3) // index of a live node
	cl2 := client(t, c.addrs[alive])
	c.waitFor("a new share coordinator", func() bool {
		fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
		defer fcancel()
		r := kmsg.NewPtrFindCoordinatorRequest()
		r.CoordinatorType, r.CoordinatorKeys = 2, []string{k.String()}
		resp, err := r.RequestWith(fctx, cl2)
		return err == nil && resp.Coordinators[0].ErrorCode == 0 && resp.Coordinators[0].NodeID != leader
	})
	coord2, leader2 := findShareCoordinatorID(ctx, t, cl2, k)
	st, code := shareRead(ctx, t, coord2, k, 2)
	if code != 0 || st.StateEpoch != 1 || st.StartOffset != 10 {
		t.Fatalf("read at the new coordinator %d: %+v %v", leader2, st, kerr.ErrorForCode(code))
	}
	if _, code := shareRead(ctx, t, coord2, k, 1); code != kerr.FencedLeaderEpoch.Code {
		t.Fatalf("the leader epoch recorded before the move: %v", kerr.ErrorForCode(code))
	}
}
