package group

// Transactional offset commits (KIP-98, KIP-447): TxnOffsetCommit writes
// a group's offsets as part of a producer's transaction. They are pending
// (OffsetFetch does not show them) until the transaction ends: the
// transaction coordinator appends a COMMIT or ABORT marker to the offsets
// partition and calls CompleteTransaction, which makes the producer's
// pending offsets of every group of the partition committed, or drops
// them. A partition that loads replays the same: records of a
// transactional batch go to pending, a marker applies or drops them.
//
// Kafka's rule (OffsetMetadataManager.replayEndTransactionMarker): a
// committed transaction's offset replaces the partition's committed one
// only if its record is later in the log; a plain commit written after
// the transactional one, before the marker, wins. Committed.record is the
// record's position, in log order.

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/internal/kafka"
)

// TxnCommit is who commits transactional offsets: the producer of the
// transaction and, from TxnOffsetCommit v3 (KIP-447), the consumer group
// member it commits for (generation -1 and no member: unchecked).
type TxnCommit struct {
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
	Generation      int32
	MemberID        string
	InstanceID      *string
	// Verification goes with the records to the Log
	// (shard.Producer.Verification): the broker's proof that the
	// transaction coordinator has the group's partition in the
	// transaction.
	Verification any
}

// TxnOffsetCommit handles TxnOffsetCommit and answers one error per
// commit (nil for success). The member is checked as Kafka checks a
// transactional commit (ClassicGroup.validateOffsetCommit with
// isTransactional): a group with no members takes a generation of -1, a
// request naming a member or a generation must name the current ones
// (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID), one naming
// neither is taken whatever the group's state, and a rebalance does not
// refuse it. An unknown group is created for a generation of -1, else it
// answers ILLEGAL_GENERATION. Once the log acknowledged the records, the
// offsets are pending for the producer's transaction; whether the
// producer added the group to its transaction is the transaction
// coordinator's to check.
func (c *Coordinator) TxnOffsetCommit(groupID string, txn TxnCommit, commits []OffsetCommit) []error {
	errs := make([]error, len(commits))
	fill := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	switch {
	case groupID == "":
		return fill(kerr.InvalidGroupID)
	case txn.ProducerID < 0 || txn.ProducerEpoch < 0:
		// Written without a producer the records would be committed at
		// once when the partition is replayed.
		return fill(kerr.InvalidProducerIDMapping)
	}
	err := c.do(groupID, func(s *groups, now time.Time, w *change) {
		c.txnCommit(s, groupID, txn, commits, errs, now, w)
	})
	if err != nil {
		return fill(err)
	}
	return errs
}

func (c *Coordinator) txnCommit(s *groups, groupID string, txn TxnCommit, commits []OffsetCommit, errs []error, now time.Time, w *change) {
	fill := func(err error) {
		for i := range errs {
			errs[i] = err
		}
	}
	created := s.byID[groupID] == nil
	g := s.lookup(groupID, txn.Generation < 0, now)
	if g == nil {
		fill(kerr.IllegalGeneration)
		return
	}
	if err := g.checkTxnCommit(txn); err != nil {
		fill(err)
		return
	}
	producer := &shard.Producer{ID: txn.ProducerID, Epoch: txn.ProducerEpoch, Verification: txn.Verification}
	var recs []Record
	var ok []int
	for i, oc := range commits {
		if len(oc.Metadata) > c.cfg.MetadataMaxBytes {
			errs[i] = kerr.OffsetMetadataTooLarge
			continue
		}
		o := Committed{Offset: oc.Offset, LeaderEpoch: oc.LeaderEpoch, Metadata: oc.Metadata, CommitTime: now.UnixMilli()}
		recs = append(recs, Record{Key: offsetKey(g.id, oc.TopicPartition), Value: offsetValue(o), Producer: producer})
		ok = append(ok, i)
	}
	if len(recs) == 0 {
		if created {
			s.forgetCreated(g)
		}
		return
	}
	w.write(recs, func() {
		for _, i := range ok {
			oc := commits[i]
			s.txn.add(g.id, txn.ProducerID, oc.TopicPartition, Committed{
				Offset: oc.Offset, LeaderEpoch: oc.LeaderEpoch, Metadata: oc.Metadata, CommitTime: now.UnixMilli(), record: s.nextRecord(),
			})
		}
	}, func(err error) {
		for _, i := range ok {
			errs[i] = txnPersistError(err)
		}
		if created {
			s.forgetCreated(g)
		}
	})
}

// checkTxnCommit is Kafka's validateOffsetCommit for a transactional
// commit.
func (g *group) checkTxnCommit(txn TxnCommit) error {
	if g.state == Dead {
		return kerr.CoordinatorNotAvailable
	}
	if g.share != nil {
		return kerr.GroupIDNotFound // Kafka's ShareGroup.validateOffsetCommit
	}
	if g.consumer != nil {
		if txn.Generation < 0 && len(g.consumer.members) == 0 {
			return nil
		}
		err := g.consumer.checkCommit(txn.MemberID, txn.Generation)
		if errors.Is(err, kerr.StaleMemberEpoch) {
			return kerr.IllegalGeneration
		}
		return err
	}
	if txn.Generation < 0 && g.state == Empty {
		return nil
	}
	if txn.Generation < 0 && txn.MemberID == "" && txn.InstanceID == nil {
		// Versions before 3 name no member: taken in any state.
		return nil
	}
	if txn.InstanceID != nil {
		cur, ok := g.instances[*txn.InstanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID
		case cur != txn.MemberID:
			return kerr.FencedInstanceID
		}
	}
	if g.members[txn.MemberID] == nil {
		return kerr.UnknownMemberID
	}
	if txn.Generation != g.generation {
		return kerr.IllegalGeneration
	}
	return nil
}

