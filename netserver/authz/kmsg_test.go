package authz

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCodesMatchKmsg pins our numbering to kmsg's (Kafka's).
func TestCodesMatchKmsg(t *testing.T) {
	for v := int8(0); v < 20; v++ {
		if ResourceType(v).String() != kmsg.ACLResourceType(v).String() ||
			PatternType(v).String() != kmsg.ACLResourcePatternType(v).String() ||
			Operation(v).String() != kmsg.ACLOperation(v).String() ||
			Permission(v).String() != kmsg.ACLPermissionType(v).String() {
			t.Fatalf("code %d names differ from kmsg", v)
		}
	}
	for code, e := range map[int16]*kerr.Error{
		ErrCodeTopicAuthorizationFailed:           kerr.TopicAuthorizationFailed,
		ErrCodeGroupAuthorizationFailed:           kerr.GroupAuthorizationFailed,
		ErrCodeClusterAuthorizationFailed:         kerr.ClusterAuthorizationFailed,
		ErrCodeSecurityDisabled:                   kerr.SecurityDisabled,
		ErrCodeTransactionalIDAuthorizationFailed: kerr.TransactionalIDAuthorizationFailed,
		ErrCodeDelegationTokenAuthorizationFailed: kerr.DelegationTokenAuthorizationFailed,
	} {
		if code != e.Code {
			t.Errorf("%s: %d, kerr %d", e.Message, code, e.Code)
		}
	}
}

// roundTrip encodes m at its version and decodes it back, as the wire does.
func roundTrip[T interface {
	kmsg.Request
	Default()
}](t *testing.T, m T, fresh T) T {
	t.Helper()
	b := m.AppendTo(nil)
	fresh.SetVersion(m.GetVersion())
	fresh.Default()
	if err := fresh.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	return fresh
}

func TestCreateConversion(t *testing.T) {
	good := allow(pre(ResourceTopic, "app."), alice, "*", OpWrite)
	req := kmsg.NewPtrCreateACLsRequest()
	req.Version = 3
	bad := kmsg.NewCreateACLsRequestCreation() // all UNKNOWN
	badCluster := Creation(allow(lit(ResourceCluster, "c"), alice, "*", OpAlter))
	req.Creations = []kmsg.CreateACLsRequestCreation{Creation(good), bad, badCluster}
	req = roundTrip(t, req, kmsg.NewPtrCreateACLsRequest())
	bs, errs := BindingsFromCreate(req)
	if bs[0] != good || errs[0] != nil {
		t.Fatalf("creation 0: %v %v", bs[0], errs[0])
	}
	if !errors.Is(errs[1], ErrInvalid) || !errors.Is(errs[2], ErrInvalid) {
		t.Fatalf("errs: %v", errs)
	}
	resp := CreateResponse(req, errs)
	if len(resp.Results) != 3 || resp.Results[0].ErrorCode != 0 || resp.Results[1].ErrorCode != kerr.InvalidRequest.Code || resp.Results[2].ErrorMessage == nil {
		t.Fatalf("response: %+v", resp.Results)
	}

	// Version 0 has no pattern type: LITERAL, and a PREFIXED creation cannot be sent.
	v0 := kmsg.NewPtrCreateACLsRequest()
	v0.Version = 0
	c := Creation(good)
	c.ResourcePatternType = 0
	v0.Creations = []kmsg.CreateACLsRequestCreation{c}
	v0 = roundTrip(t, v0, kmsg.NewPtrCreateACLsRequest())
	bs, errs = BindingsFromCreate(v0)
	if errs[0] != nil || bs[0].Pattern.PatternType != PatternLiteral {
		t.Fatalf("v0: %v %v", bs[0], errs[0])
	}
	v0.Creations[0].ResourcePatternType = kmsg.ACLResourcePatternTypePrefixed
	if _, errs = BindingsFromCreate(v0); ErrorCode(errs[0]) != kerr.UnsupportedVersion.Code {
		t.Fatalf("v0 prefixed: %v", errs[0])
	}
}

