package handler

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

// WriteTxnMarkers v2 (KIP-1228): a marker of transaction version 2 must
// carry an epoch above the producer's in the partition's log; at the
// producer's epoch it is refused while a transaction is open (a late
// marker of the previous transaction) and answered as written, without
// writing, once none is (the coordinator sending it again). v0-1
// markers, and v2 markers of TV0/TV1, keep the legacy rule: not below the
// producer's epoch.
func TestWriteTxnMarkersV2(t *testing.T) {
	requireServed(t, 27, 2)
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	rep, code := b.replicaOf("t", 0)
	if code != nil {
		t.Fatal(code)
	}
	l := rep.Log()
	// data appends a transactional batch of pid at epoch, as a producer
	// in a transaction does.
	seq := map[int64]int32{}
	data := func(pid int64, epoch int16) int64 {
		t.Helper()
		batch, err := format.BuildBatch(format.BatchHeader{Attributes: format.AttrTransactional, ProducerID: pid, ProducerEpoch: epoch,
			BaseSequence: seq[pid], BaseTimestamp: time.Now().UnixMilli(), MaxTimestamp: time.Now().UnixMilli()},
			[]format.Record{{Value: []byte("v")}})
		if err != nil {
			t.Fatal(err)
		}
		res, wait, err := rep.Append(batch, true, 5*time.Second)
		if err == nil {
			err = <-wait
		}
		if err != nil {
			t.Fatal(err)
		}
		seq[pid]++
		return res.BaseOffset
	}
	type marker struct {
		pid   int64
		epoch int16
		tv    int8
	}
	// send sends one request of the markers (ABORT, coordinator epoch 0)
	// for t-0 and returns each marker's code.
	send := func(version int16, ms ...marker) []int16 {
		t.Helper()
		req := kmsg.NewPtrWriteTxnMarkersRequest()
		for _, m := range ms {
			rm := kmsg.NewWriteTxnMarkersRequestMarker()
			rm.ProducerID, rm.ProducerEpoch, rm.TransactionVersion = m.pid, m.epoch, m.tv
			rm.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "t", Partitions: []int32{0}}}
			req.Markers = append(req.Markers, rm)
		}
		resp := handle[*kmsg.WriteTxnMarkersResponse](t, b, req, version)
		if resp.Version != version || len(resp.Markers) != len(ms) {
			t.Fatalf("v%d answer %+v", version, resp)
		}
		codes := make([]int16, len(ms))
		for i, rm := range resp.Markers {
			if rm.ProducerID != ms[i].pid || len(rm.Topics) != 1 || len(rm.Topics[0].Partitions) != 1 {
				t.Fatalf("v%d answer %+v", version, rm)
			}
			codes[i] = rm.Topics[0].Partitions[0].ErrorCode
		}
		return codes
	}
	expect := func(what string, got []int16, want ...int16) {
		t.Helper()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: marker %d answered %v, want %v", what, i, kerr.ErrorForCode(got[i]), kerr.ErrorForCode(want[i]))
			}
		}
	}
	invalid := kerr.InvalidProducerEpoch.Code
	lso := func() int64 {
		hw, err := rep.HighWatermark()
		if err != nil {
			t.Fatal(err)
		}
		return l.LastStableOffset(hw)
	}

	first := data(7, 3)
	leo := l.LogEndOffset()
	expect("TV2 marker at the transaction's epoch", send(2, marker{7, 3, 2}), invalid)
	expect("TV2 marker below it", send(2, marker{7, 2, 2}), invalid)
	if l.LogEndOffset() != leo || lso() != first {
		t.Fatalf("refused markers: LEO %d (was %d), LSO %d (open since %d)", l.LogEndOffset(), leo, lso(), first)
	}
	// The bumped epoch ends it.
	expect("TV2 marker at the bumped epoch", send(2, marker{7, 4, 2}), 0)
	if l.LogEndOffset() != leo+1 || lso() != leo+1 {
		t.Fatalf("after the marker: LEO %d LSO %d, want %d", l.LogEndOffset(), lso(), leo+1)
	}
	// Sent again (a lost answer): written once.
	expect("TV2 marker sent again", send(2, marker{7, 4, 2}), 0)
	if l.LogEndOffset() != leo+1 {
		t.Fatalf("the resent marker was written: LEO %d, want %d", l.LogEndOffset(), leo+1)
	}

	// The next transaction runs at epoch 4: a late TV2 marker at 4 (of
	// the ended transaction) is refused, while in the same request a
	// TV1 marker of another producer at its transaction's epoch, and
	// a TV0 one, are written.
	next := data(7, 4)
	data(8, 1)
	data(9, 0)
	expect("mixed versions", send(2, marker{7, 4, 2}, marker{8, 1, 1}, marker{9, 0, 0}), invalid, 0, 0)
	if got := lso(); got != next {
		t.Fatalf("LSO %d, want %d: the late marker ended the transaction", got, next)
	}
	// v1 has no transaction version: the legacy rule, whatever the
	// marker struct holds.
	expect("v1 marker at the epoch", send(1, marker{7, 4, 2}), 0)
	if got := lso(); got != l.LogEndOffset() {
		t.Fatalf("LSO %d after the v1 marker, want %d", got, l.LogEndOffset())
	}
	expect("v1 marker below it", send(1, marker{7, 3, 0}), invalid)
	// A producer the partition does not know: any epoch.
	expect("unknown producer", send(2, marker{99, 0, 2}), 0)
}
