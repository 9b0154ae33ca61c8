package node

// DescribeQuorum (55): the active controller's view of the metadata
// quorum, as Kafka's KafkaRaftClient answers it (KIP-595, KIP-836).
//
// Offsets are metadata log indexes (Rill's metadata offsets). The leader's
// own log end offset is its last index and both its timestamps are now
// (KIP-836); another voter's log end offset is raft's match index for it,
// its last fetch the last time a message from it arrived, and its last
// caught-up time the last such message when its match index was at the
// leader's last index (-1: not since this node leads). Observers are the
// registered brokers that are not voters: their log end offset is the
// metadata offset of their last heartbeat, their last fetch its time
// (brokers copy the metadata by heartbeats and snapshots, not by fetching
// the log).

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/replication/controller"
)

// ReplicaState is one voter's or observer's state in QuorumState.
type ReplicaState struct {
	ID           int32
	LogEndOffset int64
	// LastFetch and LastCaughtUp are zero when unknown.
	LastFetch, LastCaughtUp time.Time
}

// QuorumState is what DescribeQuorum answers.
type QuorumState struct {
	Leader        int32
	LeaderEpoch   int32
	HighWatermark int64
	Voters        []ReplicaState
	Observers     []ReplicaState
}

// peerTimes are the loop's records of its peers' messages.
type peerTimes struct {
	heard, caughtUp map[uint64]time.Time
}

// heardFrom records a message from a peer (loop-owned), after raft
// stepped it.
func (n *Node) heardFrom(m *pb.Message) {
	from := m.GetFrom()
	if from == 0 || from == n.cfg.ID {
		return
	}
	if n.peers.heard == nil {
		n.peers.heard, n.peers.caughtUp = map[uint64]time.Time{}, map[uint64]time.Time{}
	}
	now := time.Now()
	n.peers.heard[from] = now
	if match, ok := n.member.MatchOf(from); ok && match >= n.member.LastIndex() {
		n.peers.caughtUp[from] = now
	}
}

// observed is the last heartbeat of each broker.
type observed struct {
	mu      sync.Mutex
	brokers map[int32]ReplicaState
}

func (o *observed) heartbeat(id int32, offset int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.brokers == nil {
		o.brokers = map[int32]ReplicaState{}
	}
	o.brokers[id] = ReplicaState{ID: id, LogEndOffset: offset, LastFetch: time.Now()}
}

// DescribeQuorum answers the quorum's state; only the raft leader knows
// its voters' progress (ErrNotController elsewhere).
func (n *Node) DescribeQuorum(ctx context.Context) (QuorumState, error) {
	out := make(chan QuorumState, 1)
	q := func() {
		st := n.member.Status()
		if st.Match == nil {
			close(out)
			return
		}
		now := time.Now()
		qs := QuorumState{Leader: int32(st.Leader), LeaderEpoch: int32(st.Term), HighWatermark: int64(st.Commit)}
		for _, id := range n.cfg.Voters {
			rs := ReplicaState{ID: int32(id), LogEndOffset: -1}
			if match, ok := st.Match[id]; ok {
				rs.LogEndOffset = int64(match)
			}
			if id == n.cfg.ID {
				rs.LogEndOffset, rs.LastFetch, rs.LastCaughtUp = int64(st.LastIndex), now, now
			} else {
				rs.LastFetch, rs.LastCaughtUp = n.peers.heard[id], n.peers.caughtUp[id]
			}
			qs.Voters = append(qs.Voters, rs)
		}
		out <- qs
	}
	select {
	case n.queries <- q:
	case <-ctx.Done():
		return QuorumState{}, ctx.Err()
	case <-n.done:
		return QuorumState{}, ErrNotController
	}
	var qs QuorumState
	var ok bool
	select {
	case qs, ok = <-out:
	case <-ctx.Done():
		return QuorumState{}, ctx.Err()
	}
	if !ok {
		return QuorumState{}, ErrNotController
	}
	voter := map[int32]bool{}
	for _, v := range qs.Voters {
		voter[v.ID] = true
	}
	registered := map[int32]bool{}
	n.View(func(im *controller.Image) {
		for id := range im.Brokers {
			registered[id] = true
		}
	})
	n.observed.mu.Lock()
	for id, rs := range n.observed.brokers {
		if registered[id] && !voter[id] {
			qs.Observers = append(qs.Observers, rs)
		}
	}
	n.observed.mu.Unlock()
	sort.Slice(qs.Observers, func(i, j int) bool { return qs.Observers[i].ID < qs.Observers[j].ID })
	return qs, nil
}

// describeQuorum answers DescribeQuorum for __cluster_metadata-0 (the
// only partition a quorum has; others are UNKNOWN_TOPIC_OR_PARTITION, as
// Kafka answers). Not the active controller: NOT_CONTROLLER, so a broker
// asks the next node (Kafka's brokers forward the request likewise).
func (n *Node) describeQuorum(ctx context.Context, r *kmsg.DescribeQuorumRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeQuorumResponse)
	var qs QuorumState
	err := refused
	if err == nil {
		qs, err = n.DescribeQuorum(ctx)
	}
	if err != nil {
		resp.ErrorCode = code(err)
		if r.Version >= 2 {
			resp.ErrorMessage = message(err)
		}
		return resp
	}
	millis := func(t time.Time) int64 {
		if t.IsZero() {
			return -1
		}
		return t.UnixMilli()
	}
	states := func(in []ReplicaState) []kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
		out := []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{}
		for _, rs := range in {
			s := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
			s.ReplicaID, s.LogEndOffset = rs.ID, rs.LogEndOffset
			s.LastFetchTimestamp, s.LastCaughtUpTimestamp = millis(rs.LastFetch), millis(rs.LastCaughtUp)
			out = append(out, s)
		}
		return out
	}
	for _, rt := range r.Topics {
		st := kmsg.NewDescribeQuorumResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDescribeQuorumResponseTopicPartition()
			sp.Partition = rp.Partition
			if rt.Topic != MetadataSnapshotTopic || rp.Partition != 0 {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			sp.LeaderID, sp.LeaderEpoch, sp.HighWatermark = qs.Leader, qs.LeaderEpoch, qs.HighWatermark
			sp.CurrentVoters, sp.Observers = states(qs.Voters), states(qs.Observers)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
