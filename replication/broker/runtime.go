package broker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/signal"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/metadata"
	"github.com/rillmq/rill/replication/node"
	"github.com/rillmq/rill/replication/quorum"
	"github.com/rillmq/rill/replication/replica"
	"github.com/rillmq/rill/replication/transport"
)

// Listener is what the runtime publishes to (the handlers and the
// coordinators behind them).
type Listener interface {
	// PartitionLeadership is told when this broker starts or stops
	// leading a partition.
	PartitionLeadership(topic string, p int32, leading bool)
	// HighWatermarkMoved is told when a leader's high watermark advanced.
	HighWatermarkMoved(tp kafka.TopicPartition)
}

// Config configures a broker's runtime.
type Config struct {
	// Self is this broker: id, its inter-broker listener's advertised
	// host and port, every listener's (Listeners, the inter-broker one
	// first), rack.
	Self controller.BrokerInfo
	// DataDir holds the controller node's metadata log
	// (<DataDir>/__cluster_metadata), on FS (vfs.Default when nil).
	DataDir string
	FS      vfs.FS
	// Voters are the controller quorum's nodes by id
	// (controller.quorum.voters); Controller makes this process one of
	// them. No voters: a single node, a cluster of one, whose one-voter
	// quorum runs in this process with no controller listener.
	Voters     map[uint64]string
	Controller bool
	// ControllerListen is the address a quorum member binds (its
	// controller listener, controller.listener.names); empty: its own
	// address in Voters.
	ControllerListen string
	// ControllerSecurity secures the controller listener and every
	// connection to a controller (controller.listener.names' protocol:
	// TLS, and an authentication exchange).
	ControllerSecurity transport.Security
	// InterBrokerClientOpts are added to the replica fetchers' clients:
	// the inter-broker listener's security (TLS, SASL credentials).
	InterBrokerClientOpts []kgo.Opt
	// Local is the record of the topics whose logs are on this broker's
	// disk (which topic id they belong to, and their configs for the
	// engine's recovery); the publisher keeps it.
	Local *metadata.Store
	// LogDefaults are the broker's topic config defaults.
	LogDefaults log.Config
	// ImportCatalog makes a single broker import Local into the metadata
	// log once (a data directory written before the log existed), then
	// call ImportDone, after which it is never imported again.
	ImportCatalog bool
	ImportDone    func() error
	// Heartbeat and Session are broker.heartbeat.interval.ms and
	// broker.session.timeout.ms.
	Heartbeat, Session time.Duration
	// RebalanceInterval, SnapshotEvery and UncleanLeaderElection
	// configure the controller node (package node).
	RebalanceInterval     time.Duration
	SnapshotEvery         uint64
	UncleanLeaderElection bool
	// BootstrapFeatures are the feature levels a new metadata log is
	// finalized at (node.Config.BootstrapFeatures).
	BootstrapFeatures map[string]int16
	// LagTimeMax, FetchMaxWait, FetchMaxBytes and HighWatermarkInterval
	// configure the replicas (package replica).
	LagTimeMax, FetchMaxWait, HighWatermarkInterval time.Duration
	FetchMaxBytes                                   int32
	Engine                                          *engine.Engine
	Listener                                        Listener
	// ACLs, when set, is fed the metadata's ACLs (security.go): the
	// broker's authorizer, which has them all before the runtime is
	// Ready.
	ACLs ACLSink
	// Attach, when set, is called with the runtime before any of its
	// goroutines runs, so the Listener can be given the runtime (its view
	// of the metadata) before the runtime calls it.
	Attach func(*Runtime)
	// Logger reports the broker side: registration, heartbeats, applying
	// the metadata (nil discards).
	Logger *slog.Logger
	// ControllerLogger, TransportLogger and ReplicaLogger are the
	// controller node's, the controller transport's and the replicas'
	// loggers; nil uses Logger.
	ControllerLogger, TransportLogger, ReplicaLogger *slog.Logger
}

