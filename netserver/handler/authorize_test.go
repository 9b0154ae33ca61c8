package handler

import (
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/wire"
	"github.com/rillmq/rill/replication/metadata"
)

// The handlers' authorization: the ACL semantics the broker relies on
// (super users, allow.everyone.if.no.acl.found, DENY over ALLOW), the
// Metadata filtering and authorized-operations fields, and the cost on
// the Produce path. authorize_apis_test.go checks every API's row.

const (
	superUser = "User:admin"
	alice     = "User:alice"
	bob       = "User:bob"
)

// authzBroker is a test broker (topics "t" with 2 partitions and
// "other" with 1) that authorizes with a (super user User:admin).
func authzBroker(t testing.TB, cfg authz.Config) (*Broker, *testACLs) {
	t.Helper()
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 2, "other": 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBroker() })
	cfg.SuperUsers = append(cfg.SuperUsers, superUser)
	a, err := authz.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// No request has been served with another authorizer, and the
	// broker's goroutines never read it: set it as Config would.
	b.cfg.Authorizer = a
	return b, &testACLs{t: t, a: a}
}

// testACLs adds ACLs with fresh ids.
type testACLs struct {
	t testing.TB
	a *authz.Authorizer
	n uint64
}

func (s *testACLs) add(principal string, perm authz.Permission, op authz.Operation, typ authz.ResourceType, name string, pattern authz.PatternType) {
	s.t.Helper()
	s.n++
	var id authz.ID
	binary.BigEndian.PutUint64(id[8:], s.n)
	b := authz.Binding{
		Pattern: authz.Pattern{Type: typ, Name: name, PatternType: pattern},
		Entry:   authz.Entry{Principal: principal, Host: "*", Operation: op, Permission: perm},
	}
	if err := s.a.Add(id, b); err != nil {
		s.t.Fatal(err)
	}
}

func (s *testACLs) allow(principal string, op authz.Operation, typ authz.ResourceType, name string) {
	s.t.Helper()
	s.add(principal, authz.PermissionAllow, op, typ, name, authz.PatternLiteral)
}

func (s *testACLs) deny(principal string, op authz.Operation, typ authz.ResourceType, name string) {
	s.t.Helper()
	s.add(principal, authz.PermissionDeny, op, typ, name, authz.PatternLiteral)
}

// send handles req at version as principal, connected from 127.0.0.1.
func send(t testing.TB, b *Broker, principal string, req kmsg.Request, version int16) kmsg.Response {
	t.Helper()
	req.SetVersion(version)
	ctx := WithIdentity(context.Background(), Identity{Principal: principal, Host: "127.0.0.1"})
	wr := &wire.Request{Header: wire.Header{Key: req.Key(), Version: version, ClientID: "test"}, Msg: req, ClientHost: "/127.0.0.1"}
	return b.Handle(ctx, wr)
}

func sendAs[T kmsg.Response](t testing.TB, b *Broker, principal string, req kmsg.Request, version int16) T {
	t.Helper()
	resp, ok := send(t, b, principal, req, version).(T)
	if !ok {
		t.Fatalf("%s v%d: answered %T", kmsg.NameForKey(req.Key()), version, resp)
	}
	return resp
}

// awaitGroupCoordinator creates the offsets topic and waits until this
// broker coordinates group.
func awaitGroupCoordinator(t testing.TB, b *Broker, group string) {
	t.Helper()
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = group
	sendAs[*kmsg.FindCoordinatorResponse](t, b, superUser, fc, 3)
	for deadline := time.Now().Add(5 * time.Second); !b.groups.Owns(group); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("group %s has no coordinator", group)
		}
	}
}

// authCodes are Kafka's authorization failures.
var authCodes = []int16{
	kerr.TopicAuthorizationFailed.Code, kerr.GroupAuthorizationFailed.Code,
	kerr.ClusterAuthorizationFailed.Code, kerr.TransactionalIDAuthorizationFailed.Code,
}

