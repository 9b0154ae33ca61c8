package handler

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/wire"
	"github.com/rillmq/rill/replication/controller"
)

// The principals of the ACL and SCRAM API tests.
const (
	aclAdmin = "User:admin" // a super user
	aclAlice = "User:alice"
	aclBob   = "User:bob"
)

// askAs sends req at version as principal (from 127.0.0.1) through
// Handle, as the server does, and returns the answer.
func askAs[T kmsg.Response](t *testing.T, b *Broker, principal string, req kmsg.Request, version int16) T {
	t.Helper()
	req.SetVersion(version)
	ctx := WithIdentity(context.Background(), Identity{Principal: principal, Host: "127.0.0.1"})
	wr := &wire.Request{Header: wire.Header{Key: req.Key(), Version: version, ClientID: "test"}, Msg: req, ClientHost: "/127.0.0.1"}
	resp, ok := b.Handle(ctx, wr).(T)
	if !ok {
		t.Fatalf("%s v%d: answered %T", kmsg.NameForKey(req.Key()), version, resp)
	}
	return resp
}

// aclBroker is a test broker with an authorizer (super user User:admin)
// that it feeds from its metadata log, as `rill serve` does.
func aclBroker(t *testing.T) (*Broker, *authz.Authorizer) {
	t.Helper()
	a, err := authz.New(authz.Config{SuperUsers: []string{aclAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	b, closeBroker, err := NewForTestConfig(vfs.NewMemFS(), "/data", nil, func(c *Config) { c.Authorizer = a })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBroker() })
	return b, a
}

func creation(typ kmsg.ACLResourceType, name string, pattern kmsg.ACLResourcePatternType, principal string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourceName, c.ResourcePatternType = typ, name, pattern
	c.Principal, c.Host, c.Operation, c.PermissionType = principal, "*", op, perm
	return c
}

func describeAll() *kmsg.DescribeACLsRequest {
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	return req
}

func resultCodes[T any](results []T, code func(T) int16) []int16 {
	var out []int16
	for _, r := range results {
		out = append(out, code(r))
	}
	return out
}

// CreateAcls, DescribeAcls and DeleteAcls through the metadata log: what
// is created is in the authorizer (and decides) when CreateAcls answers,
// a repeated creation adds nothing, invalid creations and filters are
// refused per item, and deleting removes what the filter matched.
func TestACLAPIs(t *testing.T) {
	b, a := aclBroker(t)
	create := kmsg.NewPtrCreateACLsRequest()
	create.Creations = []kmsg.CreateACLsRequestCreation{
		creation(kmsg.ACLResourceTypeTopic, "orders", kmsg.ACLResourcePatternTypeLiteral, aclAlice, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),
		creation(kmsg.ACLResourceTypeTopic, "ord", kmsg.ACLResourcePatternTypePrefixed, aclAlice, kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeAllow),
		creation(kmsg.ACLResourceTypeGroup, "g", kmsg.ACLResourcePatternTypeLiteral, aclBob, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeDeny),
		creation(kmsg.ACLResourceTypeCluster, "not-the-cluster", kmsg.ACLResourcePatternTypeLiteral, aclBob, kmsg.ACLOperationAlter, kmsg.ACLPermissionTypeAllow),
		creation(kmsg.ACLResourceTypeTopic, "t", kmsg.ACLResourcePatternTypeLiteral, "alice-without-type", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow),
	}
	resp := askAs[*kmsg.CreateACLsResponse](t, b, aclAdmin, create, 3)
	codes := resultCodes(resp.Results, func(r kmsg.CreateACLsResponseResult) int16 { return r.ErrorCode })
	inv := kerr.InvalidRequest.Code
	if want := []int16{0, 0, 0, inv, inv}; !slices.Equal(codes, want) {
		t.Fatalf("create codes %v, want %v", codes, want)
	}
	if a.Len() != 3 {
		t.Fatalf("authorizer has %d acls when CreateAcls answered, want 3", a.Len())
	}
	if !a.Authorize(authz.Request{Principal: aclAlice, Host: "10.0.0.1", Operation: authz.OpWrite,
		Resource: authz.Resource{Type: authz.ResourceTopic, Name: "orders-eu"}}).Allowed {
		t.Fatal("the prefixed ACL does not decide")
	}
	again := askAs[*kmsg.CreateACLsResponse](t, b, aclAdmin, create, 3)
	if again.Results[0].ErrorCode != 0 || a.Len() != 3 {
		t.Fatalf("repeated creation: %+v, %d acls", again.Results[0], a.Len())
	}

	desc := askAs[*kmsg.DescribeACLsResponse](t, b, aclAdmin, describeAll(), 3)
	if desc.ErrorCode != 0 || len(desc.Resources) != 3 {
		t.Fatalf("describe all: %+v", desc)
	}
	match := describeAll()
	match.ResourceType, match.ResourceName, match.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("orders"), kmsg.ACLResourcePatternTypeMatch
	if desc := askAs[*kmsg.DescribeACLsResponse](t, b, aclAdmin, match, 3); len(desc.Resources) != 2 {
		t.Fatalf("MATCH orders: %+v", desc.Resources)
	}
	if desc := askAs[*kmsg.DescribeACLsResponse](t, b, aclAdmin, match, 0); desc.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("MATCH at v0: %+v", desc)
	}

	del := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourcePatternType, f.Principal = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.StringPtr(aclAlice)
	f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	unknown := f
	unknown.PermissionType = kmsg.ACLPermissionTypeUnknown
	del.Filters = []kmsg.DeleteACLsRequestFilter{f, unknown}
	dresp := askAs[*kmsg.DeleteACLsResponse](t, b, aclAdmin, del, 3)
	if r := dresp.Results[0]; r.ErrorCode != 0 || len(r.MatchingACLs) != 2 {
		t.Fatalf("delete alice's: %+v", r)
	}
	if dresp.Results[1].ErrorCode != inv {
		t.Fatalf("unknown filter: %+v", dresp.Results[1])
	}
	if a.Len() != 1 {
		t.Fatalf("authorizer has %d acls when DeleteAcls answered, want 1", a.Len())
	}
}

