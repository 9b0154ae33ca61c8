package node

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/quorum"
)

type testCluster struct {
	t     *testing.T
	mu    sync.Mutex
	nodes map[uint64]*Node
	down  map[uint64]bool
}

func startCluster(t *testing.T) *testCluster {
	c := &testCluster{t: t, nodes: map[uint64]*Node{}, down: map[uint64]bool{}}
	voters := []uint64{1, 2, 3}
	for _, id := range voters {
		n, err := Start(Config{ID: id, Voters: voters, Tick: 10 * time.Millisecond, SessionTimeout: 500 * time.Millisecond,
			Send: c.send, Logger: logtest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.nodes[id] = n
		c.mu.Unlock()
	}
	t.Cleanup(func() {
		for id, n := range c.nodes {
			if !c.isDown(id) {
				n.Stop()
			}
		}
	})
	return c
}

func (c *testCluster) isDown(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down[id]
}

func (c *testCluster) send(msgs []*pb.Message) {
	for _, m := range msgs {
		c.mu.Lock()
		to, off := c.nodes[m.GetTo()], c.down[m.GetTo()] || c.down[m.GetFrom()]
		c.mu.Unlock()
		if !off && to != nil {
			to.Deliver(m)
		}
	}
}

func (c *testCluster) kill(id uint64) {
	c.mu.Lock()
	c.down[id] = true
	c.mu.Unlock()
	c.nodes[id].Stop()
}

// active waits for an active controller among the live nodes.
func (c *testCluster) active() *Node {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for id, n := range c.nodes {
			if !c.isDown(id) && n.IsActive() {
				return n
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no active controller")
	return nil
}

// do retries a request on whichever node is active.
func (c *testCluster) do(fn func(ctx context.Context, n *Node) error) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := fn(ctx, c.active())
		cancel()
		if err == nil {
			return
		}
		if !errors.Is(err, ErrNotController) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNotCommitted) {
			c.t.Fatal(err)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("request kept failing: %v", err)
		}
	}
}

// converged waits until every live node's image satisfies ok and they
// are all equal.
func (c *testCluster) converged(ok func(*controller.Image) bool) *controller.Image {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var first *controller.Image
		same := true
		for id, n := range c.nodes {
			if c.isDown(id) {
				continue
			}
			var snap controller.Image
			n.View(func(im *controller.Image) {
				snap.Brokers = map[int32]controller.BrokerInfo{}
				for k, v := range im.Brokers {
					snap.Brokers[k] = v
				}
				snap.Topics = map[string]*controller.TopicInfo{}
				for k, v := range im.Topics {
					cp := *v
					cp.Partitions = append([]controller.PartitionState(nil), v.Partitions...)
					snap.Topics[k] = &cp
				}
			})
			if !ok(&snap) {
				same = false
				break
			}
			if first == nil {
				first = &snap
			} else if !reflect.DeepEqual(first, &snap) {
				same = false
				break
			}
		}
		if same && first != nil {
			return first
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("images did not converge")
	return nil
}

func TestControllerFailoverAndBrokerFencing(t *testing.T) {
	c := startCluster(t)
	for _, id := range []int32{1, 2, 3} {
		c.do(func(ctx context.Context, n *Node) error {
			return n.RegisterBroker(ctx, controller.BrokerInfo{ID: id, Host: "127.0.0.1", Port: 9090 + id})
		})
	}
	// Brokers heartbeat to whichever controller is active.
	var silent atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range []int32{1, 2, 3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if silent.Load() == id {
					continue
				}
				for nid, n := range c.nodes {
					if !c.isDown(nid) && n.IsActive() {
						ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
						n.Heartbeat(ctx, id)
						cancel()
					}
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	c.converged(func(im *controller.Image) bool {
		for _, id := range []int32{1, 2, 3} {
			if b, ok := im.Brokers[id]; !ok || b.Fenced {
				return false
			}
		}
		return true
	})
	c.do(func(ctx context.Context, n *Node) error { return n.CreateTopic(ctx, "t", [16]byte{1}, 3, 3, nil, nil) })
	c.converged(func(im *controller.Image) bool { return im.Topics["t"] != nil })

	// The active controller dies; another takes over and keeps serving.
	old := c.active()
	for id, n := range c.nodes {
		if n == old {
			c.kill(id)
		}
	}
	c.do(func(ctx context.Context, n *Node) error { return n.CreateTopic(ctx, "u", [16]byte{2}, 1, 3, nil, nil) })
	im := c.converged(func(im *controller.Image) bool { return im.Topics["u"] != nil })
	for _, b := range im.Brokers {
		if b.Fenced {
			t.Fatalf("broker %d fenced by the controller failover", b.ID)
		}
	}

	// Broker 2 goes silent: fenced, out of ISRs, no longer leading.
	silent.Store(2)
	im = c.converged(func(im *controller.Image) bool { return im.Brokers[2].Fenced })
	for _, p := range im.Topics["t"].Partitions {
		if p.Leader == 2 || p.Leader == -1 {
			t.Fatalf("partition still led by the fenced broker or leaderless: %+v", p)
		}
		for _, r := range p.ISR {
			if r == 2 {
				t.Fatalf("fenced broker left in the ISR: %+v", p)
			}
		}
	}
}

// Nodes snapshot their image every few entries and compact the metadata
// log: a node that was down while the others compacted catches up from a
// snapshot the leader sends, and a node restarted from its WAL loads its
// own snapshot and replays what follows; all images end equal.
func TestSnapshotsCompactAndCatchUp(t *testing.T) {
	fs := vfs.NewMemFS()
	fs.MkdirAll("/m", 0o755)
	c := &testCluster{t: t, nodes: map[uint64]*Node{}, down: map[uint64]bool{}}
	voters := []uint64{1, 2, 3}
	wals := map[uint64]*quorum.WAL{}
	start := func(id uint64) {
		w, restored, err := quorum.OpenWAL(fs, fmt.Sprintf("/m/%d.wal", id))
		if err != nil {
			t.Fatal(err)
		}
		wals[id] = w
		n, err := Start(Config{ID: id, Voters: voters, Tick: 10 * time.Millisecond, SessionTimeout: time.Hour, SnapshotEvery: 3,
			Durable: w, Restore: restored, Send: c.send, Logger: logtest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.nodes[id], c.down[id] = n, false
		c.mu.Unlock()
	}
	for _, id := range voters {
		start(id)
	}
	t.Cleanup(func() {
		for id, n := range c.nodes {
			if !c.isDown(id) {
				n.Stop()
			}
			wals[id].Close()
		}
	})
	createTopics := func(from, to int) {
		for i := from; i < to; i++ {
			name := fmt.Sprint("t", i)
			c.do(func(ctx context.Context, n *Node) error {
				err := n.RegisterBroker(ctx, controller.BrokerInfo{ID: int32(i % 3)})
				if err == nil {
					err = n.Heartbeat(ctx, int32(i%3))
				}
				if err == nil {
					err = n.CreateTopic(ctx, name, [16]byte{byte(i)}, 1, 1, nil, nil)
				}
				if errors.Is(err, controller.ErrTopicExists) {
					return nil
				}
				return err
			})
		}
	}
	createTopics(0, 5)
	c.converged(func(im *controller.Image) bool { return len(im.Topics) == 5 })
	c.kill(3)
	wals[3].Close()
	createTopics(5, 20)
	c.converged(func(im *controller.Image) bool { return len(im.Topics) == 20 })
	start(3) // behind entries the others compacted
	c.converged(func(im *controller.Image) bool { return len(im.Topics) == 20 })
	c.kill(1)
	wals[1].Close()
	start(1) // from its own snapshot and WAL
	createTopics(20, 22)
	im := c.converged(func(im *controller.Image) bool { return len(im.Topics) == 22 })
	if len(im.Brokers) != 3 {
		t.Fatalf("brokers after snapshots: %+v", im.Brokers)
	}
}
