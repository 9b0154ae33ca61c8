package authz

import (
	"errors"
	"testing"
)

func sp(s string) *string { return &s }

func TestValidate(t *testing.T) {
	good := allow(lit(ResourceTopic, "foo"), alice, "*", OpRead)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	mut := func(f func(*Binding)) Binding { b := good; f(&b); return b }
	bad := map[string]Binding{
		"unknown type":         mut(func(b *Binding) { b.Pattern.Type = ResourceUnknown }),
		"any type":             mut(func(b *Binding) { b.Pattern.Type = ResourceAny }),
		"type out of range":    mut(func(b *Binding) { b.Pattern.Type = 9 }),
		"any pattern":          mut(func(b *Binding) { b.Pattern.PatternType = PatternAny }),
		"match pattern":        mut(func(b *Binding) { b.Pattern.PatternType = PatternMatch }),
		"unknown pattern":      mut(func(b *Binding) { b.Pattern.PatternType = PatternUnknown }),
		"unknown operation":    mut(func(b *Binding) { b.Entry.Operation = OpUnknown }),
		"any operation":        mut(func(b *Binding) { b.Entry.Operation = OpAny }),
		"operation 15":         mut(func(b *Binding) { b.Entry.Operation = 15 }),
		"any permission":       mut(func(b *Binding) { b.Entry.Permission = PermissionAny }),
		"unknown permission":   mut(func(b *Binding) { b.Entry.Permission = PermissionUnknown }),
		"empty name":           mut(func(b *Binding) { b.Pattern.Name = "" }),
		"cluster name":         mut(func(b *Binding) { b.Pattern.Type = ResourceCluster; b.Pattern.Name = "other" }),
		"principal no colon":   mut(func(b *Binding) { b.Entry.Principal = "alice" }),
		"principal empty type": mut(func(b *Binding) { b.Entry.Principal = ":alice" }),
		"empty principal":      mut(func(b *Binding) { b.Entry.Principal = "" }),
	}
	for name, b := range bad {
		if err := b.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate(%v) = %v, want ErrInvalid", name, b, err)
		}
	}
	okToo := []Binding{
		mut(func(b *Binding) { b.Entry.Operation = OpAll }),
		mut(func(b *Binding) { b.Entry.Principal = "User:*" }),
		mut(func(b *Binding) { b.Entry.Principal = "User:a:b" }),
		mut(func(b *Binding) { b.Pattern.Type = ResourceCluster; b.Pattern.Name = ClusterName }),
		mut(func(b *Binding) { b.Pattern.PatternType = PatternPrefixed }),
		mut(func(b *Binding) { b.Pattern.Type = ResourceUser; b.Entry.Operation = OpCreateTokens }),
	}
	for _, b := range okToo {
		if err := b.Validate(); err != nil {
			t.Errorf("Validate(%v) = %v", b, err)
		}
	}
}

