package authz

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Config is the authorizer's configuration, Kafka's StandardAuthorizer
// settings.
type Config struct {
	// SuperUsers are principals ("User:admin") allowed everything
	// (super.users; ParseSuperUsers reads Kafka's ';'-separated form).
	SuperUsers []string
	// AllowIfNoACL allows a request when no ACL at all applies to its
	// resource (allow.everyone.if.no.acl.found).
	AllowIfNoACL bool
	// CacheSize is the number of decision slots per ACL generation
	// (rounded up to a power of two; 8 bytes each, allocated when the
	// first request after an Add or Remove rebuilds the index): 0 means
	// DefaultCacheSize, a negative value disables the cache.
	CacheSize int
}

// DefaultCacheSize is the decision cache bound when Config.CacheSize is 0.
const DefaultCacheSize = 1 << 14

// Resource is a concrete resource a request acts on.
type Resource struct {
	Type ResourceType
	Name string
}

// Request is one authorization question: may Principal, connected from
// Host, perform Operation on Resource?
type Request struct {
	Principal string // "Type:name", as the connection authenticated ("User:ANONYMOUS" on plaintext)
	Host      string // the client's IP address (netip.Addr.String(); other spellings are normalized)
	Operation Operation
	Resource  Resource
}

// Reason says which rule decided.
type Reason int8

const (
	// ReasonNoMatch: ACLs apply to the resource, none allows this request.
	ReasonNoMatch Reason = iota
	// ReasonNoACL: no ACL applies to the resource at all; the
	// allow.everyone.if.no.acl.found setting decided.
	ReasonNoACL
	// ReasonSuperUser: the principal is in super.users.
	ReasonSuperUser
	// ReasonAllowACL: an ALLOW ACL (Decision.ACL) matched and no DENY did.
	ReasonAllowACL
	// ReasonDenyACL: a DENY ACL (Decision.ACL) matched.
	ReasonDenyACL
	// ReasonInvalid: the request names no concrete operation or resource
	// type (a wiring bug); always denied, even for super users.
	ReasonInvalid
)

var reasonNames = [...]string{"NoMatchingAllow", "NoAcl", "SuperUser", "AllowAcl", "DenyAcl", "InvalidRequest"}

func (r Reason) String() string { return name(reasonNames[:], int8(r)) }

// Decision is the answer to a Request.
type Decision struct {
	Allowed bool
	Reason  Reason
	ACL     ID // the deciding ACL for ReasonAllowACL and ReasonDenyACL
}

// ACL is a binding with its id.
type ACL struct {
	ID      ID
	Binding Binding
}

var (
	// ErrDuplicateID is an Add of an id already present.
	ErrDuplicateID = errors.New("authz: acl id already present")
	// ErrNotFound is a Remove of an id not present.
	ErrNotFound = errors.New("authz: acl id not found")
)

// Authorizer holds the ACLs and answers authorization requests. It is safe
// for concurrent use: Authorize, AuthorizeAny and the listing methods may
// run from any number of goroutines while one goroutine (the metadata
// replay) calls Add and Remove.
type Authorizer struct {
	superUsers   map[string]struct{}
	allowIfNoACL bool
	cacheSize    int

	mu struct {
		sync.Mutex
		acls      map[ID]Binding
		byBinding map[Binding][]ID
	}
	// generation counts Add and Remove calls; a snapshot (index and
	// decision cache) older than it is rebuilt by the next request.
	generation atomic.Uint64
	snap       atomic.Pointer[snapshot]
}

// New returns an authorizer with no ACLs.
func New(cfg Config) (*Authorizer, error) {
	a := &Authorizer{superUsers: make(map[string]struct{}), allowIfNoACL: cfg.AllowIfNoACL, cacheSize: cfg.CacheSize}
	if a.cacheSize == 0 {
		a.cacheSize = DefaultCacheSize
	}
	for _, u := range cfg.SuperUsers {
		u = strings.TrimSpace(u)
		if err := ValidatePrincipal(u); err != nil {
			return nil, fmt.Errorf("super.users: %w", err)
		}
		a.superUsers[u] = struct{}{}
	}
	a.mu.acls = make(map[ID]Binding)
	a.mu.byBinding = make(map[Binding][]ID)
	return a, nil
}

