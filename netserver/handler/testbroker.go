package handler

import (
	"context"
	"time"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/netserver/quota"
	"github.com/rillmq/rill/replication/broker"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/metadata"
)

// NewInMemory returns a Broker over an in-memory file system, with the
// given topics created, for tests and fuzzing in other packages. Call the
// returned close function when done.
func NewInMemory(topics map[string]int32) (*Broker, func() error, error) {
	return NewForTest(vfs.NewMemFS(), "/data", topics)
}

// NewForTest is NewInMemory on any file system and data directory (the OS
// one gives sendfile-able files, for benchmarks). The broker is a single
// node, as `rill serve` runs one: a one-voter controller quorum in
// process, its metadata log on fs.
func NewForTest(fs vfs.FS, dir string, topics map[string]int32) (*Broker, func() error, error) {
	return NewForTestConfig(fs, dir, topics, nil)
}

// NewForTestConfig is NewForTest with the broker's Config changed by
// configure (when not nil) before it starts: an Authorizer, say, which
// the broker feeds the metadata log's ACLs as `rill serve` does.
func NewForTestConfig(fs vfs.FS, dir string, topics map[string]int32, configure func(*Config)) (*Broker, func() error, error) {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	local, err := metadata.Open(fs, dir)
	if err != nil {
		return nil, nil, err
	}
	ec := engine.DefaultConfig(dir)
	ec.FS = fs
	ec.IOEngine = "pwrite"
	eng, err := engine.Open(ec)
	if err != nil {
		return nil, nil, err
	}
	gc := group.DefaultConfig()
	gc.OffsetsPartitions = 3 // a heap-backed index per partition on MemFS
	gc.InitialRebalanceDelay = 0
	cfg := Config{NodeID: 1, Host: "127.0.0.1", Port: 9092, ClusterID: "test", AutoCreateTopics: true,
		NumPartitions: 1, DefaultReplicationFactor: 1, OffsetsReplicationFactor: 1, LogDefaults: ec.Log, Groups: gc,
		Quotas: quota.New(quota.DefaultConfig())}
	if configure != nil {
		configure(&cfg)
	}
	b := New(cfg, eng, nil)
	rt, err := broker.Start(broker.Config{Self: controller.BrokerInfo{ID: 1, Host: "127.0.0.1", Port: 9092}, DataDir: dir, FS: fs,
		Local: local, LogDefaults: ec.Log, Heartbeat: 200 * time.Millisecond, Session: 9 * time.Second, SnapshotEvery: 1000,
		Engine: eng, Listener: b, ACLs: b, Attach: func(rt *broker.Runtime) { b.SetCluster(rt) }})
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	closeAll := func() error {
		b.Close()
		rt.Close()
		return eng.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Ready(ctx); err != nil {
		closeAll()
		return nil, nil, err
	}
	b.Serve()
	for name, parts := range topics {
		if _, err := b.createTopicAnywhere(name, parts, 1, nil, nil); err != nil {
			closeAll()
			return nil, nil, err
		}
	}
	if err := b.StartGroups(); err != nil {
		closeAll()
		return nil, nil, err
	}
	return b, closeAll, nil
}
