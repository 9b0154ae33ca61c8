package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func listOffsetsRequest(topic string, partitionTimestamps ...[2]int64) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID, req.TimeoutMillis = -1, 1000
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, pt := range partitionTimestamps {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = int32(pt[0]), pt[1]
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// ListOffsets v9-v11 add the tiered-storage timestamps: without tiered
// storage -5 (latest tiered) and -6 (earliest pending upload) answer
// offset, timestamp and leader epoch -1, as Kafka without remote storage.
// A special timestamp below its version, or an unknown negative one, is
// UNSUPPORTED_VERSION; a partition listed twice is answered once with
// INVALID_REQUEST.
func TestListOffsetsTieredTimestamps(t *testing.T) {
	requireServed(t, 2, 11)
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 2})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	for range 2 {
		if resp := sendAs[*kmsg.ProduceResponse](t, b, superUser, produceRequest(t, "t", 0, nil), 12); resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("produce: %+v", resp)
		}
	}
	type answer struct {
		code              int16
		offset, timestamp int64
		epoch             int32
	}
	unsupported := answer{kerr.UnsupportedVersion.Code, -1, -1, -1}
	none := answer{0, -1, -1, -1}
	for _, c := range []struct {
		version   int16
		timestamp int64
		want      answer
	}{
		{11, -1, answer{0, 2, -1, 0}},
		{11, -2, answer{0, 0, -1, 0}},
		{11, -5, none},
		{11, -6, none},
		{10, -5, none},
		{9, -5, none},
		{10, -6, unsupported},
		{8, -5, unsupported},
		{8, -4, answer{0, 0, -1, 0}},
		{7, -4, unsupported},
		{6, -3, unsupported},
		{11, -7, unsupported},
		{11, -100, unsupported},
	} {
		resp := sendAs[*kmsg.ListOffsetsResponse](t, b, superUser, listOffsetsRequest("t", [2]int64{0, c.timestamp}), c.version)
		sp := resp.Topics[0].Partitions[0]
		got := answer{sp.ErrorCode, sp.Offset, sp.Timestamp, sp.LeaderEpoch}
		if c.version < 4 {
			got.epoch = c.want.epoch // no leader epoch before v4
		}
		if got != c.want {
			t.Errorf("v%d timestamp %d: %+v, want %+v", c.version, c.timestamp, got, c.want)
		}
	}

	// Partition 0 twice, partition 1 once: one INVALID_REQUEST answer
	// for partition 0, partition 1 answered as usual.
	resp := sendAs[*kmsg.ListOffsetsResponse](t, b, superUser, listOffsetsRequest("t", [2]int64{0, -1}, [2]int64{1, -1}, [2]int64{0, -2}), 11)
	got := map[int32][]int16{}
	for _, sp := range resp.Topics[0].Partitions {
		got[sp.Partition] = append(got[sp.Partition], sp.ErrorCode)
	}
	if len(got[0]) != 1 || got[0][0] != kerr.InvalidRequest.Code || len(got[1]) != 1 || got[1][0] != 0 {
		t.Errorf("duplicated partition 0: answered %v, want 0: [INVALID_REQUEST] 1: [0]", got)
	}
}
