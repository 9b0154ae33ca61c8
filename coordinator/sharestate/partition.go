package sharestate

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/shard"
)

// Partition is the state of one __share_group_state partition: every
// share partition whose key lives there. It is the shard.State of its
// shard; its methods run on the shard's goroutine.
type Partition struct {
	number int32
	keys   map[Key]*entry
	// bad counts records that did not decode during the load.
	bad int
	// topicPartitions, when set, says whether a topic partition exists.
	topicPartitions func(id [16]byte, partition int32) bool
}

// NewPartition returns the empty state of partition number;
// topicPartitions (nil: not checked) says whether a topic partition
// exists.
func NewPartition(number int32, topicPartitions func(id [16]byte, partition int32) bool) *Partition {
	return &Partition{number: number, keys: map[Key]*entry{}, topicPartitions: topicPartitions}
}

// Get returns k's state and delivery-complete count (false: none).
func (p *Partition) Get(k Key) (State, int32, bool) {
	e := p.keys[k]
	if e == nil {
		return State{}, 0, false
	}
	c := e.clone()
	return c.State, c.DeliveryCompleteCount, true
}

// Len is the number of share partitions held.
func (p *Partition) Len() int { return len(p.keys) }

// change is a decision's write: the key's new entry (nil: delete).
type change struct {
	key Key
	to  *entry
}

// decision is an operation's outcome: the change to write (nil: none)
// and the error to answer (nil: success).
type decision struct {
	write *change
	err   error
}

// check is the validation every operation starts with.
func (p *Partition) check(k Key) error {
	if k.Partition < 0 {
		return kerr.InvalidRequest
	}
	if k.Group == "" {
		return kerr.InvalidRequest
	}
	return nil
}

func (p *Partition) checkTopic(k Key) error {
	if p.topicPartitions != nil && !p.topicPartitions(k.TopicID, k.Partition) {
		return kerr.UnknownTopicOrPartition
	}
	return nil
}

// decideInitialize is Kafka's initializeState.
func (p *Partition) decideInitialize(k Key, stateEpoch int32, startOffset int64) decision {
	if err := p.check(k); err != nil {
		return decision{err: err}
	}
	cur := p.keys[k]
	if stateEpoch != -1 && cur != nil && cur.MaxStateEpoch > stateEpoch {
		return decision{err: kerr.FencedStateEpoch}
	}
	if err := p.checkTopic(k); err != nil {
		return decision{err: err}
	}
	to := &entry{State: State{StateEpoch: stateEpoch, LeaderEpoch: 0, StartOffset: startOffset}, DeliveryCompleteCount: 0,
		MaxLeaderEpoch: 0, MaxStateEpoch: stateEpoch}
	if startOffset == -1 {
		// Consumption has not started: lag cannot be told yet.
		to.DeliveryCompleteCount = -1
	}
	if cur != nil {
		to.MaxLeaderEpoch = max(cur.MaxLeaderEpoch, 0)
		to.MaxStateEpoch = max(cur.MaxStateEpoch, stateEpoch)
	}
	return decision{write: &change{key: k, to: to}}
}

// decideRead is Kafka's readStateAndMaybeUpdateLeaderEpoch: it answers
// the stored state and, for a higher leader epoch, writes it first.
func (p *Partition) decideRead(k Key, leaderEpoch int32) (State, decision) {
	if err := p.check(k); err != nil {
		return State{}, decision{err: err}
	}
	cur := p.keys[k]
	if cur == nil {
		// Kafka 4.2: INVALID_REQUEST, "read on uninitialized share partition".
		return State{}, decision{err: kerr.InvalidRequest}
	}
	if cur.MaxLeaderEpoch > leaderEpoch {
		return State{}, decision{err: kerr.FencedLeaderEpoch}
	}
	if err := p.checkTopic(k); err != nil {
		return State{}, decision{err: err}
	}
	st := cur.clone().State
	if leaderEpoch == -1 || cur.MaxLeaderEpoch == leaderEpoch {
		return st, decision{}
	}
	to := cur.clone()
	to.LeaderEpoch = leaderEpoch
	to.MaxLeaderEpoch = max(to.MaxLeaderEpoch, leaderEpoch)
	st.LeaderEpoch = leaderEpoch
	return st, decision{write: &change{key: k, to: to}}
}

