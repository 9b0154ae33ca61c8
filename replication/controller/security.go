package controller

// The cluster's security metadata: ACLs (Kafka's AccessControlEntryRecord
// and RemoveAccessControlEntryRecord, decided as AclControlManager does)
// and SCRAM credentials (UserScramCredentialRecord and
// RemoveUserScramCredentialRecord, decided as ScramControlManager does).
// Codes are Kafka's (and kmsg's) numbers; this package holds no Kafka
// error codes (errors.go) and knows no authorizer: brokers feed theirs
// from the image (package broker).

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ACL resource types, pattern types, operations and permissions: the codes
// of Kafka's ResourceType, PatternType, AclOperation and AclPermissionType.
const (
	ACLResourceUnknown int8 = 0
	ACLResourceAny     int8 = 1
	ACLResourceUser    int8 = 7 // the last one (TOPIC 2 … DELEGATION_TOKEN 6, USER 7)

	ACLPatternUnknown  int8 = 0
	ACLPatternAny      int8 = 1
	ACLPatternMatch    int8 = 2
	ACLPatternLiteral  int8 = 3
	ACLPatternPrefixed int8 = 4

	ACLOperationUnknown        int8 = 0
	ACLOperationAny            int8 = 1
	ACLOperationAll            int8 = 2
	ACLOperationDescribeTokens int8 = 14 // the last one

	ACLPermissionUnknown int8 = 0
	ACLPermissionAny     int8 = 1
	ACLPermissionDeny    int8 = 2
	ACLPermissionAllow   int8 = 3
)

// aclWildcard is the literal resource name that matches every name.
const aclWildcard = "*"

// ACLID identifies an ACL (the Uuid of Kafka's AccessControlEntryRecord).
// It reads and writes as 32 hex digits (so the image's ACLs are a JSON
// object keyed by id).
type ACLID [16]byte