// Runtime is a running broker's cluster side.
type Runtime struct {
	cfg         Config
	self        int32
	source      Source
	node        *node.Node // this process's controller node, or nil
	controllers []string
	voterIDs    []uint64 // node ids of controllers, in the same order
	call        node.Caller
	lifecycle   *Lifecycle
	replicas    *replica.Manager

	// passes is notified after every publisher pass.
	passes   *signal.Signal
	isReady  atomic.Bool
	imported atomic.Bool
	mu       sync.Mutex
	// failures are partitions assigned here that could not be created.
	failures map[kafka.TopicPartition]error
	// features are the finalized features as the publisher last read
	// them (view.go).
	features atomic.Pointer[featureSet]
	// applied are the topics the publisher's last pass applied.
	applied map[string]metadata.Topic
	// security is the ACLs and SCRAM credentials applied here; quotas
	// the client quotas.
	security security
	quotas   quotas

	cancel context.CancelFunc
	done   chan struct{}
	stop   []func()
}

// Start runs the broker's cluster side: its controller node when it is a
// voter (else a copy of the controllers' metadata), its lifecycle with the
// active controller, its replicas, and the publisher. Close stops it.
func Start(cfg Config) (*Runtime, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, l := range []**slog.Logger{&cfg.ControllerLogger, &cfg.TransportLogger, &cfg.ReplicaLogger} {
		if *l == nil {
			*l = cfg.Logger
		}
	}
	if cfg.FS == nil {
		cfg.FS = vfs.Default
	}
	single := len(cfg.Voters) == 0
	if single {
		cfg.Voters, cfg.Controller = map[uint64]string{uint64(cfg.Self.ID): "(in process)"}, true
	}
	ids := make([]uint64, 0, len(cfg.Voters))
	for v := range cfg.Voters {
		ids = append(ids, v)
	}
	slices.Sort(ids)
	addrs := make([]string, 0, len(ids))
	for _, v := range ids {
		addrs = append(addrs, cfg.Voters[v])
	}
	_, voter := cfg.Voters[uint64(cfg.Self.ID)]
	if voter && !cfg.Controller {
		return nil, fmt.Errorf("node.id %d is a controller voter; a broker-only node needs its own id", cfg.Self.ID)
	}
	if cfg.Controller && !voter {
		return nil, fmt.Errorf("node.id %d is not in controller.quorum.voters", cfg.Self.ID)
	}
	r := &Runtime{cfg: cfg, self: cfg.Self.ID, controllers: addrs, voterIDs: ids, call: cfg.ControllerSecurity.Call, done: make(chan struct{}),
		passes: signal.New(), failures: map[kafka.TopicPartition]error{}}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	var running []chan struct{}
	goRun := func(f func()) {
		ch := make(chan struct{})
		running = append(running, ch)
		go func() { defer close(ch); f() }()
	}
	if cfg.Controller {
		n, stop, err := startControllerNode(cfg, ids, single)
		if err != nil {
			cancel()
			return nil, err
		}
		r.source, r.node = n, n
		r.stop = append(r.stop, stop)
		if single {
			// The broker asks its own node, in process.
			r.call = func(_ context.Context, _ string, req []byte) ([]byte, error) { return n.HandleRPC(req), nil }
		}
	} else {
		remote := NewRemote(addrs, ids, r.call, cfg.Logger)
		goRun(func() { remote.Run(ctx) })
		r.source = remote
	}
	if cfg.Self.Incarnation == "" { // BrokerRegistration's incarnation id, as hex
		var id [16]byte
		rand.Read(id[:])
		cfg.Self.Incarnation = node.IncarnationString(id)
	}
	r.lifecycle = NewLifecycle(LifecycleConfig{Info: cfg.Self, Controllers: addrs, Heartbeat: cfg.Heartbeat,
		Session: cfg.Session, Call: r.call, Applied: r.source.Applied, Logger: cfg.Logger})
	r.replicas = r.startReplicas()
	if cfg.Attach != nil {
		cfg.Attach(r) // before anything can call the Listener
	}
	goRun(func() { r.publish(ctx) })
	goRun(func() { r.lifecycle.Run(ctx) })
	go func() {
		for _, ch := range running {
			<-ch
		}
		close(r.done)
	}()
	return r, nil
}

