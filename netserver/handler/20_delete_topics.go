package handler

// DeleteTopics (key 20), v0-v6.
//
// Topics by name (v0-v5, and v6 entries with a name) or by topic ID (v6).
// The catalog entry goes first, then the partitions' logs (renamed to
// *-delete and removed).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/replication/metadata"
)

func (b *Broker) deleteTopics(req *kmsg.DeleteTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	if req.Version < 6 {
		for _, n := range req.TopicNames {
			targets = append(targets, target{name: kmsg.StringPtr(n)})
		}
	} else {
		for _, t := range req.Topics {
			targets = append(targets, target{name: t.Topic, id: t.TopicID})
		}
	}
	for _, tg := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = tg.name, tg.id
		if e := b.refuseInCluster(); e != nil {
			st.ErrorCode, st.ErrorMessage = e.Code, kmsg.StringPtr("topic deletion does not go through the cluster controller yet")
			resp.Topics = append(resp.Topics, st)
			continue
		}
		var t metadata.Topic
		var ok bool
		if tg.name != nil {
			t, ok = b.catalog.Get(*tg.name)
			if !ok {
				st.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
		} else {
			t, ok = b.catalog.ByID(tg.id)
			if !ok {
				st.ErrorCode = kerr.UnknownTopicID.Code
			}
		}
		if ok {
			st.Topic, st.TopicID = kmsg.StringPtr(t.Name), t.ID
			if err := b.deleteTopic(t); err != nil {
				st.ErrorCode = toKerr(err).Code
				st.ErrorMessage = kmsg.StringPtr(err.Error())
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (b *Broker) deleteTopic(t metadata.Topic) error {
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	if err := b.catalog.Delete(t.Name); err != nil {
		return err
	}
	var first error
	for p := int32(0); p < t.Partitions; p++ {
		if err := b.engine.DeletePartition(engine.TopicPartition{Topic: t.Name, Partition: p}); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		b.logf("delete topic %s: %v", t.Name, first)
	}
	return nil
}
