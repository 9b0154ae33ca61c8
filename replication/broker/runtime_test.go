package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/engine/vfs/errorfs"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/metadata"
)

// listener records what the runtime publishes.
type listener struct {
	mu      sync.Mutex
	leading map[string]bool // "topic-p"
}

func (l *listener) PartitionLeadership(topic string, p int32, leading bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leading[kafka.TopicPartition{Topic: topic, Partition: p}.String()] = leading
}

func (l *listener) HighWatermarkMoved(kafka.TopicPartition) {}

func (l *listener) leads(tp string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading[tp]
}

// single is a one-node runtime (a cluster of one) over an engine on fs.
type single struct {
	t      *testing.T
	rt     *Runtime
	eng    *engine.Engine
	local  *metadata.Store
	l      *listener
	acls   *aclSink
	quotas *quotaSink
}

func startSingle(t *testing.T, fs vfs.FS, importCatalog bool) *single {
	t.Helper()
	local, err := metadata.Open(fs, "/data")
	if err != nil {
		t.Fatal(err)
	}
	ec := engine.DefaultConfig("/data")
	ec.FS, ec.IOEngine = fs, "pwrite"
	eng, err := engine.Open(ec)
	if err != nil {
		t.Fatal(err)
	}
	s := &single{t: t, eng: eng, local: local, l: &listener{leading: map[string]bool{}}, acls: newACLSink(), quotas: &quotaSink{}}
	imported := false
	rt, err := Start(Config{Self: controller.BrokerInfo{ID: 1, Host: "127.0.0.1", Port: 9092}, DataDir: "/data", FS: fs,
		Local: local, LogDefaults: ec.Log, Heartbeat: 50 * time.Millisecond, Session: 5 * time.Second, SnapshotEvery: 1000,
		Engine: eng, Listener: s.l, ACLs: s.acls, Attach: func(rt *Runtime) { rt.SetQuotaSink(s.quotas) }, Logger: logtest.Logger(t), ImportCatalog: importCatalog, ImportDone: func() error { imported = true; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	s.rt = rt
	t.Cleanup(s.close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if importCatalog && !imported {
		t.Fatal("ready before the catalog import was marked done")
	}
	return s
}

func (s *single) close() {
	if s.rt != nil {
		s.rt.Close()
		s.eng.Close()
		s.rt = nil
	}
}

func (s *single) waitTopic(name string, cond func(metadata.Topic, bool) bool) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.rt.WaitTopic(ctx, name, cond); err != nil {
		s.t.Fatalf("waiting for topic %s: %v", name, err)
	}
}

// A single node creates, configures, grows and deletes a topic through its
// in-process controller: the publisher creates the partitions, records
// them locally, leads them, applies configs to the open logs, and deletes
// them with the topic.
func TestSingleNodeTopicLifecycle(t *testing.T) {
	s := startSingle(t, vfs.NewMemFS(), false)
	ctx := context.Background()
	id, err := s.rt.CreateTopic(ctx, "t", 2, 1, map[string]string{"retention.ms": "1000"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.waitTopic("t", func(tp metadata.Topic, ok bool) bool { return ok && tp.ID == id })
	for _, p := range []int32{0, 1} {
		if _, err := s.eng.Partition(kafka.TopicPartition{Topic: "t", Partition: p}); err != nil {
			t.Fatalf("partition %d: %v", p, err)
		}
		if s.rt.Replica("t", p) == nil || !s.l.leads("t-"+string(rune('0'+p))) {
			t.Fatalf("partition %d not led here", p)
		}
	}
	if rec, ok := s.local.Get("t"); !ok || rec.ID != id || rec.Configs["retention.ms"] != "1000" {
		t.Fatalf("local record %+v %v", rec, ok)
	}

	if err := s.rt.AlterTopicConfigs(ctx, "t", map[string]string{"retention.ms": "5000"}); err != nil {
		t.Fatal(err)
	}
	s.waitTopic("t", func(tp metadata.Topic, ok bool) bool { return tp.Configs["retention.ms"] == "5000" })
	l, _ := s.eng.Partition(kafka.TopicPartition{Topic: "t", Partition: 0})
	if got, _ := l.Config().Get("retention.ms"); got != "5000" {
		t.Fatalf("the open log runs with retention.ms=%s", got)
	}

	if err := s.rt.CreatePartitions(ctx, "t", 3, nil); err != nil {
		t.Fatal(err)
	}
	s.waitTopic("t", func(tp metadata.Topic, ok bool) bool { return tp.Partitions == 3 })
	if _, err := s.eng.Partition(kafka.TopicPartition{Topic: "t", Partition: 2}); err != nil {
		t.Fatal(err)
	}

	if err := s.rt.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	s.waitTopic("t", func(_ metadata.Topic, ok bool) bool { return !ok })
	if got := s.eng.Partitions(); len(got) != 0 {
		t.Fatalf("partitions left after the delete: %v", got)
	}
	if _, ok := s.local.Get("t"); ok {
		t.Fatal("local record left after the delete")
	}
}

// A partition that cannot be created is reported, not silently missing,
// and created once the fault is gone.
func TestPartitionCreationFailureIsReportedAndRetried(t *testing.T) {
	var failing atomic.Bool
	fs := &errorfs.FS{Inner: vfs.NewMemFS(), Inject: errorfs.OnOp(errorfs.OpOpen, "f-1/00000000000000000000.log", &failing)}
	s := startSingle(t, fs, false)
	failing.Store(true)
	if _, err := s.rt.CreateTopic(context.Background(), "f", 2, 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	s.waitTopic("f", func(_ metadata.Topic, ok bool) bool { return ok })
	if err := s.rt.PartitionFailure("f", 1); !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("failure of f-1: %v", err)
	}
	if err := s.rt.PartitionFailure("f", 0); err != nil {
		t.Fatalf("f-0 was created: %v", err)
	}
	failing.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for s.rt.PartitionFailure("f", 1) != nil {
		if time.Now().After(deadline) {
			t.Fatal("f-1 never created after the fault cleared")
		}
		<-s.rt.Published()
	}
	if _, err := s.eng.Partition(kafka.TopicPartition{Topic: "f", Partition: 1}); err != nil {
		t.Fatal(err)
	}
}

// A single broker's catalog from before the metadata log is imported on
// its first start as a cluster of one; logs no topic of the metadata
// claims are deleted only after that.
func TestCatalogImportThenOrphansDeleted(t *testing.T) {
	fs := vfs.NewMemFS()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	local, err := metadata.Open(fs, "/data")
	if err != nil {
		t.Fatal(err)
	}
	old, err := local.Create("old", 2, map[string]string{"cleanup.policy": "compact"})
	if err != nil {
		t.Fatal(err)
	}
	ec := engine.DefaultConfig("/data")
	ec.FS, ec.IOEngine = fs, "pwrite"
	eng, err := engine.Open(ec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range []kafka.TopicPartition{{Topic: "old", Partition: 0}, {Topic: "old", Partition: 1}, {Topic: "orphan", Partition: 0}} {
		if _, err := eng.CreatePartition(tp, ec.Log); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}

	s := startSingle(t, fs, true)
	got, ok := s.rt.Topic("old")
	if !ok || got.ID != old.ID || got.Partitions != 2 || got.Configs["cleanup.policy"] != "compact" {
		t.Fatalf("imported topic %+v %v", got, ok)
	}
	// The first pass after the broker is ready deletes the orphan.
	deadline := time.Now().Add(10 * time.Second)
	for {
		parts := s.eng.Partitions()
		if len(parts) == 2 && parts[0].Topic == "old" && parts[1].Topic == "old" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions %v", parts)
		}
		<-s.rt.Published()
	}
	if !s.l.leads("old-1") {
		t.Fatal("imported partition not led here")
	}
}

// A restart replays the metadata log through old states: a topic deleted
// and created again under the same name shows its old id for a moment.
// The publisher must not act on that (it once deleted the live topic's
// logs): nothing on disk changes before the image is current.
func TestRestartReplayKeepsARecreatedTopic(t *testing.T) {
	fs := vfs.NewMemFS()
	s := startSingle(t, fs, false)
	ctx := context.Background()
	create := func(name string) [16]byte {
		id, err := s.rt.CreateTopic(ctx, name, 1, 1, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.waitTopic(name, func(tp metadata.Topic, ok bool) bool { return ok && tp.ID == id })
		return id
	}
	create("t")
	for i := range 60 {
		create(fmt.Sprintf("pad-%d", i))
	}
	if err := s.rt.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	s.waitTopic("t", func(_ metadata.Topic, ok bool) bool { return !ok })
	id := create("t")
	l, err := s.eng.Partition(kafka.TopicPartition{Topic: "t", Partition: 0})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := format.BuildBatch(format.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]format.Record{{OffsetDelta: 0, Value: []byte("a")}, {OffsetDelta: 1, Value: []byte("b")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(batch, log.AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatal(err)
	}
	s.close()
	for round := range 5 {
		s = startSingle(t, fs, false)
		l, err := s.eng.Partition(kafka.TopicPartition{Topic: "t", Partition: 0})
		if err != nil || l.LogEndOffset() != 2 {
			t.Fatalf("restart %d: t-0 %v, log end %d", round, err, l.LogEndOffset())
		}
		if rec, ok := s.local.Get("t"); !ok || rec.ID != id {
			t.Fatalf("restart %d: local record %+v %v", round, rec, ok)
		}
		s.close()
	}
}
