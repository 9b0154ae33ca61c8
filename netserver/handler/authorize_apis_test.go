package handler

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

// TestEveryAPIAppliesItsChecks drives every row of authz.Required
// mechanically. For each API in the table, each of its checks is
// exercised by a case (a request whose shape meets the check's When):
//
//   - alice, allowed ALL on every resource, is answered without any
//     authorization error;
//   - bob, with no ACLs, is denied;
//   - for each check (or group of alternatives, OrPrevious), a principal
//     allowed ALL but denied exactly that operation on that resource type
//     is denied, with the check's error code (Kafka's, where Kafka's code
//     answers another one: noted on the case); denied only one of two
//     alternatives, it is allowed.
//
// A check no case exercises fails the test, so a new API (or a new check
// in the table) cannot be served unauthorized unnoticed.
func TestEveryAPIAppliesItsChecks(t *testing.T) {
	env := newAuthzEnv(t)
	covered := map[int16]map[int]bool{}
	for _, c := range authzCases() {
		if findAPI(c.key) == nil {
			continue // not served (yet): nothing to authorize
		}
		req, ok := authz.Required(c.key)
		if !ok {
			t.Errorf("%s: key %d has no authz.Required row", c.name, c.key)
			continue
		}
		if covered[c.key] == nil {
			covered[c.key] = map[int]bool{}
		}
		for _, i := range c.checks {
			covered[c.key][i] = true
		}
		t.Run(c.name, func(t *testing.T) { env.run(t, c, req) })
	}
	for _, a := range apis {
		req, _ := authz.Required(a.key)
		for i, ch := range req.Checks {
			if !covered[a.key][i] {
				t.Errorf("%s (key %d): check %d (%s %s, %s, when %q) has no case", req.Name, a.key, i, ch.Operation, ch.Resource, ch.Scope, ch.When)
			}
		}
	}
}

// authzCase is one request shape of an API and the checks it exercises.
type authzCase struct {
	name   string
	key    int16
	checks []int // indices into the key's authz.Required checks
	// build returns the request (version set) for one run; it may set up
	// state as the super user first.
	build func(t *testing.T, e *authzEnv) kmsg.Request
	// denied, when set, says whether resp shows the denial (APIs that
	// never fail but filter or zero a field); else a denial is a response
	// carrying the expected code.
	denied func(resp kmsg.Response) bool
	// code is the expected denial code when it is not DeniedError of the
	// last check of the denied alternatives (Kafka's answer differs).
	code int16
	// alsoDeny are alternatives Kafka accepts that the table's row does
	// not list: denied in every run that expects a denial.
	alsoDeny []authz.Check
}

type authzEnv struct {
	b    *Broker
	acls *testACLs
	n    int
}

func newAuthzEnv(t *testing.T) *authzEnv {
	b, acls := authzBroker(t, authz.Config{})
	e := &authzEnv{b: b, acls: acls}
	// State the cases read: the coordinators' topics, a group with an
	// offset for t (g-commit), a transaction with t-0 in it (tx-desc).
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"g-commit"}
	sendAs[*kmsg.FindCoordinatorResponse](t, b, superUser, fc, 4)
	fc.CoordinatorType = 1
	fc.CoordinatorKeys = []string{"tx-desc"}
	sendAs[*kmsg.FindCoordinatorResponse](t, b, superUser, fc, 4)
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation = "g-commit", -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}}}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		code := sendAs[*kmsg.OffsetCommitResponse](t, b, superUser, oc, 8).Topics[0].Partitions[0].ErrorCode
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("commit for g-commit: %v", kerr.ErrorForCode(code))
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		init := kmsg.NewPtrInitProducerIDRequest()
		init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("tx-desc"), 60000
		ir := sendAs[*kmsg.InitProducerIDResponse](t, b, superUser, init, 4)
		if ir.ErrorCode != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("init tx-desc: %v", kerr.ErrorForCode(ir.ErrorCode))
			}
			continue
		}
		add := kmsg.NewPtrAddPartitionsToTxnRequest()
		add.TransactionalID, add.ProducerID, add.ProducerEpoch = "tx-desc", ir.ProducerID, ir.ProducerEpoch
		add.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{0}}}
		if code := sendAs[*kmsg.AddPartitionsToTxnResponse](t, b, superUser, add, 3).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("add t-0 to tx-desc: %v", kerr.ErrorForCode(code))
		}
		break
	}
	return e
}