// responseCodes collects every error code in a response: each int16
// field whose name ends in ErrorCode, at any depth.
func responseCodes(resp any) map[int16]bool {
	out := map[int16]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				if fv := v.Field(i); fv.Kind() == reflect.Int16 && len(f.Name) >= 9 && f.Name[len(f.Name)-9:] == "ErrorCode" {
					out[int16(fv.Int())] = true
				} else {
					walk(fv)
				}
			}
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return
			}
			for i := range v.Len() {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(resp))
	return out
}

func hasAuthCode(resp any) bool {
	codes := responseCodes(resp)
	return slices.ContainsFunc(authCodes, func(c int16) bool { return codes[c] })
}

func produceRequest(t testing.TB, topic string, partition int32, txnID *string) *kmsg.ProduceRequest {
	t.Helper()
	h := format.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: time.Now().UnixMilli()}
	if txnID != nil {
		h.ProducerID, h.ProducerEpoch, h.BaseSequence, h.Attributes = 4242, 0, 0, format.AttrTransactional
	}
	batch, err := format.BuildBatch(h, []format.Record{{Value: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis, req.TransactionID = 1, 5000, txnID
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func fetchRequest(topic string, partition int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = -1, 0, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = partition, 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func metadataRequest(topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	if topics == nil {
		return req // all topics
	}
	req.Topics = []kmsg.MetadataRequestTopic{}
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func metadataTopic(resp *kmsg.MetadataResponse, name string) (kmsg.MetadataResponseTopic, bool) {
	for _, st := range resp.Topics {
		if st.Topic != nil && *st.Topic == name {
			return st, true
		}
	}
	return kmsg.MetadataResponseTopic{}, false
}

// Every API key the table serves has a row in authz.Required: an API
// added without one fails here, before it can be served unauthorized.
func TestEveryAPIHasAnAuthorizationRow(t *testing.T) {
	for _, a := range apis {
		r, ok := authz.Required(a.key)
		if !ok {
			t.Errorf("key %d (%s) has no authz.Required row", a.key, kmsg.NameForKey(a.key))
			continue
		}
		if r.Checks == nil && a.key != 17 && a.key != 18 && a.key != 36 {
			t.Errorf("key %d (%s) has no checks: only ApiVersions and SASL are served unauthorized", a.key, r.Name)
		}
	}
}

// Alice may write and read topic t as the ACLs say; bob, without ACLs,
// may do neither, and learns nothing about which topics exist.
func TestAliceAndBob(t *testing.T) {
	b, acls := authzBroker(t, authz.Config{})
	acls.allow(alice, authz.OpWrite, authz.ResourceTopic, "t")
	acls.allow(alice, authz.OpRead, authz.ResourceTopic, "t")

	for _, who := range []struct {
		principal string
		code      int16
	}{{alice, 0}, {bob, kerr.TopicAuthorizationFailed.Code}} {
		pr := sendAs[*kmsg.ProduceResponse](t, b, who.principal, produceRequest(t, "t", 0, nil), 9)
		if got := pr.Topics[0].Partitions[0].ErrorCode; got != who.code {
			t.Errorf("%s produce: code %d, want %d", who.principal, got, who.code)
		}
		fr := sendAs[*FetchResponse](t, b, who.principal, fetchRequest("t", 0), 11)
		if got := fr.Topics[0].Partitions[0].ErrorCode; got != who.code {
			t.Errorf("%s fetch: code %d, want %d", who.principal, got, who.code)
		}
	}
	// Alice may not write "other", nor a topic that does not exist: both
	// answer TOPIC_AUTHORIZATION_FAILED, never UNKNOWN_TOPIC_OR_PARTITION.
	for _, topic := range []string{"other", "missing"} {
		pr := sendAs[*kmsg.ProduceResponse](t, b, alice, produceRequest(t, topic, 0, nil), 9)
		if got := pr.Topics[0].Partitions[0].ErrorCode; got != kerr.TopicAuthorizationFailed.Code {
			t.Errorf("alice produce to %s: code %d, want TOPIC_AUTHORIZATION_FAILED", topic, got)
		}
	}
	// Alice's fetch reads what she wrote.
	fr := sendAs[*FetchResponse](t, b, alice, fetchRequest("t", 0), 11)
	if err := fr.Materialize(); err != nil {
		t.Fatal(err)
	}
	if hw := fr.Topics[0].Partitions[0].HighWatermark; hw != 1 {
		t.Errorf("alice's fetch: high watermark %d, want 1", hw)
	}
}

// A consumer group's flow needs READ on the group and the topic: a group
// ACL alone is not enough to commit offsets for the topic.
func TestGroupACLs(t *testing.T) {
	b, acls := authzBroker(t, authz.Config{})
	acls.allow(alice, authz.OpRead, authz.ResourceGroup, "g")
	acls.allow(bob, authz.OpRead, authz.ResourceGroup, "g")
	acls.allow(alice, authz.OpRead, authz.ResourceTopic, "t")

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "g"
	if r := sendAs[*kmsg.FindCoordinatorResponse](t, b, alice, fc, 3); r.ErrorCode != 0 {
		t.Fatalf("alice find coordinator: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	fc.CoordinatorKey = "h"
	if r := sendAs[*kmsg.FindCoordinatorResponse](t, b, alice, fc, 3); r.ErrorCode != kerr.GroupAuthorizationFailed.Code || r.NodeID != -1 {
		t.Errorf("alice find coordinator of h: %+v, want GROUP_AUTHORIZATION_FAILED", r)
	}
	commit := func(principal, group string) int16 {
		oc := kmsg.NewPtrOffsetCommitRequest()
		oc.Group, oc.Generation = group, -1
		oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 7, LeaderEpoch: -1}}}}
		return sendAs[*kmsg.OffsetCommitResponse](t, b, principal, oc, 8).Topics[0].Partitions[0].ErrorCode
	}
	if code := commit(alice, "g"); code != 0 {
		t.Errorf("alice commit: %v", kerr.ErrorForCode(code))
	}
	if code := commit(bob, "g"); code != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("bob commit (group allowed, topic not): code %d, want TOPIC_AUTHORIZATION_FAILED", code)
	}
	if code := commit(alice, "h"); code != kerr.GroupAuthorizationFailed.Code {
		t.Errorf("alice commit to h: code %d, want GROUP_AUTHORIZATION_FAILED", code)
	}
	// Bob may fetch g's offsets (READ implies DESCRIBE on the group) but
	// not see t's: asked for all, t is left out; named, it is denied.
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}, {Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}}}
	for _, who := range []string{alice, bob} {
		r := sendAs[*kmsg.OffsetFetchResponse](t, b, who, of, 8)
		all, named := r.Groups[0], r.Groups[1]
		if who == alice {
			if len(all.Topics) != 1 || all.Topics[0].Partitions[0].Offset != 7 || named.Topics[0].Partitions[0].Offset != 7 {
				t.Errorf("alice offset fetch: %+v", r.Groups)
			}
			continue
		}
		if len(all.Topics) != 0 {
			t.Errorf("bob's all-offsets answer shows %+v", all.Topics)
		}
		if p := named.Topics[0].Partitions[0]; p.ErrorCode != kerr.TopicAuthorizationFailed.Code || p.Offset != -1 {
			t.Errorf("bob's named offset: %+v, want TOPIC_AUTHORIZATION_FAILED and -1", p)
		}
	}
	// ListGroups: bob sees g (DESCRIBE implied by READ), not h; with
	// DESCRIBE on the cluster he sees every group.
	commit(superUser, "h")
	listed := func(principal string) []string {
		var ids []string
		for _, g := range sendAs[*kmsg.ListGroupsResponse](t, b, principal, kmsg.NewPtrListGroupsRequest(), 4).Groups {
			ids = append(ids, g.Group)
		}
		slices.Sort(ids)
		return ids
	}
	if got := listed(bob); !slices.Equal(got, []string{"g"}) {
		t.Errorf("bob lists %v, want [g]", got)
	}
	acls.allow(bob, authz.OpDescribe, authz.ResourceCluster, authz.ClusterName)
	if got := listed(bob); !slices.Equal(got, []string{"g", "h"}) {
		t.Errorf("bob with cluster DESCRIBE lists %v, want [g h]", got)
	}
}

