package handler

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describePages pages through DescribeTopicPartitions as kafka-topics.sh
// does, limit partitions a page, and returns "topic/partition" of every
// answered partition (and "topic:ERROR" of error topics) page by page.
func describePages(t *testing.T, b *Broker, topics []string, limit int32) [][]string {
	t.Helper()
	var pages [][]string
	var cursor *kmsg.DescribeTopicPartitionsRequestCursor
	for range 20 {
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		for _, name := range topics {
			req.Topics = append(req.Topics, kmsg.DescribeTopicPartitionsRequestTopic{Topic: name})
		}
		req.ResponsePartitionLimit, req.Cursor = limit, cursor
		resp := sendAs[*kmsg.DescribeTopicPartitionsResponse](t, b, "", req, 0)
		var page []string
		for _, st := range resp.Topics {
			if st.ErrorCode != 0 {
				page = append(page, fmt.Sprintf("%s:%s", *st.Topic, kerr.TypedErrorForCode(st.ErrorCode).Message))
				continue
			}
			for _, sp := range st.Partitions {
				if sp.ErrorCode != 0 || sp.LeaderID != 1 || len(sp.Replicas) != 1 || len(sp.ISR) != 1 {
					t.Fatalf("%s/%d: %+v", *st.Topic, sp.Partition, sp)
				}
				page = append(page, fmt.Sprintf("%s/%d", *st.Topic, sp.Partition))
			}
		}
		pages = append(pages, page)
		if resp.NextCursor == nil {
			return pages
		}
		cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	t.Fatal("no end after 20 pages")
	return nil
}

func TestDescribeTopicPartitionsPages(t *testing.T) {
	b, closeAll, err := NewInMemory(map[string]int32{"a": 3, "b": 2, "c": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	for _, c := range []struct {
		topics []string
		limit  int32
		want   string
	}{
		{nil, 0, "[[a/0 a/1 a/2 b/0 b/1 c/0]]"},
		{nil, 4, "[[a/0 a/1 a/2 b/0] [b/1 c/0]]"},
		{nil, 3, "[[a/0 a/1 a/2] [b/0 b/1 c/0]]"},
		{nil, 1, "[[a/0] [a/1] [a/2] [b/0] [b/1] [c/0]]"},
		{[]string{"c", "missing", "a", "c"}, 2, "[[a/0 a/1] [a/2 c/0 missing:UNKNOWN_TOPIC_OR_PARTITION]]"},
	} {
		if got := fmt.Sprint(describePages(t, b, c.topics, c.limit)); got != c.want {
			t.Errorf("topics %v limit %d: pages %s, want %s", c.topics, c.limit, got, c.want)
		}
	}

	// A cursor naming a topic outside the list fails the request.
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "a"}, {Topic: "c"}}
	req.Cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "b"}
	resp := sendAs[*kmsg.DescribeTopicPartitionsResponse](t, b, "", req, 0)
	if len(resp.Topics) != 2 || resp.Topics[0].ErrorCode != kerr.InvalidRequest.Code || resp.Topics[1].ErrorCode != kerr.InvalidRequest.Code || len(resp.Topics[0].Partitions) != 0 {
		t.Fatalf("cursor outside the topic list: %+v", resp.Topics)
	}
	// The topic id and internal flag are those of Metadata.
	req = kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "b"}}
	resp = sendAs[*kmsg.DescribeTopicPartitionsResponse](t, b, "", req, 0)
	if bt, _ := b.topic("b"); resp.Topics[0].TopicID != bt.ID || resp.Topics[0].IsInternal {
		t.Fatalf("b: id %x internal %v, want %x", resp.Topics[0].TopicID, resp.Topics[0].IsInternal, bt.ID)
	}
}
