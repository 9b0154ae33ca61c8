package authz

import (
	"errors"
	"fmt"
	"testing"
)

func lit(t ResourceType, name string) Pattern { return Pattern{t, name, PatternLiteral} }
func pre(t ResourceType, name string) Pattern { return Pattern{t, name, PatternPrefixed} }

func allow(p Pattern, principal, host string, op Operation) Binding {
	return Binding{p, Entry{principal, host, op, PermissionAllow}}
}

func deny(p Pattern, principal, host string, op Operation) Binding {
	return Binding{p, Entry{principal, host, op, PermissionDeny}}
}

func idOf(n int) ID {
	var id ID
	id[0], id[1], id[2], id[15] = byte(n>>16), byte(n>>8), byte(n), 1
	return id
}

func newAuthorizer(t testing.TB, cfg Config, acls ...Binding) *Authorizer {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range acls {
		if err := a.Add(idOf(i), b); err != nil {
			t.Fatalf("Add %v: %v", b, err)
		}
	}
	return a
}

func req(principal, host string, op Operation, t ResourceType, name string) Request {
	return Request{Principal: principal, Host: host, Operation: op, Resource: Resource{t, name}}
}

const (
	alice = "User:alice"
	bob   = "User:bob"
	h1    = "192.168.0.1"
	h2    = "192.168.0.2"
)