// Add adds the ACL id (replaying an AccessControlEntryRecord). b must be
// valid (Binding.Validate); an id already present is ErrDuplicateID.
func (a *Authorizer) Add(id ID, b Binding) error {
	if err := b.Validate(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.mu.acls[id]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicateID, id)
	}
	a.mu.acls[id] = b
	a.mu.byBinding[b] = append(a.mu.byBinding[b], id)
	a.generation.Add(1)
	return nil
}

// Remove removes the ACL id (replaying a RemoveAccessControlEntryRecord);
// an id not present is ErrNotFound.
func (a *Authorizer) Remove(id ID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.mu.acls[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	delete(a.mu.acls, id)
	ids := slices.DeleteFunc(a.mu.byBinding[b], func(x ID) bool { return x == id })
	if len(ids) == 0 {
		delete(a.mu.byBinding, b)
	} else {
		a.mu.byBinding[b] = ids
	}
	a.generation.Add(1)
	return nil
}

// Find returns the id of an ACL equal to b, so CreateAcls can answer a
// duplicate creation with success and no new record, as Kafka's
// controller does.
func (a *Authorizer) Find(b Binding) (ID, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := a.mu.byBinding[b]
	if len(ids) == 0 {
		return ID{}, false
	}
	return ids[0], true
}

// Len is the number of ACLs.
func (a *Authorizer) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.mu.acls)
}

// Generation changes with every Add and Remove; a caller may cache
// results derived from decisions (authorized-operations fields) under it.
func (a *Authorizer) Generation() uint64 { return a.generation.Load() }

// ACLs returns the ACLs f matches (DescribeAcls; DeleteAcls removes the
// returned ids), sorted by resource type, pattern type, name, principal,
// host, operation, permission and id. An invalid filter matches nothing.
func (a *Authorizer) ACLs(f Filter) []ACL {
	if f.Validate() != nil {
		return nil
	}
	a.mu.Lock()
	var out []ACL
	for id, b := range a.mu.acls {
		if f.matchesPattern(b.Pattern) && f.matchesEntry(b.Entry) {
			out = append(out, ACL{id, b})
		}
	}
	a.mu.Unlock()
	slices.SortFunc(out, compareACL)
	return out
}

func compareACL(x, y ACL) int {
	p, q := x.Binding, y.Binding
	if c := int(p.Pattern.Type) - int(q.Pattern.Type); c != 0 {
		return c
	}
	if c := int(p.Pattern.PatternType) - int(q.Pattern.PatternType); c != 0 {
		return c
	}
	if c := strings.Compare(p.Pattern.Name, q.Pattern.Name); c != 0 {
		return c
	}
	if c := strings.Compare(p.Entry.Principal, q.Entry.Principal); c != 0 {
		return c
	}
	if c := strings.Compare(p.Entry.Host, q.Entry.Host); c != 0 {
		return c
	}
	if c := int(p.Entry.Operation) - int(q.Entry.Operation); c != 0 {
		return c
	}
	if c := int(p.Entry.Permission) - int(q.Entry.Permission); c != 0 {
		return c
	}
	return slices.Compare(x.ID[:], y.ID[:])
}

// IsSuperUser reports whether principal is in super.users.
func (a *Authorizer) IsSuperUser(principal string) bool {
	_, ok := a.superUsers[principal]
	return ok
}

