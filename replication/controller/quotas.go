package controller

// The cluster's client quotas (KIP-13, KIP-124, KIP-546, KIP-599): Kafka's
// ClientQuotaRecord (a key set or removed on an entity), decided as
// Kafka's ClientQuotaControlManager does and described as its
// ClientQuotasImage does. An entity is any combination of a user and a
// client id, or an ip alone, each a name or the default (a null name in
// Kafka's records). Brokers enforce them (netserver/quota); this package
// only keeps them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"
)

// Quota entity types: Kafka's ClientQuotaEntity names.
const (
	QuotaUser     = "user"
	QuotaClientID = "client-id"
	QuotaIP       = "ip"
)

// Quota keys: Kafka's QuotaConfig names.
const (
	QuotaProducerByteRate       = "producer_byte_rate"       // bytes/s produced, per broker
	QuotaConsumerByteRate       = "consumer_byte_rate"       // bytes/s fetched, per broker
	QuotaRequestPercentage      = "request_percentage"       // percent of one request handler's time, per broker
	QuotaControllerMutationRate = "controller_mutation_rate" // partitions created or deleted per second
	QuotaConnectionCreationRate = "connection_creation_rate" // connections per second from one ip
)

// quotaKeyType is how a key's value is validated: Kafka's ConfigDef type.
type quotaKeyType int8

const (
	quotaDouble quotaKeyType = iota
	quotaLong
	quotaInt
)

// The keys an entity of user and client-id components may hold, and
// those of an ip entity (QuotaConfig.userAndClientQuotaConfigs and
// ipConfigs).
var (
	clientQuotaKeys = map[string]quotaKeyType{
		QuotaProducerByteRate:       quotaLong,
		QuotaConsumerByteRate:       quotaLong,
		QuotaRequestPercentage:      quotaDouble,
		QuotaControllerMutationRate: quotaDouble,
	}
	ipQuotaKeys = map[string]quotaKeyType{QuotaConnectionCreationRate: quotaInt}
)

// QuotaName is one component of a quota entity: absent, a name, or the
// default (Kafka's null name: every user, or every client id, without a
// quota of its own).
type QuotaName struct {
	Set     bool `json:",omitempty"`
	Default bool `json:",omitempty"`
	Name    string
}

// Named is the component of that name; DefaultName the default.
func Named(name string) QuotaName { return QuotaName{Set: true, Name: name} }

// DefaultName is the default component (a null name).
var DefaultName = QuotaName{Set: true, Default: true}

// ptr is the component as Kafka's nullable name (nil: the default).
func (n QuotaName) ptr() *string {
	if n.Default {
		return nil
	}
	s := n.Name
	return &s
}

func (n QuotaName) String() string {
	if n.Default {
		return "<default>"
	}
	return n.Name
}

// QuotaEntity names who a quota applies to. It is comparable (a map key)
// and reads and writes as Kafka's entity list in JSON, and as that JSON
// text where it keys a map.
type QuotaEntity struct {
	User, ClientID, IP QuotaName
}

// QuotaEntityPart is one (type, name) of Kafka's entity list; a nil Name
// is the default.
type QuotaEntityPart struct {
	Type string
	Name *string
}

// Parts are the entity's components in Kafka's list form: user, client-id,
// ip, those it has.
func (e QuotaEntity) Parts() []QuotaEntityPart {
	var out []QuotaEntityPart
	for _, c := range []struct {
		typ  string
		name QuotaName
	}{{QuotaUser, e.User}, {QuotaClientID, e.ClientID}, {QuotaIP, e.IP}} {
		if c.name.Set {
			out = append(out, QuotaEntityPart{Type: c.typ, Name: c.name.ptr()})
		}
	}
	return out
}

// Empty reports an entity with no component.
func (e QuotaEntity) Empty() bool { return !e.User.Set && !e.ClientID.Set && !e.IP.Set }