// fresh is a name no other run used.
func (e *authzEnv) fresh(prefix string) string {
	e.n++
	return fmt.Sprintf("%s-%d", prefix, e.n)
}

// principal is a new principal allowed ALL on every resource, and denied
// the given checks' operations on their resource types.
func (e *authzEnv) principal(t *testing.T, denied ...authz.Check) string {
	p := "User:" + e.fresh("run")
	for _, typ := range []authz.ResourceType{authz.ResourceTopic, authz.ResourceGroup, authz.ResourceTransactionalID} {
		e.acls.allow(p, authz.OpAll, typ, authz.Wildcard)
	}
	e.acls.allow(p, authz.OpAll, authz.ResourceCluster, authz.ClusterName)
	for _, c := range denied {
		name := authz.Wildcard
		if c.Resource == authz.ResourceCluster {
			name = authz.ClusterName
		}
		e.acls.deny(p, c.Operation, c.Resource, name)
	}
	return p
}

func (e *authzEnv) run(t *testing.T, c authzCase, req authz.Requirement) {
	isDenied := func(resp kmsg.Response, code int16) bool {
		if c.denied != nil {
			return c.denied(resp)
		}
		return responseCodes(resp)[code]
	}
	call := func(principal string) kmsg.Response {
		r := c.build(t, e)
		resp := send(t, e.b, principal, r, r.GetVersion())
		if resp == nil {
			t.Fatalf("%s: no response", principal)
		}
		return resp
	}

	if resp := call(e.principal(t)); hasAuthCode(resp) || (c.denied != nil && c.denied(resp)) {
		t.Errorf("allowed ALL: denied: %+v", resp)
	}
	if resp := call(bob); !hasAuthCode(resp) && (c.denied == nil || !c.denied(resp)) {
		t.Errorf("bob without ACLs: allowed: %+v", resp)
	}

	// The case's checks, grouped into alternatives (a check and those
	// after it marked OrPrevious).
	var groups [][]int
	for _, i := range c.checks {
		first := i
		for first > 0 && req.Checks[first].OrPrevious {
			first--
		}
		last := i
		for last+1 < len(req.Checks) && req.Checks[last+1].OrPrevious {
			last++
		}
		g := make([]int, 0, last-first+1)
		for j := first; j <= last; j++ {
			g = append(g, j)
		}
		if !slices.ContainsFunc(groups, func(h []int) bool { return slices.Equal(g, h) }) {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		var checks []authz.Check
		for _, i := range g {
			checks = append(checks, req.Checks[i])
		}
		code := c.code
		if code == 0 {
			code = authz.DeniedError(checks[len(checks)-1].Resource)
		}
		if resp := call(e.principal(t, append(checks, c.alsoDeny...)...)); !isDenied(resp, code) {
			t.Errorf("denied %s: not denied with code %d: %+v", describeChecks(checks), code, resp)
		}
		if len(checks) > 1 {
			for _, ch := range checks {
				if resp := call(e.principal(t, append([]authz.Check{ch}, c.alsoDeny...)...)); hasAuthCode(resp) || (c.denied != nil && c.denied(resp)) {
					t.Errorf("denied only %s of the alternatives %s: denied: %+v", describeChecks([]authz.Check{ch}), describeChecks(checks), resp)
				}
			}
		}
	}
}

func describeChecks(checks []authz.Check) string {
	s := ""
	for i, c := range checks {
		if i > 0 {
			s += " or "
		}
		s += c.Operation.String() + " on " + c.Resource.String()
	}
	return s
}

func withVersion[R kmsg.Request](r R, v int16) R {
	r.SetVersion(v)
	return r
}

// authzCases covers every check of every API row; see
// TestEveryAPIAppliesItsChecks.
func authzCases() []authzCase {
	configs := func(key int16, name string, check int, typ kmsg.ConfigResourceType, resource string) authzCase {
		return authzCase{name: name, key: key, checks: []int{check}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			switch key {
			case 32:
				r := kmsg.NewPtrDescribeConfigsRequest()
				r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: typ, ResourceName: resource}}
				return withVersion(r, 4)
			case 33:
				r := kmsg.NewPtrAlterConfigsRequest()
				r.ValidateOnly = true
				r.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: typ, ResourceName: resource,
					Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1000")}}}}
				return withVersion(r, 2)
			default:
				r := kmsg.NewPtrIncrementalAlterConfigsRequest()
				r.ValidateOnly = true
				r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: typ, ResourceName: resource,
					Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1000")}}}}
				return withVersion(r, 1)
			}
		}}
	}
	metadataHas := func(name string) func(kmsg.Response) bool {
		return func(resp kmsg.Response) bool {
			_, ok := metadataTopic(resp.(*kmsg.MetadataResponse), name)
			return !ok
		}
	}
	return []authzCase{
		{name: "Produce", key: 0, checks: []int{1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(produceRequest(t, "t", 0, nil), 9)
		}},
		{name: "Produce/transactional", key: 0, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(produceRequest(t, "t", 1, kmsg.StringPtr("tx-produce")), 9)
		}},
		{name: "Fetch/consumer", key: 1, checks: []int{1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(fetchRequest("t", 0), 11)
		}},
		// Kafka answers a follower without CLUSTER_ACTION
		// TOPIC_AUTHORIZATION_FAILED per partition.
		{name: "Fetch/follower", key: 1, checks: []int{0}, code: kerr.TopicAuthorizationFailed.Code, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := fetchRequest("t", 0)
			r.ReplicaID = 2
			return withVersion(r, 11)
		}},
		{name: "ListOffsets", key: 2, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrListOffsetsRequest()
			r.ReplicaID = -1
			r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1, CurrentLeaderEpoch: -1}}}}
			return withVersion(r, 4)
		}},
		{name: "Metadata/named", key: 3, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(metadataRequest("t"), 9)
		}},
		{name: "Metadata/all", key: 3, checks: []int{0}, denied: metadataHas("t"), build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(metadataRequest(), 9)
		}},
		{name: "Metadata/auto-create", key: 3, checks: []int{1, 2}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := metadataRequest(e.fresh("auto"))
			r.AllowAutoTopicCreation = true
			return withVersion(r, 9)
		}},
		{name: "Metadata/cluster-operations", key: 3, checks: []int{3},
			denied: func(resp kmsg.Response) bool { return resp.(*kmsg.MetadataResponse).AuthorizedOperations == 0 },
			build: func(t *testing.T, e *authzEnv) kmsg.Request {
				r := metadataRequest("t")
				r.IncludeClusterAuthorizedOperations = true
				return withVersion(r, 9)
			}},
		{name: "InitializeShareGroupState", key: 83, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrInitializeShareGroupStateRequest()
			r.GroupID = "g-share"
			r.Topics = []kmsg.InitializeShareGroupStateRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.InitializeShareGroupStateRequestTopicPartition{{Partition: 0}}}}
			return withVersion(r, 0)
		}},
		{name: "ReadShareGroupState", key: 84, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrReadShareGroupStateRequest()
			r.GroupID = "g-share"
			r.Topics = []kmsg.ReadShareGroupStateRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.ReadShareGroupStateRequestTopicPartition{{Partition: 0}}}}
			return withVersion(r, 0)
		}},
		{name: "WriteShareGroupState", key: 85, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrWriteShareGroupStateRequest()
			r.GroupID = "g-share"
			r.Topics = []kmsg.WriteShareGroupStateRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.WriteShareGroupStateRequestTopicPartition{{Partition: 0, StartOffset: -1}}}}
			return withVersion(r, 1)
		}},
		{name: "DeleteShareGroupState", key: 86, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDeleteShareGroupStateRequest()
			r.GroupID = "g-share"
			r.Topics = []kmsg.DeleteShareGroupStateRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.DeleteShareGroupStateRequestTopicPartition{{Partition: 0}}}}
			return withVersion(r, 0)
		}},
		{name: "ReadShareGroupStateSummary", key: 87, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrReadShareGroupStateSummaryRequest()
			r.GroupID = "g-share"
			r.Topics = []kmsg.ReadShareGroupStateSummaryRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.ReadShareGroupStateSummaryRequestTopicPartition{{Partition: 0}}}}
			return withVersion(r, 1)
		}},
		{name: "DescribeTopicPartitions/named", key: 75, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDescribeTopicPartitionsRequest()
			r.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "t"}}
			return withVersion(r, 0)
		}},
		{name: "DescribeTopicPartitions/all", key: 75, checks: []int{0},
			denied: func(resp kmsg.Response) bool {
				for _, st := range resp.(*kmsg.DescribeTopicPartitionsResponse).Topics {
					if st.Topic != nil && *st.Topic == "t" {
						return false
					}
				}
				return true
			},
			build: func(t *testing.T, e *authzEnv) kmsg.Request {
				return withVersion(kmsg.NewPtrDescribeTopicPartitionsRequest(), 0)
			}},
		{name: "DescribeQuorum", key: 55, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDescribeQuorumRequest()
			r.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
			return withVersion(r, 2)
		}},
		{name: "UpdateFeatures", key: 57, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrUpdateFeaturesRequest()
			r.FeatureUpdates = []kmsg.UpdateFeaturesRequestFeatureUpdate{{Feature: "transaction.version", MaxVersionLevel: 2, UpgradeType: 1}}
			r.ValidateOnly = true
			return withVersion(r, 1)
		}},
		{name: "OffsetCommit", key: 8, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrOffsetCommitRequest()
			r.Group, r.Generation = "g-commit", -1
			r.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}}}
			return withVersion(r, 8)
		}},
		{name: "OffsetFetch/named", key: 9, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrOffsetFetchRequest()
			r.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g-commit", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}}}
			return withVersion(r, 8)
		}},
		{name: "OffsetFetch/all", key: 9, checks: []int{1},
			denied: func(resp kmsg.Response) bool { return len(resp.(*kmsg.OffsetFetchResponse).Groups[0].Topics) == 0 },
			build: func(t *testing.T, e *authzEnv) kmsg.Request {
				r := kmsg.NewPtrOffsetFetchRequest()
				r.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g-commit"}}
				return withVersion(r, 8)
			}},
		{name: "OffsetFetch/v7", key: 9, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrOffsetFetchRequest()
			r.Group = "g-commit"
			return withVersion(r, 7)
		}},
		{name: "FindCoordinator/group", key: 10, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorKey = "g-commit"
			return withVersion(r, 3)
		}},
		{name: "FindCoordinator/transaction", key: 10, checks: []int{1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorType, r.CoordinatorKeys = 1, []string{"tx-desc"}
			return withVersion(r, 4)
		}},
		{name: "FindCoordinator/share", key: 10, checks: []int{2}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorType, r.CoordinatorKeys = 2, []string{"g-share:AQIDBAUGBwgJCgsMDQ4PEA:0"}
			return withVersion(r, 6)
		}},
		{name: "JoinGroup", key: 11, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrJoinGroupRequest()
			r.Group, r.SessionTimeoutMillis, r.RebalanceTimeoutMillis, r.ProtocolType = "g-join", 10000, 10000, "consumer"
			r.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
			return withVersion(r, 5)
		}},
		{name: "Heartbeat", key: 12, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrHeartbeatRequest()
			r.Group, r.MemberID, r.Generation = "g-join", "m", 1
			return withVersion(r, 3)
		}},
		{name: "LeaveGroup", key: 13, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrLeaveGroupRequest()
			r.Group, r.Members = "g-join", []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
			return withVersion(r, 3)
		}},
		{name: "SyncGroup", key: 14, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrSyncGroupRequest()
			r.Group, r.MemberID, r.Generation = "g-join", "m", 1
			return withVersion(r, 3)
		}},
		{name: "DescribeGroups", key: 15, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDescribeGroupsRequest()
			r.Groups = []string{"g-commit"}
			return withVersion(r, 5)
		}},
		{name: "ListGroups", key: 16, checks: []int{0, 1},
			denied: func(resp kmsg.Response) bool {
				return !slices.ContainsFunc(resp.(*kmsg.ListGroupsResponse).Groups, func(g kmsg.ListGroupsResponseGroup) bool { return g.Group == "g-commit" })
			},
			build: func(t *testing.T, e *authzEnv) kmsg.Request { return withVersion(kmsg.NewPtrListGroupsRequest(), 4) }},
		{name: "CreateTopics", key: 19, checks: []int{0, 1, 2}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrCreateTopicsRequest()
			r.ValidateOnly, r.TimeoutMillis = true, 10000
			r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: e.fresh("create"), NumPartitions: 1, ReplicationFactor: 1}}
			return withVersion(r, 5)
		}},
		// Kafka's controller also lets DELETE on the cluster delete every
		// topic.
		{name: "DeleteTopics", key: 20, checks: []int{0}, alsoDeny: []authz.Check{{Operation: authz.OpDelete, Resource: authz.ResourceCluster}}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			name := e.fresh("delete")
			if _, err := e.b.createTopicAnywhere(name, 1, 1, nil, nil); err != nil {
				t.Fatal(err)
			}
			r := kmsg.NewPtrDeleteTopicsRequest()
			r.TopicNames, r.TimeoutMillis = []string{name}, 10000
			return withVersion(r, 5)
		}},
		{name: "DeleteRecords", key: 21, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDeleteRecordsRequest()
			r.TimeoutMillis = 5000
			r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "t", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 0}}}}
			return withVersion(r, 1)
		}},
		{name: "InitProducerId/transactional", key: 22, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrInitProducerIDRequest()
			r.TransactionalID, r.TransactionTimeoutMillis = kmsg.StringPtr("tx-init"), 60000
			return withVersion(r, 4)
		}},
		// KIP-679: either alternative denied, Kafka answers
		// CLUSTER_AUTHORIZATION_FAILED.
		{name: "InitProducerId/idempotent", key: 22, checks: []int{1, 2}, code: kerr.ClusterAuthorizationFailed.Code, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(kmsg.NewPtrInitProducerIDRequest(), 4)
		}},
		{name: "OffsetForLeaderEpoch", key: 23, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrOffsetForLeaderEpochRequest()
			r.ReplicaID = -1
			r.Topics = []kmsg.OffsetForLeaderEpochRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{{Partition: 0, CurrentLeaderEpoch: -1, LeaderEpoch: 0}}}}
			return withVersion(r, 3)
		}},
		{name: "AddPartitionsToTxn/client", key: 24, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrAddPartitionsToTxnRequest()
			r.TransactionalID, r.ProducerID, r.ProducerEpoch = "tx-add", 4242, 0
			r.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{1}}}
			return withVersion(r, 3)
		}},
		{name: "AddPartitionsToTxn/broker", key: 24, checks: []int{2}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrAddPartitionsToTxnRequest()
			r.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{{TransactionalID: "tx-add", ProducerID: 4242, VerifyOnly: true,
				Topics: []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: "t", Partitions: []int32{1}}}}}
			return withVersion(r, 4)
		}},
		{name: "AddOffsetsToTxn", key: 25, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrAddOffsetsToTxnRequest()
			r.TransactionalID, r.ProducerID, r.Group = "tx-add", 4242, "g-commit"
			return withVersion(r, 3)
		}},
		{name: "EndTxn", key: 26, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrEndTxnRequest()
			r.TransactionalID, r.ProducerID = "tx-add", 4242
			return withVersion(r, 3)
		}},
		{name: "WriteTxnMarkers", key: 27, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrWriteTxnMarkersRequest()
			r.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: 4242, Committed: true,
				Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "missing", Partitions: []int32{0}}}}}
			return withVersion(r, 1)
		}},
		{name: "TxnOffsetCommit", key: 28, checks: []int{0, 1, 2}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrTxnOffsetCommitRequest()
			r.TransactionalID, r.Group, r.ProducerID, r.Generation = "tx-add", "g-commit", 4242, -1
			r.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}}}
			return withVersion(r, 3)
		}},
		{name: "DescribeAcls", key: 29, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDescribeACLsRequest()
			r.ResourceType, r.ResourcePatternType, r.Operation, r.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			return withVersion(r, 1)
		}},
		{name: "CreateAcls", key: 30, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrCreateACLsRequest()
			r.Creations = []kmsg.CreateACLsRequestCreation{{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: e.fresh("acl"),
				ResourcePatternType: kmsg.ACLResourcePatternTypeLiteral, Principal: "User:carol", Host: "*",
				Operation: kmsg.ACLOperationRead, PermissionType: kmsg.ACLPermissionTypeAllow}}
			return withVersion(r, 1)
		}},
		{name: "DeleteAcls", key: 31, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDeleteACLsRequest()
			r.Filters = []kmsg.DeleteACLsRequestFilter{{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: kmsg.StringPtr("none"),
				ResourcePatternType: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationAny, PermissionType: kmsg.ACLPermissionTypeAny}}
			return withVersion(r, 1)
		}},
		configs(32, "DescribeConfigs/broker", 0, kmsg.ConfigResourceTypeBroker, "1"),
		configs(32, "DescribeConfigs/topic", 1, kmsg.ConfigResourceTypeTopic, "t"),
		configs(32, "DescribeConfigs/group", 2, kmsg.ConfigResourceTypeGroupConfig, "g-commit"),
		configs(33, "AlterConfigs/broker", 0, kmsg.ConfigResourceTypeBroker, "1"),
		configs(33, "AlterConfigs/topic", 1, kmsg.ConfigResourceTypeTopic, "t"),
		configs(33, "AlterConfigs/group", 2, kmsg.ConfigResourceTypeGroupConfig, "g-commit"),
		{name: "DescribeLogDirs", key: 35, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(kmsg.NewPtrDescribeLogDirsRequest(), 3)
		}},
		{name: "CreatePartitions", key: 37, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrCreatePartitionsRequest()
			r.ValidateOnly, r.TimeoutMillis = true, 10000
			r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "t", Count: 3}}
			return withVersion(r, 1)
		}},
		{name: "DeleteGroups", key: 42, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDeleteGroupsRequest()
			r.Groups = []string{"g-none"}
			return withVersion(r, 2)
		}},
		{name: "ElectLeaders", key: 43, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrElectLeadersRequest()
			r.TimeoutMillis = 5000
			r.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "t", Partitions: []int32{0}}}
			return withVersion(r, 1)
		}},
		configs(44, "IncrementalAlterConfigs/broker", 0, kmsg.ConfigResourceTypeBroker, "1"),
		configs(44, "IncrementalAlterConfigs/topic", 1, kmsg.ConfigResourceTypeTopic, "t"),
		configs(44, "IncrementalAlterConfigs/group", 2, kmsg.ConfigResourceTypeGroupConfig, "g-commit"),
		{name: "AlterPartitionReassignments", key: 45, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrAlterPartitionAssignmentsRequest()
			r.TimeoutMillis = 5000
			r.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: "missing", Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{{Partition: 0, Replicas: []int32{1}}}}}
			return withVersion(r, 0)
		}},
		{name: "ListPartitionReassignments", key: 46, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(kmsg.NewPtrListPartitionReassignmentsRequest(), 0)
		}},
		{name: "OffsetDelete", key: 47, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrOffsetDeleteRequest()
			r.Group = "g-commit"
			r.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "other", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
			return withVersion(r, 0)
		}},
		{name: "DescribeClientQuotas", key: 48, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(kmsg.NewPtrDescribeClientQuotasRequest(), 1)
		}},
		{name: "AlterClientQuotas", key: 49, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrAlterClientQuotasRequest()
			r.ValidateOnly = true
			r.Entries = []kmsg.AlterClientQuotasRequestEntry{{Entity: []kmsg.AlterClientQuotasRequestEntryEntity{{Type: "user", Name: kmsg.StringPtr("carol")}},
				Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "producer_byte_rate", Value: 1024}}}}
			return withVersion(r, 1)
		}},
		{name: "DescribeUserScramCredentials", key: 50, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(kmsg.NewPtrDescribeUserSCRAMCredentialsRequest(), 0)
		}},
		{name: "AlterUserScramCredentials", key: 51, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
			r.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestDeletion{{Name: "carol", Mechanism: 1}}
			return withVersion(r, 0)
		}},
		{name: "DescribeCluster", key: 60, checks: []int{0},
			denied: func(resp kmsg.Response) bool {
				return resp.(*kmsg.DescribeClusterResponse).ClusterAuthorizedOperations == 0
			},
			build: func(t *testing.T, e *authzEnv) kmsg.Request {
				r := kmsg.NewPtrDescribeClusterRequest()
				r.IncludeClusterAuthorizedOperations = true
				return withVersion(r, 1)
			}},
		{name: "DescribeProducers", key: 61, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDescribeProducersRequest()
			r.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: "t", Partitions: []int32{0}}}
			return withVersion(r, 0)
		}},
		{name: "DescribeTransactions", key: 65, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrDescribeTransactionsRequest()
			r.TransactionalIDs = []string{"tx-desc"}
			return withVersion(r, 0)
		}},
		{name: "DescribeTransactions/partitions", key: 65, checks: []int{1},
			denied: func(resp kmsg.Response) bool {
				return len(resp.(*kmsg.DescribeTransactionsResponse).TransactionStates[0].Topics) == 0
			},
			build: func(t *testing.T, e *authzEnv) kmsg.Request {
				r := kmsg.NewPtrDescribeTransactionsRequest()
				r.TransactionalIDs = []string{"tx-desc"}
				return withVersion(r, 0)
			}},
		{name: "ListTransactions", key: 66, checks: []int{0},
			denied: func(resp kmsg.Response) bool {
				return !slices.ContainsFunc(resp.(*kmsg.ListTransactionsResponse).TransactionStates, func(s kmsg.ListTransactionsResponseTransactionState) bool {
					return s.TransactionalID == "tx-desc"
				})
			},
			build: func(t *testing.T, e *authzEnv) kmsg.Request {
				return withVersion(kmsg.NewPtrListTransactionsRequest(), 1)
			}},
		{name: "ConsumerGroupHeartbeat", key: 68, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
			r.Group, r.MemberID, r.MemberEpoch, r.RebalanceTimeoutMillis = "g-848", "unknown-member", 1, 10000
			return withVersion(r, 0)
		}},
		{name: "ConsumerGroupDescribe", key: 69, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrConsumerGroupDescribeRequest()
			r.Groups = []string{"g-848"}
			return withVersion(r, 0)
		}},
		{name: "ListConfigResources", key: 74, checks: []int{0}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			return withVersion(kmsg.NewPtrListConfigResourcesRequest(), 1)
		}},
		{name: "ShareGroupHeartbeat", key: 76, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrShareGroupHeartbeatRequest()
			r.GroupID, r.MemberID, r.SubscribedTopicNames = "g-share", e.fresh("member"), []string{"t"}
			return withVersion(r, 1)
		}},
		{name: "ShareGroupDescribe", key: 77, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			// A member holding t's partition, joined as the super user.
			hb := kmsg.NewPtrShareGroupHeartbeatRequest()
			hb.GroupID, hb.MemberID, hb.SubscribedTopicNames = "g-share-desc", e.fresh("member"), []string{"t"}
			if resp := sendAs[*kmsg.ShareGroupHeartbeatResponse](t, e.b, superUser, hb, 1); resp.ErrorCode != 0 || resp.Assignment == nil {
				t.Fatalf("share group member: %+v", resp)
			}
			r := kmsg.NewPtrShareGroupDescribeRequest()
			r.GroupIDs = []string{"g-share-desc"}
			return withVersion(r, 1)
		}},
		{name: "ShareFetch", key: 78, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			r := kmsg.NewPtrShareFetchRequest()
			r.GroupID, r.MemberID = kmsg.StringPtr("g-share-fetch"), kmsg.StringPtr(e.fresh("member"))
			r.MaxBytes, r.MaxRecords = 1<<20, 10
			r.Topics = []kmsg.ShareFetchRequestTopic{{TopicID: authzTopicID(t, e), Partitions: []kmsg.ShareFetchRequestTopicPartition{{Partition: 0}}}}
			return withVersion(r, 2)
		}},
		{name: "ShareAcknowledge", key: 79, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			// The member's share session, opened as the super user.
			member := e.fresh("member")
			open := kmsg.NewPtrShareFetchRequest()
			open.GroupID, open.MemberID = kmsg.StringPtr("g-share-ack"), kmsg.StringPtr(member)
			open.MaxBytes, open.MaxRecords = 1<<20, 10
			open.Topics = []kmsg.ShareFetchRequestTopic{{TopicID: authzTopicID(t, e), Partitions: []kmsg.ShareFetchRequestTopicPartition{{Partition: 0}}}}
			if resp := sendAs[*kmsg.ShareFetchResponse](t, e.b, superUser, open, 2); resp.ErrorCode != 0 {
				t.Fatalf("opening a share session: %v", kerr.ErrorForCode(resp.ErrorCode))
			}
			r := kmsg.NewPtrShareAcknowledgeRequest()
			r.GroupID, r.MemberID, r.ShareSessionEpoch = kmsg.StringPtr("g-share-ack"), kmsg.StringPtr(member), 1
			r.Topics = []kmsg.ShareAcknowledgeRequestTopic{{TopicID: authzTopicID(t, e), Partitions: []kmsg.ShareAcknowledgeRequestTopicPartition{{
				Partition: 0, AcknowledgementBatches: []kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch{{FirstOffset: 0, LastOffset: 0, AcknowledgeTypes: []int8{1}}},
			}}}}
			return withVersion(r, 2)
		}},
		{name: "DescribeShareGroupOffsets", key: 90, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			authzShareGroup(t, e, "g-share-offsets", false)
			r := kmsg.NewPtrDescribeShareGroupOffsetsRequest()
			r.Groups = []kmsg.DescribeShareGroupOffsetsRequestGroup{{GroupID: "g-share-offsets", Topics: []kmsg.DescribeShareGroupOffsetsRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}}}
			return withVersion(r, 1)
		}},
		{name: "AlterShareGroupOffsets", key: 91, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			authzShareGroup(t, e, "g-share-alter", true)
			r := kmsg.NewPtrAlterShareGroupOffsetsRequest()
			r.GroupID = "g-share-alter"
			r.Topics = []kmsg.AlterShareGroupOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.AlterShareGroupOffsetsRequestTopicPartition{{Partition: 0, StartOffset: 0}}}}
			return withVersion(r, 0)
		}},
		{name: "DeleteShareGroupOffsets", key: 92, checks: []int{0, 1}, build: func(t *testing.T, e *authzEnv) kmsg.Request {
			authzShareGroup(t, e, "g-share-delete", true)
			r := kmsg.NewPtrDeleteShareGroupOffsetsRequest()
			r.GroupID = "g-share-delete"
			r.Topics = []kmsg.DeleteShareGroupOffsetsRequestTopic{{Topic: "t"}}
			return withVersion(r, 0)
		}},
	}
}

