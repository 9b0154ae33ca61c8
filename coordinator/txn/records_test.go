package txn

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/internal/kafka"
)

func TestPartitionForMatchesGroups(t *testing.T) {
	// Java: "hello".hashCode() == 99162322 (TransactionStateManager.partitionFor).
	if got := PartitionFor("hello", 50); got != 22 {
		t.Fatal(got)
	}
	for _, id := range []string{"", "a", "txn-1", "polygenelubricants", "日本語", "\U0001F600x", "very-long-transactional-id-0123456789"} {
		if PartitionFor(id, 50) != group.PartitionFor(id, 50) {
			t.Errorf("%q differs from coordinator/group", id)
		}
	}
}

// TestRecordRoundTrip: Value/Decode through kmsg's TxnMetadataValue (Kafka's
// TransactionLog.valueToBytes / readTxnRecordValue), v0 and v1.
func TestRecordRoundTrip(t *testing.T) {
	ms := []Metadata{
		{TransactionalID: "e", ProducerID: 7, ProducerEpoch: 2, PreviousProducerID: 7, NextProducerID: -1, LastProducerEpoch: -1, Timeout: time.Minute, State: Empty, LastUpdate: t0},
		{TransactionalID: "o", ProducerID: 7, ProducerEpoch: 2, PreviousProducerID: -1, NextProducerID: -1, LastProducerEpoch: -1, Timeout: 90 * time.Second, State: Ongoing, Partitions: []kafka.TopicPartition{tp("a", 0), tp("a", 3), tp("b", 1)}, Start: t0, LastUpdate: t0.Add(time.Second), ClientVersion: TV2},
		{TransactionalID: "p", ProducerID: 7, ProducerEpoch: 32767, PreviousProducerID: 7, NextProducerID: 1000, LastProducerEpoch: -1, Timeout: time.Minute, State: PrepareCommit, Partitions: []kafka.TopicPartition{tp("z", 9)}, Start: t0, LastUpdate: t0, ClientVersion: TV2},
		{TransactionalID: "c", ProducerID: 1000, ProducerEpoch: 0, PreviousProducerID: 7, NextProducerID: -1, LastProducerEpoch: -1, Timeout: time.Minute, State: CompleteAbort, Start: t0, LastUpdate: t0, ClientVersion: TV2},
	}
	for _, v := range []Version{TV0, TV2} {
		for _, m := range ms {
			rec := shard.Record{Key: Key(m.TransactionalID), Value: Value(&m, v)}
			id, got, err := Decode(rec)
			if err != nil || id != m.TransactionalID {
				t.Fatal(err)
			}
			want := m.Clone()
			if v == TV0 {
				want.PreviousProducerID, want.NextProducerID, want.ClientVersion = -1, -1, TV0
			}
			if !sameMetadata(got, want) {
				t.Fatalf("tv%d:\n got %v\nwant %v", v, got, want)
			}
			var raw kmsg.TxnMetadataValue
			if err := raw.ReadFrom(rec.Value); err != nil {
				t.Fatal(err)
			}
			if wantVersion := int16(map[Version]int16{TV0: 0, TV2: 1}[v]); raw.Version != wantVersion {
				t.Fatalf("value version %d", raw.Version)
			}
			if (m.State == Empty) != (raw.Topics == nil) {
				t.Fatalf("%s: partitions must be null exactly for Empty", m.State)
			}
			if m.State == Ongoing && (raw.StartTimestamp != t0.UnixMilli() || raw.Topics[0].Topic != "a" || len(raw.Topics[0].Partitions) != 2) {
				t.Fatalf("%+v", raw)
			}
		}
	}
	// Key bytes: int16 version 0, then the id as a Kafka string.
	if k := Key("ab"); !bytes.Equal(k, []byte{0, 0, 0, 2, 'a', 'b'}) {
		t.Fatalf("%x", k)
	}
	if _, m, err := Decode(shard.Record{Key: Key("x")}); err != nil || m != nil {
		t.Fatal("tombstone", m, err)
	}
	for _, bad := range []shard.Record{{Key: []byte{0}}, {Key: []byte{0, 1, 0, 1, 'x'}}, {Key: Key("x"), Value: []byte{0, 0, 1}}, {Key: Key("x"), Value: []byte{0, 5}}} {
		if _, _, err := Decode(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%x/%x: %v", bad.Key, bad.Value, err)
		}
	}
}

