package handler

// DeleteTopics (key 20), v0-v6.
//
// Topics by name (v0-v5, and v6 entries with a name) or by topic ID (v6).
// The active controller deletes the topic from the metadata and every
// broker then drops its replicas (their logs renamed to *-delete and
// removed); the answer comes once this broker has.
//
// Authorization, as Kafka's controller: DELETE on the cluster allows
// every topic; otherwise a topic named by name that the principal may not
// DESCRIBE answers TOPIC_AUTHORIZATION_FAILED without saying whether it
// exists, one it may describe but that does not exist
// UNKNOWN_TOPIC_OR_PARTITION, one it may not DELETE
// TOPIC_AUTHORIZATION_FAILED. A topic id that names no topic is
// UNKNOWN_TOPIC_ID (ids are not secret); one the principal may not DELETE
// is TOPIC_AUTHORIZATION_FAILED, with its name only if it may DESCRIBE it.
//
// Quotas (quota.go): a deleted topic's partitions count against
// controller_mutation_rate; from v5 a topic over the quota is
// THROTTLING_QUOTA_EXCEEDED and stays, before v5 it is deleted; either
// way the answer carries the throttle time.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/metadata"
)

func (b *Broker) deleteTopics(ctx context.Context, req *kmsg.DeleteTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	ac := b.access(ctx)
	everyTopic := ac.cluster(authz.OpDelete)
	mutations := b.mutationQuota(ctx, req.Version, 5)
	defer b.finishMutations(ctx, mutations, resp)
	describable := func(name string) bool { return everyTopic || ac.topic(authz.OpDescribe, name) }
	deletable := func(name string) bool { return everyTopic || ac.topic(authz.OpDelete, name) }
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
		switch {
		case tg.name != nil && !describable(*tg.name):
			st.ErrorCode = errTopicDenied.Code
		case tg.name != nil:
			t, ok = b.topic(*tg.name)
			if !ok {
				st.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
		default:
			t, ok = b.topicByID(tg.id)
			if !ok {
				st.ErrorCode = kerr.UnknownTopicID.Code
			}
		}
		if ok && !deletable(t.Name) {
			ok = false
			st.ErrorCode = errTopicDenied.Code
			if tg.name == nil && describable(t.Name) {
				st.Topic = kmsg.StringPtr(t.Name)
			}
		}
		if ok {
			st.Topic, st.TopicID = kmsg.StringPtr(t.Name), t.ID
			if err := mutations.Record(float64(t.Partitions), b.now()); err != nil {
				st.ErrorCode = kerr.ThrottlingQuotaExceeded.Code
				st.ErrorMessage = kmsg.StringPtr(throttlingQuotaMessage)
			} else {
				qc, waitStart := quotaWaitStart(ctx)
				err := b.deleteTopicAnywhere(t, req.TimeoutMillis)
				quotaWaited(qc, waitStart)
				if err != nil {
					st.ErrorCode = toKerr(err).Code
					st.ErrorMessage = kmsg.StringPtr(err.Error())
				}
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// deleteTopicAnywhere deletes a topic through the active controller,
// returning once this broker has dropped it.
func (b *Broker) deleteTopicAnywhere(t metadata.Topic, timeoutMillis int32) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(timeoutMillis, 1000))*time.Millisecond)
	defer cancel()
	if err := b.cluster.DeleteTopic(ctx, t.Name); err != nil {
		return err
	}
	if err := b.waitTopic(ctx, t.Name, func(_ metadata.Topic, ok bool) bool { return !ok }); err != nil {
		return err
	}
	b.log.Info("topic deleted", "topic", t.Name)
	return nil
}
