package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A single node is a quorum of one: it leads, its log end is at least the
// high watermark, it has no observers; other partitions are unknown.
func TestDescribeQuorumSingleNode(t *testing.T) {
	b, closeAll, err := NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Topics = []kmsg.DescribeQuorumRequestTopic{
		{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}, {Partition: 1}}},
		{Topic: "t", Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}},
	}
	resp := sendAs[*kmsg.DescribeQuorumResponse](t, b, "", req, 2)
	if resp.ErrorCode != 0 || len(resp.Topics) != 2 {
		t.Fatalf("%+v", resp)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || p.LeaderID != 1 || p.LeaderEpoch < 1 || p.HighWatermark < 1 || len(p.CurrentVoters) != 1 || len(p.Observers) != 0 {
		t.Fatalf("metadata partition: %+v", p)
	}
	if v := p.CurrentVoters[0]; v.ReplicaID != 1 || v.LogEndOffset < p.HighWatermark || v.LastFetchTimestamp <= 0 {
		t.Fatalf("the voter: %+v", v)
	}
	for _, bad := range []kmsg.DescribeQuorumResponseTopicPartition{resp.Topics[0].Partitions[1], resp.Topics[1].Partitions[0]} {
		if bad.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("not the metadata partition: %+v", bad)
		}
	}
}
