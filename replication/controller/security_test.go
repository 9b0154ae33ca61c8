package controller

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func literal(typ int8, name, principal string, op, perm int8) ACLBinding {
	return ACLBinding{ResourceType: typ, ResourceName: name, PatternType: ACLPatternLiteral, Principal: principal, Host: "*",
		Operation: op, Permission: perm}
}

const (
	resTopic, resGroup, resCluster int8 = 2, 3, 4
	opRead, opWrite, opAll         int8 = 3, 4, 2
)

func id(b byte) ACLID { return ACLID{15: b} }

func TestCreateACLs(t *testing.T) {
	cl := newCluster(t)
	a := literal(resTopic, "orders", "User:alice", opRead, ACLPermissionAllow)
	b := literal(resGroup, "g", "User:bob", opRead, ACLPermissionDeny)
	recs, errs := cl.c.CreateACLs([]ACLBinding{a, b, a}, []ACLID{id(1), id(2), id(3)})
	if len(recs) != 2 || errs[0] != nil || errs[1] != nil || errs[2] != nil {
		t.Fatalf("records %v, errors %v: want two records (the repeated binding once), no errors", recs, errs)
	}
	cl.commit(recs)
	if !reflect.DeepEqual(cl.im.ACLs, map[ACLID]ACLBinding{id(1): a, id(2): b}) {
		t.Fatalf("image ACLs %v", cl.im.ACLs)
	}
	// An existing binding succeeds without a record (Kafka's rule).
	if recs, errs := cl.c.CreateACLs([]ACLBinding{a}, []ACLID{id(4)}); len(recs) != 0 || errs[0] != nil {
		t.Fatalf("creating an existing acl: %v %v", recs, errs)
	}
	bad := []ACLBinding{
		{ResourceType: ACLResourceAny, ResourceName: "x", PatternType: ACLPatternLiteral, Principal: "User:a", Host: "*", Operation: opRead, Permission: ACLPermissionAllow},
		{ResourceType: resTopic, ResourceName: "x", PatternType: ACLPatternMatch, Principal: "User:a", Host: "*", Operation: opRead, Permission: ACLPermissionAllow},
		{ResourceType: resTopic, ResourceName: "x", PatternType: ACLPatternLiteral, Principal: "User:a", Host: "*", Operation: ACLOperationAny, Permission: ACLPermissionAllow},
		{ResourceType: resTopic, ResourceName: "x", PatternType: ACLPatternLiteral, Principal: "User:a", Host: "*", Operation: opRead, Permission: ACLPermissionAny},
		{ResourceType: resTopic, ResourceName: "", PatternType: ACLPatternLiteral, Principal: "User:a", Host: "*", Operation: opRead, Permission: ACLPermissionAllow},
	}
	recs, errs = cl.c.CreateACLs(bad, make([]ACLID, len(bad)))
	if len(recs) != 0 {
		t.Fatalf("invalid bindings made records %v", recs)
	}
	for i, err := range errs {
		if !errors.Is(err, ErrInvalidACL) {
			t.Errorf("binding %d: %v, want ErrInvalidACL", i, err)
		}
	}
	// An id in use is refused.
	c := literal(resTopic, "other", "User:carol", opWrite, ACLPermissionAllow)
	if _, errs := cl.c.CreateACLs([]ACLBinding{c}, []ACLID{id(1)}); !errors.Is(errs[0], ErrACLIDInUse) {
		t.Fatalf("id in use: %v", errs[0])
	}
}

