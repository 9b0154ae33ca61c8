package sharestate

import (
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/shard"
)

// memLog is an in-memory __share_group_state; fail makes appends fail.
type memLog struct {
	mu   sync.Mutex
	recs map[int32][]shard.Record
	fail error
}

func (l *memLog) Append(p int32, recs []shard.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.recs[p] = append(l.recs[p], recs...)
	return nil
}

func (l *memLog) Load(p int32, fn func(shard.Record) error) error {
	l.mu.Lock()
	recs := append([]shard.Record(nil), l.recs[p]...)
	l.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

const testPartitions = 3

func newTestCoordinator(t *testing.T, log *memLog, exists func([16]byte, int32) bool) *Coordinator {
	t.Helper()
	c := NewCoordinator(CoordinatorConfig{Config: Config{StatePartitions: testPartitions}, Log: log, TopicPartitions: exists})
	for p := range int32(testPartitions) {
		if err := <-c.LoadPartition(p); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(c.Close)
	return c
}

var topicA = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

func key(g string, p int32) Key { return Key{Group: g, TopicID: topicA, Partition: p} }

func wantErr(t *testing.T, what string, got error, want *kerr.Error) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Fatalf("%s: %v", what, got)
		}
		return
	}
	if !errors.Is(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func TestKeyString(t *testing.T) {
	// Kafka's Uuid.toString of 0x0102...10 (URL-safe base64, no padding).
	k := key("g1", 7)
	if got, want := k.String(), "g1:AQIDBAUGBwgJCgsMDQ4PEA:7"; got != want {
		t.Fatalf("String: %q, want %q", got, want)
	}
	back, err := ParseKey(" g1 :AQIDBAUGBwgJCgsMDQ4PEA:7")
	if err != nil || back != k {
		t.Fatalf("ParseKey: %v %v", back, err)
	}
	for _, bad := range []string{"", "g", "g:AQIDBAUGBwgJCgsMDQ4PEA", " :AQIDBAUGBwgJCgsMDQ4PEA:1", "g:notanid:1",
		"g:AQIDBAUGBwgJCgsMDQ4PEA:x", "a:b:AQIDBAUGBwgJCgsMDQ4PEA:1"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	// A group id with colons survives the record key.
	k2 := Key{Group: "a:b", TopicID: topicA, Partition: 3}
	if got, err := parseRecordKey(k2.String()); err != nil || got != k2 {
		t.Fatalf("parseRecordKey: %v %v", got, err)
	}
	// Kafka's partitionFor is abs(String.hashCode) % n of the key string.
	if PartitionFor("g1:AQIDBAUGBwgJCgsMDQ4PEA:7", 50) != PartitionFor(k.String(), 50) {
		t.Fatal("PartitionFor")
	}
}

func TestSemantics(t *testing.T) {
	log := &memLog{recs: map[int32][]shard.Record{}}
	c := newTestCoordinator(t, log, nil)
	k := key("g", 0)

	// Never initialized: Read and Write are INVALID_REQUEST, the summary
	// answers Kafka's defaults, Delete is a no-op.
	_, err := c.Read(k, 0)
	wantErr(t, "read uninitialized", err, kerr.InvalidRequest)
	wantErr(t, "write uninitialized", c.Write(k, 0, 0, 0, nil), kerr.InvalidRequest)
	s, err := c.ReadSummary(k, 0)
	if err != nil || s != Uninitialized {
		t.Fatalf("summary uninitialized: %+v %v", s, err)
	}
	wantErr(t, "delete absent", c.Delete(k), nil)
	wantErr(t, "negative partition", c.Initialize(key("g", -1), 0, 0), kerr.InvalidRequest)

	wantErr(t, "init", c.Initialize(k, 1, -1), nil)
	st, err := c.Read(k, 0)
	if err != nil || !reflect.DeepEqual(st, State{StateEpoch: 1, LeaderEpoch: 0, StartOffset: -1}) {
		t.Fatalf("read after init: %+v %v", st, err)
	}
	if s, _ := c.ReadSummary(k, 0); s.DeliveryCompleteCount != -1 || s.StartOffset != -1 || s.StateEpoch != 1 {
		t.Fatalf("summary after init at -1: %+v", s)
	}
	// A higher leader epoch is recorded; a lower one is fenced from then
	// on, -1 included.
	if _, err := c.Read(k, 5); err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(k, 4)
	wantErr(t, "read lower epoch", err, kerr.FencedLeaderEpoch)
	_, err = c.Read(k, -1)
	wantErr(t, "read epoch -1", err, kerr.FencedLeaderEpoch)
	if s, _ := c.ReadSummary(k, 0); s.LeaderEpoch != 5 {
		t.Fatalf("summary leader epoch: %+v", s)
	}

	// Writes: fenced by epochs, merged, start offset -1 keeps it.
	wantErr(t, "write lower leader epoch", c.Write(k, 4, 1, 0, nil), kerr.FencedLeaderEpoch)
	wantErr(t, "write lower state epoch", c.Write(k, 5, 0, 0, nil), kerr.FencedStateEpoch)
	wantErr(t, "write", c.WriteWithCount(k, 5, 1, 10, 0, []Batch{{10, 19, 0, 1}}), nil)
	wantErr(t, "write -1 epochs", c.WriteWithCount(k, -1, -1, -1, 3, []Batch{{12, 14, 2, 1}}), nil)
	st, _ = c.Read(k, 5)
	want := State{StateEpoch: 1, LeaderEpoch: 5, StartOffset: 10, Batches: []Batch{{10, 11, 0, 1}, {12, 14, 2, 1}, {15, 19, 0, 1}}}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("after writes: %+v, want %+v", st, want)
	}
	if s, _ := c.ReadSummary(k, 5); s.DeliveryCompleteCount != 3 || s.StartOffset != 10 {
		t.Fatalf("summary after writes: %+v", s)
	}
	// A higher leader epoch in a write is not recorded (Kafka's writeState
	// keeps the stored epochs).
	wantErr(t, "write higher epoch", c.Write(k, 9, 1, 15, nil), nil)
	st, _ = c.Read(k, 5)
	if st.LeaderEpoch != 5 || st.StartOffset != 15 || !reflect.DeepEqual(st.Batches, []Batch{{15, 19, 0, 1}}) {
		t.Fatalf("after moving the start: %+v", st)
	}
	if s, _ := c.ReadSummary(k, 0); s.DeliveryCompleteCount != -1 {
		t.Fatalf("a v0 write leaves the count unknown: %+v", s)
	}

	// Initialize again: a fresh state; a lower state epoch is fenced.
	wantErr(t, "init lower state epoch", c.Initialize(k, 0, 0), kerr.FencedStateEpoch)
	wantErr(t, "re-init", c.Initialize(k, 2, 100), nil)
	if s, _ := c.ReadSummary(k, 0); s != (Summary{StateEpoch: 2, LeaderEpoch: 0, StartOffset: 100, DeliveryCompleteCount: 0}) {
		t.Fatalf("summary after re-init: %+v", s)
	}
	// The leader epoch fence survives the re-initialization, as Kafka's
	// leaderEpochMap keeps the highest.
	_, err = c.Read(k, 3)
	wantErr(t, "read after re-init", err, kerr.FencedLeaderEpoch)

	// Delete, then it is as never initialized, epochs forgotten.
	wantErr(t, "delete", c.Delete(k), nil)
	_, err = c.Read(k, 0)
	wantErr(t, "read deleted", err, kerr.InvalidRequest)
	wantErr(t, "init after delete", c.Initialize(k, 0, 0), nil)
	if _, err := c.Read(k, 0); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownTopic(t *testing.T) {
	log := &memLog{recs: map[int32][]shard.Record{}}
	c := newTestCoordinator(t, log, func(id [16]byte, p int32) bool { return id == topicA && p < 2 })
	wantErr(t, "init", c.Initialize(key("g", 1), 0, 0), nil)
	wantErr(t, "init missing partition", c.Initialize(key("g", 2), 0, 0), kerr.UnknownTopicOrPartition)
	_, err := c.ReadSummary(Key{Group: "g", Partition: 0}, 0)
	wantErr(t, "summary missing topic", err, kerr.UnknownTopicOrPartition)
}

func TestReloadReplays(t *testing.T) {
	log := &memLog{recs: map[int32][]shard.Record{}}
	c := newTestCoordinator(t, log, nil)
	keys := []Key{key("g1", 0), key("g2", 1), {Group: "a:b", TopicID: topicA, Partition: 4}}
	for i, k := range keys {
		wantErr(t, "init", c.Initialize(k, int32(i+1), 0), nil)
		if _, err := c.Read(k, 7); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "write", c.WriteWithCount(k, 7, int32(i+1), 5, 2, []Batch{{5, 9, 0, 2}, {7, 7, 4, 2}}), nil)
	}
	wantErr(t, "delete", c.Delete(keys[1]), nil)
	before := map[Key]State{}
	for _, k := range keys {
		st, err := c.Read(k, 7)
		if err == nil {
			before[k] = st
		}
	}
	c.Close()

	c2 := newTestCoordinator(t, log, nil)
	for _, k := range keys {
		st, err := c2.Read(k, 7)
		if want, ok := before[k]; ok {
			if err != nil || !reflect.DeepEqual(st, want) {
				t.Fatalf("%s after reload: %+v %v, want %+v", k, st, err, want)
			}
			s, _ := c2.ReadSummary(k, 7)
			if s.DeliveryCompleteCount != 2 || s.LeaderEpoch != 7 {
				t.Fatalf("%s summary after reload: %+v", k, s)
			}
			_, err = c2.Read(k, 6)
			wantErr(t, "fence after reload", err, kerr.FencedLeaderEpoch)
			wantErr(t, "state fence after reload", c2.Write(k, 7, 0, -1, nil), kerr.FencedStateEpoch)
		} else {
			wantErr(t, "deleted after reload", err, kerr.InvalidRequest)
		}
	}
	// Compaction keeps the last record per key: the state is the same.
	compacted := &memLog{recs: map[int32][]shard.Record{}}
	for p, recs := range log.recs {
		last := map[string]int{}
		for i, r := range recs {
			last[string(r.Key)] = i
		}
		for i, r := range recs {
			if last[string(r.Key)] == i && r.Value != nil {
				compacted.recs[p] = append(compacted.recs[p], r)
			}
		}
	}
	c3 := newTestCoordinator(t, compacted, nil)
	for k, want := range before {
		if st, err := c3.Read(k, 7); err != nil || !reflect.DeepEqual(st, want) {
			t.Fatalf("%s after compaction: %+v %v", k, st, err)
		}
	}
}

func TestFailedAppendChangesNothing(t *testing.T) {
	log := &memLog{recs: map[int32][]shard.Record{}}
	c := newTestCoordinator(t, log, nil)
	k := key("g", 0)
	wantErr(t, "init", c.Initialize(k, 0, 0), nil)
	log.mu.Lock()
	log.fail = kerr.NotEnoughReplicas
	log.mu.Unlock()
	wantErr(t, "write", c.Write(k, 0, 0, 0, []Batch{{0, 4, 2, 1}}), kerr.CoordinatorNotAvailable)
	_, err := c.Read(k, 3)
	wantErr(t, "read with a new epoch", err, kerr.CoordinatorNotAvailable)
	log.mu.Lock()
	log.fail = nil
	log.mu.Unlock()
	st, err := c.Read(k, 0)
	if err != nil || len(st.Batches) != 0 || st.LeaderEpoch != 0 {
		t.Fatalf("after failed writes: %+v %v", st, err)
	}
	c.UnloadPartition(c.PartitionOf(k.String()))
	wantErr(t, "unloaded", c.Initialize(k, 0, 0), kerr.NotCoordinator)
}

func TestCorruptRecordSkipped(t *testing.T) {
	p := NewPartition(0, nil)
	p.Replay(shard.Record{Key: []byte{0, 1}, Value: []byte("{}")})
	rec := encode(key("g", 0), &entry{State: State{StartOffset: 3}})
	p.Replay(rec)
	rec.Value = []byte("not json")
	p.Replay(rec)
	if err := p.Loaded(t0()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Loaded: %v", err)
	}
	if st, _, ok := p.Get(key("g", 0)); !ok || st.StartOffset != 3 {
		t.Fatalf("good record lost: %+v %v", st, ok)
	}
}

func TestForgetTopic(t *testing.T) {
	log := &memLog{recs: map[int32][]shard.Record{}}
	exists := true
	var mu sync.Mutex
	c := newTestCoordinator(t, log, func(id [16]byte, p int32) bool {
		mu.Lock()
		defer mu.Unlock()
		return id != topicA || exists
	})
	other := Key{Group: "g", TopicID: [16]byte{9}, Partition: 0}
	for _, k := range []Key{key("g", 0), key("g", 1), key("h", 0), other} {
		wantErr(t, "init", c.Initialize(k, 0, 0), nil)
	}
	mu.Lock()
	exists = false
	mu.Unlock()
	wantErr(t, "delete of a deleted topic", c.Delete(key("g", 0)), kerr.UnknownTopicOrPartition)
	wantErr(t, "forget", c.ForgetTopic(topicA), nil)
	mu.Lock()
	exists = true
	mu.Unlock()
	for _, k := range []Key{key("g", 0), key("g", 1), key("h", 0)} {
		if s, _ := c.ReadSummary(k, 0); s != Uninitialized {
			t.Fatalf("%s not forgotten: %+v", k, s)
		}
	}
	if s, _ := c.ReadSummary(other, 0); s.StartOffset != 0 {
		t.Fatalf("another topic's state forgotten: %+v", s)
	}
}
