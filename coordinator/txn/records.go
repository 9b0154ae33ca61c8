package txn

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/internal/kafka"
)

// TopicName is the internal topic of the transaction coordinator.
const TopicName = "__transaction_state"

// keyVersion is TransactionLogKey's only version.
const keyVersion = 0

// ErrCorrupt marks a record of __transaction_state that does not decode.
var ErrCorrupt = errors.New("txn: corrupt __transaction_state record")

// PartitionFor is the __transaction_state partition that holds a
// transactional id, where Kafka would put it
// (TransactionStateManager.partitionFor, kafka.PartitionFor).
func PartitionFor(id string, partitions int32) int32 {
	return kafka.PartitionFor(id, partitions)
}

// Key is the record key of a transactional id (TransactionLogKey v0).
func Key(id string) []byte {
	k := kmsg.TxnMetadataKey{Version: keyVersion, TransactionalID: id}
	return k.AppendTo(nil)
}

// Value is the record value of m (TransactionLogValue): v1 when the
// finalized transaction.version is TV1 or more, with the KIP-890 tagged
// fields (previous and next producer id, client transaction version), v0
// before. Empty transactions have a null partition list, as Kafka writes
// them. A Dead m has no value (a tombstone: nil).
func Value(m *Metadata, logVersion Version) []byte {
	if m.State == Dead {
		return nil
	}
	v := kmsg.NewTxnMetadataValue()
	if logVersion >= TV1 {
		v.Version = 1
		v.PreviousProducerID = m.PreviousProducerID
		v.NextProducerID = m.NextProducerID
		v.ClientTransactionVersion = int16(m.ClientVersion)
	}
	v.ProducerID = m.ProducerID
	v.ProducerEpoch = m.ProducerEpoch
	v.TimeoutMillis = int32(m.Timeout / time.Millisecond)
	v.State = kmsg.TransactionState(m.State)
	v.LastUpdateTimestamp = toMillis(m.LastUpdate)
	v.StartTimestamp = toMillis(m.Start)
	if m.State != Empty {
		v.Topics = []kmsg.TxnMetadataValueTopic{}
		for _, tp := range m.Partitions {
			if n := len(v.Topics); n == 0 || v.Topics[n-1].Topic != tp.Topic {
				t := kmsg.NewTxnMetadataValueTopic()
				t.Topic = tp.Topic
				v.Topics = append(v.Topics, t)
			}
			t := &v.Topics[len(v.Topics)-1]
			t.Partitions = append(t.Partitions, tp.Partition)
		}
	}
	return v.AppendTo(nil)
}

// Records is the record a Transit writes.
func (p *Partition) Records(t *Transit) []shard.Record {
	return []shard.Record{{Key: Key(t.To.TransactionalID), Value: Value(&t.To, p.cfg.logVersion())}}
}