// Super users pass every check without ACLs; with
// allow.everyone.if.no.acl.found a resource no ACL names is open to all,
// and one ACL on it closes it to everyone else.
func TestSuperUsersAndAllowIfNoACL(t *testing.T) {
	b, acls := authzBroker(t, authz.Config{})
	if code := sendAs[*kmsg.ProduceResponse](t, b, superUser, produceRequest(t, "t", 0, nil), 9).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Errorf("super user produce: %v", kerr.ErrorForCode(code))
	}
	if code := sendAs[*kmsg.ProduceResponse](t, b, bob, produceRequest(t, "t", 0, nil), 9).Topics[0].Partitions[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("bob produce without allow.everyone: code %d", code)
	}

	b, acls = authzBroker(t, authz.Config{AllowIfNoACL: true})
	acls.allow(alice, authz.OpWrite, authz.ResourceTopic, "other")
	for _, c := range []struct {
		principal, topic string
		code             int16
	}{
		{bob, "t", 0},   // no ACL names t: open
		{alice, "t", 0}, // likewise
		{alice, "other", 0},
		{bob, "other", kerr.TopicAuthorizationFailed.Code}, // an ACL names other: bob has none
	} {
		if code := sendAs[*kmsg.ProduceResponse](t, b, c.principal, produceRequest(t, c.topic, 0, nil), 9).Topics[0].Partitions[0].ErrorCode; code != c.code {
			t.Errorf("%s produce to %s with allow.everyone: code %d, want %d", c.principal, c.topic, code, c.code)
		}
	}
}

