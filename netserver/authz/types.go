package authz

import (
	"errors"
	"fmt"
	"strings"
)

// ResourceType is what an ACL protects, numbered as Kafka's
// org.apache.kafka.common.resource.ResourceType (and kmsg.ACLResourceType).
type ResourceType int8

const (
	ResourceUnknown         ResourceType = 0
	ResourceAny             ResourceType = 1 // filters only
	ResourceTopic           ResourceType = 2
	ResourceGroup           ResourceType = 3
	ResourceCluster         ResourceType = 4
	ResourceTransactionalID ResourceType = 5
	ResourceDelegationToken ResourceType = 6
	ResourceUser            ResourceType = 7
)

// PatternType is how a binding's resource name is understood, numbered as
// Kafka's PatternType (KIP-290).
type PatternType int8

const (
	PatternUnknown  PatternType = 0
	PatternAny      PatternType = 1 // filters only: any pattern type, exact name
	PatternMatch    PatternType = 2 // filters only: every pattern that would apply to the name
	PatternLiteral  PatternType = 3 // the name exactly, or every name if it is "*"
	PatternPrefixed PatternType = 4 // every name that starts with it
)

// Operation is an ACL operation, numbered as Kafka's AclOperation.
type Operation int8

const (
	OpUnknown         Operation = 0
	OpAny             Operation = 1 // filters only
	OpAll             Operation = 2
	OpRead            Operation = 3
	OpWrite           Operation = 4
	OpCreate          Operation = 5
	OpDelete          Operation = 6
	OpAlter           Operation = 7
	OpDescribe        Operation = 8
	OpClusterAction   Operation = 9
	OpDescribeConfigs Operation = 10
	OpAlterConfigs    Operation = 11
	OpIdempotentWrite Operation = 12
	OpCreateTokens    Operation = 13
	OpDescribeTokens  Operation = 14
)

// Permission is ALLOW or DENY, numbered as Kafka's AclPermissionType.
type Permission int8

const (
	PermissionUnknown Permission = 0
	PermissionAny     Permission = 1 // filters only
	PermissionDeny    Permission = 2
	PermissionAllow   Permission = 3
)

const (
	// Wildcard is the literal resource name that matches every name of
	// its type, and the host that matches every host.
	Wildcard = "*"
	// WildcardPrincipal matches every principal (only "User:*" does, as
	// in Kafka; "Group:*" is an ordinary principal).
	WildcardPrincipal = "User:*"
	// ClusterName is the only name a CLUSTER resource has.
	ClusterName = "kafka-cluster"
)

var resourceNames = [...]string{"UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"}
var patternNames = [...]string{"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"}
var operationNames = [...]string{"UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE",
	"CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS"}
var permissionNames = [...]string{"UNKNOWN", "ANY", "DENY", "ALLOW"}

func name(names []string, v int8) string {
	if v < 0 || int(v) >= len(names) {
		return names[0]
	}
	return names[v]
}

func (t ResourceType) String() string { return name(resourceNames[:], int8(t)) }
func (p PatternType) String() string  { return name(patternNames[:], int8(p)) }
func (o Operation) String() string    { return name(operationNames[:], int8(o)) }
func (p Permission) String() string   { return name(permissionNames[:], int8(p)) }

// Known reports whether t is one of Kafka's codes (Unknown and Any
// included); any other code reads as UNKNOWN, as Kafka's fromCode does.
func (t ResourceType) Known() bool { return t >= ResourceAny && t <= ResourceUser }
func (p PatternType) Known() bool  { return p >= PatternAny && p <= PatternPrefixed }
func (o Operation) Known() bool    { return o >= OpAny && o <= OpDescribeTokens }
func (p Permission) Known() bool   { return p >= PermissionAny && p <= PermissionAllow }

// concrete: a binding's (or a request's) resource type.
func (t ResourceType) concrete() bool { return t >= ResourceTopic && t <= ResourceUser }

// ID identifies an ACL, as the Uuid of Kafka's AccessControlEntryRecord.
type ID [16]byte

func (id ID) String() string { return fmt.Sprintf("%x", id[:]) }

// Pattern is a binding's resource pattern.
type Pattern struct {
	Type        ResourceType
	Name        string
	PatternType PatternType
}

// Entry is a binding's access control entry. Principal is "Type:name"
// ("User:alice", "User:*"); Host is a client address or "*".
type Entry struct {
	Principal  string
	Host       string
	Operation  Operation
	Permission Permission
}

// Binding is one ACL: who may (or may not) do what on which resources.
type Binding struct {
	Pattern Pattern
	Entry   Entry
}

