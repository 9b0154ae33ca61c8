package authz

import "strings"

// Filter selects bindings, as Kafka's AclBindingFilter does for
// DescribeAcls and DeleteAcls. A nil string and the ANY codes match
// everything; PatternMatch with a name selects every binding that would
// apply to that name: the literal name, the literal wildcard "*" and every
// PREFIXED pattern the name starts with.
type Filter struct {
	Type        ResourceType // ResourceAny matches every type
	Name        *string      // nil matches every name
	PatternType PatternType  // PatternAny, PatternMatch, PatternLiteral or PatternPrefixed
	Principal   *string      // nil matches every principal (compared as written, "User:*" is not a wildcard here)
	Host        *string      // nil matches every host (compared as written)
	Operation   Operation    // OpAny matches every operation (no implication here)
	Permission  Permission   // PermissionAny matches both
}

// FilterAll matches every binding.
var FilterAll = Filter{Type: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}

// Validate refuses a filter with an UNKNOWN (or out of range) code, as
// Kafka's DescribeAcls and DeleteAcls requests do.
func (f Filter) Validate() error {
	switch {
	case !f.Type.Known():
		return invalid("filter has unknown resource type")
	case !f.PatternType.Known():
		return invalid("filter has unknown pattern type")
	case !f.Operation.Known():
		return invalid("filter has unknown operation")
	case !f.Permission.Known():
		return invalid("filter has unknown permission type")
	}
	return nil
}

// Matches reports whether f selects b (ResourcePatternFilter.matches and
// AccessControlEntryFilter.matches). An invalid filter matches nothing.
func (f Filter) Matches(b Binding) bool {
	return f.Validate() == nil && f.matchesPattern(b.Pattern) && f.matchesEntry(b.Entry)
}

func (f Filter) matchesPattern(p Pattern) bool {
	if f.Type != ResourceAny && f.Type != p.Type {
		return false
	}
	if f.PatternType != PatternAny && f.PatternType != PatternMatch && f.PatternType != p.PatternType {
		return false
	}
	if f.Name == nil {
		return true
	}
	name := *f.Name
	if f.PatternType != PatternMatch {
		return name == p.Name
	}
	switch p.PatternType {
	case PatternLiteral:
		return name == p.Name || p.Name == Wildcard
	case PatternPrefixed:
		return strings.HasPrefix(name, p.Name)
	}
	return false
}

func (f Filter) matchesEntry(e Entry) bool {
	switch {
	case f.Principal != nil && *f.Principal != e.Principal:
		return false
	case f.Host != nil && *f.Host != e.Host:
		return false
	case f.Operation != OpAny && f.Operation != e.Operation:
		return false
	}
	return f.Permission == PermissionAny || f.Permission == e.Permission
}

// FilterOf is the filter that matches exactly b.
func FilterOf(b Binding) Filter {
	name, principal, host := b.Pattern.Name, b.Entry.Principal, b.Entry.Host
	return Filter{
		Type: b.Pattern.Type, Name: &name, PatternType: b.Pattern.PatternType,
		Principal: &principal, Host: &host, Operation: b.Entry.Operation, Permission: b.Entry.Permission,
	}
}
