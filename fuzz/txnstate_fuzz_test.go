package fuzz

import (
	"testing"
	"time"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/internal/kafka"
)

// seqIDs is a txn.ProducerIDs handing out 1000, 1001, ...
type seqIDs struct{ next int64 }

func (s *seqIDs) NextProducerID() (int64, error) {
	s.next++
	return 1000 + s.next, nil
}

// FuzzTxnStateLoad replays arbitrary __transaction_state records into a
// transaction coordinator partition (what a broker does when it becomes
// the partition's leader, over whatever the log holds), then drives every
// loaded transactional id through the coordinator's decisions, applying
// each decision's write as an acknowledged append would. Nothing may
// panic: a record the decoder accepts must never lead to a transition the
// state machine refuses.
func FuzzTxnStateLoad(f *testing.F) {
	cfg := txn.DefaultConfig()
	cfg.StatePartitions, cfg.OffsetsPartitions = 1, 1
	// Seeds: records of a real sequence of decisions.
	var seed []shard.Record
	p := txn.NewPartition(cfg, &seqIDs{}, 0)
	now := time.UnixMilli(1_700_000_000_000)
	apply := func(d txn.Decision) {
		if d.Write == nil {
			return
		}
		seed = append(seed, p.Records(d.Write)...)
		if mk := p.Apply(d.Write); mk != nil {
			if c := p.Complete(*mk, now); c.Write != nil {
				seed = append(seed, p.Records(c.Write)...)
				p.Apply(c.Write)
			}
		}
	}
	apply(p.InitProducerID(txn.InitProducerID{TransactionalID: "a", Timeout: time.Minute}, now))
	m, _ := p.Get("a")
	tp := kafka.TopicPartition{Topic: "t", Partition: 0}
	apply(p.AddPartitions(txn.AddPartitions{TransactionalID: "a", ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Partitions: []kafka.TopicPartition{tp}}, now))
	apply(p.EndTxn(txn.EndTxn{TransactionalID: "a", ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Commit: true}, now))
	apply(p.InitProducerID(txn.InitProducerID{TransactionalID: "b", Timeout: time.Minute}, now))
	mb, _ := p.Get("b")
	apply(p.AddPartitions(txn.AddPartitions{TransactionalID: "b", ProducerID: mb.ProducerID, ProducerEpoch: mb.ProducerEpoch, Partitions: []kafka.TopicPartition{tp}}, now))
	f.Add(joinRecords(seed))
	f.Add(joinRecords(append(seed, shard.Record{Key: seed[0].Key})))

	f.Fuzz(func(t *testing.T, data []byte) {
		p := txn.NewPartition(cfg, &seqIDs{}, 0)
		for _, r := range splitRecords(data) {
			p.Replay(r)
		}
		_ = p.Loaded(now) // an error only counts skipped records
		apply := func(d txn.Decision) {
			if d.Write == nil {
				return
			}
			_ = p.Records(d.Write)
			if mk := p.Apply(d.Write); mk != nil {
				if c := p.Complete(*mk, now); c.Write != nil {
					p.Apply(c.Write)
				}
			}
		}
		for _, mk := range p.TakeMarkers() {
			apply(p.Complete(mk, now))
		}
		later := now.Add(8 * 24 * time.Hour)
		for _, m := range p.All() {
			id := m.TransactionalID
			apply(p.AddPartitions(txn.AddPartitions{TransactionalID: id, ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Partitions: []kafka.TopicPartition{tp}}, now))
			_, _ = p.VerifyPartitions(id, m.ProducerID, m.ProducerEpoch, []kafka.TopicPartition{tp})
			apply(p.AddOffsets(id, m.ProducerID, m.ProducerEpoch, "g", now))
			apply(p.EndTxn(txn.EndTxn{TransactionalID: id, ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Commit: m.ProducerEpoch%2 == 0, Version: txn.Version(m.ProducerEpoch % 3)}, now))
			apply(p.InitProducerID(txn.InitProducerID{TransactionalID: id, Timeout: time.Minute, Current: &txn.Producer{ID: m.ProducerID, Epoch: m.ProducerEpoch}}, now))
			apply(p.InitProducerID(txn.InitProducerID{TransactionalID: id, Timeout: time.Minute}, now))
			for _, mk := range p.TakeMarkers() {
				apply(p.Complete(mk, now))
			}
		}
		for _, id := range p.TimedOut(later) {
			apply(p.AbortTimedOut(id, later))
		}
		for _, mk := range p.TakeMarkers() {
			apply(p.Complete(mk, later))
		}
		for _, id := range p.Expired(later.Add(8 * 24 * time.Hour)) {
			apply(p.Expire(id, later.Add(8*24*time.Hour)))
		}
	})
}
