package transport

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

// Three controller nodes over real loopback TCP elect an active
// controller, commit a topic, and survive the active one's death.
func TestControllerQuorumOverTCP(t *testing.T) {
	ids := []uint64{1, 2, 3}
	addrs := map[uint64]string{}
	lns := map[uint64]net.Listener{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[id] = ln.Addr().String()
		lns[id] = ln
	}
	for _, ln := range lns {
		ln.Close() // reserve ports, then hand them to the transports
	}
	nodes := map[uint64]*node.Node{}
	trs := map[uint64]*Transport{}
	for _, id := range ids {
		var target atomic.Pointer[node.Node] // set once the node exists
		tr, err := Listen(addrs[id], addrs, Security{}, func(m *pb.Message) {
			if n := target.Load(); n != nil {
				n.Deliver(m)
			}
		}, nil, logtest.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		n, err := node.Start(node.Config{ID: id, Voters: ids, Tick: 20 * time.Millisecond, Send: tr.Send, Logger: logtest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		target.Store(n)
		nodes[id], trs[id] = n, tr
	}
	stopped := map[uint64]bool{}
	defer func() {
		for _, id := range ids {
			if !stopped[id] {
				nodes[id].Stop()
				trs[id].Close()
			}
		}
	}()
	create := func(name string, id byte) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			for nid, n := range nodes {
				if stopped[nid] || !n.IsActive() {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if err := n.RegisterBroker(ctx, controller.BrokerInfo{ID: 1}); err != nil && !errors.Is(err, node.ErrNotController) {
					cancel()
					t.Fatal(err)
				}
				_ = n.Heartbeat(ctx, 1)
				err := n.CreateTopic(ctx, name, [16]byte{id}, 1, 1, nil, nil)
				cancel()
				if err == nil || errors.Is(err, controller.ErrTopicExists) {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("could not create %s", name)
	}
	has := func(id uint64, topic string) bool {
		var ok bool
		nodes[id].View(func(im *controller.Image) { _, ok = im.Topics[topic] })
		return ok
	}
	create("a", 1)
	for _, id := range ids {
		for !has(id, "a") {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, id := range ids {
		if nodes[id].IsActive() {
			nodes[id].Stop()
			trs[id].Close()
			stopped[id] = true
		}
	}
	create("b", 2)
	for _, id := range ids {
		if stopped[id] {
			continue
		}
		deadline := time.Now().Add(5 * time.Second)
		for !has(id, "b") {
			if time.Now().After(deadline) {
				t.Fatalf("node %d never applied topic b", id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// A broker's Kafka requests reach a controller node over the listener
// (kind 1 frames) and its Kafka responses come back; bytes that are not a
// request the node serves close the connection.
func TestBrokerRequestsOverTCP(t *testing.T) {
	var target atomic.Pointer[node.Node]
	tr, err := Listen("127.0.0.1:0", nil, Security{}, func(*pb.Message) {}, func(b []byte) []byte {
		if n := target.Load(); n != nil {
			return n.HandleRPC(b)
		}
		return node.NotController(b)
	}, logtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	addr := tr.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := kmsg.NewPtrBrokerRegistrationRequest()
	reg.BrokerID = 1
	reg.Listeners = []kmsg.BrokerRegistrationRequestListener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}
	resp, err := node.Ask(ctx, Security{}.Call, addr, reg)
	if err != nil || !errors.Is(node.ResponseError(resp), kerr.NotController) {
		t.Fatalf("before the node started: %v, %v", err, node.ResponseError(resp))
	}

	n, err := node.Start(node.Config{ID: 1, Voters: []uint64{1}, Tick: 5 * time.Millisecond, Send: tr.Send, Logger: logtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	target.Store(n)
	for !n.IsActive() {
		time.Sleep(5 * time.Millisecond)
	}
	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID = 1
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "t", NumPartitions: 1, ReplicationFactor: 1}}
	for _, req := range []kmsg.Request{reg, hb, ct} {
		resp, err := node.Ask(ctx, Security{}.Call, addr, req)
		if err == nil {
			err = node.ResponseError(resp)
		}
		if err != nil {
			t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
		}
		if c, ok := resp.(*kmsg.CreateTopicsResponse); ok && c.Topics[0].TopicID == ([16]byte{}) {
			t.Fatal("no topic id in the answer")
		}
	}
	produce := (&kmsg.RequestFormatter{}).AppendRequest(nil, kmsg.NewPtrProduceRequest(), 1)[4:]
	if reply, err := (Security{}).Call(ctx, addr, produce); err == nil {
		t.Fatalf("a Produce on the controller listener was answered: %x", reply)
	}
}