// TestReplay: the last record of an id wins, a tombstone removes it, bad
// records are counted, and transactions found preparing owe markers.
func TestReplay(t *testing.T) {
	src := newTestPartition()
	var log []shard.Record
	write := func(d Decision) Decision {
		if d.Write != nil {
			log = append(log, src.Records(d.Write)...)
			src.Apply(d.Write)
		}
		return d
	}
	a := write(src.InitProducerID(InitProducerID{TransactionalID: "a", Timeout: time.Minute}, t0)).Answer
	write(src.AddPartitions(AddPartitions{TransactionalID: "a", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Partitions: []kafka.TopicPartition{tp("x", 1)}}, t0))
	write(src.EndTxn(EndTxn{TransactionalID: "a", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Commit: true}, t0))
	write(src.InitProducerID(InitProducerID{TransactionalID: "b", Timeout: time.Minute}, t0))
	write(src.Expire("b", t0.Add(DefaultConfig().IDExpiration)))
	write(src.InitProducerID(InitProducerID{TransactionalID: "c", Timeout: time.Minute}, t0))
	log = append(log, shard.Record{Key: []byte{9}})

	dst := newTestPartition()
	for _, r := range log {
		dst.Replay(r)
	}
	if err := dst.Loaded(t0); !errors.Is(err, ErrCorrupt) {
		t.Fatal(err)
	}
	all := dst.All()
	if len(all) != 2 || all[0].TransactionalID != "a" || all[1].TransactionalID != "c" {
		t.Fatal(all)
	}
	for _, m := range all {
		want, _ := src.Get(m.TransactionalID)
		want.LastProducerEpoch = NoProducerEpoch // not in the record
		if !sameMetadata(m, want) {
			t.Fatalf("\n got %v\nwant %v", m, want)
		}
	}
	mks := dst.TakeMarkers()
	if len(mks) != 1 || mks[0].TransactionalID != "a" || !mks[0].Commit || mks[0].Partitions[0] != tp("x", 1) {
		t.Fatal(mks)
	}
}

// memLog is a shard.Log in memory.
type memLog struct {
	mu   sync.Mutex
	recs map[int32][]shard.Record
}

func (l *memLog) Append(p int32, recs []shard.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
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

// TestOnRuntime runs a transaction and a timeout abort through the
// coordinator runtime, then reloads the partition: the shape the next step
// wires (decisions as shard operations through Partition.Op).
func TestOnRuntime(t *testing.T) {
	cfg := DefaultConfig()
	now := t0
	var clock sync.Mutex
	ids := &counter{}
	log := &memLog{recs: map[int32][]shard.Record{}}
	rt := shard.New(shard.Config[*Partition]{
		Log: log,
		New: func(p int32) *Partition { return NewPartition(cfg, ids, p) },
		Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now },
	})
	defer rt.Close()
	id := "etl"
	p := PartitionFor(id, cfg.StatePartitions)
	if err := <-rt.Load(p); err != nil {
		t.Fatal(err)
	}
	do := func(decide func(*Partition, time.Time) Decision) Answer {
		var a Answer
		if err := rt.Do(p, id, func(s *Partition, now time.Time) ([]shard.Record, func(error)) {
			return s.Op(decide(s, now), func(x Answer) { a = x })
		}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := do(func(s *Partition, now time.Time) Decision {
		return s.InitProducerID(InitProducerID{TransactionalID: id, Timeout: time.Minute}, now)
	})
	do(func(s *Partition, now time.Time) Decision {
		return s.AddPartitions(AddPartitions{TransactionalID: id, ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Partitions: []kafka.TopicPartition{tp("out", 0)}}, now)
	})
	clock.Lock()
	now = now.Add(time.Minute + cfg.AbortInterval)
	clock.Unlock()
	rt.Tick()
	var mks []Markers
	rt.Read(p, func(s *Partition) { mks = s.TakeMarkers() })
	if len(mks) != 1 || mks[0].Commit || mks[0].ProducerEpoch != a.ProducerEpoch+1 {
		t.Fatalf("timeout abort markers %+v", mks)
	}
	// Reload before the markers were reported: they are owed again.
	if err := <-rt.Load(p); err != nil {
		t.Fatal(err)
	}
	rt.Read(p, func(s *Partition) { mks = s.TakeMarkers() })
	if len(mks) != 1 || mks[0].Partitions[0] != tp("out", 0) {
		t.Fatalf("after reload %+v", mks)
	}
	if got := do(func(s *Partition, now time.Time) Decision { return s.Complete(mks[0], now) }); got.Err != nil {
		t.Fatal(got)
	}
	var m *Metadata
	rt.Read(p, func(s *Partition) { m, _ = s.Get(id) })
	if m.State != CompleteAbort || len(m.Partitions) != 0 {
		t.Fatal(m)
	}
}
