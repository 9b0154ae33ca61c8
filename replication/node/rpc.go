package node

// A controller node's answers to brokers. Brokers send Kafka's own
// requests, encoded by kmsg with Kafka's request header, in kind-1 frames
// of package transport (a single node's broker calls HandleRPC in
// process):
//
//	what                     request (key)                  served versions
//	register                 BrokerRegistration (62)        0-4
//	heartbeat                BrokerHeartbeat (63)           0-2
//	ISR change               AlterPartition (56)            2-3 (topic ids)
//	producer id block        AllocateProducerIds (67)       0
//	create a topic           CreateTopics (19)              0-7
//	delete a topic           DeleteTopics (20)              0-6
//	grow a topic             CreatePartitions (37)          0-3
//	move a partition         AlterPartitionReassignments (45)  0
//	elect leaders            ElectLeaders (43)              0-2
//	replace topic or group configs  AlterConfigs (33)       0-2
//	create ACLs              CreateAcls (30)                0-3
//	delete ACLs              DeleteAcls (31)                0-3
//	SCRAM credentials        AlterUserScramCredentials (51) 0
//	client quotas            AlterClientQuotas (49)         1
//	copy the metadata image  FetchSnapshot (59)             0-1
//	describe the quorum      DescribeQuorum (55)            0-2
//	finalize features        UpdateFeatures (57)            0-2
//
// Only the active controller answers, NOT_CONTROLLER elsewhere (the broker
// asks another node); FetchSnapshot is answered by any node that has
// replayed its log. Where Rill differs from Kafka:
//
//   - BrokerRegistration answers BrokerEpoch = the metadata offset the
//     controller had applied when it answered (Kafka: its registration
//     record's offset, which that includes). Heartbeats' BrokerEpoch is not
//     checked: a broker's incarnation id fences its restarts
//     (controller.Register).
//   - BrokerHeartbeat answers IsCaughtUp = CurrentMetadataOffset is at least
//     the offset the controller had applied when it answered, and carries
//     that offset in MetadataOffsetTag (as does BrokerRegistration's
//     answer): broker.Session leads again only from metadata that new.
//     WantFence and WantShutdown are not served (Rill's brokers send
//     neither; a heartbeat unfences), so ShouldShutdown is never set.
//   - CreateTopics: the controller chooses the topic id and answers it
//     (v7); ValidateOnly is refused (INVALID_REQUEST): brokers validate.
//   - AlterConfigs replaces a topic's or a group's (GROUP, 32)
//     overrides (Kafka's semantics); other resource types are refused.
//     The answer (v2, flexible) carries the metadata offset of the
//     decision in MetadataOffsetTag: a broker waits for a group's configs
//     by it (a topic's it waits for by the topic).
//   - FetchSnapshot of __cluster_metadata-0 is how a broker-only node
//     copies the image (kmsg has no message for Rill's JSON image, and
//     Kafka's brokers fetch snapshots this way). The bytes are the whole
//     image as JSON, at SnapshotId.EndOffset = the node's applied offset,
//     with the active controller as CurrentLeader; a request whose
//     SnapshotId.EndOffset is already that new gets no bytes.
//   - Catalog import (a single node's pre-metadata-log topics) needs no
//     message: only a single node imports, into its own node (Import).
//   - CreateAcls, DeleteAcls and AlterUserScramCredentials are what a
//     Kafka broker forwards to its controller: the node decides them as
//     Kafka's controller does (package controller; ACL ids are random, as
//     Kafka's) and answers them with the metadata offset of its decision
//     in MetadataOffsetTag, so the broker can wait until it has applied
//     it. Brokers validate ACLs fully before they ask (the node checks
//     only what Kafka's controller checks) and answer DescribeAcls and
//     DescribeUserScramCredentials from their own metadata, as Kafka's
//     brokers do.
//   - AlterClientQuotas likewise (ValidateOnly decides and commits
//     nothing); brokers answer DescribeClientQuotas from their metadata.
//     Only v1 is served: the flexible answer carries the offset.
//
// Errors become codes in one table (errorCodes); the messages go in the
// answers' ErrorMessage where Kafka has one.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/controller"
)