// TestFilterMatches follows ResourcePatternFilterTest and
// AclBindingFilterTest by behaviour.
func TestFilterMatches(t *testing.T) {
	litFoo := allow(lit(ResourceTopic, "foo"), alice, h1, OpRead)
	wild := allow(lit(ResourceTopic, "*"), alice, h1, OpRead)
	preFo := allow(pre(ResourceTopic, "fo"), alice, h1, OpRead)
	preFoo := allow(pre(ResourceTopic, "foo"), alice, h1, OpRead)
	preFooBar := allow(pre(ResourceTopic, "foobar"), alice, h1, OpRead)
	groupFoo := deny(lit(ResourceGroup, "foo"), bob, "*", OpWrite)
	all := []Binding{litFoo, wild, preFo, preFoo, preFooBar, groupFoo}

	cases := []struct {
		name   string
		filter Filter
		want   []Binding
	}{
		{"all", FilterAll, all},
		{"type", Filter{Type: ResourceGroup, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, []Binding{groupFoo}},
		{"any pattern, name is exact", Filter{Type: ResourceTopic, Name: sp("foo"), PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, []Binding{litFoo, preFoo}},
		{"literal, name is exact", Filter{Type: ResourceTopic, Name: sp("foo"), PatternType: PatternLiteral, Operation: OpAny, Permission: PermissionAny}, []Binding{litFoo}},
		{"literal '*' is the wildcard acl only", Filter{Type: ResourceTopic, Name: sp("*"), PatternType: PatternLiteral, Operation: OpAny, Permission: PermissionAny}, []Binding{wild}},
		{"prefixed, name is exact", Filter{Type: ResourceTopic, Name: sp("foo"), PatternType: PatternPrefixed, Operation: OpAny, Permission: PermissionAny}, []Binding{preFoo}},
		{"match: literal, wildcard, prefixes", Filter{Type: ResourceTopic, Name: sp("foo"), PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny}, []Binding{litFoo, wild, preFo, preFoo}},
		{"match on any type", Filter{Type: ResourceAny, Name: sp("foo"), PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny}, []Binding{litFoo, wild, preFo, preFoo, groupFoo}},
		{"match without a name", Filter{Type: ResourceTopic, PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny}, []Binding{litFoo, wild, preFo, preFoo, preFooBar}},
		{"principal", Filter{Type: ResourceAny, PatternType: PatternAny, Principal: sp(bob), Operation: OpAny, Permission: PermissionAny}, []Binding{groupFoo}},
		{"principal User:* is not a wildcard in filters", Filter{Type: ResourceAny, PatternType: PatternAny, Principal: sp("User:*"), Operation: OpAny, Permission: PermissionAny}, nil},
		{"host", Filter{Type: ResourceAny, PatternType: PatternAny, Host: sp("*"), Operation: OpAny, Permission: PermissionAny}, []Binding{groupFoo}},
		{"operation, no implication", Filter{Type: ResourceAny, PatternType: PatternAny, Operation: OpDescribe, Permission: PermissionAny}, nil},
		{"operation", Filter{Type: ResourceAny, PatternType: PatternAny, Operation: OpWrite, Permission: PermissionAny}, []Binding{groupFoo}},
		{"permission", Filter{Type: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionDeny}, []Binding{groupFoo}},
		{"invalid filter matches nothing", Filter{Type: ResourceUnknown, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []Binding
			for _, b := range all {
				if c.filter.Matches(b) {
					got = append(got, b)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("matched %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("matched %v, want %v", got, c.want)
				}
			}
			// The authorizer's listing agrees, sorted.
			a := newAuthorizer(t, Config{}, all...)
			if n := len(a.ACLs(c.filter)); n != len(c.want) {
				t.Fatalf("ACLs returned %d, want %d", n, len(c.want))
			}
		})
	}
	for _, b := range all {
		if !FilterOf(b).Matches(b) {
			t.Fatalf("FilterOf(%v) does not match it", b)
		}
		for _, o := range all {
			if o != b && FilterOf(b).Matches(o) {
				t.Fatalf("FilterOf(%v) matches %v", b, o)
			}
		}
	}
}

func TestFilterValidate(t *testing.T) {
	for _, f := range []Filter{
		{Type: ResourceUnknown, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny},
		{Type: ResourceAny, PatternType: PatternUnknown, Operation: OpAny, Permission: PermissionAny},
		{Type: ResourceAny, PatternType: PatternAny, Operation: OpUnknown, Permission: PermissionAny},
		{Type: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionUnknown},
		{Type: 8, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny},
		{Type: ResourceAny, PatternType: 5, Operation: OpAny, Permission: PermissionAny},
		{Type: ResourceAny, PatternType: PatternAny, Operation: 15, Permission: PermissionAny},
		{Type: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: 4},
	} {
		if err := f.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%+v) = %v", f, err)
		}
	}
}

func TestACLsSorted(t *testing.T) {
	a := newAuthorizer(t, Config{},
		allow(lit(ResourceTopic, "b"), bob, "*", OpRead),
		allow(lit(ResourceGroup, "a"), alice, "*", OpRead),
		allow(pre(ResourceTopic, "a"), alice, "*", OpRead),
		allow(lit(ResourceTopic, "a"), bob, "*", OpRead),
		allow(lit(ResourceTopic, "a"), alice, "*", OpRead),
	)
	var got []string
	for _, acl := range a.ACLs(FilterAll) {
		got = append(got, acl.Binding.String())
	}
	want := []string{
		allow(lit(ResourceTopic, "a"), alice, "*", OpRead).String(),
		allow(lit(ResourceTopic, "a"), bob, "*", OpRead).String(),
		allow(lit(ResourceTopic, "b"), bob, "*", OpRead).String(),
		allow(pre(ResourceTopic, "a"), alice, "*", OpRead).String(),
		allow(lit(ResourceGroup, "a"), alice, "*", OpRead).String(),
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ACLs order:\n%q\nwant\n%q", got, want)
		}
	}
}

func TestNames(t *testing.T) {
	if ResourceTransactionalID.String() != "TRANSACTIONAL_ID" || PatternPrefixed.String() != "PREFIXED" ||
		OpIdempotentWrite.String() != "IDEMPOTENT_WRITE" || PermissionDeny.String() != "DENY" || Operation(99).String() != "UNKNOWN" || Operation(-1).String() != "UNKNOWN" {
		t.Fatal("names")
	}
}