func TestDeleteACLs(t *testing.T) {
	cl := newCluster(t)
	prefixed := ACLBinding{ResourceType: resTopic, ResourceName: "ord", PatternType: ACLPatternPrefixed, Principal: "User:alice", Host: "*",
		Operation: opRead, Permission: ACLPermissionAllow}
	acls := []ACLBinding{
		literal(resTopic, "orders", "User:alice", opRead, ACLPermissionAllow),
		literal(resTopic, "*", "User:bob", opWrite, ACLPermissionAllow),
		prefixed,
		literal(resGroup, "orders", "User:alice", opRead, ACLPermissionAllow),
		literal(resCluster, "kafka-cluster", "User:admin", opAll, ACLPermissionAllow),
	}
	recs, _ := cl.c.CreateACLs(acls, []ACLID{id(1), id(2), id(3), id(4), id(5)})
	cl.commit(recs)
	name, alice := "orders", "User:alice"
	filters := []ACLFilter{
		// MATCH on a topic name: its literal ACL, the wildcard, the prefix.
		{ResourceType: resTopic, ResourceName: &name, PatternType: ACLPatternMatch, Operation: ACLOperationAny, Permission: ACLPermissionAny},
		// Every ACL of alice (matches two of the above again).
		{ResourceType: ACLResourceAny, PatternType: ACLPatternAny, Principal: &alice, Operation: ACLOperationAny, Permission: ACLPermissionAny},
		// Unknown operation.
		{ResourceType: ACLResourceAny, PatternType: ACLPatternAny, Operation: ACLOperationUnknown, Permission: ACLPermissionAny},
		// LITERAL "orders" only: no wildcard, no prefix.
		{ResourceType: resTopic, ResourceName: &name, PatternType: ACLPatternLiteral, Operation: ACLOperationAny, Permission: ACLPermissionAny},
	}
	recs, matched, errs := cl.c.DeleteACLs(filters)
	ids := func(as []ACL) []ACLID {
		var out []ACLID
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	if got := ids(matched[0]); !reflect.DeepEqual(got, []ACLID{id(1), id(2), id(3)}) {
		t.Errorf("MATCH orders: %v", got)
	}
	if got := ids(matched[1]); !reflect.DeepEqual(got, []ACLID{id(1), id(3), id(4)}) {
		t.Errorf("principal alice: %v", got)
	}
	if !errors.Is(errs[2], ErrInvalidACL) || matched[2] != nil {
		t.Errorf("unknown operation: %v %v", errs[2], matched[2])
	}
	if got := ids(matched[3]); !reflect.DeepEqual(got, []ACLID{id(1)}) {
		t.Errorf("LITERAL orders: %v", got)
	}
	if len(recs) != 4 { // ids 1-4, each once
		t.Fatalf("%d records, want 4: %v", len(recs), recs)
	}
	cl.commit(recs)
	if !reflect.DeepEqual(cl.im.ACLs, map[ACLID]ACLBinding{id(5): acls[4]}) {
		t.Fatalf("left %v", cl.im.ACLs)
	}
	removed := id(1)
	if err := cl.im.Apply(Record{RemoveACL: &removed}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("removing a removed acl: %v", err)
	}
	if err := cl.im.Apply(Record{CreateACL: &ACL{ID: id(5), Binding: acls[0]}}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("adding an id twice: %v", err)
	}
}

func saltedPassword(t *testing.T, password string, salt []byte, iterations int) []byte {
	t.Helper()
	sp, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// The stored keys prove RFC 7677's SCRAM-SHA-256 example exchange: the
// client proof checks against StoredKey, and ServerKey signs the server's
// final message as the RFC has it.
func TestScramFromSaltedPasswordRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	cred := ScramFromSaltedPassword(ScramUpsertion{User: "user", Mechanism: ScramSHA256, Iterations: 4096, Salt: salt,
		SaltedPassword: saltedPassword(t, "pencil", salt, 4096)})
	auth := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	mac := func(key []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(auth))
		return m.Sum(nil)
	}
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig := mac(cred.StoredKey)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	if sum := sha256.Sum256(clientKey); !bytes.Equal(sum[:], cred.StoredKey) {
		t.Fatal("the RFC's client proof does not check against StoredKey")
	}
	if got := base64.StdEncoding.EncodeToString(mac(cred.ServerKey)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Fatalf("server signature %s", got)
	}
	if !bytes.Equal(cred.Salt, salt) || cred.Iterations != 4096 {
		t.Fatalf("credential %+v", cred)
	}
}

