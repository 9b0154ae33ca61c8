package authz

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The index is an immutable snapshot of the ACLs of one generation, built
// on the first request after an Add or Remove, and read without locks:
//
//	types[resourceType]
//	  literal:  name -> entries   ("*" is the wildcard's key)
//	  prefixed: name -> entries
//	  prefixes: the prefixed names, sorted
//
// A request looks up its exact name and "*", then walks the sorted
// prefixes from the greatest name <= its own, as Kafka's checkSection
// walks its sorted set: every prefix of a name sorts at or before it, and
// after a miss the next candidate is a prefix of the common part, so the
// walk costs a binary search per matching prefix (plus one per miss).
type snapshot struct {
	generation uint64
	types      [ResourceUser + 1]*typeIndex
	cache      atomic.Pointer[decisionCache] // nil when caching is off
	cacheSize  int
}

type typeIndex struct {
	literal  map[string][]entry
	prefixed map[string][]entry
	prefixes []string
	all      []patternEntry // for AuthorizeAny
}

// entry is one ACL's entry, its host normalized.
type entry struct {
	id         ID
	principal  string
	host       string
	operation  Operation
	permission Permission
}

type patternEntry struct {
	name        string
	patternType PatternType
	entry
}

func buildSnapshot(gen uint64, acls map[ID]Binding, cacheSize int) *snapshot {
	s := &snapshot{generation: gen, cacheSize: cacheSize}
	for id, b := range acls {
		ti := s.types[b.Pattern.Type]
		if ti == nil {
			ti = &typeIndex{literal: make(map[string][]entry), prefixed: make(map[string][]entry)}
			s.types[b.Pattern.Type] = ti
		}
		e := entry{id: id, principal: b.Entry.Principal, host: canonicalHost(b.Entry.Host), operation: b.Entry.Operation, permission: b.Entry.Permission}
		if b.Pattern.PatternType == PatternPrefixed {
			if _, ok := ti.prefixed[b.Pattern.Name]; !ok {
				ti.prefixes = append(ti.prefixes, b.Pattern.Name)
			}
			ti.prefixed[b.Pattern.Name] = append(ti.prefixed[b.Pattern.Name], e)
		} else {
			ti.literal[b.Pattern.Name] = append(ti.literal[b.Pattern.Name], e)
		}
		ti.all = append(ti.all, patternEntry{b.Pattern.Name, b.Pattern.PatternType, e})
	}
	for _, ti := range s.types {
		if ti != nil {
			slices.Sort(ti.prefixes)
		}
	}
	if cacheSize > 0 {
		s.cache.Store(newDecisionCache())
	}
	return s
}

// matcher accumulates StandardAuthorizerData's MatchingRuleBuilder state.
type matcher struct {
	principal, host string
	op              Operation
	hasResourceACLs bool
	allow, deny     *entry
}

// check looks at the entries of one applicable pattern; true once a DENY
// matched (the search stops there).
func (m *matcher) check(es []entry) bool {
	for i := range es {
		e := &es[i]
		m.hasResourceACLs = true
		if e.principal != m.principal && e.principal != WildcardPrincipal {
			continue
		}
		if e.host != Wildcard && e.host != m.host {
			continue
		}
		if e.permission == PermissionDeny {
			if denyCovers(e.operation, m.op) {
				m.deny = e
				return true
			}
		} else if allowGrants(e.operation, m.op) {
			m.allow = e
		}
	}
	return false
}

func (s *snapshot) decide(principal, host string, op Operation, res Resource, allowIfNoACL bool) Decision {
	m := matcher{principal: principal, host: host, op: op}
	if ti := s.types[res.Type]; ti != nil {
		name := res.Name
		if m.check(ti.literal[name]) {
			return denied(m.deny)
		}
		if name != Wildcard && m.check(ti.literal[Wildcard]) {
			return denied(m.deny)
		}
		if ti.walkPrefixes(name, m.check) {
			return denied(m.deny)
		}
	}
	switch {
	case m.allow != nil:
		return Decision{Allowed: true, Reason: ReasonAllowACL, ACL: m.allow.id}
	case !m.hasResourceACLs:
		return Decision{Allowed: allowIfNoACL, Reason: ReasonNoACL}
	}
	return Decision{Reason: ReasonNoMatch}
}