func TestDescribeConversion(t *testing.T) {
	a := newAuthorizer(t, Config{},
		allow(lit(ResourceTopic, "foo"), alice, "*", OpRead),
		allow(lit(ResourceTopic, "foo"), bob, "*", OpRead),
		allow(pre(ResourceTopic, "fo"), alice, "*", OpWrite),
		allow(lit(ResourceGroup, "g"), alice, "*", OpRead),
	)
	req := kmsg.NewPtrDescribeACLsRequest()
	req.Version = 3
	req.ResourceType = kmsg.ACLResourceTypeTopic
	req.ResourceName = sp("foo")
	req.ResourcePatternType = kmsg.ACLResourcePatternTypeMatch
	req.Operation = kmsg.ACLOperationAny
	req.PermissionType = kmsg.ACLPermissionTypeAny
	req = roundTrip(t, req, kmsg.NewPtrDescribeACLsRequest())
	f, err := FilterFromDescribe(req)
	if err != nil {
		t.Fatal(err)
	}
	resp := DescribeResponse(req, a.ACLs(f), nil)
	if resp.ErrorCode != 0 || len(resp.Resources) != 2 {
		t.Fatalf("resources: %+v", resp.Resources)
	}
	if r := resp.Resources[0]; r.ResourceName != "foo" || r.ResourcePatternType != kmsg.ACLResourcePatternTypeLiteral || len(r.ACLs) != 2 || r.ACLs[0].Principal != alice {
		t.Fatalf("resource 0: %+v", r)
	}
	if r := resp.Resources[1]; r.ResourceName != "fo" || r.ResourcePatternType != kmsg.ACLResourcePatternTypePrefixed || len(r.ACLs) != 1 || r.ACLs[0].Operation != kmsg.ACLOperationWrite {
		t.Fatalf("resource 1: %+v", r)
	}
	// Encodes at every version.
	for v := int16(0); v <= resp.MaxVersion(); v++ {
		resp.Version = v
		_ = resp.AppendTo(nil)
	}

	req.Operation = kmsg.ACLOperationUnknown
	if _, err = FilterFromDescribe(req); ErrorCode(err) != kerr.InvalidRequest.Code {
		t.Fatalf("unknown operation: %v", err)
	}
	if resp := DescribeResponse(req, nil, err); resp.ErrorCode != kerr.InvalidRequest.Code || resp.ErrorMessage == nil {
		t.Fatalf("error response: %+v", resp)
	}

	// Version 0: ANY means LITERAL; MATCH is unsupported.
	req.Version, req.Operation = 0, kmsg.ACLOperationAny
	req.ResourcePatternType = kmsg.ACLResourcePatternTypeAny
	if f, err := FilterFromDescribe(req); err != nil || f.PatternType != PatternLiteral {
		t.Fatalf("v0 any: %+v %v", f, err)
	}
	req.ResourcePatternType = kmsg.ACLResourcePatternTypeMatch
	if _, err := FilterFromDescribe(req); ErrorCode(err) != kerr.UnsupportedVersion.Code {
		t.Fatalf("v0 match: %v", err)
	}
}

func TestDeleteConversion(t *testing.T) {
	a := newAuthorizer(t, Config{},
		allow(lit(ResourceTopic, "foo"), alice, "*", OpRead),
		deny(pre(ResourceTopic, "f"), bob, "*", OpRead),
	)
	req := kmsg.NewPtrDeleteACLsRequest()
	req.Version = 3
	f0 := kmsg.NewDeleteACLsRequestFilter()
	f0.ResourceType, f0.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	f0.Operation, f0.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeDeny
	f1 := kmsg.NewDeleteACLsRequestFilter() // UNKNOWN everything
	req.Filters = []kmsg.DeleteACLsRequestFilter{f0, f1}
	req = roundTrip(t, req, kmsg.NewPtrDeleteACLsRequest())
	fs, errs := FiltersFromDelete(req)
	if errs[0] != nil || !errors.Is(errs[1], ErrInvalid) {
		t.Fatalf("errs %v", errs)
	}
	matched := [][]ACL{a.ACLs(fs[0]), nil}
	resp := DeleteResponse(req, matched, errs)
	if len(resp.Results) != 2 || len(resp.Results[0].MatchingACLs) != 1 || resp.Results[0].MatchingACLs[0].Principal != bob ||
		resp.Results[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("response %+v", resp.Results)
	}
	for _, m := range matched[0] {
		if err := a.Remove(m.ID); err != nil {
			t.Fatal(err)
		}
	}
	if a.Len() != 1 {
		t.Fatal("deny not removed")
	}
}

func TestSecurityDisabled(t *testing.T) {
	c := kmsg.NewPtrCreateACLsRequest()
	c.Creations = make([]kmsg.CreateACLsRequestCreation, 2)
	if r := SecurityDisabled(c).(*kmsg.CreateACLsResponse); len(r.Results) != 2 || r.Results[1].ErrorCode != kerr.SecurityDisabled.Code {
		t.Fatalf("create: %+v", r)
	}
	if r := SecurityDisabled(kmsg.NewPtrDescribeACLsRequest()).(*kmsg.DescribeACLsResponse); r.ErrorCode != kerr.SecurityDisabled.Code {
		t.Fatalf("describe: %+v", r)
	}
	d := kmsg.NewPtrDeleteACLsRequest()
	d.Filters = make([]kmsg.DeleteACLsRequestFilter, 1)
	if r := SecurityDisabled(d).(*kmsg.DeleteACLsResponse); r.Results[0].ErrorCode != kerr.SecurityDisabled.Code {
		t.Fatalf("delete: %+v", r)
	}
	if SecurityDisabled(kmsg.NewPtrMetadataRequest()) != nil {
		t.Fatal("metadata")
	}
	if ErrorCode(errors.New("x")) != kerr.UnknownServerError.Code {
		t.Fatal("unknown error code")
	}
}
