package handler

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/engine/vfs"
)

// newShareStateBroker is an in-memory broker with topic "t" (2
// partitions) and a 3-partition __share_group_state.
func newShareStateBroker(t *testing.T) (*Broker, [16]byte) {
	t.Helper()
	b, closeBroker, err := NewForTestConfig(vfs.NewMemFS(), "/data", map[string]int32{"t": 2}, func(c *Config) {
		c.ShareState.StatePartitions = 3
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBroker() })
	tp, ok := b.topic("t")
	if !ok {
		t.Fatal("no topic t")
	}
	return b, tp.ID
}

func isKerr(err error, want *kerr.Error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

// shareStateOps is the five calls, in process or through the APIs.
type shareStateOps struct {
	read       func(k sharestate.Key, leaderEpoch int32) (sharestate.State, error)
	write      func(k sharestate.Key, leaderEpoch, stateEpoch int32, startOffset int64, count int32, batches []sharestate.Batch) error
	initialize func(k sharestate.Key, stateEpoch int32, startOffset int64) error
	del        func(k sharestate.Key) error
	summary    func(k sharestate.Key) (sharestate.Summary, error)
}

// checkShareStateFlow drives one share partition through its life.
func checkShareStateFlow(t *testing.T, ops shareStateOps, k sharestate.Key) {
	t.Helper()
	s, err := ops.summary(k)
	if err != nil || s != sharestate.Uninitialized {
		t.Fatalf("summary of a new key: %+v %v", s, err)
	}
	if _, err := ops.read(k, 0); !isKerr(err, kerr.InvalidRequest) {
		t.Fatalf("read of a new key: %v", err)
	}
	if err := ops.initialize(k, 1, 0); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	st, err := ops.read(k, 3)
	if err != nil || st.StateEpoch != 1 || st.StartOffset != 0 || len(st.Batches) != 0 {
		t.Fatalf("read: %+v %v", st, err)
	}
	batches := []sharestate.Batch{{First: 0, Last: 9, State: 0, DeliveryCount: 1}, {First: 3, Last: 4, State: 2, DeliveryCount: 1}}
	if err := ops.write(k, 3, 1, 2, 2, batches); err != nil {
		t.Fatalf("write: %v", err)
	}
	st, err = ops.read(k, 3)
	want := []sharestate.Batch{{First: 2, Last: 2, State: 0, DeliveryCount: 1}, {First: 3, Last: 4, State: 2, DeliveryCount: 1}, {First: 5, Last: 9, State: 0, DeliveryCount: 1}}
	if err != nil || st.StartOffset != 2 || !reflect.DeepEqual(st.Batches, want) {
		t.Fatalf("read after write: %+v %v, want batches %v", st, err, want)
	}
	if s, err := ops.summary(k); err != nil || s != (sharestate.Summary{StateEpoch: 1, LeaderEpoch: 3, StartOffset: 2, DeliveryCompleteCount: 2}) {
		t.Fatalf("summary: %+v %v", s, err)
	}
	if _, err := ops.read(k, 2); !isKerr(err, kerr.FencedLeaderEpoch) {
		t.Fatalf("read at an older leader epoch: %v", err)
	}
	if err := ops.write(k, 3, 0, -1, -1, nil); !isKerr(err, kerr.FencedStateEpoch) {
		t.Fatalf("write at an older state epoch: %v", err)
	}
	if err := ops.del(k); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := ops.read(k, 3); !isKerr(err, kerr.InvalidRequest) {
		t.Fatalf("read after delete: %v", err)
	}
	if err := ops.del(k); err != nil {
		t.Fatalf("delete again: %v", err)
	}
}

// TestShareStateClientInProcess: the broker's client reaches the
// coordinator in process (a single broker leads every partition).
func TestShareStateClientInProcess(t *testing.T) {
	b, id := newShareStateBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	checkShareStateFlow(t, shareStateOps{
		read: func(k sharestate.Key, e int32) (sharestate.State, error) { return b.shareStateRead(ctx, k, e) },
		write: func(k sharestate.Key, le, se int32, so int64, n int32, bs []sharestate.Batch) error {
			return b.shareStateWriteCount(ctx, k, le, se, so, n, bs)
		},
		initialize: func(k sharestate.Key, se int32, so int64) error { return b.shareStateInitialize(ctx, k, se, so) },
		del:        func(k sharestate.Key) error { return b.shareStateDelete(ctx, k) },
		summary:    func(k sharestate.Key) (sharestate.Summary, error) { return b.shareStateSummary(ctx, k) },
	}, sharestate.Key{Group: "g", TopicID: id, Partition: 1})

	// A v0-style write leaves the delivery-complete count unknown.
	k := sharestate.Key{Group: "g2", TopicID: id, Partition: 0}
	if err := b.shareStateInitialize(ctx, k, 0, 5); err != nil {
		t.Fatal(err)
	}
	if err := b.shareStateWrite(ctx, k, 0, 0, 6, nil); err != nil {
		t.Fatal(err)
	}
	if s, _ := b.shareStateSummary(ctx, k); s.DeliveryCompleteCount != -1 || s.StartOffset != 6 {
		t.Fatalf("summary after a write without count: %+v", s)
	}
	// Keys the client refuses, and a topic that does not exist.
	if err := b.shareStateInitialize(ctx, sharestate.Key{TopicID: id}, 0, 0); !isKerr(err, kerr.InvalidRequest) {
		t.Fatalf("empty group: %v", err)
	}
	if err := b.shareStateInitialize(ctx, sharestate.Key{Group: "g", TopicID: id, Partition: 2}, 0, 0); !isKerr(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("partition beyond the topic: %v", err)
	}
	// The client gives up when ctx ends.
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := b.shareStateRead(done, k, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// TestShareStateAPIs drives APIs 83-87 through the client's remote halves
// (as a broker that does not lead the key sends them), answered by this
// broker's handlers, and FindCoordinator key type 2.
func TestShareStateAPIs(t *testing.T) {
	b, id := newShareStateBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := sharestate.Key{Group: "g", TopicID: id, Partition: 0}

	// FindCoordinator: v6 finds this broker (creating the topic); before
	// v6 and with a malformed key INVALID_REQUEST.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorType, fc.CoordinatorKeys = 2, []string{k.String(), "g:not-a-uuid:0", "g:" + sharestate.TopicIDString(id)}
	r := sendAs[*kmsg.FindCoordinatorResponse](t, b, superUser, fc, 6)
	if len(r.Coordinators) != 3 || r.Coordinators[0].ErrorCode != 0 || r.Coordinators[0].NodeID != 1 ||
		r.Coordinators[1].ErrorCode != kerr.InvalidRequest.Code || r.Coordinators[2].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("FindCoordinator v6: %+v", r.Coordinators)
	}
	if _, ok := b.topic(ShareStateTopic); !ok {
		t.Fatal("FindCoordinator did not create " + ShareStateTopic)
	}
	fc.CoordinatorKeys = []string{k.String()}
	if r := sendAs[*kmsg.FindCoordinatorResponse](t, b, superUser, fc, 5); r.Coordinators[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("FindCoordinator v5: %+v", r.Coordinators)
	}
	if !isInternalTopic(ShareStateTopic) {
		t.Fatal("not internal")
	}

	var peer peerSend = func(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
		return send(t, b, superUser, req, req.MaxVersion()), nil
	}
	// The first requests may meet the partition still loading: retry as
	// the client does.
	retry := func(f func() error) error {
		var err error
		for range 100 {
			if err = f(); !shareStateRetriable(err) {
				return err
			}
			time.Sleep(20 * time.Millisecond)
		}
		return err
	}
	checkShareStateFlow(t, shareStateOps{
		read: func(k sharestate.Key, e int32) (st sharestate.State, err error) {
			err = retry(func() error { return remoteShareStateRead(k, e, &st)(ctx, peer) })
			return st, err
		},
		write: func(k sharestate.Key, le, se int32, so int64, n int32, bs []sharestate.Batch) error {
			return retry(func() error { return remoteShareStateWrite(k, le, se, so, n, bs)(ctx, peer) })
		},
		initialize: func(k sharestate.Key, se int32, so int64) error {
			return retry(func() error { return remoteShareStateInitialize(k, se, so)(ctx, peer) })
		},
		del: func(k sharestate.Key) error {
			return retry(func() error { return remoteShareStateDelete(k)(ctx, peer) })
		},
		summary: func(k sharestate.Key) (s sharestate.Summary, err error) {
			err = retry(func() error { return remoteShareStateSummary(k, &s)(ctx, peer) })
			return s, err
		},
	}, k)

	// An empty group id answers no results, as Kafka.
	ir := kmsg.NewPtrInitializeShareGroupStateRequest()
	ir.Topics = []kmsg.InitializeShareGroupStateRequestTopic{{TopicID: id, Partitions: []kmsg.InitializeShareGroupStateRequestTopicPartition{{Partition: 0}}}}
	if r := sendAs[*kmsg.InitializeShareGroupStateResponse](t, b, superUser, ir, 0); len(r.Topics) != 0 {
		t.Fatalf("empty group: %+v", r)
	}
	// WriteShareGroupState v0 carries no count: the summary says -1.
	if err := b.shareStateInitialize(ctx, k, 0, 0); err != nil {
		t.Fatal(err)
	}
	wr := kmsg.NewPtrWriteShareGroupStateRequest()
	wr.GroupID = k.Group
	wp := kmsg.NewWriteShareGroupStateRequestTopicPartition()
	wp.Partition, wp.StartOffset, wp.DeliveryCompleteCount = 0, 4, 7 // ignored at v0
	wr.Topics = []kmsg.WriteShareGroupStateRequestTopic{{TopicID: id, Partitions: []kmsg.WriteShareGroupStateRequestTopicPartition{wp}}}
	if r := sendAs[*kmsg.WriteShareGroupStateResponse](t, b, superUser, wr, 0); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("write v0: %+v", r)
	}
	if s, _ := b.shareStateSummary(ctx, k); s.DeliveryCompleteCount != -1 || s.StartOffset != 4 {
		t.Fatalf("summary after write v0: %+v", s)
	}
}