func upsert(user string, mechanism int8, iterations int32) ScramUpsertion {
	return ScramUpsertion{User: user, Mechanism: mechanism, Iterations: iterations, Salt: []byte("salt-" + user),
		SaltedPassword: []byte("salted-password-of-" + user)}
}

func TestAlterScramCredentials(t *testing.T) {
	cl := newCluster(t)
	recs, res := cl.c.AlterScramCredentials(nil, []ScramUpsertion{upsert("alice", ScramSHA256, 8192), upsert("bob", ScramSHA512, 4096)})
	if len(recs) != 2 || !reflect.DeepEqual(res, []ScramResult{{User: "alice"}, {User: "bob"}}) {
		t.Fatalf("records %v, results %v", recs, res)
	}
	cl.commit(recs)
	if c := cl.im.Scram["alice"][ScramSHA256]; c.Iterations != 8192 || len(c.StoredKey) != sha256.Size {
		t.Fatalf("alice's credential %+v", c)
	}
	type want struct {
		user string
		err  error
	}
	cases := []struct {
		name       string
		deletions  []ScramDeletion
		upsertions []ScramUpsertion
		want       []want // in result order
		records    int
	}{
		{"delete one, replace one, add one",
			[]ScramDeletion{{"bob", ScramSHA512}}, []ScramUpsertion{upsert("alice", ScramSHA256, 16384), upsert("carol", ScramSHA512, 4096)},
			[]want{{"bob", nil}, {"alice", nil}, {"carol", nil}}, 3},
		{"a user twice: neither applied",
			[]ScramDeletion{{"alice", ScramSHA256}}, []ScramUpsertion{upsert("alice", ScramSHA512, 4096), upsert("dave", ScramSHA256, 4096)},
			[]want{{"dave", nil}, {"alice", ErrDuplicateUser}}, 1},
		{"twice among deletions, even for two mechanisms",
			[]ScramDeletion{{"alice", ScramSHA256}, {"alice", ScramSHA512}}, nil,
			[]want{{"alice", ErrDuplicateUser}}, 0},
		{"the first error stays",
			[]ScramDeletion{{"alice", ScramSHA512}}, []ScramUpsertion{upsert("alice", ScramSHA256, 4096)},
			[]want{{"alice", ErrScramCredentialNotFound}}, 0},
		{"deleting a missing credential", []ScramDeletion{{"nobody", ScramSHA256}}, nil,
			[]want{{"nobody", ErrScramCredentialNotFound}}, 0},
		{"unknown mechanisms", []ScramDeletion{{"alice", ScramUnknown}}, []ScramUpsertion{upsert("bob", 3, 4096)},
			[]want{{"alice", ErrUnsupportedScramMechanism}, {"bob", ErrUnsupportedScramMechanism}}, 0},
		{"iterations out of bounds", nil, []ScramUpsertion{upsert("x", ScramSHA256, 4095), upsert("y", ScramSHA256, 16385)},
			[]want{{"x", ErrUnacceptableCredential}, {"y", ErrUnacceptableCredential}}, 0},
		{"empty user, salt, salted password", nil,
			[]ScramUpsertion{upsert("", ScramSHA256, 4096), {User: "s", Mechanism: ScramSHA256, Iterations: 4096, SaltedPassword: []byte("p")},
				{User: "p", Mechanism: ScramSHA256, Iterations: 4096, Salt: []byte("s")}},
			[]want{{"", ErrUnacceptableCredential}, {"s", ErrUnacceptableCredential}, {"p", ErrUnacceptableCredential}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, res := cl.c.AlterScramCredentials(tc.deletions, tc.upsertions)
			if len(recs) != tc.records {
				t.Errorf("%d records, want %d: %v", len(recs), tc.records, recs)
			}
			if len(res) != len(tc.want) {
				t.Fatalf("results %v, want %v", res, tc.want)
			}
			for i, w := range tc.want {
				if res[i].User != w.user || (w.err == nil) != (res[i].Err == nil) || (w.err != nil && !errors.Is(res[i].Err, w.err)) {
					t.Errorf("result %d: %+v, want %v %v", i, res[i], w.user, w.err)
				}
			}
		})
	}
	// Decisions change nothing until committed: commit the first case's
	// and check the image.
	recs, _ = cl.c.AlterScramCredentials(cases[0].deletions, cases[0].upsertions)
	cl.commit(recs)
	if _, ok := cl.im.Scram["bob"]; ok {
		t.Fatal("bob's only credential was deleted, but bob is still in the image")
	}
	if cl.im.Scram["alice"][ScramSHA256].Iterations != 16384 || len(cl.im.Scram["carol"]) != 1 {
		t.Fatalf("image %v", cl.im.Scram)
	}
	if err := cl.im.Apply(Record{RemoveUserScramCredential: &ScramKey{"bob", ScramSHA512}}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("removing a missing credential: %v", err)
	}
}

