package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

// Produce v13 names topics by id (KIP-516): a known id is appended to and
// answered with its id, an unknown one is UNKNOWN_TOPIC_ID (before
// authorization: there is no name to check), and a known id is
// authorized by its topic's name.
func TestProduceByTopicID(t *testing.T) {
	requireServed(t, 0, 13)
	b, acls := authzBroker(t, authz.Config{})
	acls.allow(alice, authz.OpWrite, authz.ResourceTopic, "t")
	byID := func(topic string, id [16]byte) *kmsg.ProduceRequest {
		req := produceRequest(t, topic, 0, nil)
		req.Topics[0].Topic, req.Topics[0].TopicID = "", id
		return req
	}
	tID, otherID := mustTopic(t, b, "t").ID, mustTopic(t, b, "other").ID
	unknown := [16]byte{0xde, 0xad}

	for i, c := range []struct {
		principal string
		id        [16]byte
		code      int16
		offset    int64
	}{
		{alice, tID, 0, 0},
		{alice, tID, 0, 1},
		{alice, unknown, kerr.UnknownTopicID.Code, -1},
		{alice, otherID, kerr.TopicAuthorizationFailed.Code, -1},
		{bob, unknown, kerr.UnknownTopicID.Code, -1},
		{superUser, otherID, 0, 0},
	} {
		resp := sendAs[*kmsg.ProduceResponse](t, b, c.principal, byID("", c.id), 13)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("case %d: answer %+v", i, resp)
		}
		st, sp := resp.Topics[0], resp.Topics[0].Partitions[0]
		if st.TopicID != c.id {
			t.Errorf("case %d: answered topic id %x, want %x", i, st.TopicID, c.id)
		}
		if sp.ErrorCode != c.code || sp.BaseOffset != c.offset {
			t.Errorf("case %d (%s, id %x): code %d offset %d, want code %d offset %d", i, c.principal, c.id[:2], sp.ErrorCode, sp.BaseOffset, c.code, c.offset)
		}
	}

	// Below v13 the name is what counts: a v12 request naming "t" with
	// no id is appended after the two v13 batches.
	resp := sendAs[*kmsg.ProduceResponse](t, b, alice, produceRequest(t, "t", 0, nil), 12)
	if sp := resp.Topics[0].Partitions[0]; sp.ErrorCode != 0 || sp.BaseOffset != 2 {
		t.Errorf("v12 by name: code %d offset %d, want 0 and 2", sp.ErrorCode, sp.BaseOffset)
	}
	// The v13 records are where a fetch by name finds them.
	fr := sendAs[*FetchResponse](t, b, superUser, fetchRequest("t", 0), 12)
	if hw := fr.Topics[0].Partitions[0].HighWatermark; hw != 3 {
		t.Errorf("high watermark %d after three appends, want 3", hw)
	}
}
