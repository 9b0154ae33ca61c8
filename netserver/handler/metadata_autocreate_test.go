package handler

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/replication/metadata"
)

// Metadata auto-creates as Kafka does: the first answer is
// LEADER_NOT_AVAILABLE with no partitions, the topic exists soon after
// with the broker's default partition count, and the next answer has it.
// v0-v3 requests, which have no AllowAutoTopicCreation field, create too;
// v4+ only when they allow it.
func TestMetadataAutoCreatesAsynchronously(t *testing.T) {
	b, closeAll, err := NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exists := func(name string) {
		t.Helper()
		if err := b.waitTopic(ctx, name, func(_ metadata.Topic, ok bool) bool { return ok }); err != nil {
			t.Fatalf("%s was not created", name)
		}
	}
	for _, v := range []int16{1, 4, 12} {
		name := "auto-" + string(rune('a'+v))
		req := metadataRequest(name)
		req.AllowAutoTopicCreation = true
		resp := sendAs[*kmsg.MetadataResponse](t, b, "", req, v)
		st, _ := metadataTopic(resp, name)
		if st.ErrorCode != kerr.LeaderNotAvailable.Code || len(st.Partitions) != 0 {
			t.Fatalf("v%d first answer: %v with %d partitions, want LEADER_NOT_AVAILABLE and none", v, kerr.ErrorForCode(st.ErrorCode), len(st.Partitions))
		}
		exists(name)
		resp = sendAs[*kmsg.MetadataResponse](t, b, "", req, v)
		if st, _ := metadataTopic(resp, name); st.ErrorCode != 0 || len(st.Partitions) != int(b.cfg.NumPartitions) {
			t.Fatalf("v%d after creation: %v with %d partitions", v, kerr.ErrorForCode(st.ErrorCode), len(st.Partitions))
		}
	}
	req := metadataRequest("not-allowed")
	req.AllowAutoTopicCreation = false
	if st, _ := metadataTopic(sendAs[*kmsg.MetadataResponse](t, b, "", req, 12), "not-allowed"); st.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("v12 without AllowAutoTopicCreation: %v", kerr.ErrorForCode(st.ErrorCode))
	}
	if _, ok := b.topic("not-allowed"); ok {
		t.Fatal("created without AllowAutoTopicCreation")
	}
}

// A topic deleted and asked for at once is not in the answer as a new
// one-partition topic: the request that follows the deletion gets
// LEADER_NOT_AVAILABLE and no partitions (a client listing the partitions
// of topics it just deleted sees none).
func TestMetadataAfterDeletionDoesNotAnswerANewTopic(t *testing.T) {
	b, closeAll, err := NewInMemory(map[string]int32{"gone-1": 3, "gone-2": 3})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TimeoutMillis = 10000
	for _, name := range []string{"gone-1", "gone-2"} {
		dt := kmsg.NewDeleteTopicsRequestTopic()
		dt.Topic = kmsg.StringPtr(name)
		del.Topics = append(del.Topics, dt)
		del.TopicNames = append(del.TopicNames, name)
	}
	for _, dt := range sendAs[*kmsg.DeleteTopicsResponse](t, b, "", del, 6).Topics {
		if dt.ErrorCode != 0 {
			t.Fatalf("delete %v: %v", dt.Topic, kerr.ErrorForCode(dt.ErrorCode))
		}
	}
	resp := sendAs[*kmsg.MetadataResponse](t, b, "", metadataRequest("gone-1", "gone-2"), 1)
	for _, st := range resp.Topics {
		if len(st.Partitions) != 0 || st.ErrorCode == 0 {
			t.Fatalf("%s right after its deletion: %v with %d partitions", *st.Topic, kerr.ErrorForCode(st.ErrorCode), len(st.Partitions))
		}
	}
}