// The security metadata is part of the image's snapshot (JSON) and of its
// clones; a snapshot written before it existed loads without it.
func TestSecuritySnapshot(t *testing.T) {
	cl := newCluster(t, "")
	recs, _ := cl.c.CreateACLs([]ACLBinding{literal(resTopic, "t", "User:a", opRead, ACLPermissionAllow)}, []ACLID{{1, 2, 3}})
	cl.commit(recs)
	recs, _ = cl.c.AlterScramCredentials(nil, []ScramUpsertion{upsert("alice", ScramSHA512, 4096)})
	cl.commit(recs)
	data, err := json.Marshal(cl.im)
	if err != nil {
		t.Fatal(err)
	}
	back := NewImage()
	if err := json.Unmarshal(data, back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.ACLs, cl.im.ACLs) || !reflect.DeepEqual(back.Scram, cl.im.Scram) {
		t.Fatalf("snapshot round trip:\n%v %v\n%v %v", back.ACLs, back.Scram, cl.im.ACLs, cl.im.Scram)
	}
	if !bytes.Contains(data, []byte(`"01020300000000000000000000000000"`)) {
		t.Fatalf("acl ids are not hex keys: %s", data)
	}
	// Clones are independent.
	c := cl.im.Clone()
	recs, _ = cl.c.AlterScramCredentials([]ScramDeletion{{"alice", ScramSHA512}}, nil)
	cl.commit(recs)
	if len(c.Scram["alice"]) != 1 || len(cl.im.Scram) != 0 {
		t.Fatalf("clone shares SCRAM credentials: %v / %v", c.Scram, cl.im.Scram)
	}
	// A snapshot of an older version, and records applied to it.
	old := NewImage()
	if err := json.Unmarshal([]byte(`{"Brokers":{},"Topics":{},"NextProducerID":1000}`), old); err != nil {
		t.Fatal(err)
	}
	if len(old.ACLs) != 0 || len(old.Scram) != 0 {
		t.Fatalf("old snapshot: %+v", old)
	}
	var none Image // nil maps: records still apply
	if err := none.Apply(recs[0]); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("removal from an empty image: %v", err)
	}
	for _, r := range []Record{{CreateACL: &ACL{ID: id(9), Binding: literal(resTopic, "t", "User:a", opRead, ACLPermissionAllow)}},
		{UserScramCredential: &ScramCredential{User: "u", Mechanism: ScramSHA256, Iterations: 4096}}} {
		if err := none.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	// A log entry written before these records existed decodes unchanged.
	var r Record
	if err := json.Unmarshal([]byte(`{"DeleteTopic":"x"}`), &r); err != nil || r.DeleteTopic == nil || r.CreateACL != nil {
		t.Fatalf("old record: %+v %v", r, err)
	}
}