func denied(e *entry) Decision { return Decision{Reason: ReasonDenyACL, ACL: e.id} }

// walkPrefixes calls f with the entries of every prefixed pattern name
// starts with, longest first, until f returns true.
func (ti *typeIndex) walkPrefixes(name string, f func([]entry) bool) bool {
	cur := name
	for len(ti.prefixes) > 0 {
		// j: the greatest prefix pattern <= cur.
		j, found := slices.BinarySearch(ti.prefixes, cur)
		if !found {
			j--
		}
		if j < 0 {
			return false
		}
		p := ti.prefixes[j]
		if strings.HasPrefix(cur, p) {
			if f(ti.prefixed[p]) {
				return true
			}
			if len(p) == 0 {
				return false
			}
			cur = cur[:len(p)-1]
			continue
		}
		// p < cur and p is no prefix of cur: a pattern that is a prefix
		// of cur and sorts before p is a prefix of their common part.
		n := commonPrefix(cur, p)
		cur = cur[:n]
	}
	return false
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// decideAny is authorizeByResourceType past its "hardcode" check.
func (s *snapshot) decideAny(principal, host string, op Operation, typ ResourceType) Decision {
	ti := s.types[typ]
	if ti == nil {
		return Decision{Reason: ReasonNoMatch}
	}
	var (
		denyLiteral  = map[string]bool{}
		denyPrefixed = map[string]bool{}
		allows       []patternEntry
		wildcard     *patternEntry
	)
	for i := range ti.all {
		pe := &ti.all[i]
		if pe.host != host && pe.host != Wildcard {
			continue
		}
		if pe.principal != principal && pe.principal != WildcardPrincipal {
			continue
		}
		if pe.operation != op && pe.operation != OpAll {
			continue
		}
		literal := pe.patternType == PatternLiteral
		if pe.permission == PermissionDeny {
			switch {
			case literal && pe.name == Wildcard:
				return denied(&pe.entry)
			case literal:
				denyLiteral[pe.name] = true
			default:
				denyPrefixed[pe.name] = true
			}
			continue
		}
		if literal && pe.name == Wildcard {
			wildcard = pe
			continue
		}
		allows = append(allows, *pe)
	}
	if wildcard != nil {
		return Decision{Allowed: true, Reason: ReasonAllowACL, ACL: wildcard.id}
	}
next:
	for _, pe := range allows {
		if pe.patternType == PatternLiteral && denyLiteral[pe.name] {
			continue
		}
		for i := 1; i <= len(pe.name); i++ {
			if denyPrefixed[pe.name[:i]] {
				continue next
			}
		}
		return Decision{Allowed: true, Reason: ReasonAllowACL, ACL: pe.id}
	}
	return Decision{Reason: ReasonNoMatch}
}

// The decision cache of one snapshot. Reads take a shard's read lock; a
// shard that outgrows its share of the bound is emptied (the working set
// refills it).
const cacheShards = 64

type cacheKey struct {
	principal, host, name string
	op                    Operation
	typ                   ResourceType
	byType                bool // AuthorizeAny
}

type decisionCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[cacheKey]Decision
	_  [40]byte // keep shards on separate cache lines
}

func newDecisionCache() *decisionCache {
	return &decisionCache{seed: maphash.MakeSeed()}
}

func (c *decisionCache) shard(k *cacheKey) *cacheShard {
	h := maphash.String(c.seed, k.name) ^ maphash.String(c.seed, k.principal)
	return &c.shards[h%cacheShards]
}

func (c *decisionCache) get(k cacheKey) (Decision, bool) {
	sh := c.shard(&k)
	sh.mu.RLock()
	d, ok := sh.m[k]
	sh.mu.RUnlock()
	return d, ok
}

func (c *decisionCache) put(s *snapshot, k cacheKey, d Decision) {
	sh := c.shard(&k)
	limit := s.cacheSize/cacheShards + 1
	sh.mu.Lock()
	if sh.m == nil || len(sh.m) >= limit {
		sh.m = make(map[cacheKey]Decision)
	}
	sh.m[k] = d
	sh.mu.Unlock()
}