// decideWrite is Kafka's writeState: fences, then merges.
func (p *Partition) decideWrite(k Key, leaderEpoch, stateEpoch int32, startOffset int64, deliveryCompleteCount int32, batches []Batch) decision {
	if err := p.check(k); err != nil {
		return decision{err: err}
	}
	cur := p.keys[k]
	if cur == nil {
		// Kafka 4.2: INVALID_REQUEST, "write on uninitialized share partition".
		return decision{err: kerr.InvalidRequest}
	}
	if leaderEpoch != -1 && cur.MaxLeaderEpoch > leaderEpoch {
		return decision{err: kerr.FencedLeaderEpoch}
	}
	if stateEpoch != -1 && cur.MaxStateEpoch > stateEpoch {
		return decision{err: kerr.FencedStateEpoch}
	}
	if err := p.checkTopic(k); err != nil {
		return decision{err: err}
	}
	to := cur.clone()
	if startOffset != -1 {
		to.StartOffset = startOffset
	}
	to.Batches = Merge(cur.Batches, batches, to.StartOffset)
	to.DeliveryCompleteCount = deliveryCompleteCount
	return decision{write: &change{key: k, to: to}}
}

// decideDelete is Kafka's deleteState.
func (p *Partition) decideDelete(k Key) decision {
	if err := p.check(k); err != nil {
		return decision{err: err}
	}
	if err := p.checkTopic(k); err != nil {
		return decision{err: err}
	}
	if p.keys[k] == nil {
		return decision{}
	}
	return decision{write: &change{key: k}}
}

// summary is Kafka's readStateSummary.
func (p *Partition) summary(k Key) (Summary, error) {
	if err := p.check(k); err != nil {
		return Summary{}, err
	}
	if err := p.checkTopic(k); err != nil {
		return Summary{}, err
	}
	cur := p.keys[k]
	if cur == nil {
		return Uninitialized, nil
	}
	return Summary{StateEpoch: cur.StateEpoch, LeaderEpoch: cur.LeaderEpoch, StartOffset: cur.StartOffset,
		DeliveryCompleteCount: cur.DeliveryCompleteCount}, nil
}

// op turns a decision into a shard operation's result: the record to
// append and a completion that applies the change once acknowledged and
// reports the outcome to answer.
func (p *Partition) op(d decision, answer func(error)) ([]shard.Record, func(error)) {
	if d.write == nil {
		answer(d.err)
		return nil, nil
	}
	c := d.write
	return []shard.Record{encode(c.key, c.to)}, func(err error) {
		if err != nil {
			answer(&appendError{err})
			return
		}
		p.apply(c)
		answer(nil)
	}
}

// appendError is a failed append of a decision's record, apart from the
// decisions' own errors.
type appendError struct{ err error }

func (e *appendError) Error() string { return "sharestate: append: " + e.err.Error() }
func (e *appendError) Unwrap() error { return e.err }

// apply makes an acknowledged change the state.
func (p *Partition) apply(c *change) {
	if c.to == nil {
		delete(p.keys, c.key)
		return
	}
	p.keys[c.key] = c.to
}

// Replay applies one record while the partition loads (shard.State).
func (p *Partition) Replay(rec shard.Record) {
	if rec.Producer != nil || rec.Control != nil {
		return // never the share coordinator's own
	}
	k, e, err := decode(rec)
	if err != nil {
		p.bad++
		return
	}
	p.apply(&change{key: k, to: e})
}

// Loaded ends the load (shard.State), reporting records that did not
// decode.
func (p *Partition) Loaded(time.Time) error {
	if p.bad > 0 {
		return fmt.Errorf("%w: skipped %d records of partition %d", ErrCorrupt, p.bad, p.number)
	}
	return nil
}

// Tick has no timers: Kafka's cold-partition snapshots and record pruning
// have no counterpart, each record being a whole snapshot (shard.State).
func (p *Partition) Tick(time.Time) []shard.Timer[*Partition] { return nil }

// Unloaded is called once the shard stopped (shard.State).
func (p *Partition) Unloaded() {}

var _ shard.State[*Partition] = (*Partition)(nil)