// The ACL APIs answer SECURITY_DISABLED without an authorizer, and
// CLUSTER_AUTHORIZATION_FAILED to a principal without ALTER (create,
// delete) or DESCRIBE (describe) on the cluster; ALTER on the cluster is
// enough for all three.
func TestACLAPIsAuthorization(t *testing.T) {
	plainBroker, closeBroker, err := NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	create := kmsg.NewPtrCreateACLsRequest()
	create.Creations = []kmsg.CreateACLsRequestCreation{
		creation(kmsg.ACLResourceTypeTopic, "t", kmsg.ACLResourcePatternTypeLiteral, aclBob, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow)}
	del := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourcePatternType, f.Operation, f.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	del.Filters = []kmsg.DeleteACLsRequestFilter{f}
	disabled := kerr.SecurityDisabled.Code
	if r := askAs[*kmsg.CreateACLsResponse](t, plainBroker, aclAlice, create, 3); r.Results[0].ErrorCode != disabled {
		t.Fatalf("create without an authorizer: %+v", r)
	}
	if r := askAs[*kmsg.DescribeACLsResponse](t, plainBroker, aclAlice, describeAll(), 3); r.ErrorCode != disabled {
		t.Fatalf("describe without an authorizer: %+v", r)
	}
	if r := askAs[*kmsg.DeleteACLsResponse](t, plainBroker, aclAlice, del, 3); r.Results[0].ErrorCode != disabled {
		t.Fatalf("delete without an authorizer: %+v", r)
	}

	b, a := aclBroker(t)
	denied := kerr.ClusterAuthorizationFailed.Code
	check := func(who string, want int16) {
		t.Helper()
		if r := askAs[*kmsg.CreateACLsResponse](t, b, who, create, 2); r.Results[0].ErrorCode != want {
			t.Errorf("%s create: %+v", who, r.Results[0])
		}
		if r := askAs[*kmsg.DescribeACLsResponse](t, b, who, describeAll(), 2); r.ErrorCode != want {
			t.Errorf("%s describe: %d", who, r.ErrorCode)
		}
		if r := askAs[*kmsg.DeleteACLsResponse](t, b, who, del, 2); r.Results[0].ErrorCode != want {
			t.Errorf("%s delete: %+v", who, r.Results[0])
		}
	}
	check(aclAlice, denied)
	// The super user grants alice ALTER on the cluster (which implies
	// DESCRIBE) through the API.
	grant := kmsg.NewPtrCreateACLsRequest()
	grant.Creations = []kmsg.CreateACLsRequestCreation{creation(kmsg.ACLResourceTypeCluster, authz.ClusterName,
		kmsg.ACLResourcePatternTypeLiteral, aclAlice, kmsg.ACLOperationAlter, kmsg.ACLPermissionTypeAllow)}
	if r := askAs[*kmsg.CreateACLsResponse](t, b, aclAdmin, grant, 1); r.Results[0].ErrorCode != 0 {
		t.Fatalf("grant: %+v", r)
	}
	check(aclAlice, 0)
	if a.Len() != 0 { // alice's delete-everything filter removed her own grant too
		t.Fatalf("%d acls left", a.Len())
	}
}

// controller.ACLFilter (the controller's DeleteAcls matching) agrees with
// the authorizer's filters on every combination of a set of bindings and
// filters.
func TestControllerFilterAgreesWithAuthorizer(t *testing.T) {
	names := []string{"orders", "ord", "*", "other"}
	var bindings []authz.Binding
	for _, typ := range []authz.ResourceType{authz.ResourceTopic, authz.ResourceGroup} {
		for _, name := range names {
			for _, pt := range []authz.PatternType{authz.PatternLiteral, authz.PatternPrefixed} {
				for _, p := range []string{aclAlice, "User:*"} {
					bindings = append(bindings, authz.Binding{Pattern: authz.Pattern{Type: typ, Name: name, PatternType: pt},
						Entry: authz.Entry{Principal: p, Host: "*", Operation: authz.OpRead, Permission: authz.PermissionAllow}})
				}
			}
		}
	}
	var filters []authz.Filter
	for _, typ := range []authz.ResourceType{authz.ResourceAny, authz.ResourceTopic} {
		for _, name := range append([]string{""}, names...) {
			for _, pt := range []authz.PatternType{authz.PatternAny, authz.PatternMatch, authz.PatternLiteral, authz.PatternPrefixed} {
				for _, principal := range []string{"", aclAlice} {
					f := authz.Filter{Type: typ, PatternType: pt, Operation: authz.OpAny, Permission: authz.PermissionAny}
					if name != "" {
						f.Name = &name
					}
					if principal != "" {
						f.Principal = &principal
					}
					filters = append(filters, f)
				}
			}
		}
	}
	for _, f := range filters {
		cf := controller.ACLFilter{ResourceType: int8(f.Type), ResourceName: f.Name, PatternType: int8(f.PatternType), Principal: f.Principal,
			Host: f.Host, Operation: int8(f.Operation), Permission: int8(f.Permission)}
		for _, bd := range bindings {
			if got, want := cf.Matches(controllerBinding(bd)), f.Matches(bd); got != want {
				t.Errorf("filter %+v on %s: controller %v, authorizer %v", f, bd, got, want)
			}
		}
	}
}
