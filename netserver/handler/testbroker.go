package handler

import (
	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/replication/group"
	"github.com/rillmq/rill/replication/metadata"
)

// NewInMemory returns a Broker over an in-memory file system, with the
// given topics created, for tests and fuzzing in other packages. Call the
// returned close function when done.
func NewInMemory(topics map[string]int32) (*Broker, func() error, error) {
	return NewForTest(vfs.NewMemFS(), "/data", topics)
}

// NewForTest is NewInMemory on any file system and data directory (the OS
// one gives sendfile-able files, for benchmarks).
func NewForTest(fs vfs.FS, dir string, topics map[string]int32) (*Broker, func() error, error) {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	catalog, err := metadata.Open(fs, dir)
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
	b := New(Config{NodeID: 1, Host: "127.0.0.1", Port: 9092, ClusterID: "test", AutoCreateTopics: true,
		NumPartitions: 1, DefaultReplicationFactor: 1, LogDefaults: ec.Log, Groups: gc}, eng, catalog, nil)
	for name, parts := range topics {
		if _, err := b.createTopic(name, parts, nil); err != nil {
			eng.Close()
			return nil, nil, err
		}
	}
	if err := b.StartGroups(); err != nil {
		eng.Close()
		return nil, nil, err
	}
	return b, func() error { b.Close(); return eng.Close() }, nil
}