// A DENY wins over any ALLOW: ALL on every topic, DENY WRITE on t.
func TestDenyWins(t *testing.T) {
	b, acls := authzBroker(t, authz.Config{})
	acls.allow(alice, authz.OpAll, authz.ResourceTopic, authz.Wildcard)
	acls.add(alice, authz.PermissionDeny, authz.OpWrite, authz.ResourceTopic, "t", authz.PatternPrefixed)
	if code := sendAs[*kmsg.ProduceResponse](t, b, alice, produceRequest(t, "t", 0, nil), 9).Topics[0].Partitions[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("produce to t past a DENY: code %d", code)
	}
	if code := sendAs[*kmsg.ProduceResponse](t, b, alice, produceRequest(t, "other", 0, nil), 9).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Errorf("produce to other: %v", kerr.ErrorForCode(code))
	}
	// DENY WRITE does not deny READ (nor DESCRIBE): alice still fetches t.
	if code := sendAs[*FetchResponse](t, b, alice, fetchRequest("t", 0), 11).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Errorf("fetch from t: %v", kerr.ErrorForCode(code))
	}
	// A DENY for User:* denies alice too, whatever her ALLOWs.
	acls.deny("User:*", authz.OpRead, authz.ResourceTopic, "t")
	if code := sendAs[*FetchResponse](t, b, alice, fetchRequest("t", 0), 11).Topics[0].Partitions[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("fetch from t past a User:* DENY: code %d", code)
	}
}

