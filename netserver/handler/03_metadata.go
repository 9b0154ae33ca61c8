package handler

// Metadata (key 3), v0-v13.
//
// The brokers, leaders, replicas, ISR and controller come from the cluster
// metadata (cluster.go; a single node is a cluster of one), and a
// partition without a leader is LEADER_NOT_AVAILABLE. Topic IDs are real (v10+). A null topic list
// means all topics (v1+; v0's empty list also means all). Requested topics
// that do not exist are created when the request allows it (v4+ field,
// always for v0-v3) and auto.create.topics.enable is on, asynchronously as
// Kafka does: the answer is LEADER_NOT_AVAILABLE with no partitions, and
// the client asks again (metadata_autocreate.go); otherwise they are
// answered UNKNOWN_TOPIC_OR_PARTITION. Topics named by ID only (v10+) that
// do not exist get UNKNOWN_TOPIC_ID.
//
// Brokers are given at their advertised address on the listener the
// client connected to (WithListener); a broker without that listener is
// left out, as Kafka does (its partitions still name it).
//
// Authorization: topics the principal may not DESCRIBE are left out of an
// all-topics answer and answer TOPIC_AUTHORIZATION_FAILED when named (by
// name: without saying whether they exist; by id: with the id only).
// Auto-creating a named topic needs CREATE on the cluster or on the topic,
// else TOPIC_AUTHORIZATION_FAILED. With an authorizer,
// IncludeTopicAuthorizedOperations (v8+) fills each answered topic's
// authorized operations and IncludeClusterAuthorizedOperations (v8-v10)
// the cluster's (0 without DESCRIBE on the cluster); without one both keep
// the schema's "unknown" value.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/metadata"
)

func (b *Broker) metadata(ctx context.Context, req *kmsg.MetadataRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	ac := b.access(ctx)
	listener := ListenerOf(ctx)
	resp.ClusterID = kmsg.StringPtr(b.cfg.ClusterID)
	for _, cb := range b.cluster.Brokers() {
		host, port, ok := b.address(listener, cb)
		if !ok {
			continue
		}
		br := kmsg.NewMetadataResponseBroker()
		br.NodeID, br.Host, br.Port = cb.ID, host, port
		if cb.Rack != "" {
			br.Rack = kmsg.StringPtr(cb.Rack)
		}
		resp.Brokers = append(resp.Brokers, br)
	}
	resp.ControllerID = b.cluster.ControllerID()
	if req.Version >= 8 && req.Version <= 10 && req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = ac.clusterOperations()
	}
	topicOperations := req.Version >= 8 && req.IncludeTopicAuthorizedOperations && ac.enabled()
	answer := func(st kmsg.MetadataResponseTopic) {
		if topicOperations && st.Topic != nil {
			st.AuthorizedOperations = ac.operations(authz.ResourceTopic, *st.Topic)
		}
		resp.Topics = append(resp.Topics, st)
	}
	failed := func(name *string, id [16]byte, e *kerr.Error) {
		st := kmsg.NewMetadataResponseTopic()
		st.Topic, st.TopicID, st.ErrorCode = name, id, e.Code
		resp.Topics = append(resp.Topics, st)
	}
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, t := range b.topics() {
			if ac.topic(authz.OpDescribe, t.Name) {
				answer(b.topicMetadata(t))
			}
		}
		return resp
	}
	autoCreate := b.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		var t metadata.Topic
		var ok bool
		if rt.Topic != nil && *rt.Topic != "" {
			name := *rt.Topic
			if !ac.topic(authz.OpDescribe, name) {
				failed(rt.Topic, [16]byte{}, errTopicDenied) // whether it exists is not told
				continue
			}
			t, ok = b.topic(name)
			if !ok && autoCreate {
				if !ac.cluster(authz.OpCreate) && !ac.topic(authz.OpCreate, name) {
					failed(rt.Topic, [16]byte{}, errTopicDenied)
					continue
				}
				if err := validTopicName(name); err == nil {
					b.autoCreateTopic(name, req.Version)
					st := kmsg.NewMetadataResponseTopic()
					st.Topic = rt.Topic
					st.ErrorCode = kerr.LeaderNotAvailable.Code
					answer(st)
					continue
				}
			}
			if !ok {
				st := kmsg.NewMetadataResponseTopic()
				st.Topic = rt.Topic
				st.ErrorCode = kerr.UnknownTopicOrPartition.Code
				if validTopicName(name) != nil {
					st.ErrorCode = kerr.InvalidTopicException.Code
				}
				answer(st)
				continue
			}
		} else {
			t, ok = b.topicByID(rt.TopicID)
			if !ok {
				failed(nil, rt.TopicID, kerr.UnknownTopicID)
				continue
			}
			if !ac.topic(authz.OpDescribe, t.Name) {
				failed(nil, rt.TopicID, errTopicDenied) // ids are not secret, names are
				continue
			}
		}
		answer(b.topicMetadata(t))
	}
	return resp
}

func (b *Broker) topicMetadata(t metadata.Topic) kmsg.MetadataResponseTopic {
	st := kmsg.NewMetadataResponseTopic()
	st.Topic = kmsg.StringPtr(t.Name)
	st.TopicID = t.ID
	st.IsInternal = len(t.Name) > 2 && t.Name[:2] == "__"
	parts, _ := b.cluster.TopicPartitions(t.Name)
	st.Partitions = make([]kmsg.MetadataResponseTopicPartition, 0, t.Partitions)
	for p := int32(0); p < t.Partitions; p++ {
		sp := kmsg.NewMetadataResponseTopicPartition()
		sp.Partition = p
		var cp metadata.Partition
		ok := int(p) < len(parts)
		if ok {
			cp = parts[p]
		}
		if !ok || cp.Leader < 0 {
			sp.ErrorCode = kerr.LeaderNotAvailable.Code
			sp.Leader, sp.Replicas, sp.ISR = -1, cp.Replicas, cp.ISR
		} else {
			sp.Leader, sp.LeaderEpoch, sp.Replicas, sp.ISR = cp.Leader, cp.LeaderEpoch, cp.Replicas, cp.ISR
		}
		st.Partitions = append(st.Partitions, sp)
	}
	return st
}