// requestTimeout bounds how long the active controller works on one
// request (deciding and committing).
const requestTimeout = 5 * time.Second

// HandleRPC answers one request from a broker: data is a Kafka request
// (header and body, no size prefix) of a key and version a controller
// node serves, and the answer is the Kafka response (correlation id,
// header, body). Bytes that are no such request get nil: the transport
// closes the connection, as Kafka does.
func (n *Node) HandleRPC(data []byte) []byte {
	correlationID, req, err := ParseRequest(data)
	if err != nil {
		return nil
	}
	return AppendResponse(nil, correlationID, n.serve(req))
}

// NotController answers a request with NOT_CONTROLLER (nil when data is
// not a request): what a node that has not started yet answers.
func NotController(data []byte) []byte {
	correlationID, req, err := ParseRequest(data)
	if err != nil {
		return nil
	}
	var n *Node // answer refuses before touching the node
	return AppendResponse(nil, correlationID, n.answer(context.Background(), req, ErrNotController))
}

func (n *Node) serve(req kmsg.Request) kmsg.Response {
	var refused error
	switch {
	case req.Key() == int16(kmsg.FetchSnapshot):
		if !n.Replayed() {
			refused = ErrNotController
		}
	case !n.IsActive():
		refused = ErrNotController
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	return n.answer(ctx, req, refused)
}

// answer answers req, every item with refused when it is set (then n is
// not used and may be nil).
func (n *Node) answer(ctx context.Context, req kmsg.Request, refused error) kmsg.Response {
	switch r := req.(type) {
	case *kmsg.BrokerRegistrationRequest:
		return n.brokerRegistration(ctx, r, refused)
	case *kmsg.BrokerHeartbeatRequest:
		return n.brokerHeartbeat(ctx, r, refused)
	case *kmsg.AlterPartitionRequest:
		return n.alterPartition(ctx, r, refused)
	case *kmsg.AllocateProducerIDsRequest:
		return n.allocateProducerIDs(ctx, r, refused)
	case *kmsg.CreateTopicsRequest:
		return n.createTopics(ctx, r, refused)
	case *kmsg.DeleteTopicsRequest:
		return n.deleteTopics(ctx, r, refused)
	case *kmsg.CreatePartitionsRequest:
		return n.createPartitions(ctx, r, refused)
	case *kmsg.AlterPartitionAssignmentsRequest:
		return n.alterPartitionAssignments(ctx, r, refused)
	case *kmsg.ElectLeadersRequest:
		return n.electLeaders(ctx, r, refused)
	case *kmsg.AlterConfigsRequest:
		return n.alterConfigs(ctx, r, refused)
	case *kmsg.FetchSnapshotRequest:
		return n.fetchSnapshot(r, refused)
	case *kmsg.CreateACLsRequest:
		return n.createACLs(ctx, r, refused)
	case *kmsg.DeleteACLsRequest:
		return n.deleteACLs(ctx, r, refused)
	case *kmsg.AlterUserSCRAMCredentialsRequest:
		return n.alterUserSCRAMCredentials(ctx, r, refused)
	case *kmsg.AlterClientQuotasRequest:
		return n.alterClientQuotas(ctx, r, refused)
	case *kmsg.DescribeQuorumRequest:
		return n.describeQuorum(ctx, r, refused)
	case *kmsg.UpdateFeaturesRequest:
		return n.updateFeatures(ctx, r, refused)
	}
	// ParseRequest returns only the keys above.
	panic(fmt.Sprintf("node: no answer for %s", kmsg.NameForKey(req.Key())))
}

// message is err's text for an answer's ErrorMessage (nil for nil).
func message(err error) *string {
	if err == nil {
		return nil
	}
	return kmsg.StringPtr(err.Error())
}

// code is err's Kafka code (0 for nil).
func code(err error) int16 {
	if err == nil {
		return 0
	}
	return KafkaError(err).Code
}

func (n *Node) brokerRegistration(ctx context.Context, r *kmsg.BrokerRegistrationRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.BrokerRegistrationResponse)
	err := refused
	if err == nil && len(r.Listeners) == 0 {
		err = fmt.Errorf("%w: broker %d registers no listener", kerr.InvalidRequest, r.BrokerID)
	}
	if err == nil {
		// The first listener is the inter-broker one (package broker
		// registers it first): its address is the broker's Host and Port.
		l := r.Listeners[0]
		info := controller.BrokerInfo{ID: r.BrokerID, Host: l.Host, Port: int32(l.Port), Incarnation: IncarnationString(r.IncarnationID)}
		for _, l := range r.Listeners {
			info.Listeners = append(info.Listeners, controller.Endpoint{Name: l.Name, Host: l.Host, Port: int32(l.Port), Protocol: l.SecurityProtocol})
		}
		if r.Rack != nil {
			info.Rack = *r.Rack
		}
		err = n.RegisterBroker(ctx, info)
	}
	if resp.ErrorCode = code(err); err == nil {
		offset := n.Applied()
		resp.BrokerEpoch = int64(offset)
		SetMetadataOffset(&resp.UnknownTags, offset)
	}
	return resp
}