// Close stops the runtime: lifecycle, publisher, replicas, controller
// node.
func (r *Runtime) Close() {
	r.cancel()
	<-r.done
	r.replicas.Close()
	for _, stop := range r.stop {
		stop()
	}
}

// MetadataDir is the folder of the data directory that holds the
// controller node's metadata log.
const MetadataDir = "__cluster_metadata"

// startControllerNode runs this process's quorum member, with its metadata
// log in <DataDir>/__cluster_metadata; a single node's has no peers and no
// listener.
func startControllerNode(cfg Config, ids []uint64, single bool) (*node.Node, func(), error) {
	self := cfg.Voters[uint64(cfg.Self.ID)]
	dir := filepath.Join(cfg.DataDir, MetadataDir)
	if err := cfg.FS.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	wal, restored, err := quorum.OpenWAL(cfg.FS, filepath.Join(dir, "raft.wal"))
	if err != nil {
		return nil, nil, err
	}
	if single {
		n, err := node.Start(node.Config{ID: uint64(cfg.Self.ID), Voters: ids, SessionTimeout: cfg.Session,
			Durable: wal, Restore: restored, Send: func([]*pb.Message) {}, RebalanceInterval: cfg.RebalanceInterval,
			SnapshotEvery: cfg.SnapshotEvery, UncleanLeaderElection: cfg.UncleanLeaderElection, Logger: cfg.ControllerLogger,
			BootstrapFeatures: cfg.BootstrapFeatures})
		if err != nil {
			wal.Close()
			return nil, nil, err
		}
		return n, func() {
			n.Stop()
			wal.Close()
		}, nil
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
		return node.NotController(b) // while starting
	}
	bind := self
	if cfg.ControllerListen != "" {
		bind = cfg.ControllerListen
	}
	tr, err := transport.Listen(bind, cfg.Voters, cfg.ControllerSecurity, deliver, handle, cfg.TransportLogger)
	if err != nil {
		wal.Close()
		return nil, nil, err
	}
	n, err := node.Start(node.Config{ID: uint64(cfg.Self.ID), Voters: ids, SessionTimeout: cfg.Session,
		Durable: wal, Restore: restored, Send: tr.Send, RebalanceInterval: cfg.RebalanceInterval, SnapshotEvery: cfg.SnapshotEvery,
		UncleanLeaderElection: cfg.UncleanLeaderElection, Logger: cfg.ControllerLogger, BootstrapFeatures: cfg.BootstrapFeatures})
	if err != nil {
		tr.Close()
		wal.Close()
		return nil, nil, err
	}
	target.Store(n)
	cfg.ControllerLogger.Info("controller quorum member listening", "node", cfg.Self.ID, "addr", tr.Addr().String(), "voters", cfg.Voters)
	return n, func() {
		n.Stop()
		tr.Close()
		wal.Close()
	}, nil
}

// startReplicas starts this broker's partition replicas (package replica),
// from the high watermarks the engine checkpointed.
func (r *Runtime) startReplicas() *replica.Manager {
	eng, l := r.cfg.Engine, r.cfg.Listener
	saved, err := eng.ReadHighWatermarks()
	if err != nil {
		r.cfg.ReplicaLogger.Warn("high watermark checkpoint unreadable, starting from 0", "err", err)
	}
	hws := make(map[kafka.TopicPartition]int64, len(saved))
	for tp, hw := range saved {
		hws[kafka.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}] = hw
	}
	return replica.NewManager(replica.Config{
		HighWatermarks: hws,
		SaveHighWatermarks: func(hws map[kafka.TopicPartition]int64) error {
			out := make(map[kafka.TopicPartition]int64, len(hws))
			for tp, hw := range hws {
				out[kafka.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}] = hw
			}
			return eng.WriteHighWatermarks(out)
		},
		HighWatermarkInterval: r.cfg.HighWatermarkInterval,
		Self:                  r.self,
		LagTimeMax:            r.cfg.LagTimeMax,
		FetchMaxWait:          r.cfg.FetchMaxWait,
		FetchMaxBytes:         r.cfg.FetchMaxBytes,
		Log: func(tp kafka.TopicPartition) (*log.Log, error) {
			return eng.Partition(kafka.TopicPartition{Topic: tp.Topic, Partition: tp.Partition})
		},
		AlterPartition: r.alterPartition,
		ClientOpts:     r.cfg.InterBrokerClientOpts,
		Advanced:       l.HighWatermarkMoved,
		Leadership:     func(tp kafka.TopicPartition, leading bool) { l.PartitionLeadership(tp.Topic, tp.Partition, leading) },
		Logger:         r.cfg.ReplicaLogger,
	})
}

