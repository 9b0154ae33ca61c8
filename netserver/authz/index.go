package authz

import (
	"hash/maphash"
	"slices"
	"strings"
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
	cache      *decisionCache // nil when caching is off
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
	s := &snapshot{generation: gen}
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
		s.cache = newDecisionCache(cacheSize)
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

// The decision cache of one snapshot: a direct-mapped table of slots,
// each an atomic pointer to an immutable (key, decision) pair, so that
// both a hit and a fill take no lock (hot keys are read by every core at
// once on the produce path). A key's slot is its hash modulo the table
// size; a colliding key evicts it, and the slot's key is compared, so a
// collision costs a miss, never a wrong answer.
type cacheKey struct {
	principal, host, name string
	op                    Operation
	typ                   ResourceType
	byType                bool // AuthorizeAny
}

type decisionCache struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Pointer[cacheSlot]
}

type cacheSlot struct {
	key      cacheKey
	decision Decision
}

// newDecisionCache has size slots, rounded up to a power of two.
func newDecisionCache(size int) *decisionCache {
	n := 1
	for n < size {
		n <<= 1
	}
	return &decisionCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), slots: make([]atomic.Pointer[cacheSlot], n)}
}

func (c *decisionCache) slot(k *cacheKey) *atomic.Pointer[cacheSlot] {
	h := maphash.String(c.seed, k.name)
	h = h*31 + maphash.String(c.seed, k.principal)
	h = h*31 + maphash.String(c.seed, k.host)
	h = h*31 + uint64(k.op)<<16 + uint64(k.typ)<<8
	if k.byType {
		h++
	}
	return &c.slots[h&c.mask]
}

func (c *decisionCache) get(k cacheKey) (Decision, bool) {
	if s := c.slot(&k).Load(); s != nil && s.key == k {
		return s.decision, true
	}
	return Decision{}, false
}

func (c *decisionCache) put(k cacheKey, d Decision) {
	c.slot(&k).Store(&cacheSlot{k, d})
}