// Metadata answers only the topics the principal may describe: an
// all-topics answer leaves the others out, a named one answers
// TOPIC_AUTHORIZATION_FAILED whether or not it exists, and auto-creation
// needs CREATE.
func TestMetadataFiltering(t *testing.T) {
	b, acls := authzBroker(t, authz.Config{})
	acls.allow(alice, authz.OpDescribe, authz.ResourceTopic, "t")
	acls.add(alice, authz.PermissionAllow, authz.OpDescribe, authz.ResourceTopic, "new-", authz.PatternPrefixed)

	all := sendAs[*kmsg.MetadataResponse](t, b, alice, metadataRequest(), 9)
	var names []string
	for _, st := range all.Topics {
		names = append(names, *st.Topic)
	}
	if !slices.Equal(names, []string{"t"}) {
		t.Errorf("alice's all-topics metadata: %v, want [t]", names)
	}
	if n := len(sendAs[*kmsg.MetadataResponse](t, b, bob, metadataRequest(), 9).Topics); n != 0 {
		t.Errorf("bob's all-topics metadata lists %d topics", n)
	}

	named := sendAs[*kmsg.MetadataResponse](t, b, alice, metadataRequest("t", "other", "missing"), 9)
	for _, c := range []struct {
		name string
		code int16
	}{{"t", 0}, {"other", kerr.TopicAuthorizationFailed.Code}, {"missing", kerr.TopicAuthorizationFailed.Code}} {
		st, ok := metadataTopic(named, c.name)
		if !ok || st.ErrorCode != c.code {
			t.Errorf("named %s: %+v, want code %d", c.name, st, c.code)
		}
		if c.code != 0 && (st.TopicID != [16]byte{} || len(st.Partitions) != 0) {
			t.Errorf("denied %s discloses %+v", c.name, st)
		}
	}
	if st, _ := metadataTopic(named, "t"); len(st.Partitions) != 2 {
		t.Errorf("t: %d partitions, want 2", len(st.Partitions))
	}

	// By id: an id is not secret, the name is.
	other, _ := b.topic("other")
	byID := kmsg.NewPtrMetadataRequest()
	byID.Topics = []kmsg.MetadataRequestTopic{{TopicID: other.ID}}
	r := sendAs[*kmsg.MetadataResponse](t, b, alice, byID, 12)
	if st := r.Topics[0]; st.ErrorCode != kerr.TopicAuthorizationFailed.Code || st.Topic != nil || st.TopicID != other.ID {
		t.Errorf("other by id: %+v", st)
	}

	// Auto-creation: alice may describe new-* but not create; with
	// CREATE on the topic (or the cluster) she may.
	create := metadataRequest("new-1")
	create.AllowAutoTopicCreation = true
	if st := sendAs[*kmsg.MetadataResponse](t, b, alice, create, 9).Topics[0]; st.ErrorCode != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("auto-create without CREATE: %+v", st)
	}
	if _, ok := b.topic("new-1"); ok {
		t.Fatal("new-1 was created without CREATE")
	}
	acls.allow(alice, authz.OpCreate, authz.ResourceTopic, "new-1")
	if st := sendAs[*kmsg.MetadataResponse](t, b, alice, create, 9).Topics[0]; st.ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Errorf("auto-create with CREATE on the topic: %v, want LEADER_NOT_AVAILABLE while it is created", kerr.ErrorForCode(st.ErrorCode))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.waitTopic(ctx, "new-1", func(_ metadata.Topic, ok bool) bool { return ok }); err != nil {
		t.Error("new-1 was not created")
	}
}

// DeleteTopics does not tell a principal that may not DESCRIBE a topic
// whether it exists; one that may is told, and a topic named by id that
// it may not delete is named in the answer only if it may describe it.
func TestDeleteTopicsDisclosure(t *testing.T) {
	b, acls := authzBroker(t, authz.Config{})
	acls.allow(alice, authz.OpDescribe, authz.ResourceTopic, "missing")
	acls.allow(alice, authz.OpDescribe, authz.ResourceTopic, "t")
	deleteTopics := func(principal string, topics ...kmsg.DeleteTopicsRequestTopic) []kmsg.DeleteTopicsResponseTopic {
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.Topics, req.TimeoutMillis = topics, 10000
		return sendAs[*kmsg.DeleteTopicsResponse](t, b, principal, req, 6).Topics
	}
	for _, c := range []struct {
		principal string
		code      int16
	}{{bob, kerr.TopicAuthorizationFailed.Code}, {alice, kerr.UnknownTopicOrPartition.Code}} {
		if r := deleteTopics(c.principal, kmsg.DeleteTopicsRequestTopic{Topic: kmsg.StringPtr("missing")}); r[0].ErrorCode != c.code {
			t.Errorf("%s deleting a missing topic: code %d, want %d", c.principal, r[0].ErrorCode, c.code)
		}
	}
	tt, _ := b.topic("t")
	other, _ := b.topic("other")
	r := deleteTopics(alice, kmsg.DeleteTopicsRequestTopic{TopicID: tt.ID}, kmsg.DeleteTopicsRequestTopic{TopicID: other.ID})
	if r[0].ErrorCode != kerr.TopicAuthorizationFailed.Code || r[0].Topic == nil || *r[0].Topic != "t" {
		t.Errorf("t by id (describable, not deletable): %+v", r[0])
	}
	if r[1].ErrorCode != kerr.TopicAuthorizationFailed.Code || r[1].Topic != nil {
		t.Errorf("other by id (not describable): %+v", r[1])
	}
	if _, ok := b.topic("t"); !ok {
		t.Fatal("t was deleted")
	}
	// DELETE on the cluster deletes any topic, as Kafka's controller does.
	acls.allow(bob, authz.OpDelete, authz.ResourceCluster, authz.ClusterName)
	if r := deleteTopics(bob, kmsg.DeleteTopicsRequestTopic{Topic: kmsg.StringPtr("other")}); r[0].ErrorCode != 0 {
		t.Errorf("bob with cluster DELETE: %v", kerr.ErrorForCode(r[0].ErrorCode))
	}
}

