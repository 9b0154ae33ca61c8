package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

// snapshotNode answers FetchSnapshot like a controller node whose image is
// at index and which knows leader as the active controller.
type snapshotNode struct {
	index  int64
	leader int32
	topics int
}

func (n snapshotNode) answer(req []byte) ([]byte, error) {
	correlationID, r, err := node.ParseRequest(req)
	if err != nil {
		return nil, err
	}
	fr, ok := r.(*kmsg.FetchSnapshotRequest)
	if !ok {
		return nil, fmt.Errorf("unexpected %T", r)
	}
	resp := fr.ResponseKind().(*kmsg.FetchSnapshotResponse)
	t := kmsg.NewFetchSnapshotResponseTopic()
	t.Topic = node.MetadataSnapshotTopic
	p := kmsg.NewFetchSnapshotResponseTopicPartition()
	p.SnapshotID.EndOffset, p.CurrentLeader.LeaderID = n.index, n.leader
	if n.index > fr.Topics[0].Partitions[0].SnapshotID.EndOffset {
		im := controller.NewImage()
		for i := range n.topics {
			name := fmt.Sprintf("t%d", i)
			im.Topics[name] = &controller.TopicInfo{Name: name}
		}
		p.Bytes, _ = json.Marshal(im)
	}
	t.Partitions = append(t.Partitions, p)
	resp.Topics = append(resp.Topics, t)
	return node.AppendResponse(nil, correlationID, resp), nil
}

// A broker-only node's copy does not stay with a voter that is cut off
// from the quorum (its image stale, no active controller known): a node
// with nothing newer that is not itself the active controller is not the
// last word, so the copy reaches the active controller's image.
func TestRemoteCopyLeavesAStaleVoter(t *testing.T) {
	nodes := map[string]snapshotNode{
		"a": {index: 5, leader: 0, topics: 1},  // cut off: stale, knows no leader
		"b": {index: 50, leader: 2, topics: 3}, // the active controller
	}
	call := func(_ context.Context, addr string, req []byte) ([]byte, error) { return nodes[addr].answer(req) }
	r := NewRemote([]string{"a", "b"}, []uint64{1, 2}, call, logtest.Logger(t))
	for range 3 {
		r.poll(context.Background())
	}
	if r.Applied() != 50 {
		t.Fatalf("copy at index %d, the active controller is at 50", r.Applied())
	}
	var n int
	r.View(func(im *controller.Image) { n = len(im.Topics) })
	if n != 3 || r.Leader() != 2 {
		t.Fatalf("copy has %d topics, leader %d", n, r.Leader())
	}
}