func (e QuotaEntity) String() string {
	var parts []string
	for _, p := range e.Parts() {
		name := "<default>"
		if p.Name != nil {
			name = *p.Name
		}
		parts = append(parts, p.Type+"="+name)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// entityFromParts is the entity of a list with only known types, each at
// most once.
func entityFromParts(parts []QuotaEntityPart) (QuotaEntity, error) {
	var e QuotaEntity
	for _, p := range parts {
		var dst *QuotaName
		switch p.Type {
		case QuotaUser:
			dst = &e.User
		case QuotaClientID:
			dst = &e.ClientID
		case QuotaIP:
			dst = &e.IP
		default:
			return QuotaEntity{}, fmt.Errorf("unknown quota entity type %q", p.Type)
		}
		if dst.Set {
			return QuotaEntity{}, fmt.Errorf("quota entity type %q twice", p.Type)
		}
		*dst = DefaultName
		if p.Name != nil {
			*dst = Named(*p.Name)
		}
	}
	return e, nil
}

type jsonEntityPart struct {
	Type string
	Name *string
}

// MarshalJSON writes the entity as its list of parts.
func (e QuotaEntity) MarshalJSON() ([]byte, error) {
	parts := []jsonEntityPart{}
	for _, p := range e.Parts() {
		parts = append(parts, jsonEntityPart(p))
	}
	return json.Marshal(parts)
}

// UnmarshalJSON reads a list of parts, or a string holding one (a map
// key: encoding/json hands a key's quoted text to UnmarshalJSON).
func (e *QuotaEntity) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var text string
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
		b = []byte(text)
	}
	var parts []jsonEntityPart
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	conv := make([]QuotaEntityPart, len(parts))
	for i, p := range parts {
		conv[i] = QuotaEntityPart(p)
	}
	got, err := entityFromParts(conv)
	if err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	*e = got
	return nil
}

// MarshalText and UnmarshalText key a JSON map with the entity's JSON.
func (e QuotaEntity) MarshalText() ([]byte, error) { return e.MarshalJSON() }

func (e *QuotaEntity) UnmarshalText(b []byte) error { return e.UnmarshalJSON(b) }

// ClientQuota is Kafka's ClientQuotaRecord: an entity's quota key set to
// Value, or removed.
type ClientQuota struct {
	Entity QuotaEntity
	Key    string
	Value  float64 `json:",omitempty"`
	Remove bool    `json:",omitempty"`
}

// QuotaOp is one operation of an alteration: set Key to Value, or remove
// it.
type QuotaOp struct {
	Key    string
	Value  float64
	Remove bool
}

// QuotaAlteration is one entry of AlterClientQuotas: the entity as the
// request names it (types unchecked; a type named twice keeps its last
// name, as Kafka's request parsing does) and its operations.
type QuotaAlteration struct {
	Entity []QuotaEntityPart
	Ops    []QuotaOp
}

// QuotaResult is an entity's outcome: its parts (each type once) and its
// error (ErrInvalidQuota, or nil).
type QuotaResult struct {
	Entity []QuotaEntityPart
	Err    error
}

// mergeParts is a request entity as Kafka's ClientQuotaEntity map holds
// it: each type once, with its last name, in first-named order; key is
// its identity.
func mergeParts(parts []QuotaEntityPart) (merged []QuotaEntityPart, key string) {
	at := map[string]int{}
	for _, p := range parts {
		if i, ok := at[p.Type]; ok {
			merged[i].Name = p.Name
			continue
		}
		at[p.Type] = len(merged)
		merged = append(merged, p)
	}
	sorted := slices.Clone(merged)
	slices.SortFunc(sorted, func(a, b QuotaEntityPart) int { return strings.Compare(a.Type, b.Type) })
	var sb strings.Builder
	for _, p := range sorted {
		fmt.Fprintf(&sb, "%q=", p.Type)
		if p.Name == nil {
			sb.WriteString("null;")
		} else {
			fmt.Fprintf(&sb, "%q;", *p.Name)
		}
	}
	return merged, sb.String()
}