// TestAuthorize mirrors the behaviour StandardAuthorizerTest checks
// (testSimpleAuthorizations, testDenyPrecedence, testPrefixAcls,
// testAllowEveryoneIfNoAclFound, testSuperUsers, testHostAddressAcl,
// testDenyAuditLogging...), by behaviour.
func TestAuthorize(t *testing.T) {
	topicFoo := lit(ResourceTopic, "foo")
	cases := []struct {
		name string
		cfg  Config
		acls []Binding
		req  Request
		want Decision
	}{
		{"no acls, default deny", Config{}, nil,
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonNoACL, ID{}}},
		{"no acls, allow.everyone.if.no.acl.found", Config{AllowIfNoACL: true}, nil,
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{true, ReasonNoACL, ID{}}},
		{"literal allow", Config{}, []Binding{allow(topicFoo, alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"literal allow, other name", Config{}, []Binding{allow(topicFoo, alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foobar"), Decision{false, ReasonNoACL, ID{}}},
		{"literal allow, other type", Config{}, []Binding{allow(topicFoo, alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceGroup, "foo"), Decision{false, ReasonNoACL, ID{}}},
		{"other principal: resource has acls, so no default allow", Config{AllowIfNoACL: true}, []Binding{allow(topicFoo, alice, "*", OpRead)},
			req(bob, h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonNoMatch, ID{}}},
		{"other operation", Config{AllowIfNoACL: true}, []Binding{allow(topicFoo, alice, "*", OpRead)},
			req(alice, h1, OpWrite, ResourceTopic, "foo"), Decision{false, ReasonNoMatch, ID{}}},
		{"deny wins over allow", Config{}, []Binding{allow(topicFoo, alice, "*", OpRead), deny(topicFoo, alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonDenyACL, idOf(1)}},
		{"wildcard deny wins over literal allow", Config{}, []Binding{allow(topicFoo, alice, "*", OpRead), deny(lit(ResourceTopic, "*"), alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonDenyACL, idOf(1)}},
		{"prefixed deny wins over literal allow", Config{}, []Binding{allow(topicFoo, alice, "*", OpRead), deny(pre(ResourceTopic, "fo"), "User:*", "*", OpAll)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonDenyACL, idOf(1)}},
		{"wildcard resource allow", Config{}, []Binding{allow(lit(ResourceTopic, "*"), alice, "*", OpWrite)},
			req(alice, h1, OpWrite, ResourceTopic, "anything"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"wildcard is literal only: prefixed '*' is the character", Config{}, []Binding{allow(pre(ResourceTopic, "*"), alice, "*", OpWrite)},
			req(alice, h1, OpWrite, ResourceTopic, "anything"), Decision{false, ReasonNoACL, ID{}}},
		{"prefixed allow", Config{}, []Binding{allow(pre(ResourceTopic, "foo"), alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foobar"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"prefixed equal to the name", Config{}, []Binding{allow(pre(ResourceTopic, "foo"), alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"prefixed longer than the name", Config{AllowIfNoACL: true}, []Binding{allow(pre(ResourceTopic, "foobar"), bob, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{true, ReasonNoACL, ID{}}},
		{"literal is not a prefix", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foobar"), Decision{false, ReasonNoACL, ID{}}},
		{"one of several prefixes", Config{}, []Binding{
			allow(pre(ResourceTopic, "a"), bob, "*", OpRead), allow(pre(ResourceTopic, "fo"), alice, "*", OpRead),
			allow(pre(ResourceTopic, "foo."), bob, "*", OpRead), allow(pre(ResourceTopic, "foz"), alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo.bar"), Decision{true, ReasonAllowACL, idOf(1)}},
		{"User:* principal", Config{}, []Binding{allow(topicFoo, "User:*", "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"only User:* is a wildcard principal", Config{}, []Binding{allow(topicFoo, "Group:*", "*", OpRead)},
			req("Group:x", h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonNoMatch, ID{}}},
		{"principal type matters", Config{}, []Binding{allow(topicFoo, "Group:alice", "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonNoMatch, ID{}}},
		{"host matches", Config{}, []Binding{allow(topicFoo, alice, h1, OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"host differs", Config{}, []Binding{allow(topicFoo, alice, h1, OpRead)},
			req(alice, h2, OpRead, ResourceTopic, "foo"), Decision{false, ReasonNoMatch, ID{}}},
		{"deny from one host only", Config{}, []Binding{allow(topicFoo, alice, "*", OpRead), deny(topicFoo, alice, h2, OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"Java IPv6 spelling matches Go's", Config{}, []Binding{allow(topicFoo, alice, "0:0:0:0:0:0:0:1", OpRead)},
			req(alice, "::1", OpRead, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"IPv4-mapped client matches IPv4 acl", Config{}, []Binding{allow(topicFoo, alice, "10.0.0.1", OpRead)},
			req(alice, "::ffff:10.0.0.1", OpRead, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"READ implies DESCRIBE", Config{}, []Binding{allow(topicFoo, alice, "*", OpRead)},
			req(alice, h1, OpDescribe, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"WRITE implies DESCRIBE", Config{}, []Binding{allow(topicFoo, alice, "*", OpWrite)},
			req(alice, h1, OpDescribe, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"DELETE implies DESCRIBE", Config{}, []Binding{allow(topicFoo, alice, "*", OpDelete)},
			req(alice, h1, OpDescribe, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"ALTER implies DESCRIBE", Config{}, []Binding{allow(topicFoo, alice, "*", OpAlter)},
			req(alice, h1, OpDescribe, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"CREATE does not imply DESCRIBE", Config{}, []Binding{allow(topicFoo, alice, "*", OpCreate)},
			req(alice, h1, OpDescribe, ResourceTopic, "foo"), Decision{false, ReasonNoMatch, ID{}}},
		{"DESCRIBE does not imply READ", Config{}, []Binding{allow(topicFoo, alice, "*", OpDescribe)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonNoMatch, ID{}}},
		{"ALTER_CONFIGS implies DESCRIBE_CONFIGS", Config{}, []Binding{allow(topicFoo, alice, "*", OpAlterConfigs)},
			req(alice, h1, OpDescribeConfigs, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"ALTER does not imply ALTER_CONFIGS", Config{}, []Binding{allow(topicFoo, alice, "*", OpAlter)},
			req(alice, h1, OpAlterConfigs, ResourceTopic, "foo"), Decision{false, ReasonNoMatch, ID{}}},
		{"ALL allows everything", Config{}, []Binding{allow(topicFoo, alice, "*", OpAll)},
			req(alice, h1, OpDelete, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"DENY ALL denies everything", Config{}, []Binding{allow(topicFoo, alice, "*", OpAll), deny(topicFoo, alice, "*", OpAll)},
			req(alice, h1, OpDescribe, ResourceTopic, "foo"), Decision{false, ReasonDenyACL, idOf(1)}},
		{"DENY READ does not deny DESCRIBE", Config{}, []Binding{allow(topicFoo, alice, "*", OpDescribe), deny(topicFoo, alice, "*", OpRead)},
			req(alice, h1, OpDescribe, ResourceTopic, "foo"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"super user beats deny", Config{SuperUsers: []string{alice}}, []Binding{deny(topicFoo, alice, "*", OpAll)},
			req(alice, h1, OpRead, ResourceTopic, "foo"), Decision{true, ReasonSuperUser, ID{}}},
		{"super user list is by principal", Config{SuperUsers: []string{alice}}, nil,
			req(bob, h1, OpRead, ResourceTopic, "foo"), Decision{false, ReasonNoACL, ID{}}},
		{"cluster resource", Config{}, []Binding{allow(lit(ResourceCluster, ClusterName), alice, "*", OpIdempotentWrite)},
			req(alice, h1, OpIdempotentWrite, ResourceCluster, ClusterName), Decision{true, ReasonAllowACL, idOf(0)}},
		{"transactional id prefix", Config{}, []Binding{allow(pre(ResourceTransactionalID, "app-"), alice, "*", OpWrite)},
			req(alice, h1, OpWrite, ResourceTransactionalID, "app-1"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"resource named '*' sees the wildcard acl", Config{}, []Binding{allow(lit(ResourceTopic, "*"), alice, "*", OpRead)},
			req(alice, h1, OpRead, ResourceTopic, "*"), Decision{true, ReasonAllowACL, idOf(0)}},
		{"invalid operation", Config{SuperUsers: []string{alice}}, nil,
			req(alice, h1, OpAny, ResourceTopic, "foo"), Decision{false, ReasonInvalid, ID{}}},
		{"invalid resource type", Config{AllowIfNoACL: true}, nil,
			req(alice, h1, OpRead, ResourceAny, "foo"), Decision{false, ReasonInvalid, ID{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, cacheSize := range []int{-1, 0} {
				cfg := c.cfg
				cfg.CacheSize = cacheSize
				a := newAuthorizer(t, cfg, c.acls...)
				for range 2 { // the second answer comes from the cache
					if got := a.Authorize(c.req); got != c.want {
						t.Fatalf("cache %d: Authorize(%+v) = %+v, want %+v", cacheSize, c.req, got, c.want)
					}
				}
				if got := naiveAuthorize(c.cfg, idsOf(c.acls), c.req); got.Allowed != c.want.Allowed || got.Reason != c.want.Reason {
					t.Fatalf("reference disagrees with the table: %+v", got)
				}
			}
		})
	}
}

func idsOf(bs []Binding) []ACL {
	out := make([]ACL, len(bs))
	for i, b := range bs {
		out[i] = ACL{idOf(i), b}
	}
	return out
}

// TestCacheInvalidation checks that Add and Remove are seen by the next
// request, cached decision or not.
func TestCacheInvalidation(t *testing.T) {
	a := newAuthorizer(t, Config{})
	r := req(alice, h1, OpRead, ResourceTopic, "foo")
	if a.Authorize(r).Allowed {
		t.Fatal("allowed with no acls")
	}
	g := a.Generation()
	if err := a.Add(idOf(1), allow(lit(ResourceTopic, "foo"), alice, "*", OpRead)); err != nil {
		t.Fatal(err)
	}
	if a.Generation() == g {
		t.Fatal("generation unchanged by Add")
	}
	if !a.Authorize(r).Allowed {
		t.Fatal("denied after the allow was added")
	}
	if err := a.Add(idOf(2), deny(pre(ResourceTopic, "f"), alice, "*", OpRead)); err != nil {
		t.Fatal(err)
	}
	if d := a.Authorize(r); d.Allowed || d.ACL != idOf(2) {
		t.Fatalf("after the deny: %+v", d)
	}
	if err := a.Remove(idOf(2)); err != nil {
		t.Fatal(err)
	}
	if !a.Authorize(r).Allowed {
		t.Fatal("denied after the deny was removed")
	}
	if err := a.Remove(idOf(2)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove: %v", err)
	}
	if err := a.Add(idOf(1), allow(lit(ResourceTopic, "x"), alice, "*", OpRead)); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := a.Add(idOf(3), allow(lit(ResourceTopic, ""), alice, "*", OpRead)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid binding: %v", err)
	}
}

func TestCacheBound(t *testing.T) {
	a := newAuthorizer(t, Config{CacheSize: 10}, allow(pre(ResourceTopic, "t"), alice, "*", OpRead))
	for i := range 10000 {
		r := req(alice, h1, OpRead, ResourceTopic, fmt.Sprint("t", i))
		if !a.Authorize(r).Allowed || !a.Authorize(r).Allowed {
			t.Fatal("denied")
		}
	}
	if n := len(a.snap.Load().cache.slots); n != 16 {
		t.Fatalf("cache has %d slots, want 16", n)
	}
}

func TestFind(t *testing.T) {
	b := allow(lit(ResourceTopic, "foo"), alice, "*", OpRead)
	a := newAuthorizer(t, Config{}, b)
	if id, ok := a.Find(b); !ok || id != idOf(0) {
		t.Fatalf("Find = %v %v", id, ok)
	}
	if err := a.Add(idOf(9), b); err != nil { // replayed duplicate under another id
		t.Fatal(err)
	}
	if err := a.Remove(idOf(0)); err != nil {
		t.Fatal(err)
	}
	if id, ok := a.Find(b); !ok || id != idOf(9) {
		t.Fatalf("Find after removing one copy = %v %v", id, ok)
	}
	if err := a.Remove(idOf(9)); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Find(b); ok || a.Len() != 0 {
		t.Fatal("found after removal")
	}
}

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{SuperUsers: []string{"alice"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("super user without a type: %v", err)
	}
	got, err := ParseSuperUsers(" User:admin ;; User:ops;")
	if err != nil || len(got) != 2 || got[0] != "User:admin" || got[1] != "User:ops" {
		t.Fatalf("ParseSuperUsers = %q, %v", got, err)
	}
	if _, err := ParseSuperUsers("User:a;bob"); err == nil {
		t.Fatal("ParseSuperUsers accepted bob")
	}
}

// TestAuthorizeAny mirrors Kafka's AuthorizerTest authorizeByResourceType
// cases by behaviour.
func TestAuthorizeAny(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		acls []Binding
		want bool
	}{
		{"no acls", Config{}, nil, false},
		{"no acls, allow everyone", Config{AllowIfNoACL: true}, nil, true},
		{"super user", Config{SuperUsers: []string{alice}}, nil, true},
		{"literal allow", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, "*", OpWrite)}, true},
		{"prefixed allow", Config{}, []Binding{allow(pre(ResourceTopic, "foo"), alice, "*", OpWrite)}, true},
		{"ALL allow", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, "*", OpAll)}, true},
		{"no implication: READ acl, DESCRIBE asked", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, "*", OpRead)}, false},
		{"wrong op", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, "*", OpRead)}, false},
		{"wrong principal", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), bob, "*", OpWrite)}, false},
		{"User:*", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), "User:*", "*", OpWrite)}, true},
		{"wrong host", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, h2, OpWrite)}, false},
		{"literal allow, same literal deny", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, "*", OpWrite), deny(lit(ResourceTopic, "foo"), alice, "*", OpWrite)}, false},
		{"literal allow, other literal deny", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, "*", OpWrite), deny(lit(ResourceTopic, "bar"), alice, "*", OpWrite)}, true},
		{"literal allow, dominating prefix deny", Config{}, []Binding{allow(lit(ResourceTopic, "foo"), alice, "*", OpWrite), deny(pre(ResourceTopic, "fo"), alice, "*", OpWrite)}, false},
		{"prefix allow, longer prefix deny", Config{}, []Binding{allow(pre(ResourceTopic, "fo"), alice, "*", OpWrite), deny(pre(ResourceTopic, "foo"), alice, "*", OpWrite)}, true},
		{"prefix allow, literal deny of the same name", Config{}, []Binding{allow(pre(ResourceTopic, "foo"), alice, "*", OpWrite), deny(lit(ResourceTopic, "foo"), alice, "*", OpWrite)}, true},
		{"wildcard allow", Config{}, []Binding{allow(lit(ResourceTopic, "*"), alice, "*", OpWrite), deny(lit(ResourceTopic, "foo"), alice, "*", OpWrite)}, true},
		{"wildcard deny beats everything", Config{}, []Binding{allow(lit(ResourceTopic, "*"), alice, "*", OpWrite), allow(lit(ResourceTopic, "foo"), alice, "*", OpWrite), deny(lit(ResourceTopic, "*"), alice, "*", OpWrite)}, false},
		{"other type", Config{}, []Binding{allow(lit(ResourceGroup, "foo"), alice, "*", OpWrite)}, false},
		{"an acl on 'hardcode' decides first", Config{}, []Binding{allow(lit(ResourceTopic, "hardcode"), alice, "*", OpWrite), deny(pre(ResourceTopic, "h"), alice, "*", OpWrite)}, false},
		{"allow everyone, but an acl elsewhere", Config{AllowIfNoACL: true}, []Binding{deny(lit(ResourceTopic, "foo"), alice, "*", OpWrite)}, true},
		{"allow everyone, wildcard acl for someone else", Config{AllowIfNoACL: true}, []Binding{allow(lit(ResourceTopic, "*"), bob, "*", OpWrite)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAuthorizer(t, c.cfg, c.acls...)
			op := OpWrite
			if c.name == "no implication: READ acl, DESCRIBE asked" {
				op = OpDescribe
			}
			for range 2 {
				if got := a.AuthorizeAny(alice, h1, op, ResourceTopic); got.Allowed != c.want {
					t.Fatalf("AuthorizeAny = %+v, want allowed %v", got, c.want)
				}
			}
			if got := naiveAuthorizeAny(c.cfg, idsOf(c.acls), alice, h1, op, ResourceTopic); got != c.want {
				t.Fatalf("reference = %v, want %v", got, c.want)
			}
		})
	}
	a := newAuthorizer(t, Config{AllowIfNoACL: true})
	if d := a.AuthorizeAny(alice, h1, OpAny, ResourceTopic); d.Allowed || d.Reason != ReasonInvalid {
		t.Fatalf("op ANY: %+v", d)
	}
	if d := a.AuthorizeAny(alice, h1, OpRead, ResourceAny); d.Allowed || d.Reason != ReasonInvalid {
		t.Fatalf("type ANY: %+v", d)
	}
}

func TestAuthorizedOperations(t *testing.T) {
	a := newAuthorizer(t, Config{},
		allow(lit(ResourceTopic, "foo"), alice, "*", OpWrite),
		allow(lit(ResourceTopic, "foo"), alice, "*", OpAlterConfigs),
		deny(lit(ResourceTopic, "foo"), alice, "*", OpAlterConfigs),
	)
	got := a.AuthorizedOperations(alice, h1, Resource{ResourceTopic, "foo"})
	want := int32(1<<OpWrite | 1<<OpDescribe | 1<<OpDescribeConfigs)
	if got != want {
		t.Fatalf("AuthorizedOperations = %b, want %b", got, want)
	}
	s := newAuthorizer(t, Config{SuperUsers: []string{alice}})
	if got := s.AuthorizedOperations(alice, h1, Resource{ResourceCluster, ClusterName}); got != 1<<OpCreate|1<<OpClusterAction|1<<OpDescribeConfigs|1<<OpAlterConfigs|1<<OpIdempotentWrite|1<<OpAlter|1<<OpDescribe {
		t.Fatalf("super user cluster operations = %b", got)
	}
}

// TestConcurrent runs requests from several goroutines while ACLs come and
// go (run with -race): every answer must be one of the two the ACL set
// allows at some point, and the final state must be seen.
func TestConcurrent(t *testing.T) {
	a := newAuthorizer(t, Config{}, allow(pre(ResourceTopic, "t"), alice, "*", OpWrite))
	r := req(alice, h1, OpWrite, ResourceTopic, "t1")
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if d := a.Authorize(r); d.Reason != ReasonAllowACL && d.Reason != ReasonDenyACL {
					errs <- fmt.Errorf("unexpected decision %+v", d)
					return
				}
				a.AuthorizeAny(alice, h1, OpWrite, ResourceTopic)
			}
		}()
	}
	for i := range 200 {
		if err := a.Add(idOf(100+i), deny(lit(ResourceTopic, "t1"), alice, "*", OpWrite)); err != nil {
			t.Fatal(err)
		}
		if err := a.Remove(idOf(100 + i)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if d := a.Authorize(r); !d.Allowed {
		t.Fatalf("final state not seen: %+v", d)
	}
}
