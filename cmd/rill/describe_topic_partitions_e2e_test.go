package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeTopicPartitions (KIP-966, what Kafka 4's kafka-topics.sh
// --describe sends) pages through every partition of a real broker under
// max.request.partition.size.limit, each once, in order.
func TestDescribeTopicPartitionsPaging(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "max.request.partition.size.limit=5")
	ctx := context.Background()
	cl := client(t, b.addr)
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, 7, 1, nil, "dtp-a", "dtp-b"); err != nil {
		t.Fatal(err)
	}
	var got []string
	var cursor *kmsg.DescribeTopicPartitionsRequestCursor
	pages := 0
	for {
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		req.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "dtp-b"}, {Topic: "dtp-a"}}
		req.ResponsePartitionLimit, req.Cursor = 100, cursor // the broker's limit, 5, wins
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, st := range resp.Topics {
			for _, sp := range st.Partitions {
				if st.ErrorCode != 0 || sp.ErrorCode != 0 || sp.LeaderID < 0 {
					t.Fatalf("%s/%d: topic error %d, partition %+v", *st.Topic, sp.Partition, st.ErrorCode, sp)
				}
				got = append(got, fmt.Sprintf("%s/%d", *st.Topic, sp.Partition))
			}
		}
		if resp.NextCursor == nil {
			break
		}
		cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	var want []string
	for _, topic := range []string{"dtp-a", "dtp-b"} {
		for p := range 7 {
			want = append(want, fmt.Sprintf("%s/%d", topic, p))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Fatalf("%d pages of %v, want 3 pages of %v", pages, got, want)
	}
	b.stop()
}