func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms < 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Decode reads one record: the transactional id and its metadata, nil for
// a tombstone. Errors wrap ErrCorrupt. As Kafka's readTxnRecordValue, the
// last producer epoch is not in the record (-1), and the partitions of an
// Empty transaction are ignored.
func Decode(rec shard.Record) (string, *Metadata, error) {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(rec.Key); err != nil {
		return "", nil, fmt.Errorf("%w: key: %v", ErrCorrupt, err)
	}
	if k.Version != keyVersion {
		return "", nil, fmt.Errorf("%w: key version %d", ErrCorrupt, k.Version)
	}
	if rec.Value == nil {
		return k.TransactionalID, nil, nil
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(rec.Value); err != nil {
		return "", nil, fmt.Errorf("%w: value of %q: %v", ErrCorrupt, k.TransactionalID, err)
	}
	if v.Version < 0 || v.Version > 1 {
		return "", nil, fmt.Errorf("%w: value version %d of %q", ErrCorrupt, v.Version, k.TransactionalID)
	}
	if v.State < 0 || v.State > 7 {
		return "", nil, fmt.Errorf("%w: state %d of %q", ErrCorrupt, v.State, k.TransactionalID)
	}
	// What no coordinator writes, and the state machine cannot move on
	// from (found by fuzz/FuzzTxnStateLoad).
	if v.ProducerID < 0 || v.ProducerEpoch < 0 || v.TimeoutMillis < 0 {
		return "", nil, fmt.Errorf("%w: producer %d epoch %d timeout %d of %q", ErrCorrupt, v.ProducerID, v.ProducerEpoch, v.TimeoutMillis, k.TransactionalID)
	}
	m := &Metadata{
		TransactionalID:    k.TransactionalID,
		ProducerID:         v.ProducerID,
		ProducerEpoch:      v.ProducerEpoch,
		PreviousProducerID: v.PreviousProducerID,
		NextProducerID:     v.NextProducerID,
		LastProducerEpoch:  NoProducerEpoch,
		Timeout:            time.Duration(v.TimeoutMillis) * time.Millisecond,
		State:              State(v.State),
		Start:              fromMillis(v.StartTimestamp),
		LastUpdate:         fromMillis(v.LastUpdateTimestamp),
		ClientVersion:      Version(v.ClientTransactionVersion),
	}
	if v.Version == 0 {
		m.PreviousProducerID, m.NextProducerID, m.ClientVersion = NoProducerID, NoProducerID, TV0
	}
	if m.State != Empty {
		var parts []kafka.TopicPartition
		for _, t := range v.Topics {
			for _, n := range t.Partitions {
				parts = append(parts, kafka.TopicPartition{Topic: t.Topic, Partition: n})
			}
		}
		m.Partitions, _ = union(nil, parts)
	}
	if m.State == PrepareEpochFence {
		// Kafka never writes it (the fence is written as PrepareAbort);
		// read one as the abort it was heading for.
		m.State = PrepareAbort
	}
	return k.TransactionalID, m, nil
}

// Replay applies one record while the partition loads (shard.State): the
// last record of an id is its state, a tombstone removes it. Records that
// do not decode are counted and skipped, and reported by Loaded.
func (p *Partition) Replay(rec shard.Record) {
	if rec.Producer != nil || rec.Control != nil {
		return // transactional records and markers: never the coordinator's own
	}
	id, m, err := Decode(rec)
	switch {
	case err != nil:
		p.bad++
	case m == nil || m.State == Dead:
		delete(p.txns, id)
	default:
		p.txns[id] = m
	}
}

// Loaded ends the load (shard.State): every transaction found preparing
// owes its markers again (Kafka's loadTransactionsForTxnTopicPartition
// re-sends them), so they go to the outbox.
func (p *Partition) Loaded(now time.Time) error {
	p.loaded = true
	p.lastAbortCheck, p.lastExpire = now, now
	p.outbox = append(p.outbox, p.Pending()...)
	if p.bad > 0 {
		return fmt.Errorf("%w: skipped %d records of partition %d", ErrCorrupt, p.bad, p.number)
	}
	return nil
}

// Unloaded is called once the shard stopped (shard.State). Requests are
// answered by their operations; nothing is parked here.
func (p *Partition) Unloaded() {}

// Tick returns the timed operations due at now (shard.State): every
// transaction.abort.timed.out.transaction.cleanup.interval.ms an abort of
// each timed-out transaction, every
// transaction.remove.expired.transaction.cleanup.interval.ms a removal of
// each expired transactional id. Each writes its transit and applies it
// on acknowledgement (a failed write is tried at the next round); the
// markers of an abort go to the outbox (TakeMarkers).
func (p *Partition) Tick(now time.Time) []shard.Timer[*Partition] {
	var out []shard.Timer[*Partition]
	if now.Sub(p.lastAbortCheck) >= p.cfg.AbortInterval {
		p.lastAbortCheck = now
		for _, id := range p.TimedOut(now) {
			id := id
			out = append(out, shard.Timer[*Partition]{Key: id, Op: func(p *Partition, now time.Time) ([]shard.Record, func(error)) {
				return p.Op(p.AbortTimedOut(id, now), nil)
			}})
		}
	}
	if now.Sub(p.lastExpire) >= p.cfg.ExpireInterval {
		p.lastExpire = now
		for _, id := range p.Expired(now) {
			id := id
			out = append(out, shard.Timer[*Partition]{Key: id, Op: func(p *Partition, now time.Time) ([]shard.Record, func(error)) {
				return p.Op(p.Expire(id, now), nil)
			}})
		}
	}
	return out
}

// Op turns a decision into a shard operation's result: the records to
// append and a completion that applies the transit once acknowledged and
// then calls answer (when not nil) with the answer, or with the write's
// error (an Answer with only Err set). A decision with no write answers
// at once.
func (p *Partition) Op(d Decision, answer func(Answer)) ([]shard.Record, func(error)) {
	if d.Write == nil {
		if answer != nil {
			answer(d.Answer)
		}
		return nil, nil
	}
	t := d.Write
	return p.Records(t), func(err error) {
		if err == nil {
			p.Apply(t)
		}
		if answer == nil {
			return
		}
		if err != nil {
			answer(Answer{Err: err, ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch})
			return
		}
		answer(d.Answer)
	}
}

var _ shard.State[*Partition] = (*Partition)(nil)

// sortedPartitions is for tests and describers.
func sortedPartitions(m map[kafka.TopicPartition]bool) []kafka.TopicPartition {
	out := make([]kafka.TopicPartition, 0, len(m))
	for tp := range m {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool { return lessTP(out[i], out[j]) })
	return out
}