// authzTopicID is topic t's id.
func authzTopicID(t *testing.T, e *authzEnv) [16]byte {
	tp, ok := e.b.topic("t")
	if !ok {
		t.Fatal("no topic t")
	}
	return tp.ID
}

// authzShareGroup makes a share group with a member subscribed to t, as
// the super user, and makes it empty again when empty is set.
func authzShareGroup(t *testing.T, e *authzEnv, group string, empty bool) {
	member := e.fresh("member")
	hb := kmsg.NewPtrShareGroupHeartbeatRequest()
	hb.GroupID, hb.MemberID, hb.SubscribedTopicNames = group, member, []string{"t"}
	resp := sendAs[*kmsg.ShareGroupHeartbeatResponse](t, e.b, superUser, hb, 1)
	if resp.ErrorCode != 0 {
		t.Fatalf("share group %s: %v", group, kerr.ErrorForCode(resp.ErrorCode))
	}
	if empty {
		leave := kmsg.NewPtrShareGroupHeartbeatRequest()
		leave.GroupID, leave.MemberID, leave.MemberEpoch = group, member, -1
		if resp := sendAs[*kmsg.ShareGroupHeartbeatResponse](t, e.b, superUser, leave, 1); resp.ErrorCode != 0 {
			t.Fatalf("leaving share group %s: %v", group, kerr.ErrorForCode(resp.ErrorCode))
		}
	}
}