func (id ACLID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText implements encoding.TextMarshaler.
func (id ACLID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ACLID) UnmarshalText(b []byte) error {
	if len(b) != 2*len(id) {
		return fmt.Errorf("controller: acl id %q is not 32 hex digits", b)
	}
	_, err := hex.Decode(id[:], b)
	return err
}

// ACLBinding is one ACL, the fields of Kafka's AccessControlEntryRecord:
// a resource pattern (type, name, LITERAL or PREFIXED) and an entry
// (principal "Type:name", host, operation, ALLOW or DENY).
type ACLBinding struct {
	ResourceType int8
	ResourceName string
	PatternType  int8
	Principal    string
	Host         string
	Operation    int8
	Permission   int8
}

// ACL is an ACL with its id (the CreateACL record).
type ACL struct {
	ID      ACLID
	Binding ACLBinding
}

// validate refuses what Kafka's controller refuses (validateNewAcl): the
// broker checks more before it asks (Kafka's AclApis and authorizer).
func (b ACLBinding) validate() error {
	switch {
	case b.ResourceType <= ACLResourceAny || b.ResourceType > ACLResourceUser:
		return fmt.Errorf("%w: invalid resource type %d", ErrInvalidACL, b.ResourceType)
	case b.PatternType != ACLPatternLiteral && b.PatternType != ACLPatternPrefixed:
		return fmt.Errorf("%w: invalid pattern type %d", ErrInvalidACL, b.PatternType)
	case b.Operation <= ACLOperationAny || b.Operation > ACLOperationDescribeTokens:
		return fmt.Errorf("%w: invalid operation %d", ErrInvalidACL, b.Operation)
	case b.Permission != ACLPermissionDeny && b.Permission != ACLPermissionAllow:
		return fmt.Errorf("%w: invalid permission type %d", ErrInvalidACL, b.Permission)
	case b.ResourceName == "":
		return fmt.Errorf("%w: resource name should not be empty", ErrInvalidACL)
	}
	return nil
}

// ACLFilter selects ACLs as Kafka's AclBindingFilter does for DeleteAcls:
// nil strings and the ANY codes match everything; the MATCH pattern type
// with a name selects every ACL that applies to that name (the literal
// name, the literal "*", and each PREFIXED pattern the name starts with).
type ACLFilter struct {
	ResourceType int8
	ResourceName *string
	PatternType  int8
	Principal    *string
	Host         *string
	Operation    int8
	Permission   int8
}

// validate refuses a filter with an UNKNOWN (or out of range) code, as
// Kafka's controller does (validateFilter).
func (f ACLFilter) validate() error {
	known := func(code, last int8) bool { return code >= 1 && code <= last }
	switch {
	case !known(f.ResourceType, ACLResourceUser), !known(f.PatternType, ACLPatternPrefixed):
		return fmt.Errorf("%w: unknown pattern filter", ErrInvalidACL)
	case !known(f.Operation, ACLOperationDescribeTokens), !known(f.Permission, ACLPermissionAllow):
		return fmt.Errorf("%w: unknown entry filter", ErrInvalidACL)
	}
	return nil
}

// Matches reports whether f selects b (Kafka's ResourcePatternFilter and
// AccessControlEntryFilter matches).
func (f ACLFilter) Matches(b ACLBinding) bool {
	switch {
	case f.ResourceType != ACLResourceAny && f.ResourceType != b.ResourceType:
		return false
	case f.PatternType != ACLPatternAny && f.PatternType != ACLPatternMatch && f.PatternType != b.PatternType:
		return false
	case f.Principal != nil && *f.Principal != b.Principal:
		return false
	case f.Host != nil && *f.Host != b.Host:
		return false
	case f.Operation != ACLOperationAny && f.Operation != b.Operation:
		return false
	case f.Permission != ACLPermissionAny && f.Permission != b.Permission:
		return false
	case f.ResourceName == nil:
		return true
	}
	name := *f.ResourceName
	if f.PatternType != ACLPatternMatch {
		return name == b.ResourceName
	}
	switch b.PatternType {
	case ACLPatternLiteral:
		return name == b.ResourceName || b.ResourceName == aclWildcard
	case ACLPatternPrefixed:
		return strings.HasPrefix(name, b.ResourceName)
	}
	return false
}

// findACL is the id of an ACL equal to b.
func (im *Image) findACL(b ACLBinding) (ACLID, bool) {
	for id, have := range im.ACLs {
		if have == b {
			return id, true
		}
	}
	return ACLID{}, false
}

// CreateACLs decides Kafka's CreateAcls: each valid binding not equal to
// an existing ACL (or to an earlier one of the request) becomes an ACL with
// the id at its index in ids, chosen by the caller (random, as Kafka's
// controller chooses them; an id in use is refused). An existing binding
// is a success without a record, as in Kafka. errs[i] is binding i's
// outcome (ErrInvalidACL, or nil).
func (c *Controller) CreateACLs(bindings []ACLBinding, ids []ACLID) ([]Record, []error) {
	errs := make([]error, len(bindings))
	var recs []Record
	created := map[ACLBinding]bool{}
	taken := map[ACLID]bool{}
	for i, b := range bindings {
		if err := b.validate(); err != nil {
			errs[i] = err
			continue
		}
		if _, ok := c.image.findACL(b); ok || created[b] {
			continue
		}
		if i >= len(ids) {
			errs[i] = fmt.Errorf("%w: no id for acl %d", ErrACLIDInUse, i)
			continue
		}
		id := ids[i]
		if _, ok := c.image.ACLs[id]; ok || taken[id] {
			errs[i] = fmt.Errorf("%w: %s", ErrACLIDInUse, id)
			continue
		}
		created[b], taken[id] = true, true
		recs = append(recs, Record{CreateACL: &ACL{ID: id, Binding: b}})
	}
	return recs, errs
}

// DeleteACLs decides Kafka's DeleteAcls: every ACL a valid filter matches
// is removed (once, whichever filters match it). matched[i] is what filter
// i matched, sorted by id; errs[i] its error (ErrInvalidACL, or nil).
func (c *Controller) DeleteACLs(filters []ACLFilter) ([]Record, [][]ACL, []error) {
	matched := make([][]ACL, len(filters))
	errs := make([]error, len(filters))
	ids := slices.SortedFunc(maps.Keys(c.image.ACLs), func(a, b ACLID) int { return bytes.Compare(a[:], b[:]) })
	removed := map[ACLID]bool{}
	var recs []Record
	for i, f := range filters {
		if err := f.validate(); err != nil {
			errs[i] = err
			continue
		}
		for _, id := range ids {
			b := c.image.ACLs[id]
			if !f.Matches(b) {
				continue
			}
			matched[i] = append(matched[i], ACL{ID: id, Binding: b})
			if !removed[id] {
				removed[id] = true
				remove := id
				recs = append(recs, Record{RemoveACL: &remove})
			}
		}
	}
	return recs, matched, errs
}

// SCRAM mechanisms: Kafka's ScramMechanism types.
const (
	ScramUnknown int8 = 0
	ScramSHA256  int8 = 1
	ScramSHA512  int8 = 2
)

// ScramMechanismName is a SCRAM mechanism's SASL name ("SCRAM-SHA-256";
// "" for none).
func ScramMechanismName(m int8) string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	}
	return ""
}