// Authorize decides r as Kafka's StandardAuthorizer does:
//
//  1. a super user is allowed;
//  2. the ACLs that apply to the resource are those of its type whose
//     pattern is LITERAL with its exact name, LITERAL "*", or PREFIXED
//     with a prefix of its name;
//  3. of those, an ACL matches the request when its principal is the
//     request's or "User:*", its host is the request's or "*", and its
//     operation covers the request's: ALL covers everything; an ALLOW for
//     READ, WRITE, DELETE or ALTER also covers DESCRIBE, and an ALLOW for
//     ALTER_CONFIGS also covers DESCRIBE_CONFIGS (a DENY covers only its
//     own operation, or everything for ALL);
//  4. a matching DENY denies; else a matching ALLOW allows; else, if no
//     ACL applies to the resource at all (step 2, whatever its principal,
//     host or operation), allow.everyone.if.no.acl.found decides; else
//     denied.
//
// Decisions are cached until the next Add or Remove.
func (a *Authorizer) Authorize(r Request) Decision {
	if !r.Resource.Type.concrete() || r.Operation < OpRead || r.Operation > OpDescribeTokens {
		return Decision{Reason: ReasonInvalid}
	}
	if _, ok := a.superUsers[r.Principal]; ok {
		return Decision{Allowed: true, Reason: ReasonSuperUser}
	}
	s := a.snapshot()
	key := cacheKey{principal: r.Principal, host: r.Host, name: r.Resource.Name, op: r.Operation, typ: r.Resource.Type}
	c := s.cache
	if c != nil {
		if d, ok := c.get(key); ok {
			return d
		}
	}
	d := s.decide(r.Principal, canonicalHost(r.Host), r.Operation, r.Resource, a.allowIfNoACL)
	if c != nil {
		c.put(key, d)
	}
	return d
}

// AuthorizeAny reports whether principal may perform op on at least one
// resource of type typ, as Kafka's Authorizer.authorizeByResourceType
// (used for IDEMPOTENT_WRITE, transactional and CreateTopics checks): it
// is allowed when Authorize allows a resource named "hardcode" (which
// covers super users, wildcard ALLOWs and allow.everyone.if.no.acl.found
// with no applicable ACL), or when, among the ACLs of that type whose
// principal, host and operation (the exact operation or ALL, with no
// implication) match, there is an ALLOW on LITERAL "*" and no DENY on
// LITERAL "*", or an ALLOW on some pattern that no DENY dominates (a DENY
// on the same literal, or a DENY prefix of it).
func (a *Authorizer) AuthorizeAny(principal, host string, op Operation, typ ResourceType) Decision {
	if !typ.concrete() || op < OpRead || op > OpDescribeTokens {
		return Decision{Reason: ReasonInvalid}
	}
	if d := a.Authorize(Request{Principal: principal, Host: host, Operation: op, Resource: Resource{typ, "hardcode"}}); d.Allowed {
		return d
	}
	s := a.snapshot()
	key := cacheKey{principal: principal, host: host, op: op, typ: typ, byType: true}
	c := s.cache
	if c != nil {
		if d, ok := c.get(key); ok {
			return d
		}
	}
	d := s.decideAny(principal, canonicalHost(host), op, typ)
	if c != nil {
		c.put(key, d)
	}
	return d
}

// AuthorizedOperations is the authorized-operations bit field of
// Metadata, DescribeCluster and DescribeGroups: bit op is set for every
// operation of SupportedOperations(res.Type) that Authorize allows.
func (a *Authorizer) AuthorizedOperations(principal, host string, res Resource) int32 {
	var bits int32
	for _, op := range SupportedOperations(res.Type) {
		if a.Authorize(Request{Principal: principal, Host: host, Operation: op, Resource: res}).Allowed {
			bits |= 1 << op
		}
	}
	return bits
}

// snapshot returns the index of the current generation, building it if
// an Add or Remove made the last one stale.
func (a *Authorizer) snapshot() *snapshot {
	if s := a.snap.Load(); s != nil && s.generation == a.generation.Load() {
		return s
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	gen := a.generation.Load() // stable: Add and Remove hold mu
	if s := a.snap.Load(); s != nil && s.generation == gen {
		return s
	}
	s := buildSnapshot(gen, a.mu.acls, a.cacheSize)
	a.snap.Store(s)
	return s
}

// canonicalHost spells an IP address as netip does (IPv4-mapped IPv6
// unmapped), so an ACL written with Java's spelling ("0:0:0:0:0:0:0:1")
// matches a client Go reports as "::1". Anything else is kept as is.
func canonicalHost(h string) string {
	if strings.IndexByte(h, ':') < 0 {
		return h // "*", a name, or IPv4 (which netip parses only in its canonical form)
	}
	addr, err := netip.ParseAddr(h)
	if err != nil {
		return h
	}
	return addr.Unmap().String()
}