// AlterClientQuotas decides Kafka's AlterClientQuotas with
// ClientQuotaControlManager's rules. Per entity (ErrInvalidQuota, with
// Kafka's message): no component, an unknown type, an empty name, an ip
// with a user or client id, an ip that is not an address; a key the
// entity cannot hold, a value not above 0, a fraction or out of range
// for an integral key; a key named twice, or an entity named again in
// the request (then its result is that error even though the first
// mention's records stand, as in Kafka). A removal of a key the entity
// does not hold, or a value it already has, makes no record. One result
// per distinct entity, in the order first named.
func (c *Controller) AlterClientQuotas(alterations []QuotaAlteration) ([]Record, []QuotaResult) {
	var recs []Record
	var order []string
	results := map[string]*QuotaResult{}
	for _, a := range alterations {
		parts, key := mergeParts(a.Entity)
		res, seen := results[key]
		if !seen {
			res = &QuotaResult{Entity: parts}
			results[key] = res
			order = append(order, key)
		}
		var failed error
		ops := map[string]*float64{}
		var keys []string
		for _, op := range a.Ops {
			if _, dup := ops[op.Key]; dup {
				failed = quotaErr(ErrInvalidQuota, "Duplicate quota key %s not updating quota for this entity %s", op.Key, describeParts(parts))
				continue
			}
			keys = append(keys, op.Key)
			ops[op.Key] = nil
			if !op.Remove {
				v := op.Value
				ops[op.Key] = &v
			}
		}
		if seen || failed != nil {
			res.Err = quotaErr(ErrInvalidQuota, "Ignoring duplicate entity %s", describeParts(parts))
			continue
		}
		entity, valid, err := checkQuotaEntity(parts)
		if err != nil {
			res.Err = err
			continue
		}
		current := c.image.ClientQuotas[entity]
		var add []Record
		for _, k := range keys {
			v := ops[k]
			if v == nil {
				if _, ok := current[k]; ok {
					add = append(add, Record{ClientQuota: &ClientQuota{Entity: entity, Key: k, Remove: true}})
				}
				continue
			}
			if err := checkQuotaValue(valid, k, *v); err != nil {
				res.Err = err
				add = nil
				break
			}
			if have, ok := current[k]; !ok || have != *v {
				add = append(add, Record{ClientQuota: &ClientQuota{Entity: entity, Key: k, Value: *v}})
			}
		}
		recs = append(recs, add...)
	}
	out := make([]QuotaResult, 0, len(order))
	for _, key := range order {
		out = append(out, *results[key])
	}
	return recs, out
}

// describeParts renders a request entity as Kafka's ClientQuotaEntity
// toString does, roughly: {type=name, ...}.
func describeParts(parts []QuotaEntityPart) string {
	var s []string
	for _, p := range parts {
		name := "null"
		if p.Name != nil {
			name = *p.Name
		}
		s = append(s, p.Type+"="+name)
	}
	return "{" + strings.Join(s, ", ") + "}"
}

// checkQuotaEntity validates an entity (validateEntity and
// configKeysForEntityType) and returns it with the keys it may hold.
func checkQuotaEntity(parts []QuotaEntityPart) (QuotaEntity, map[string]quotaKeyType, error) {
	if len(parts) == 0 {
		return QuotaEntity{}, nil, quotaErr(ErrInvalidQuota, "Invalid empty client quota entity")
	}
	for _, p := range parts {
		switch p.Type {
		case QuotaUser, QuotaClientID, QuotaIP:
		default:
			return QuotaEntity{}, nil, quotaErr(ErrInvalidQuota, "Unhandled client quota entity type: %s", p.Type)
		}
		if p.Name != nil && *p.Name == "" {
			return QuotaEntity{}, nil, quotaErr(ErrInvalidQuota, "Empty %s not supported", p.Type)
		}
	}
	e, err := entityFromParts(parts)
	if err != nil { // merged parts name each known type once
		return QuotaEntity{}, nil, quotaErr(ErrInvalidQuota, "%v", err)
	}
	if e.IP.Set {
		if e.User.Set || e.ClientID.Set {
			return QuotaEntity{}, nil, quotaErr(ErrInvalidQuota, "Invalid quota entity combination, IP entity should not be combined with User or ClientId")
		}
		if !e.IP.Default {
			if _, err := netip.ParseAddr(e.IP.Name); err != nil {
				return QuotaEntity{}, nil, quotaErr(ErrInvalidQuota, "%s is not a valid IP or resolvable host.", e.IP.Name)
			}
		}
		return e, ipQuotaKeys, nil
	}
	return e, clientQuotaKeys, nil
}