// The authorized-operations fields: Metadata's per topic and for the
// cluster, DescribeCluster's, DescribeGroups' and ConsumerGroupDescribe's
// per group, as bit fields of ACL operation codes; without an authorizer
// they keep their answers from before ACLs.
func TestAuthorizedOperations(t *testing.T) {
	b, acls := authzBroker(t, authz.Config{})
	acls.allow(alice, authz.OpRead, authz.ResourceTopic, "t")
	acls.allow(alice, authz.OpAlterConfigs, authz.ResourceTopic, "t")
	acls.allow(alice, authz.OpDescribe, authz.ResourceCluster, authz.ClusterName)
	acls.allow(alice, authz.OpDescribe, authz.ResourceGroup, "g")
	acls.allow(bob, authz.OpIdempotentWrite, authz.ResourceCluster, authz.ClusterName)
	awaitGroupCoordinator(t, b, "g")
	awaitGroupCoordinator(t, b, "h")
	bits := func(ops ...authz.Operation) int32 {
		var v int32
		for _, op := range ops {
			v |= 1 << op
		}
		return v
	}

	req := metadataRequest("t")
	req.IncludeTopicAuthorizedOperations, req.IncludeClusterAuthorizedOperations = true, true
	r := sendAs[*kmsg.MetadataResponse](t, b, alice, req, 10)
	// READ implies DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS.
	if want := bits(authz.OpRead, authz.OpDescribe, authz.OpAlterConfigs, authz.OpDescribeConfigs); r.Topics[0].AuthorizedOperations != want {
		t.Errorf("topic operations %b, want %b", r.Topics[0].AuthorizedOperations, want)
	}
	if want := bits(authz.OpDescribe); r.AuthorizedOperations != want {
		t.Errorf("cluster operations %b, want %b", r.AuthorizedOperations, want)
	}
	// Bob may not describe the cluster: 0, though he has IDEMPOTENT_WRITE.
	if got := sendAs[*kmsg.MetadataResponse](t, b, bob, req, 10).AuthorizedOperations; got != 0 {
		t.Errorf("bob's cluster operations %b, want 0", got)
	}
	// Not asked: the schema's default.
	plain := metadataRequest("t")
	if r := sendAs[*kmsg.MetadataResponse](t, b, alice, plain, 10); r.AuthorizedOperations != unknownAuthorizedOperations || r.Topics[0].AuthorizedOperations != unknownAuthorizedOperations {
		t.Errorf("operations not asked for: %d, %d", r.AuthorizedOperations, r.Topics[0].AuthorizedOperations)
	}

	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.IncludeClusterAuthorizedOperations = true
	if got := sendAs[*kmsg.DescribeClusterResponse](t, b, alice, dc, 1).ClusterAuthorizedOperations; got != bits(authz.OpDescribe) {
		t.Errorf("DescribeCluster operations %b", got)
	}
	if got := sendAs[*kmsg.DescribeClusterResponse](t, b, bob, dc, 1).ClusterAuthorizedOperations; got != 0 {
		t.Errorf("bob's DescribeCluster operations %b, want 0", got)
	}

	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Groups, dg.IncludeAuthorizedOperations = []string{"g", "h"}, true
	gr := sendAs[*kmsg.DescribeGroupsResponse](t, b, alice, dg, 5)
	if g := gr.Groups[0]; g.ErrorCode != 0 || g.AuthorizedOperations != bits(authz.OpDescribe) {
		t.Errorf("group g: %+v", g)
	}
	if h := gr.Groups[1]; h.ErrorCode != kerr.GroupAuthorizationFailed.Code || h.AuthorizedOperations != unknownAuthorizedOperations {
		t.Errorf("group h: %+v", h)
	}

	// Without an authorizer: the answers from before ACLs.
	b.cfg.Authorizer = nil
	if got := sendAs[*kmsg.DescribeClusterResponse](t, b, bob, dc, 1).ClusterAuthorizedOperations; got != unknownAuthorizedOperations {
		t.Errorf("no authorizer: DescribeCluster operations %d", got)
	}
	if r := sendAs[*kmsg.MetadataResponse](t, b, bob, req, 10); r.AuthorizedOperations != unknownAuthorizedOperations || r.Topics[0].AuthorizedOperations != unknownAuthorizedOperations {
		t.Errorf("no authorizer: metadata operations %d, %d", r.AuthorizedOperations, r.Topics[0].AuthorizedOperations)
	}
	if g := sendAs[*kmsg.DescribeGroupsResponse](t, b, bob, dg, 5).Groups[1]; g.ErrorCode != 0 || g.AuthorizedOperations != groupOperations {
		t.Errorf("no authorizer: group h %+v", g)
	}
}