func (b Binding) String() string {
	return fmt.Sprintf("(pattern=%s:%s:%s, principal=%s, host=%s, operation=%s, permission=%s)",
		b.Pattern.Type, b.Pattern.PatternType, b.Pattern.Name, b.Entry.Principal, b.Entry.Host, b.Entry.Operation, b.Entry.Permission)
}

// ErrInvalid marks a binding or filter Kafka would refuse with
// INVALID_REQUEST; errors.Is(err, ErrInvalid) holds for every such error.
var ErrInvalid = errors.New("authz: invalid acl")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Validate checks b as Kafka checks a CreateAcls creation (the request's
// UNKNOWN check, AclApis' cluster-name and empty-name checks and the
// controller's validateNewAcl): a concrete resource type, a LITERAL or
// PREFIXED pattern, a concrete operation (ALL allowed), ALLOW or DENY, a
// non-empty name, "kafka-cluster" as the only CLUSTER name. It also
// requires the principal in "Type:name" form, which Kafka's KRaft
// controller does not check at creation (an ACL without the colon fails
// every later authorization there); Rill refuses it up front.
func (b Binding) Validate() error {
	p, e := b.Pattern, b.Entry
	switch {
	case !p.Type.concrete():
		return invalid("invalid resource type %s", p.Type)
	case p.PatternType != PatternLiteral && p.PatternType != PatternPrefixed:
		return invalid("invalid pattern type %s", p.PatternType)
	case e.Operation < OpAll || e.Operation > OpDescribeTokens:
		return invalid("invalid operation %s", e.Operation)
	case e.Permission != PermissionAllow && e.Permission != PermissionDeny:
		return invalid("invalid permission type %s", e.Permission)
	case p.Name == "":
		return invalid("invalid empty resource name")
	case p.Type == ResourceCluster && p.Name != ClusterName:
		return invalid("the only valid name for the CLUSTER resource is %s", ClusterName)
	}
	if err := ValidatePrincipal(e.Principal); err != nil {
		return err
	}
	return nil
}

// ValidatePrincipal checks the "Type:name" form Kafka's
// SecurityUtils.parseKafkaPrincipal requires: a colon, after a non-empty
// type.
func ValidatePrincipal(s string) error {
	if i := strings.IndexByte(s, ':'); i <= 0 {
		return invalid("principal %q is not in the form principalType:principalName", s)
	}
	return nil
}

// ParseSuperUsers parses Kafka's super.users value: principals separated
// by ';', blanks ignored, each in "Type:name" form.
func ParseSuperUsers(s string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(s, ";") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if err := ValidatePrincipal(v); err != nil {
			return nil, fmt.Errorf("super.users: %w", err)
		}
		out = append(out, v)
	}
	return out, nil
}

// allowGrants reports whether an ALLOW ACL for operation acl grants the requested
// operation req: ALL grants everything, READ/WRITE/DELETE/ALTER grant
// DESCRIBE, ALTER_CONFIGS grants DESCRIBE_CONFIGS. A DENY ACL denies only
// its own operation (or everything, for ALL): denying READ does not deny
// DESCRIBE (StandardAuthorizerData.findResult).
func allowGrants(acl, req Operation) bool {
	if acl == OpAll || acl == req {
		return true
	}
	switch req {
	case OpDescribe:
		return acl == OpRead || acl == OpWrite || acl == OpDelete || acl == OpAlter
	case OpDescribeConfigs:
		return acl == OpAlterConfigs
	}
	return false
}

func denyCovers(acl, req Operation) bool { return acl == OpAll || acl == req }

// SupportedOperations are the operations Kafka defines for a resource
// type (AclEntry.supportedOperations), the bits of the authorized
// operations fields in Metadata, DescribeCluster and DescribeGroups.
func SupportedOperations(t ResourceType) []Operation {
	switch t {
	case ResourceTopic:
		return []Operation{OpRead, OpWrite, OpCreate, OpDescribe, OpDelete, OpAlter, OpDescribeConfigs, OpAlterConfigs}
	case ResourceGroup:
		return []Operation{OpRead, OpDescribe, OpDelete, OpDescribeConfigs, OpAlterConfigs}
	case ResourceCluster:
		return []Operation{OpCreate, OpClusterAction, OpDescribeConfigs, OpAlterConfigs, OpIdempotentWrite, OpAlter, OpDescribe}
	case ResourceTransactionalID:
		return []Operation{OpDescribe, OpWrite}
	case ResourceDelegationToken:
		return []Operation{OpDescribe}
	case ResourceUser:
		return []Operation{OpCreateTokens, OpDescribeTokens}
	}
	return nil
}
