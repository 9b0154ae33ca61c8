package handler

// DeleteTopics (key 20), v0-v6.
//
// Topics by name (v0-v5, and v6 entries with a name) or by topic ID (v6).
// The catalog entry goes first, then the partitions' logs (renamed to
// *-delete and removed). In a cluster the active controller deletes the
// topic from the metadata and every broker then drops its replicas; the
// answer comes once this broker has.

import (
	"context"
	"errors"
	"time"

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
			if err := b.deleteTopicAnywhere(t, req.TimeoutMillis); err != nil {
				st.ErrorCode = toKerr(err).Code
				st.ErrorMessage = kmsg.StringPtr(err.Error())
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// deleteTopicAnywhere deletes a topic here, or in a cluster through the
// active controller, returning once this broker has dropped it.
func (b *Broker) deleteTopicAnywhere(t metadata.Topic, timeoutMillis int32) error {
	c := b.clusterView()
	if c == nil {
		return b.deleteTopic(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(timeoutMillis, 1000))*time.Millisecond)
	defer cancel()
	if err := c.DeleteTopic(ctx, t.Name); err != nil {
		return err
	}
	return b.waitCatalog(ctx, t.Name, func(_ metadata.Topic, ok bool) bool { return !ok })
}

func (b *Broker) deleteTopic(t metadata.Topic) error {
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	return b.deleteTopicLocked(t)
}

func (b *Broker) deleteTopicLocked(t metadata.Topic) error {
	if err := b.catalog.Delete(t.Name); err != nil {
		return err
	}
	var first error
	for p := int32(0); p < t.Partitions; p++ {
		b.faults.created(engine.TopicPartition{Topic: t.Name, Partition: p})
		err := b.engine.DeletePartition(engine.TopicPartition{Topic: t.Name, Partition: p})
		if err != nil && !errors.Is(err, engine.ErrUnknownPartition) && first == nil { // a cluster broker holds some only
			first = err
		}
	}
	if first != nil {
		b.logf("delete topic %s: %v", t.Name, first)
	}
	b.logf("topic %s deleted", t.Name)
	return nil
}