// checkQuotaValue validates a key and its new value
// (validateQuotaKeyValue).
func checkQuotaValue(valid map[string]quotaKeyType, key string, v float64) error {
	typ, ok := valid[key]
	switch {
	case !ok:
		return quotaErr(ErrInvalidQuota, "Invalid configuration key %s", key)
	case !(v > 0):
		return quotaErr(ErrInvalidQuota, "Quota %s must be greater than 0", key)
	case typ == quotaDouble:
		return nil
	case typ == quotaInt && v > math.MaxInt32:
		return quotaErr(ErrInvalidQuota, "Proposed value for %s is too large for an INT.", key)
	case typ == quotaLong && v > math.MaxInt64:
		return quotaErr(ErrInvalidQuota, "Proposed value for %s is too large for a LONG.", key)
	case math.Abs(math.Mod(v, 1)) > 1e-6:
		return quotaErr(ErrInvalidQuota, "%s cannot be a fractional value.", key)
	}
	return nil
}

// Match types of a DescribeClientQuotas filter component.
const (
	QuotaMatchExact     int8 = 0 // the name given
	QuotaMatchDefault   int8 = 1 // the default
	QuotaMatchSpecified int8 = 2 // any name, the default included
)

// QuotaFilterComponent is one component of a DescribeClientQuotas filter.
type QuotaFilterComponent struct {
	EntityType string
	MatchType  int8
	Match      *string
}

// QuotaEntry is one entity and its quotas.
type QuotaEntry struct {
	Entity QuotaEntity
	Values map[string]float64
}