// InitProducerId without a transactional id needs IDEMPOTENT_WRITE on the
// cluster or WRITE on some topic (KIP-679): a prefixed WRITE is enough.
func TestIdempotentProducerNeedsAnyWrite(t *testing.T) {
	b, acls := authzBroker(t, authz.Config{})
	acls.add(alice, authz.PermissionAllow, authz.OpWrite, authz.ResourceTopic, "logs-", authz.PatternPrefixed)
	for _, c := range []struct {
		principal string
		code      int16
	}{{alice, 0}, {bob, kerr.ClusterAuthorizationFailed.Code}} {
		r := sendAs[*kmsg.InitProducerIDResponse](t, b, c.principal, kmsg.NewPtrInitProducerIDRequest(), 4)
		if r.ErrorCode != c.code {
			t.Errorf("%s: code %d, want %d", c.principal, r.ErrorCode, c.code)
		}
		if c.code != 0 && (r.ProducerID != -1 || r.ProducerEpoch != -1) {
			t.Errorf("%s denied but given producer %d/%d", c.principal, r.ProducerID, r.ProducerEpoch)
		}
	}
}

// BenchmarkProduceAuthorization measures what authorization adds to a
// Produce: the checks of a request of one topic (access, the topic's
// WRITE), and a whole acks=1 Produce, without an authorizer and with one
// holding a few hundred ACLs.
//
//	go test -run '^$' -bench ProduceAuthorization -benchmem ./netserver/handler/
func BenchmarkProduceAuthorization(b *testing.B) {
	for _, mode := range []string{"none", "acls"} {
		br, acls := authzBroker(b, authz.Config{})
		if mode == "none" {
			br.cfg.Authorizer = nil
		} else {
			for i := range 300 {
				principal := fmt.Sprintf("User:u%d", i%30)
				acls.allow(principal, authz.OpWrite, authz.ResourceTopic, fmt.Sprintf("topic-%d", i))
				acls.add(principal, authz.PermissionAllow, authz.OpRead, authz.ResourceTopic, fmt.Sprintf("pfx-%d.", i), authz.PatternPrefixed)
			}
			acls.allow(alice, authz.OpWrite, authz.ResourceTopic, "t")
		}
		ctx := WithIdentity(context.Background(), Identity{Principal: alice, Host: "127.0.0.1"})
		req := produceRequest(b, "t", 0, nil)
		b.Run(mode+"/check", func(b *testing.B) {
			b.ReportAllocs()
			// A b.N loop, not b.Loop: b.Loop keeps the calls in its body
			// from inlining, which the nil-authorizer path relies on.
			for range b.N {
				ac := br.access(ctx)
				for _, rt := range req.Topics {
					if !ac.topic(authz.OpWrite, rt.Topic) {
						b.Fatal("denied")
					}
				}
			}
		})
		b.Run(mode+"/produce", func(b *testing.B) {
			wr := &wire.Request{Header: wire.Header{Key: 0, Version: 9}, Msg: req}
			req.SetVersion(9)
			b.ReportAllocs()
			for b.Loop() {
				if br.Handle(ctx, wr).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode != 0 {
					b.Fatal("produce failed")
				}
			}
		})
	}
}