// txnPersistError is the code a failed transactional write answers: the
// producer's fencing as the log reported it (an older epoch than the
// partition has seen), else persistError's.
func txnPersistError(err error) error {
	for _, fenced := range []*kerr.Error{kerr.InvalidProducerEpoch, kerr.ProducerFenced, kerr.InvalidProducerIDMapping, kerr.InvalidTxnState} {
		if errors.Is(err, fenced) {
			return fenced
		}
	}
	return persistError(err)
}

// CompleteTransaction applies the end of producerID's transaction to the
// offsets partition: commit makes its pending offsets of every group of
// the partition committed (each unless a later plain commit of the same
// partition was applied, as Kafka's rule has it), an abort drops them.
// The transaction coordinator calls it after it appended the marker to
// the partition (from any goroutine; not from an operation). It runs as
// an operation on the partition's shard once the writes in flight when it
// is called have completed (so offsets whose records precede the marker
// are pending by then), and returns once applied.
//
// The error is NOT_COORDINATOR when the partition has no shard here (the
// broker that loads it replays the marker: nothing is lost) and
// COORDINATOR_LOAD_IN_PROGRESS when its load failed (it is retried and
// replays the marker). A transaction with nothing pending here is a no-op.
func (c *Coordinator) CompleteTransaction(partition int32, producerID int64, commit bool) error {
	if c.cfg.Owns != nil && !c.cfg.Owns(partition) {
		return kerr.NotCoordinator
	}
	err := c.rt.DoAfterWrites(partition, func(s *groups, now time.Time) ([]shard.Record, func(error)) {
		ended := s.endTxn(producerID, commit, func(id string) map[kafka.TopicPartition]Committed {
			return s.lookup(id, true, now).offsets
		})
		for id := range ended {
			// A group that only the aborted transaction made is not
			// there when the partition is replayed either.
			if g := s.byID[id]; g != nil {
				s.forgetCreated(g)
			}
		}
		return nil, nil
	})
	return runtimeError(err)
}

// endTxn ends producerID's transaction: on commit, its pending offsets go
// to the committed offsets of their groups (offsetsOf, which creates a
// group that is not there) unless the committed one's record is later.
// Loads and CompleteTransaction both end transactions here. It returns
// the offsets that were pending, by group.
func (s *groups) endTxn(producerID int64, commit bool, offsetsOf func(group string) map[kafka.TopicPartition]Committed) map[string]map[kafka.TopicPartition]Committed {
	ended := s.txn.end(producerID)
	if !commit {
		return ended
	}
	for id, offsets := range ended {
		to := offsetsOf(id)
		for tp, o := range offsets {
			if cur, ok := to[tp]; !ok || o.record > cur.record {
				to[tp] = o
			}
		}
	}
	return ended
}

// nextRecord is the position of the next offset record applied live: the
// partition's records are applied in log order, after the load's.
func (s *groups) nextRecord() int64 {
	s.records++
	return s.records
}

// txnOffsets is the pending transactional offsets of one offsets
// partition: group → producer → partition → offset. Empty maps are
// removed, so a group is in it only while a transaction has offsets of
// it pending.
type txnOffsets map[string]map[int64]map[kafka.TopicPartition]Committed

func (t txnOffsets) add(group string, producerID int64, tp kafka.TopicPartition, o Committed) {
	byProducer := t[group]
	if byProducer == nil {
		byProducer = map[int64]map[kafka.TopicPartition]Committed{}
		t[group] = byProducer
	}
	offsets := byProducer[producerID]
	if offsets == nil {
		offsets = map[kafka.TopicPartition]Committed{}
		byProducer[producerID] = offsets
	}
	offsets[tp] = o
}

// open reports whether a transaction has offsets of group pending.
func (t txnOffsets) open(group string) bool { return len(t[group]) > 0 }

// pending reports whether a transaction has group's offset of tp pending.
func (t txnOffsets) pending(group string, tp kafka.TopicPartition) bool {
	for _, offsets := range t[group] {
		if _, ok := offsets[tp]; ok {
			return true
		}
	}
	return false
}

// partitions is the partitions of group with an offset pending.
func (t txnOffsets) partitions(group string) map[kafka.TopicPartition]bool {
	out := map[kafka.TopicPartition]bool{}
	for _, offsets := range t[group] {
		for tp := range offsets {
			out[tp] = true
		}
	}
	return out
}

// drop removes every transaction's pending offset of group's tp: its
// tombstone was applied (Kafka's replay of an offset tombstone).
func (t txnOffsets) drop(group string, tp kafka.TopicPartition) {
	for pid, offsets := range t[group] {
		delete(offsets, tp)
		if len(offsets) == 0 {
			delete(t[group], pid)
		}
	}
	if len(t[group]) == 0 {
		delete(t, group)
	}
}

// end removes and returns producerID's pending offsets, by group.
func (t txnOffsets) end(producerID int64) map[string]map[kafka.TopicPartition]Committed {
	out := map[string]map[kafka.TopicPartition]Committed{}
	for group, byProducer := range t {
		if offsets, ok := byProducer[producerID]; ok {
			out[group] = offsets
			delete(byProducer, producerID)
			if len(byProducer) == 0 {
				delete(t, group)
			}
		}
	}
	return out
}