// DescribeClientQuotas selects quotas as Kafka's ClientQuotasImage
// describes them: every component's type must be in the entity, with the
// exact name or the default it asks for, or with any name (SPECIFIED);
// strict also requires the entity to have no other component. No
// component selects everything unless strict. A filter with an empty or
// repeated type, a name where none belongs (or none where one does), an
// unknown match type, or an ip with a user or client id is
// ErrInvalidQuotaFilter; an unknown type is ErrUnsupportedQuotaFilter.
// Entries come sorted by entity.
func DescribeClientQuotas(quotas map[QuotaEntity]map[string]float64, components []QuotaFilterComponent, strict bool) ([]QuotaEntry, error) {
	exact := map[string]QuotaName{}
	typed := map[string]bool{}
	for _, comp := range components {
		t := comp.EntityType
		switch _, dup := exact[t]; {
		case t == "":
			return nil, quotaErr(ErrInvalidQuotaFilter, "Invalid empty entity type.")
		case dup || typed[t]:
			return nil, quotaErr(ErrInvalidQuotaFilter, "Entity type %s cannot appear more than once in the filter.", t)
		case t != QuotaUser && t != QuotaClientID && t != QuotaIP:
			return nil, quotaErr(ErrUnsupportedQuotaFilter, "Unsupported entity type %s", t)
		}
		switch comp.MatchType {
		case QuotaMatchExact:
			if comp.Match == nil {
				return nil, quotaErr(ErrInvalidQuotaFilter, "Request specified MATCH_TYPE_EXACT, but set match string to null.")
			}
			exact[t] = Named(*comp.Match)
		case QuotaMatchDefault:
			if comp.Match != nil {
				return nil, quotaErr(ErrInvalidQuotaFilter, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.")
			}
			exact[t] = DefaultName
		case QuotaMatchSpecified:
			if comp.Match != nil {
				return nil, quotaErr(ErrInvalidQuotaFilter, "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.")
			}
			typed[t] = true
		default:
			return nil, quotaErr(ErrInvalidQuotaFilter, "Unknown match type %d", comp.MatchType)
		}
	}
	has := func(t string) bool { _, ok := exact[t]; return ok || typed[t] }
	if has(QuotaIP) && (has(QuotaUser) || has(QuotaClientID)) {
		return nil, quotaErr(ErrInvalidQuotaFilter, "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.")
	}
	if len(components) == 0 && strict {
		return nil, nil
	}
	var out []QuotaEntry
	for e, values := range quotas {
		names := map[string]QuotaName{}
		for _, p := range []struct {
			t string
			n QuotaName
		}{{QuotaUser, e.User}, {QuotaClientID, e.ClientID}, {QuotaIP, e.IP}} {
			if p.n.Set {
				names[p.t] = p.n
			}
		}
		if strict && len(names) != len(exact)+len(typed) {
			continue
		}
		ok := true
		for t, want := range exact {
			if got, found := names[t]; !found || got != want {
				ok = false
			}
		}
		for t := range typed {
			if _, found := names[t]; !found {
				ok = false
			}
		}
		if ok {
			out = append(out, QuotaEntry{Entity: e, Values: maps.Clone(values)})
		}
	}
	slices.SortFunc(out, func(a, b QuotaEntry) int { return compareEntities(a.Entity, b.Entity) })
	return out, nil
}

func compareEntities(a, b QuotaEntity) int {
	for _, pair := range [][2]QuotaName{{a.User, b.User}, {a.ClientID, b.ClientID}, {a.IP, b.IP}} {
		x, y := pair[0], pair[1]
		rank := func(n QuotaName) int {
			switch {
			case !n.Set:
				return 0
			case n.Default:
				return 1
			}
			return 2
		}
		if c := rank(x) - rank(y); c != 0 {
			return c
		}
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
	}
	return 0
}

// quotaError is a refusal with Kafka's message: Error is the message
// alone (what the answer's ErrorMessage carries), errors.Is finds kind.
type quotaError struct {
	kind error
	msg  string
}

func (e *quotaError) Error() string { return e.msg }
func (e *quotaError) Unwrap() error { return e.kind }

func quotaErr(kind error, format string, args ...any) error {
	return &quotaError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// errNoQuotaRecord is a ClientQuota record that cannot apply.
var errNoQuotaRecord = errors.New("client quota record without entity or key")

// applyQuota applies a ClientQuota record (ClientQuotaControlManager's
// replay: an entity with no key left is gone).
func (im *Image) applyQuota(q *ClientQuota) error {
	if q.Entity.Empty() || q.Key == "" {
		return fmt.Errorf("%w: %w", ErrInvalidRecord, errNoQuotaRecord)
	}
	if q.Remove {
		delete(im.ClientQuotas[q.Entity], q.Key)
		if len(im.ClientQuotas[q.Entity]) == 0 {
			delete(im.ClientQuotas, q.Entity)
		}
		return nil
	}
	if im.ClientQuotas == nil {
		im.ClientQuotas = map[QuotaEntity]map[string]float64{}
	}
	if im.ClientQuotas[q.Entity] == nil {
		im.ClientQuotas[q.Entity] = map[string]float64{}
	}
	im.ClientQuotas[q.Entity][q.Key] = q.Value
	return nil
}

// cloneQuotas copies the client quotas into c.
func (im *Image) cloneQuotas(c *Image) {
	if im.ClientQuotas == nil {
		return
	}
	c.ClientQuotas = make(map[QuotaEntity]map[string]float64, len(im.ClientQuotas))
	for e, values := range im.ClientQuotas {
		c.ClientQuotas[e] = maps.Clone(values)
	}
}