// ScramMechanismType is the type of a SCRAM mechanism's SASL name
// (ScramUnknown for another name).
func ScramMechanismType(name string) int8 {
	switch name {
	case ScramMechanismName(ScramSHA256):
		return ScramSHA256
	case ScramMechanismName(ScramSHA512):
		return ScramSHA512
	}
	return ScramUnknown
}

// The iteration bounds of Kafka's ScramMechanism: an upsertion outside
// them is refused.
const (
	ScramMinIterations = 4096
	ScramMaxIterations = 16384
)

// ScramKey names a SCRAM credential (the RemoveUserScramCredential record).
type ScramKey struct {
	User      string
	Mechanism int8
}

// ScramCredential is a user's SCRAM credential for one mechanism, what
// Kafka's UserScramCredentialRecord holds (RFC 5802: the salt, the
// iteration count, StoredKey and ServerKey): neither the password nor the
// salted password is kept.
type ScramCredential struct {
	User       string
	Mechanism  int8
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

func (c ScramCredential) clone() ScramCredential {
	c.Salt, c.StoredKey, c.ServerKey = bytes.Clone(c.Salt), bytes.Clone(c.StoredKey), bytes.Clone(c.ServerKey)
	return c
}

// ScramDeletion and ScramUpsertion are AlterUserScramCredentials' items:
// the upsertion carries the salt and salted password the client computed
// (Hi(password, salt, iterations)).
type ScramDeletion struct {
	User      string
	Mechanism int8
}

type ScramUpsertion struct {
	User           string
	Mechanism      int8
	Iterations     int32
	Salt           []byte
	SaltedPassword []byte
}

// ScramResult is one user's outcome of AlterScramCredentials.
type ScramResult struct {
	User string
	Err  error
}

// AlterScramCredentials decides Kafka's AlterUserScramCredentials, with
// its rules (ScramControlManager): a user may be named once in the whole
// request (ErrDuplicateUser for every mention after the first, and the
// first is not applied either); an empty user is
// ErrUnacceptableCredential, an unknown mechanism
// ErrUnsupportedScramMechanism; a deletion of a credential that does not
// exist is ErrScramCredentialNotFound; an upsertion needs iterations in
// [ScramMinIterations, ScramMaxIterations], a salt and a salted password
// (ErrUnacceptableCredential), from which StoredKey and ServerKey are
// derived. There is one result per user named: the deletions, then the
// upsertions, then the errors, each in the order of first mention.
func (c *Controller) AlterScramCredentials(deletions []ScramDeletion, upsertions []ScramUpsertion) ([]Record, []ScramResult) {
	type item struct {
		deletion  *ScramDeletion
		upsertion *ScramUpsertion
	}
	var order []string
	items := map[string]item{}
	failed := map[string]error{}
	fail := func(user string, err error) {
		if _, ok := failed[user]; !ok {
			failed[user] = err
		}
	}
	mention := func(user string, it item) {
		if _, ok := failed[user]; ok {
			return
		}
		if _, ok := items[user]; ok {
			delete(items, user)
			fail(user, fmt.Errorf("%w: a user credential cannot be altered twice in the same request", ErrDuplicateUser))
			return
		}
		order = append(order, user)
		var err error
		if it.deletion != nil {
			err = c.checkDeletion(*it.deletion)
		} else {
			err = checkUpsertion(*it.upsertion)
		}
		if err != nil {
			fail(user, err)
			return
		}
		items[user] = it
	}
	for i := range deletions {
		mention(deletions[i].User, item{deletion: &deletions[i]})
	}
	for i := range upsertions {
		mention(upsertions[i].User, item{upsertion: &upsertions[i]})
	}
	var recs []Record
	var ok, bad []ScramResult
	for _, pass := range []bool{true, false} { // deletions, then upsertions
		for _, user := range order {
			it, found := items[user]
			if !found || (it.deletion != nil) != pass {
				continue
			}
			if d := it.deletion; d != nil {
				recs = append(recs, Record{RemoveUserScramCredential: &ScramKey{User: d.User, Mechanism: d.Mechanism}})
			} else {
				cred := ScramFromSaltedPassword(*it.upsertion)
				recs = append(recs, Record{UserScramCredential: &cred})
			}
			ok = append(ok, ScramResult{User: user})
		}
	}
	for _, user := range order {
		if err, found := failed[user]; found {
			bad = append(bad, ScramResult{User: user, Err: err})
		}
	}
	return recs, append(ok, bad...)
}

func checkScramUser(user string, mechanism int8) error {
	switch {
	case user == "":
		return fmt.Errorf("%w: username must not be empty", ErrUnacceptableCredential)
	case ScramMechanismName(mechanism) == "":
		return fmt.Errorf("%w: unknown SCRAM mechanism %d", ErrUnsupportedScramMechanism, mechanism)
	}
	return nil
}

func (c *Controller) checkDeletion(d ScramDeletion) error {
	if err := checkScramUser(d.User, d.Mechanism); err != nil {
		return err
	}
	if _, ok := c.image.Scram[d.User][d.Mechanism]; !ok {
		return fmt.Errorf("%w: attempt to delete a user credential that does not exist", ErrScramCredentialNotFound)
	}
	return nil
}

func checkUpsertion(u ScramUpsertion) error {
	if err := checkScramUser(u.User, u.Mechanism); err != nil {
		return err
	}
	switch {
	case u.Iterations < ScramMinIterations:
		return fmt.Errorf("%w: too few iterations", ErrUnacceptableCredential)
	case u.Iterations > ScramMaxIterations:
		return fmt.Errorf("%w: too many iterations", ErrUnacceptableCredential)
	case len(u.Salt) == 0:
		return fmt.Errorf("%w: empty salt", ErrUnacceptableCredential)
	case len(u.SaltedPassword) == 0:
		return fmt.Errorf("%w: empty salted password", ErrUnacceptableCredential)
	}
	return nil
}

// ScramFromSaltedPassword is the credential an upsertion stores (Kafka's
// ScramFormatter): StoredKey = H(HMAC(SaltedPassword, "Client Key")),
// ServerKey = HMAC(SaltedPassword, "Server Key"), with the mechanism's
// hash. The mechanism must be known.
func ScramFromSaltedPassword(u ScramUpsertion) ScramCredential {
	h := sha256.New
	if u.Mechanism == ScramSHA512 {
		h = sha512.New
	}
	mac := func(key []byte, data string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(data))
		return m.Sum(nil)
	}
	stored := h()
	stored.Write(mac(u.SaltedPassword, "Client Key"))
	return ScramCredential{User: u.User, Mechanism: u.Mechanism, Salt: bytes.Clone(u.Salt), Iterations: u.Iterations,
		StoredKey: stored.Sum(nil), ServerKey: mac(u.SaltedPassword, "Server Key")}
}

