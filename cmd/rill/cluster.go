package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	stdlog "log"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
	"github.com/rillmq/rill/replication/quorum"
	"github.com/rillmq/rill/replication/replica"
	"github.com/rillmq/rill/replication/transport"
)

// parseVoters reads controller.quorum.voters: "1@host:port,2@host:port".
func parseVoters(s string) (map[uint64]string, error) {
	out := map[uint64]string{}
	for _, v := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(v), "@")
		n, err := strconv.ParseUint(id, 10, 64)
		if !ok || err != nil || n == 0 || addr == "" {
			return nil, fmt.Errorf("controller.quorum.voters: %q is not id@host:port", v)
		}
		out[n] = addr
	}
	return out, nil
}

// startController joins this process to a cluster when
// controller.quorum.voters is set: with process.roles naming the
// controller role it runs a quorum member (metadata log in
// <data>/__cluster_metadata); with the broker role it registers and
// heartbeats with the active controller and serves from the cluster
// metadata (handler.SetCluster): Metadata, leadership and topic admin
// follow the controller, a reconciler creates and deletes the replicas
// assigned to this broker, and package replica replicates them. A broker
// without the controller role copies the metadata from the controller
// nodes. The returned function stops all of it.
func startController(cfg *brokerConfig, dataDir, host string, port int32, eng *engine.Engine, broker *handler.Broker, logger *stdlog.Logger) (func(), error) {
	roles := cfg.get("process.roles", "broker")
	votersSet := cfg.get("controller.quorum.voters", "") != ""
	if !strings.Contains(roles, "controller") && !votersSet {
		return func() {}, nil // a single broker
	}
	if !strings.Contains(roles, "broker") {
		// rill serve always serves Kafka clients; a controller that did so
		// without the broker role would be a stray single broker.
		return nil, fmt.Errorf("process.roles=%s: controller-only nodes are not supported; use broker,controller", roles)
	}
	voters, err := parseVoters(cfg.get("controller.quorum.voters", ""))
	if err != nil {
		return nil, err
	}
	id, err := cfg.int64("node.id", 1)
	if err != nil {
		return nil, err
	}
	heartbeat, err := cfg.int64("broker.heartbeat.interval.ms", 2000)
	if err != nil {
		return nil, err
	}
	session, err := cfg.int64("broker.session.timeout.ms", 9000)
	if err != nil {
		return nil, err
	}
	if heartbeat <= 0 || heartbeat >= session {
		return nil, fmt.Errorf("broker.heartbeat.interval.ms (%d) must be positive and below broker.session.timeout.ms (%d)", heartbeat, session)
	}
	ids := make([]uint64, 0, len(voters))
	for v := range voters {
		ids = append(ids, v)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	addrs := make([]string, 0, len(ids))
	for _, v := range ids {
		addrs = append(addrs, voters[v])
	}
	if _, voter := voters[uint64(id)]; voter && !strings.Contains(roles, "controller") {
		return nil, fmt.Errorf("node.id %d is a controller voter; a broker-only node needs its own id", id)
	}
	var meta metadataSource
	stopNode := func() {}
	if strings.Contains(roles, "controller") {
		n, stop, err := startControllerNode(cfg, dataDir, id, voters, ids, logger)
		if err != nil {
			return nil, err
		}
		meta, stopNode = n, stop
	}
	ctx, cancel := context.WithCancel(context.Background())
	fetched := make(chan struct{})
	if meta == nil {
		rm := newRemoteMetadata(addrs)
		go func() {
			defer close(fetched)
			rm.run(ctx, logger)
		}()
		meta = rm
	} else {
		close(fetched)
	}
	info := controller.BrokerInfo{ID: int32(id), Host: host, Port: port, Rack: cfg.get("broker.rack", ""), Incarnation: rand.Text()}
	lifecycle := node.NewLifecycle(node.LifecycleConfig{Info: info, Controllers: addrs, Heartbeat: time.Duration(heartbeat) * time.Millisecond,
		Session: time.Duration(session) * time.Millisecond, Call: transport.Call, Logf: logger.Printf})
	view := &clusterView{self: int32(id), node: meta, controllers: addrs, lifecycle: lifecycle}
	replicas, err := startReplicas(cfg, view, eng, broker, logger)
	if err != nil {
		cancel()
		<-fetched
		stopNode()
		return nil, err
	}
	view.replicas = replicas
	broker.SetCluster(view)
	reconciled := make(chan struct{})
	go func() {
		defer close(reconciled)
		reconcileTopics(ctx, view, broker, eng, logger)
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		lifecycle.Run(ctx)
		<-reconciled
		<-fetched
	}()
	return func() {
		cancel()
		<-done
		replicas.Close()
		stopNode()
	}, nil
}

// startControllerNode runs this process's quorum member.
func startControllerNode(cfg *brokerConfig, dataDir string, id int64, voters map[uint64]string, ids []uint64, logger *stdlog.Logger) (*node.Node, func(), error) {
	self, ok := voters[uint64(id)]
	if !ok {
		return nil, nil, fmt.Errorf("node.id %d is not in controller.quorum.voters", id)
	}
	session, err := cfg.int64("broker.session.timeout.ms", 9000)
	if err != nil {
		return nil, nil, err
	}
	rebalance := time.Duration(0)
	if cfg.get("auto.leader.rebalance.enable", "true") == "true" {
		secs, err := cfg.int64("leader.imbalance.check.interval.seconds", 300)
		if err != nil {
			return nil, nil, err
		}
		rebalance = time.Duration(secs) * time.Second
	}
	snapEvery, err := cfg.int64("metadata.snapshot.interval.entries", 1000)
	if err != nil || snapEvery < 1 {
		return nil, nil, fmt.Errorf("metadata.snapshot.interval.entries: %d %v", snapEvery, err)
	}
	dir := filepath.Join(dataDir, "__cluster_metadata")
	if err := vfs.Default.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	wal, restored, err := quorum.OpenWAL(vfs.Default, filepath.Join(dir, "raft.wal"))
	if err != nil {
		return nil, nil, err
	}
	var target atomic.Pointer[node.Node]
	deliver := func(m *pb.Message) {
		if n := target.Load(); n != nil {
			n.Deliver(m)
		}
	}
	handle := func(b []byte) []byte {
		if n := target.Load(); n != nil {
			return n.HandleRPC(b)
		}
		reply, _ := json.Marshal(node.BrokerReply{ErrorCode: kerr.NotController.Code}) // while starting
		return reply
	}
	tr, err := transport.Listen(self, voters, deliver, handle, logger.Printf)
	if err != nil {
		wal.Close()
		return nil, nil, err
	}
	n, err := node.Start(node.Config{ID: uint64(id), Voters: ids, SessionTimeout: time.Duration(session) * time.Millisecond,
		Durable: wal, Restore: restored, Send: tr.Send, RebalanceInterval: rebalance, SnapshotEvery: uint64(snapEvery),
		UncleanLeaderElection: cfg.get("unclean.leader.election.enable", "false") == "true", Logf: logger.Printf})
	if err != nil {
		tr.Close()
		wal.Close()
		return nil, nil, err
	}
	target.Store(n)
	logger.Printf("controller %d: quorum member on %s, voters %v", id, self, voters)
	return n, func() {
		n.Stop()
		tr.Close()
		wal.Close()
	}, nil
}

// metadataSource is the cluster metadata a broker serves from: its own
// controller node's, or a copy of a controller's (remoteMetadata).
type metadataSource interface {
	View(fn func(*controller.Image))
	// Leader is the active controller's node id (0: none known).
	Leader() uint64
	// Changed is closed at the next change.
	Changed() <-chan struct{}
	// Replayed reports that the image is no older than what this process
	// acted on before (safe to delete replicas missing from it).
	Replayed() bool
	// Applied is the metadata log index the image is at.
	Applied() uint64
}

// clusterView is handler.Cluster over the cluster metadata.
type clusterView struct {
	self        int32
	node        metadataSource
	controllers []string
	replicas    *replica.Manager
	lifecycle   *node.Lifecycle
}

// asServed is a partition's state as this broker acts on it: while it is
// out of session with the controller quorum (node.Session), it leads
// nothing, so clients go to the leaders the quorum has elected since.
func (v *clusterView) asServed(leader int32, mayLead bool) int32 {
	if leader == v.self && !mayLead {
		return -1
	}
	return leader
}

// mayLead reports whether this broker may act as a leader now.
func (v *clusterView) mayLead() bool { return v.lifecycle.MayLead(v.node.Applied()) }

func (v *clusterView) Replica(topic string, p int32) *replica.Partition {
	return v.replicas.Partition(topic, p)
}

// startReplicas starts this broker's partition replicas (package replica):
// replica.lag.time.max.ms, replica.fetch.wait.max.ms and
// replica.fetch.max.bytes as in Kafka.
func startReplicas(cfg *brokerConfig, v *clusterView, eng *engine.Engine, broker *handler.Broker, logger *stdlog.Logger) (*replica.Manager, error) {
	lag, err := cfg.int64("replica.lag.time.max.ms", 30000)
	if err != nil {
		return nil, err
	}
	wait, err := cfg.int64("replica.fetch.wait.max.ms", 500)
	if err != nil {
		return nil, err
	}
	maxBytes, err := cfg.int64("replica.fetch.max.bytes", 1<<20)
	if err != nil {
		return nil, err
	}
	hwInterval, err := cfg.int64("replica.high.watermark.checkpoint.interval.ms", 5000)
	if err != nil {
		return nil, err
	}
	saved, err := eng.ReadHighWatermarks()
	if err != nil {
		logger.Printf("replica: high watermark checkpoint unreadable, starting from 0: %v", err)
	}
	hws := make(map[replica.TP]int64, len(saved))
	for tp, hw := range saved {
		hws[replica.TP{Topic: tp.Topic, Partition: tp.Partition}] = hw
	}
	return replica.NewManager(replica.Config{
		HighWatermarks: hws,
		SaveHighWatermarks: func(hws map[replica.TP]int64) error {
			out := make(map[engine.TopicPartition]int64, len(hws))
			for tp, hw := range hws {
				out[engine.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}] = hw
			}
			return eng.WriteHighWatermarks(out)
		},
		HighWatermarkInterval: time.Duration(hwInterval) * time.Millisecond,
		Self:                  v.self,
		LagTimeMax:            time.Duration(lag) * time.Millisecond,
		FetchMaxWait:          time.Duration(wait) * time.Millisecond,
		FetchMaxBytes:         int32(min(maxBytes, 1<<30)),
		Log: func(tp replica.TP) (*log.Log, error) {
			return eng.Partition(engine.TopicPartition{Topic: tp.Topic, Partition: tp.Partition})
		},
		AlterPartition: v.alterPartition,
		Advanced:       broker.HighWatermarkMoved,
		Leadership:     func(tp replica.TP, leading bool) { broker.PartitionLeadership(tp.Topic, tp.Partition, leading) },
		Logf:           logger.Printf,
	}), nil
}