func (n *Node) brokerHeartbeat(ctx context.Context, r *kmsg.BrokerHeartbeatRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
	err := refused
	if err == nil {
		err = n.Heartbeat(ctx, r.BrokerID)
	}
	if resp.ErrorCode = code(err); err != nil {
		return resp
	}
	offset := n.Applied()
	n.observed.heartbeat(r.BrokerID, r.CurrentMetadataOffset)
	resp.IsCaughtUp = r.CurrentMetadataOffset >= int64(offset)
	n.View(func(im *controller.Image) {
		b, ok := im.Brokers[r.BrokerID]
		resp.IsFenced = !ok || b.Fenced
	})
	SetMetadataOffset(&resp.UnknownTags, offset)
	return resp
}

// topicName is the name of the topic with id in the image.
func (n *Node) topicName(id [16]byte) (string, bool) {
	var name string
	var ok bool
	n.View(func(im *controller.Image) {
		for _, t := range im.Topics {
			if t.ID == id {
				name, ok = t.Name, true
				return
			}
		}
	})
	return name, ok
}

func (n *Node) alterPartition(ctx context.Context, r *kmsg.AlterPartitionRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterPartitionResponse)
	if refused != nil {
		resp.ErrorCode = code(refused)
		return resp
	}
	for _, t := range r.Topics {
		rt := kmsg.NewAlterPartitionResponseTopic()
		rt.TopidID = t.TopicID
		name, known := n.topicName(t.TopicID)
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionResponseTopicPartition()
			rp.Partition = p.Partition
			isr := p.NewISR
			if r.Version >= 3 {
				isr = make([]int32, len(p.NewEpochISR))
				for i, b := range p.NewEpochISR {
					isr[i] = b.BrokerID
				}
			}
			err := error(kerr.UnknownTopicID)
			if known {
				err = n.AlterPartition(ctx, name, p.Partition, r.BrokerID, p.LeaderEpoch, p.PartitionEpoch, isr)
			}
			if rp.ErrorCode = code(err); err == nil {
				n.View(func(im *controller.Image) {
					if s, ok := im.Partition(name, p.Partition); ok {
						rp.LeaderID, rp.LeaderEpoch, rp.PartitionEpoch = s.Leader, s.LeaderEpoch, s.PartitionEpoch
						rp.ISR = slices.Clone(s.ISR)
					}
				})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (n *Node) allocateProducerIDs(ctx context.Context, r *kmsg.AllocateProducerIDsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
	err := refused
	var block *controller.ProducerIDBlock
	if err == nil {
		block, err = n.AllocateProducerIDs(ctx, r.BrokerID)
	}
	if resp.ErrorCode = code(err); err == nil {
		resp.ProducerIDStart, resp.ProducerIDLen = block.First, block.Size
	}
	return resp
}

// errValidateOnly refuses ValidateOnly requests: brokers validate
// themselves and send only what they mean to do.
var errValidateOnly = fmt.Errorf("%w: the controller does not serve validate-only requests", kerr.InvalidRequest)

// newTopicID is a fresh topic id (never all zeroes).
func newTopicID() [16]byte {
	var id [16]byte
	for id == ([16]byte{}) {
		rand.Read(id[:])
	}
	return id
}

func (n *Node) createTopics(ctx context.Context, r *kmsg.CreateTopicsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		err := refused
		if err == nil && r.ValidateOnly {
			err = errValidateOnly
		}
		var assignment [][]int32
		if err == nil && len(t.ReplicaAssignment) > 0 {
			assignment, err = replicaAssignment(t.ReplicaAssignment)
		}
		id := newTopicID()
		if err == nil {
			configs := map[string]string{}
			for _, c := range t.Configs {
				if c.Value != nil {
					configs[c.Name] = *c.Value
				}
			}
			err = n.CreateTopic(ctx, t.Topic, id, t.NumPartitions, t.ReplicationFactor, configs, assignment)
		}
		rt.ErrorCode, rt.ErrorMessage = code(err), message(err)
		rt.NumPartitions, rt.ReplicationFactor = -1, -1
		if err == nil {
			rt.TopicID = id
			n.View(func(im *controller.Image) {
				if ti, ok := im.Topics[t.Topic]; ok && len(ti.Partitions) > 0 {
					rt.NumPartitions, rt.ReplicationFactor = int32(len(ti.Partitions)), int16(len(ti.Partitions[0].Replicas))
				}
			})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// replicaAssignment is CreateTopics' replica assignment as one replica
// list per partition, which must be numbered 0 to n-1, each once.
func replicaAssignment(as []kmsg.CreateTopicsRequestTopicReplicaAssignment) ([][]int32, error) {
	out := make([][]int32, len(as))
	for _, a := range as {
		if a.Partition < 0 || int(a.Partition) >= len(as) || out[a.Partition] != nil {
			return nil, fmt.Errorf("%w: partitions must be numbered 0 to %d, each once", controller.ErrInvalidAssignment, len(as)-1)
		}
		out[a.Partition] = append([]int32{}, a.Replicas...)
	}
	return out, nil
}

func (n *Node) deleteTopics(ctx context.Context, r *kmsg.DeleteTopicsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	topics := r.Topics
	for _, name := range r.TopicNames { // v0-5
		topics = append(topics, kmsg.DeleteTopicsRequestTopic{Topic: kmsg.StringPtr(name)})
	}
	for _, t := range topics {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		err := refused
		var name string
		switch {
		case err != nil:
		case t.Topic != nil:
			name = *t.Topic
		default:
			var known bool
			if name, known = n.topicName(t.TopicID); !known {
				err = kerr.UnknownTopicID
			}
		}
		if err == nil {
			err = n.DeleteTopic(ctx, name)
		}
		rt.ErrorCode, rt.ErrorMessage = code(err), message(err)
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (n *Node) createPartitions(ctx context.Context, r *kmsg.CreatePartitionsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		err := refused
		if err == nil && r.ValidateOnly {
			err = errValidateOnly
		}
		if err == nil {
			var assignment [][]int32 // nil: placed by the controller
			if t.Assignment != nil {
				assignment = make([][]int32, len(t.Assignment))
				for i, a := range t.Assignment {
					assignment[i] = a.Replicas
				}
			}
			err = n.CreatePartitions(ctx, t.Topic, t.Count, assignment)
		}
		rt.ErrorCode, rt.ErrorMessage = code(err), message(err)
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (n *Node) alterPartitionAssignments(ctx context.Context, r *kmsg.AlterPartitionAssignmentsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	if refused != nil {
		resp.ErrorCode, resp.ErrorMessage = code(refused), message(refused)
		return resp
	}
	for _, t := range r.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition = p.Partition
			var err error
			if p.Replicas != nil && len(p.Replicas) == 0 {
				err = fmt.Errorf("%w: no target replicas (null cancels a move)", kerr.InvalidRequest)
			} else {
				err = n.Reassign(ctx, t.Topic, p.Partition, p.Replicas) // nil: cancel
			}
			rp.ErrorCode, rp.ErrorMessage = code(err), message(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (n *Node) electLeaders(ctx context.Context, r *kmsg.ElectLeadersRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
	if refused != nil {
		resp.ErrorCode = code(refused)
		return resp
	}
	var parts []kafka.TopicPartition // nil: all
	if r.Topics != nil {
		parts = []kafka.TopicPartition{}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, kafka.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	results, err := n.ElectLeaders(ctx, r.ElectionType, parts)
	if err != nil {
		resp.ErrorCode = code(err)
		return resp
	}
	refs := slices.Collect(maps.Keys(results))
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Topic != refs[j].Topic {
			return refs[i].Topic < refs[j].Topic
		}
		return refs[i].Partition < refs[j].Partition
	})
	for _, ref := range refs {
		if k := len(resp.Topics); k == 0 || resp.Topics[k-1].Topic != ref.Topic {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = ref.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = ref.Partition
		rp.ErrorCode, rp.ErrorMessage = code(results[ref]), message(results[ref])
		rt := &resp.Topics[len(resp.Topics)-1]
		rt.Partitions = append(rt.Partitions, rp)
	}
	return resp
}

func (n *Node) alterConfigs(ctx context.Context, r *kmsg.AlterConfigsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, res := range r.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		err := refused
		switch {
		case err != nil:
		case r.ValidateOnly:
			err = errValidateOnly
		case res.ResourceType != kmsg.ConfigResourceTypeTopic && res.ResourceType != kmsg.ConfigResourceTypeGroupConfig:
			err = fmt.Errorf("%w: the controller alters topic and group configs only", kerr.InvalidRequest)
		default:
			configs := map[string]string{}
			for _, c := range res.Configs {
				if c.Value != nil {
					configs[c.Name] = *c.Value
				}
			}
			if res.ResourceType == kmsg.ConfigResourceTypeGroupConfig {
				err = n.AlterGroupConfigs(ctx, res.ResourceName, configs)
			} else {
				err = n.AlterTopicConfigs(ctx, res.ResourceName, configs)
			}
		}
		rr.ErrorCode, rr.ErrorMessage = code(err), message(err)
		resp.Resources = append(resp.Resources, rr)
	}
	if refused == nil {
		SetMetadataOffset(&resp.UnknownTags, n.Applied())
	}
	return resp
}

func (n *Node) fetchSnapshot(r *kmsg.FetchSnapshotRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.FetchSnapshotResponse)
	if refused != nil {
		resp.ErrorCode = code(refused)
		return resp
	}
	for _, t := range r.Topics {
		rt := kmsg.NewFetchSnapshotResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewFetchSnapshotResponseTopicPartition()
			rp.Partition = p.Partition
			if t.Topic != MetadataSnapshotTopic || p.Partition != 0 {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = -1, -1
			if leader := n.Leader(); leader != 0 {
				rp.CurrentLeader.LeaderID = int32(leader)
			}
			var image []byte
			var err error
			n.mu.RLock()
			// Read under the lock the image is changed under, before it is
			// stored: the image is at least this new.
			offset := n.applied.Load()
			if p.SnapshotID.EndOffset < int64(offset) {
				image, err = json.Marshal(n.image)
			}
			n.mu.RUnlock()
			if err != nil {
				rp.ErrorCode = kerr.UnknownServerError.Code
			}
			rp.SnapshotID.EndOffset, rp.Size, rp.Bytes = int64(offset), int64(len(image)), image
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// aclPattern is a request's pattern type: version 0 has none and means
// LITERAL (for filters too, as Kafka reads them).
func aclPattern(version int16, p kmsg.ACLResourcePatternType) int8 {
	if version == 0 {
		return controller.ACLPatternLiteral
	}
	return int8(p)
}

// newACLID is a fresh ACL id (Kafka's controller draws a random Uuid too).
func newACLID() controller.ACLID {
	var id controller.ACLID
	rand.Read(id[:])
	return id
}

func (n *Node) createACLs(ctx context.Context, r *kmsg.CreateACLsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.CreateACLsResponse)
	bindings := make([]controller.ACLBinding, len(r.Creations))
	ids := make([]controller.ACLID, len(r.Creations))
	for i, c := range r.Creations {
		bindings[i] = controller.ACLBinding{ResourceType: int8(c.ResourceType), ResourceName: c.ResourceName,
			PatternType: aclPattern(r.Version, c.ResourcePatternType), Principal: c.Principal, Host: c.Host,
			Operation: int8(c.Operation), Permission: int8(c.PermissionType)}
		ids[i] = newACLID()
	}
	err := refused
	var errs []error
	if err == nil {
		errs, err = n.CreateACLs(ctx, bindings, ids)
	}
	for i := range r.Creations {
		e := err
		if e == nil {
			e = errs[i]
		}
		res := kmsg.NewCreateACLsResponseResult()
		res.ErrorCode, res.ErrorMessage = code(e), message(e)
		resp.Results = append(resp.Results, res)
	}
	if err == nil {
		SetMetadataOffset(&resp.UnknownTags, n.Applied())
	}
	return resp
}

func (n *Node) deleteACLs(ctx context.Context, r *kmsg.DeleteACLsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DeleteACLsResponse)
	filters := make([]controller.ACLFilter, len(r.Filters))
	for i, f := range r.Filters {
		filters[i] = controller.ACLFilter{ResourceType: int8(f.ResourceType), ResourceName: f.ResourceName,
			PatternType: aclPattern(r.Version, f.ResourcePatternType), Principal: f.Principal, Host: f.Host,
			Operation: int8(f.Operation), Permission: int8(f.PermissionType)}
	}
	err := refused
	var matched [][]controller.ACL
	var errs []error
	if err == nil {
		matched, errs, err = n.DeleteACLs(ctx, filters)
	}
	for i := range r.Filters {
		res := kmsg.NewDeleteACLsResponseResult()
		e := err
		if e == nil {
			e = errs[i]
		}
		res.ErrorCode, res.ErrorMessage = code(e), message(e)
		if e == nil {
			for _, a := range matched[i] {
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				b := a.Binding
				m.ResourceType, m.ResourceName = kmsg.ACLResourceType(b.ResourceType), b.ResourceName
				m.ResourcePatternType = kmsg.ACLResourcePatternType(b.PatternType)
				m.Principal, m.Host = b.Principal, b.Host
				m.Operation, m.PermissionType = kmsg.ACLOperation(b.Operation), kmsg.ACLPermissionType(b.Permission)
				res.MatchingACLs = append(res.MatchingACLs, m)
			}
		}
		resp.Results = append(resp.Results, res)
	}
	if err == nil {
		SetMetadataOffset(&resp.UnknownTags, n.Applied())
	}
	return resp
}

func (n *Node) alterUserSCRAMCredentials(ctx context.Context, r *kmsg.AlterUserSCRAMCredentialsRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	var deletions []controller.ScramDeletion
	var upsertions []controller.ScramUpsertion
	for _, d := range r.Deletions {
		deletions = append(deletions, controller.ScramDeletion{User: d.Name, Mechanism: d.Mechanism})
	}
	for _, u := range r.Upsertions {
		upsertions = append(upsertions, controller.ScramUpsertion{User: u.Name, Mechanism: u.Mechanism, Iterations: u.Iterations,
			Salt: u.Salt, SaltedPassword: u.SaltedPassword})
	}
	err := refused
	var results []controller.ScramResult
	if err == nil {
		results, err = n.AlterScramCredentials(ctx, deletions, upsertions)
	}
	if err != nil {
		// Every user named gets the request's error, once, in name order
		// (Kafka's getErrorResponse).
		users := map[string]bool{}
		for _, d := range deletions {
			users[d.User] = true
		}
		for _, u := range upsertions {
			users[u.User] = true
		}
		results = nil
		for _, user := range slices.Sorted(maps.Keys(users)) {
			results = append(results, controller.ScramResult{User: user, Err: err})
		}
	}
	for _, res := range results {
		rr := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		rr.User, rr.ErrorCode, rr.ErrorMessage = res.User, code(res.Err), message(res.Err)
		resp.Results = append(resp.Results, rr)
	}
	if err == nil {
		SetMetadataOffset(&resp.UnknownTags, n.Applied())
	}
	return resp
}

func (n *Node) alterClientQuotas(ctx context.Context, r *kmsg.AlterClientQuotasRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	alterations := make([]controller.QuotaAlteration, len(r.Entries))
	for i, e := range r.Entries {
		for _, p := range e.Entity {
			alterations[i].Entity = append(alterations[i].Entity, controller.QuotaEntityPart{Type: p.Type, Name: p.Name})
		}
		for _, op := range e.Ops {
			alterations[i].Ops = append(alterations[i].Ops, controller.QuotaOp{Key: op.Key, Value: op.Value, Remove: op.Remove})
		}
	}
	err := refused
	var results []controller.QuotaResult
	if err == nil {
		results, err = n.AlterClientQuotas(ctx, alterations, r.ValidateOnly)
	}
	if err != nil {
		// Every entry gets the request's error, as named (Kafka's
		// getErrorResponse).
		results = nil
		for _, a := range alterations {
			results = append(results, controller.QuotaResult{Entity: a.Entity, Err: err})
		}
	}
	for _, res := range results {
		e := kmsg.NewAlterClientQuotasResponseEntry()
		e.ErrorCode, e.ErrorMessage = code(res.Err), message(res.Err)
		for _, p := range res.Entity {
			e.Entity = append(e.Entity, kmsg.AlterClientQuotasResponseEntryEntity{Type: p.Type, Name: p.Name})
		}
		resp.Entries = append(resp.Entries, e)
	}
	if err == nil {
		SetMetadataOffset(&resp.UnknownTags, n.Applied())
	}
	return resp
}

// errorCodes is the one table from the errors a controller node's
// requests return (this package's and package controller's) to the Kafka
// codes a broker sees: the wire edge of the controller.
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	{ErrNotController, kerr.NotController},
	{ErrNotCommitted, kerr.RequestTimedOut},
	{context.DeadlineExceeded, kerr.RequestTimedOut},
	{context.Canceled, kerr.RequestTimedOut},
	{controller.ErrBrokerNotRegistered, kerr.BrokerIDNotRegistered},
	{controller.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{controller.ErrTopicExists, kerr.TopicAlreadyExists},
	{controller.ErrStaleLeader, kerr.FencedLeaderEpoch},
	{controller.ErrStalePartitionEpoch, kerr.InvalidUpdateVersion},
	{controller.ErrInvalidISR, kerr.InvalidRequest},
	{controller.ErrIneligibleReplica, kerr.IneligibleReplica},
	{controller.ErrNoReassignment, kerr.NoReassignmentInProgress},
	{controller.ErrInvalidAssignment, kerr.InvalidReplicaAssignment},
	{controller.ErrInvalidPartitions, kerr.InvalidPartitions},
	{controller.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
	{controller.ErrElectionNotNeeded, kerr.ElectionNotNeeded},
	{controller.ErrPreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable},
	{controller.ErrEligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable},
	{controller.ErrInvalidElectionType, kerr.InvalidRequest},
	{controller.ErrInvalidACL, kerr.InvalidRequest},
	{controller.ErrUnsupportedScramMechanism, kerr.UnsupportedSaslMechanism},
	{controller.ErrUnacceptableCredential, kerr.UnacceptableCredential},
	{controller.ErrScramCredentialNotFound, kerr.ResourceNotFound},
	{controller.ErrDuplicateUser, kerr.DuplicateResource},
	{controller.ErrInvalidQuota, kerr.InvalidRequest},
	{controller.ErrInvalidFeatureUpdate, kerr.InvalidUpdateVersion},
	{controller.ErrInvalidGroupConfig, kerr.InvalidConfig},
}

// KafkaError is the Kafka error a broker is answered with for err (nil
// for nil). The request checks of this file answer with a Kafka error
// directly (errors.As finds it); an error neither they nor the table
// know is UNKNOWN_SERVER_ERROR.
func KafkaError(err error) *kerr.Error {
	if err == nil {
		return nil
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return kerr.UnknownServerError
}
