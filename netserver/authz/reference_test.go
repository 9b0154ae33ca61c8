package authz

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveAuthorize is StandardAuthorizer's rule written as a linear scan,
// the reference the indexed Authorize must agree with.
func naiveAuthorize(cfg Config, acls []ACL, r Request) Decision {
	if !r.Resource.Type.concrete() || r.Operation < OpRead || r.Operation > OpDescribeTokens {
		return Decision{Reason: ReasonInvalid}
	}
	for _, u := range cfg.SuperUsers {
		if u == r.Principal {
			return Decision{Allowed: true, Reason: ReasonSuperUser}
		}
	}
	host := canonicalHost(r.Host)
	applies, allowed := false, false
	var allowID ID
	for _, a := range acls {
		p, e := a.Binding.Pattern, a.Binding.Entry
		if p.Type != r.Resource.Type {
			continue
		}
		switch {
		case p.PatternType == PatternLiteral && (p.Name == r.Resource.Name || p.Name == Wildcard):
		case p.PatternType == PatternPrefixed && strings.HasPrefix(r.Resource.Name, p.Name):
		default:
			continue
		}
		applies = true
		if e.Principal != r.Principal && e.Principal != WildcardPrincipal {
			continue
		}
		if e.Host != Wildcard && canonicalHost(e.Host) != host {
			continue
		}
		if e.Permission == PermissionDeny && (e.Operation == OpAll || e.Operation == r.Operation) {
			return Decision{Reason: ReasonDenyACL, ACL: a.ID}
		}
		if e.Permission == PermissionAllow && impliesRef(e.Operation, r.Operation) {
			allowed, allowID = true, a.ID
		}
	}
	switch {
	case allowed:
		return Decision{Allowed: true, Reason: ReasonAllowACL, ACL: allowID}
	case !applies:
		return Decision{Allowed: cfg.AllowIfNoACL, Reason: ReasonNoACL}
	}
	return Decision{Reason: ReasonNoMatch}
}

func impliesRef(acl, req Operation) bool {
	implied := map[Operation][]Operation{
		OpDescribe:        {OpDescribe, OpRead, OpWrite, OpDelete, OpAlter},
		OpDescribeConfigs: {OpDescribeConfigs, OpAlterConfigs},
	}
	if acl == OpAll || acl == req {
		return true
	}
	for _, o := range implied[req] {
		if o == acl {
			return true
		}
	}
	return false
}

// naiveAuthorizeAny is Kafka's default Authorizer.authorizeByResourceType.
func naiveAuthorizeAny(cfg Config, acls []ACL, principal, host string, op Operation, typ ResourceType) bool {
	if naiveAuthorize(cfg, acls, Request{principal, host, op, Resource{typ, "hardcode"}}).Allowed {
		return true
	}
	host = canonicalHost(host)
	denyLit, denyPre := map[string]bool{}, map[string]bool{}
	var allowLit, allowPre []string
	wildAllow := false
	for _, a := range acls {
		p, e := a.Binding.Pattern, a.Binding.Entry
		if p.Type != typ || (canonicalHost(e.Host) != host && e.Host != Wildcard) ||
			(e.Principal != principal && e.Principal != WildcardPrincipal) || (e.Operation != op && e.Operation != OpAll) {
			continue
		}
		if e.Permission == PermissionDeny {
			if p.PatternType == PatternLiteral {
				if p.Name == Wildcard {
					return false
				}
				denyLit[p.Name] = true
			} else {
				denyPre[p.Name] = true
			}
			continue
		}
		switch {
		case p.PatternType == PatternLiteral && p.Name == Wildcard:
			wildAllow = true
		case p.PatternType == PatternLiteral:
			allowLit = append(allowLit, p.Name)
		default:
			allowPre = append(allowPre, p.Name)
		}
	}
	if wildAllow {
		return true
	}
	dominated := func(s string) bool {
		for i := 1; i <= len(s); i++ {
			if denyPre[s[:i]] {
				return true
			}
		}
		return false
	}
	for _, s := range allowLit {
		if !denyLit[s] && !dominated(s) {
			return true
		}
	}
	for _, s := range allowPre {
		if !dominated(s) {
			return true
		}
	}
	return false
}

