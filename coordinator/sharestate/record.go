package sharestate

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/shard"
)

// keyVersion keys a share partition's record in __share_group_state: a
// kmsg.GroupMetadataKey of a version Kafka does not use (its ShareSnapshot
// and ShareUpdate keys are versions 0 and 1 of their own schema), whose
// Group is the coordinator key string (Key.String).
const keyVersion = 110

// ErrCorrupt marks a record of __share_group_state that does not decode.
var ErrCorrupt = errors.New("sharestate: corrupt __share_group_state record")

// recordValue is a key's whole state as the record's JSON value.
type recordValue struct {
	StateEpoch            int32
	LeaderEpoch           int32
	StartOffset           int64
	DeliveryCompleteCount int32
	MaxLeaderEpoch        int32
	MaxStateEpoch         int32
	// Batches are [first, last, state, delivery count] each, compactly.
	Batches [][4]int64 `json:",omitempty"`
}

// recordKey is the record key of k.
func recordKey(k Key) []byte {
	rk := kmsg.GroupMetadataKey{Version: keyVersion, Group: k.String()}
	return rk.AppendTo(nil)
}

// encode is the record of k's entry e (nil: a tombstone).
func encode(k Key, e *entry) shard.Record {
	rec := shard.Record{Key: recordKey(k)}
	if e == nil {
		return rec
	}
	v := recordValue{StateEpoch: e.StateEpoch, LeaderEpoch: e.LeaderEpoch, StartOffset: e.StartOffset,
		DeliveryCompleteCount: e.DeliveryCompleteCount, MaxLeaderEpoch: e.MaxLeaderEpoch, MaxStateEpoch: e.MaxStateEpoch}
	for _, b := range e.Batches {
		v.Batches = append(v.Batches, [4]int64{b.First, b.Last, int64(b.State), int64(b.DeliveryCount)})
	}
	val, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sharestate: encoding a record: %v", err)) // plain data: cannot fail
	}
	rec.Value = val
	return rec
}

// decode reads one record: its key and entry, nil for a tombstone.
// Errors wrap ErrCorrupt.
func decode(rec shard.Record) (Key, *entry, error) {
	var rk kmsg.GroupMetadataKey
	if err := rk.ReadFrom(rec.Key); err != nil {
		return Key{}, nil, fmt.Errorf("%w: key: %v", ErrCorrupt, err)
	}
	if rk.Version != keyVersion {
		return Key{}, nil, fmt.Errorf("%w: key version %d", ErrCorrupt, rk.Version)
	}
	k, err := parseRecordKey(rk.Group)
	if err != nil {
		return Key{}, nil, fmt.Errorf("%w: key %q: %v", ErrCorrupt, rk.Group, err)
	}
	if rec.Value == nil {
		return k, nil, nil
	}
	var v recordValue
	if err := json.Unmarshal(rec.Value, &v); err != nil {
		return Key{}, nil, fmt.Errorf("%w: value of %s: %v", ErrCorrupt, k, err)
	}
	e := &entry{State: State{StateEpoch: v.StateEpoch, LeaderEpoch: v.LeaderEpoch, StartOffset: v.StartOffset},
		DeliveryCompleteCount: v.DeliveryCompleteCount, MaxLeaderEpoch: v.MaxLeaderEpoch, MaxStateEpoch: v.MaxStateEpoch}
	for _, b := range v.Batches {
		if b[1] < b[0] || int64(int8(b[2])) != b[2] || int64(int16(b[3])) != b[3] {
			return Key{}, nil, fmt.Errorf("%w: batch %v of %s", ErrCorrupt, b, k)
		}
		e.Batches = append(e.Batches, Batch{First: b[0], Last: b[1], State: int8(b[2]), DeliveryCount: int16(b[3])})
	}
	return k, e, nil
}