// applySecurity applies the security records to the image; ok is false
// for a record of another kind.
func (im *Image) applySecurity(r Record) (ok bool, err error) {
	switch {
	case r.CreateACL != nil:
		if im.ACLs == nil {
			im.ACLs = map[ACLID]ACLBinding{}
		}
		if _, ok := im.ACLs[r.CreateACL.ID]; ok {
			return true, fmt.Errorf("%w: acl %s exists", ErrInvalidRecord, r.CreateACL.ID)
		}
		im.ACLs[r.CreateACL.ID] = r.CreateACL.Binding
	case r.RemoveACL != nil:
		if _, ok := im.ACLs[*r.RemoveACL]; !ok {
			return true, fmt.Errorf("%w: no acl %s", ErrInvalidRecord, *r.RemoveACL)
		}
		delete(im.ACLs, *r.RemoveACL)
	case r.UserScramCredential != nil:
		cred := r.UserScramCredential.clone()
		if im.Scram == nil {
			im.Scram = map[string]map[int8]ScramCredential{}
		}
		if im.Scram[cred.User] == nil {
			im.Scram[cred.User] = map[int8]ScramCredential{}
		}
		im.Scram[cred.User][cred.Mechanism] = cred
	case r.RemoveUserScramCredential != nil:
		k := *r.RemoveUserScramCredential
		if _, ok := im.Scram[k.User][k.Mechanism]; !ok {
			return true, fmt.Errorf("%w: no %s credential of user %q", ErrInvalidRecord, ScramMechanismName(k.Mechanism), k.User)
		}
		delete(im.Scram[k.User], k.Mechanism)
		if len(im.Scram[k.User]) == 0 {
			delete(im.Scram, k.User)
		}
	default:
		return false, nil
	}
	return true, nil
}

// cloneSecurity copies the security metadata into c.
func (im *Image) cloneSecurity(c *Image) {
	c.ACLs = maps.Clone(im.ACLs) // bindings are values
	if im.Scram != nil {
		c.Scram = make(map[string]map[int8]ScramCredential, len(im.Scram))
		for user, creds := range im.Scram {
			c.Scram[user] = maps.Clone(creds) // records are cloned on apply and never changed
		}
	}
}