// randomACLs draws bindings over a small alphabet so that literals,
// prefixes, wildcards, principals and hosts collide often.
func randomBinding(rng *rand.Rand) Binding {
	names := []string{"a", "ab", "abc", "abd", "b", "ba", "*", "a*", "hardcode", "h", "c"}
	types := []ResourceType{ResourceTopic, ResourceTopic, ResourceGroup, ResourceTransactionalID}
	principals := []string{"User:alice", "User:bob", "User:*", "Group:alice"}
	hosts := []string{"*", "*", "10.0.0.1", "10.0.0.2", "0:0:0:0:0:0:0:1"}
	ops := []Operation{OpAll, OpRead, OpWrite, OpDelete, OpAlter, OpDescribe, OpDescribeConfigs, OpAlterConfigs, OpCreate}
	pt := PatternLiteral
	if rng.IntN(3) == 0 {
		pt = PatternPrefixed
	}
	perm := PermissionAllow
	if rng.IntN(4) == 0 {
		perm = PermissionDeny
	}
	return Binding{
		Pattern: Pattern{types[rng.IntN(len(types))], names[rng.IntN(len(names))], pt},
		Entry:   Entry{principals[rng.IntN(len(principals))], hosts[rng.IntN(len(hosts))], ops[rng.IntN(len(ops))], perm},
	}
}

func randomRequest(rng *rand.Rand) Request {
	names := []string{"a", "ab", "abc", "abcd", "abd", "b", "ba", "bab", "*", "a*", "x", "", "hardcode", "c"}
	types := []ResourceType{ResourceTopic, ResourceGroup, ResourceTransactionalID, ResourceCluster}
	principals := []string{"User:alice", "User:bob", "User:carol", "Group:alice", "User:admin"}
	hosts := []string{"10.0.0.1", "10.0.0.2", "::1", "::ffff:10.0.0.1"}
	ops := []Operation{OpRead, OpWrite, OpDelete, OpAlter, OpDescribe, OpDescribeConfigs, OpAlterConfigs, OpCreate, OpIdempotentWrite}
	return Request{principals[rng.IntN(len(principals))], hosts[rng.IntN(len(hosts))], ops[rng.IntN(len(ops))],
		Resource{types[rng.IntN(len(types))], names[rng.IntN(len(names))]}}
}

// TestAgainstReference compares the indexed, cached Authorize and
// AuthorizeAny with the linear references over random ACL sets, random
// requests and random Add/Remove sequences: they must always agree on the
// verdict and the reason, and the deciding ACL must be one that justifies
// it.
func TestAgainstReference(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		cfg := Config{AllowIfNoACL: rng.IntN(2) == 0, CacheSize: []int{-1, 0, 8}[rng.IntN(3)]}
		if rng.IntN(3) == 0 {
			cfg.SuperUsers = []string{"User:admin"}
		}
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		live := map[ID]Binding{}
		next := 0
		for step := range 60 {
			if len(live) > 0 && rng.IntN(4) == 0 {
				for id := range live {
					if err := a.Remove(id); err != nil {
						t.Fatal(err)
					}
					delete(live, id)
					break
				}
			} else {
				for range 1 + rng.IntN(4) {
					b := randomBinding(rng)
					next++
					if err := a.Add(idOf(next), b); err != nil {
						t.Fatal(err)
					}
					live[idOf(next)] = b
				}
			}
			var acls []ACL
			for id, b := range live {
				acls = append(acls, ACL{id, b})
			}
			for range 40 {
				r := randomRequest(rng)
				got, want := a.Authorize(r), naiveAuthorize(cfg, acls, r)
				if got.Allowed != want.Allowed || got.Reason != want.Reason {
					t.Fatalf("seed %d step %d: Authorize(%+v) = %+v, reference %+v\nacls: %s", seed, step, r, got, want, describeACLs(acls))
				}
				if got.Reason == ReasonAllowACL || got.Reason == ReasonDenyACL {
					b, ok := live[got.ACL]
					if !ok || !justifies(b, r, got.Allowed) {
						t.Fatalf("seed %d: deciding acl %v (%v) does not justify %+v", seed, got.ACL, b, r)
					}
				}
				anyGot := a.AuthorizeAny(r.Principal, r.Host, r.Operation, r.Resource.Type)
				if anyWant := naiveAuthorizeAny(cfg, acls, r.Principal, r.Host, r.Operation, r.Resource.Type); anyGot.Allowed != anyWant {
					t.Fatalf("seed %d step %d: AuthorizeAny(%+v) = %+v, reference %v\nacls: %s", seed, step, r, anyGot, anyWant, describeACLs(acls))
				}
			}
		}
	}
}

func justifies(b Binding, r Request, allowed bool) bool {
	d := naiveAuthorize(Config{}, []ACL{{ID{}, b}}, r)
	if allowed {
		return d.Allowed
	}
	return d.Reason == ReasonDenyACL
}

func describeACLs(acls []ACL) string {
	var sb strings.Builder
	for _, a := range acls {
		fmt.Fprintf(&sb, "\n  %v %v", a.ID, a.Binding)
	}
	return sb.String()
}