// alterPartition sends a leader's ISR change to the active controller
// (AlterPartition, by topic id). A refusal is the controller's answer other
// than REQUEST_TIMED_OUT (which, like no answer, is retried later).
func (r *Runtime) alterPartition(ctx context.Context, tp kafka.TopicPartition, topicID [16]byte, leader, leaderEpoch, partitionEpoch int32, isr []int32) error {
	p := kmsg.NewAlterPartitionRequestTopicPartition()
	p.Partition, p.LeaderEpoch, p.PartitionEpoch = tp.Partition, leaderEpoch, partitionEpoch
	for _, b := range isr {
		e := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
		e.BrokerID, e.BrokerEpoch = b, -1 // broker epochs are not checked
		p.NewEpochISR = append(p.NewEpochISR, e)
	}
	t := kmsg.NewAlterPartitionRequestTopic()
	t.TopicID, t.Partitions = topicID, []kmsg.AlterPartitionRequestTopicPartition{p}
	req := kmsg.NewPtrAlterPartitionRequest()
	req.BrokerID, req.BrokerEpoch, req.Topics = leader, r.lifecycle.BrokerEpoch(), []kmsg.AlterPartitionRequestTopic{t}
	_, err := r.ask(ctx, req)
	if answer := (*node.Error)(nil); errors.As(err, &answer) && answer.Kafka != kerr.RequestTimedOut {
		return fmt.Errorf("%w: %w", replica.ErrISRChangeRefused, err)
	}
	return err
}

// ask asks the controllers in turn until the active one answers, and
// returns its answer with its error (node.ResponseError).
func (r *Runtime) ask(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	return askControllers(ctx, r.call, r.controllers, req, r.activeIndex())
}

// activeIndex is the active controller's position in r.controllers as the
// metadata source knows it (0 when unknown: start with the first).
func (r *Runtime) activeIndex() int {
	leader := r.source.Leader()
	for i, id := range r.voterIDs {
		if id == leader {
			return i
		}
	}
	return 0
}

// asServed is a partition's leader as this broker acts on it: while it is
// out of session with the controller quorum (see Session), it leads
// nothing, so clients go to the leaders the quorum has elected since.
func (r *Runtime) asServed(leader int32, mayLead bool) int32 {
	if leader == r.self && !mayLead {
		return -1
	}
	return leader
}

// mayLead reports whether this broker may act as a leader now.
func (r *Runtime) mayLead() bool { return r.lifecycle.MayLead(r.source.Applied()) }

// syncReplicas hands the replica manager the state of every partition
// with a replica on this broker.
func (r *Runtime) syncReplicas() {
	states := map[kafka.TopicPartition]replica.State{}
	addrs := map[int32]string{}
	mayLead := r.mayLead()
	r.source.View(func(im *controller.Image) {
		for _, b := range im.Brokers {
			addrs[b.ID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		}
		for name, ti := range im.Topics {
			for i, p := range ti.Partitions {
				if slices.Contains(p.Replicas, r.self) {
					var fenced []int32
					for _, id := range p.Replicas {
						if b, ok := im.Brokers[id]; !ok || b.Fenced {
							fenced = append(fenced, id)
						}
					}
					states[kafka.TopicPartition{Topic: name, Partition: int32(i)}] = replica.State{TopicID: ti.ID, Leader: r.asServed(p.Leader, mayLead),
						LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, Replicas: slices.Clone(p.Replicas), ISR: slices.Clone(p.ISR),
						Fenced: fenced}
				}
			}
		}
	})
	r.replicas.Sync(states, addrs)
}