// alterPartition sends a leader's ISR change to the active controller.
func (v *clusterView) alterPartition(ctx context.Context, tp replica.TP, leader, leaderEpoch, partitionEpoch int32, isr []int32) error {
	return v.callController(ctx, node.BrokerRequest{Op: "alter-partition", Broker: controller.BrokerInfo{ID: leader},
		Partition: &node.PartitionRequest{Topic: tp.Topic, Partition: tp.Partition, LeaderEpoch: leaderEpoch, PartitionEpoch: partitionEpoch, ISR: isr}})
}

// syncReplicas hands the replica manager the state of every partition with
// a replica on this broker.
func (v *clusterView) syncReplicas() {
	states := map[replica.TP]replica.State{}
	addrs := map[int32]string{}
	mayLead := v.mayLead()
	v.node.View(func(im *controller.Image) {
		for _, b := range im.Brokers {
			addrs[b.ID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		}
		for name, ti := range im.Topics {
			for i, p := range ti.Partitions {
				if slices.Contains(p.Replicas, v.self) {
					states[replica.TP{Topic: name, Partition: int32(i)}] = replica.State{TopicID: ti.ID, Leader: v.asServed(p.Leader, mayLead),
						LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, Replicas: slices.Clone(p.Replicas), ISR: slices.Clone(p.ISR)}
				}
			}
		}
	})
	v.replicas.Sync(states, addrs)
}

func (v *clusterView) Self() int32 { return v.self }

func (v *clusterView) Brokers() []handler.ClusterBroker {
	var out []handler.ClusterBroker
	v.node.View(func(im *controller.Image) {
		for _, b := range im.Brokers {
			if !b.Fenced {
				out = append(out, handler.ClusterBroker{ID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack})
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (v *clusterView) ControllerID() int32 {
	if id := v.node.Leader(); id != 0 {
		return int32(id)
	}
	return -1
}

func (v *clusterView) Partition(topic string, p int32) (handler.ClusterPartition, bool) {
	var cp handler.ClusterPartition
	var ok bool
	mayLead := v.mayLead()
	v.node.View(func(im *controller.Image) {
		var s controller.PartitionState
		if s, ok = im.Partition(topic, p); ok {
			cp = clusterPartition(s)
			cp.Leader = v.asServed(cp.Leader, mayLead)
		}
	})
	return cp, ok
}

// CreateTopic asks the active controller to create a topic.
func (v *clusterView) CreateTopic(ctx context.Context, name string, id [16]byte, partitions int32, rf int16, configs map[string]string) error {
	return v.callController(ctx, node.BrokerRequest{Op: "create-topic", Topic: &node.TopicRequest{Name: name, ID: id, Partitions: partitions,
		ReplicationFactor: rf, Configs: configs}})
}

// AllocateProducerIDs takes a block of producer ids from the active
// controller.
func (v *clusterView) AllocateProducerIDs(ctx context.Context) (int64, int32, error) {
	reply, err := v.askController(ctx, node.BrokerRequest{Op: "producer-ids", Broker: controller.BrokerInfo{ID: v.self}})
	if err != nil {
		return 0, 0, err
	}
	if reply.ProducerIDs == nil {
		return 0, 0, kerr.UnknownServerError
	}
	return reply.ProducerIDs.First, reply.ProducerIDs.Size, nil
}

// DeleteTopic deletes a topic through the active controller.
func (v *clusterView) DeleteTopic(ctx context.Context, name string) error {
	return v.callController(ctx, node.BrokerRequest{Op: "delete-topic", Topic: &node.TopicRequest{Name: name}})
}

// CreatePartitions grows a topic through the active controller.
func (v *clusterView) CreatePartitions(ctx context.Context, name string, count int32, assignment [][]int32) error {
	return v.callController(ctx, node.BrokerRequest{Op: "create-partitions", Topic: &node.TopicRequest{Name: name, Partitions: count,
		Assignment: assignment}})
}

// Reassign moves a partition through the active controller (nil target:
// cancel).
func (v *clusterView) Reassign(ctx context.Context, topic string, p int32, target []int32) error {
	return v.callController(ctx, node.BrokerRequest{Op: "reassign", Reassign: &node.ReassignRequest{Topic: topic, Partition: p,
		Replicas: target, Cancel: target == nil}})
}

// Reassignments lists the partitions being moved, from this node's copy
// of the metadata.
func (v *clusterView) Reassignments() map[handler.PartitionRef]handler.ClusterPartition {
	out := map[handler.PartitionRef]handler.ClusterPartition{}
	v.node.View(func(im *controller.Image) {
		for name, t := range im.Topics {
			for i, p := range t.Partitions {
				if p.Reassigning() {
					out[handler.PartitionRef{Topic: name, Partition: int32(i)}] = clusterPartition(p)
				}
			}
		}
	})
	return out
}

func clusterPartition(s controller.PartitionState) handler.ClusterPartition {
	return handler.ClusterPartition{Leader: s.Leader, LeaderEpoch: s.LeaderEpoch, Replicas: slices.Clone(s.Replicas), ISR: slices.Clone(s.ISR),
		Adding: slices.Clone(s.Adding), Removing: slices.Clone(s.Removing)}
}

// ElectLeaders runs an election through the active controller.
func (v *clusterView) ElectLeaders(ctx context.Context, typ int8, parts []handler.PartitionRef) (map[handler.PartitionRef]int16, error) {
	req := node.BrokerRequest{Op: "elect-leaders", Elect: &node.ElectRequest{Type: typ}}
	if parts != nil {
		req.Elect.Partitions = make([]controller.PartitionRef, len(parts))
		for i, p := range parts {
			req.Elect.Partitions[i] = controller.PartitionRef{Topic: p.Topic, Partition: p.Partition}
		}
	}
	reply, err := v.askController(ctx, req)
	if err != nil {
		return nil, err
	}
	out := map[handler.PartitionRef]int16{}
	for _, r := range reply.Elected {
		out[handler.PartitionRef{Topic: r.Topic, Partition: r.Partition}] = r.ErrorCode
	}
	return out, nil
}

// callController asks the controllers in turn until the active one
// answers, and returns its answer as a Kafka error (nil: done).
func (v *clusterView) callController(ctx context.Context, r node.BrokerRequest) error {
	_, err := v.askController(ctx, r)
	return err
}

// askController is callController returning the whole reply.
func (v *clusterView) askController(ctx context.Context, r node.BrokerRequest) (node.BrokerReply, error) {
	return askControllers(ctx, v.controllers, r)
}

// askControllers asks the controller nodes in turn, again every 100 ms
// until ctx ends, for an answer other than NOT_CONTROLLER, and returns it
// with its error code as a Kafka error (REQUEST_TIMED_OUT when none came).
func askControllers(ctx context.Context, controllers []string, r node.BrokerRequest) (node.BrokerReply, error) {
	req, _ := json.Marshal(r)
	for {
		for _, addr := range controllers {
			resp, err := transport.Call(ctx, addr, req)
			if err != nil {
				continue
			}
			var r node.BrokerReply
			if json.Unmarshal(resp, &r) != nil || r.ErrorCode == kerr.NotController.Code {
				continue
			}
			return r, kerr.ErrorForCode(r.ErrorCode)
		}
		select {
		case <-ctx.Done():
			return node.BrokerReply{}, kerr.RequestTimedOut
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// reconcileTopics creates, as they appear in the cluster metadata (woken
// by every change, and every 200 ms for what time alone changes), the
// topics and this broker's partitions of them, hands the replica manager
// their state, and deletes the local copy of a partition reassigned away
// from this broker (only once the node has replayed its metadata log, so
// an earlier state it already acted on never deletes a live replica).
func reconcileTopics(ctx context.Context, v *clusterView, broker *handler.Broker, eng *engine.Engine, logger *stdlog.Logger) {
	done := map[string]string{}        // topic → the local partitions created for it
	failedAt := map[string]time.Time{} // topic → when its failure was last logged
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		changed := v.node.Changed() // before looking, so no change is missed
		session := v.lifecycle.Changed()
		type want struct {
			name    string
			id      [16]byte
			parts   int32
			configs map[string]string
			local   []int32
		}
		var todo []want
		assigned := map[engine.TopicPartition]bool{}
		inImage := map[string]struct{}{}
		v.node.View(func(im *controller.Image) {
			for name, ti := range im.Topics {
				inImage[name] = struct{}{}
				w := want{name: name, id: ti.ID, parts: int32(len(ti.Partitions)), configs: ti.Configs}
				for i, p := range ti.Partitions {
					if slices.Contains(p.Replicas, v.self) {
						w.local = append(w.local, int32(i))
						assigned[engine.TopicPartition{Topic: name, Partition: int32(i)}] = true
					}
				}
				if done[name] != fmt.Sprint(w.id, w.parts, w.local) {
					todo = append(todo, w)
				}
			}
		})
		for _, w := range todo {
			if err := broker.EnsureTopic(w.name, w.id, w.parts, w.configs, w.local); err != nil {
				// Retried every pass; logged once per 30 s.
				if time.Since(failedAt[w.name]) >= 30*time.Second {
					failedAt[w.name] = time.Now()
					logger.Printf("cluster: topic %s: %v (retrying; logged once per 30s)", w.name, err)
				}
				continue
			}
			if _, failed := failedAt[w.name]; failed {
				delete(failedAt, w.name)
				logger.Printf("cluster: topic %s: every local partition created", w.name)
			}
			done[w.name] = fmt.Sprint(w.id, w.parts, w.local)
		}
		v.syncReplicas()
		if v.node.Replayed() {
			for name := range done {
				if _, ok := inImage[name]; ok {
					continue
				}
				if err := broker.RemoveTopic(name); err != nil {
					logger.Printf("cluster: deleting topic %s: %v", name, err)
					continue
				}
				delete(done, name)
			}
			for _, tp := range eng.Partitions() {
				if _, known := done[tp.Topic]; known && !assigned[tp] {
					if err := eng.DeletePartition(tp); err != nil {
						logger.Printf("cluster: deleting %s, reassigned away: %v", tp, err)
						continue
					}
					logger.Printf("cluster: deleted %s, reassigned away from this broker", tp)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-session:
		case <-t.C:
		}
	}
}
