package handler

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	kafkasasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/rillmq/rill/netserver/sasl"
	"github.com/rillmq/rill/replication/controller"
)

// upsertion is what a client sends for a password: a salt and
// Hi(password, salt, iterations), as kafka-configs.sh and kadm compute it.
func upsertion(t *testing.T, user, mechanism, password string, iterations int32) kmsg.AlterUserSCRAMCredentialsRequestUpsertion {
	t.Helper()
	salt := []byte("salt-of-" + user)
	sp, err := sasl.ScramSaltedPassword(mechanism, password, salt, int(iterations))
	if err != nil {
		t.Fatal(err)
	}
	u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	u.Name, u.Mechanism, u.Iterations, u.Salt, u.SaltedPassword = user, controller.ScramMechanismType(mechanism), iterations, salt, sp
	return u
}

func alterCodes(resp *kmsg.AlterUserSCRAMCredentialsResponse) map[string]int16 {
	out := map[string]int16{}
	for _, r := range resp.Results {
		out[r.User] = r.ErrorCode
	}
	return out
}

// scramLogin runs a SCRAM exchange of franz-go's client against the
// broker's ScramStore, as a SASL listener does.
func scramLogin(t *testing.T, b *Broker, mechanism, user, password string) error {
	t.Helper()
	auth, err := sasl.NewAuthenticator(sasl.Config{Mechanisms: []string{mechanism}, Scram: b.ScramStore()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := auth.Start(mechanism)
	if err != nil {
		t.Fatal(err)
	}
	var mech kafkasasl.Mechanism = scram.Auth{User: user, Pass: password}.AsSha256Mechanism()
	if mechanism == sasl.MechanismScramSHA512 {
		mech = scram.Auth{User: user, Pass: password}.AsSha512Mechanism()
	}
	cs, msg, err := mech.Authenticate(context.Background(), "broker:9092")
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		resp, done, err := s.Step(msg, time.Now())
		if err != nil {
			return err
		}
		clientDone, next, err := cs.Challenge(resp)
		if err != nil {
			return err
		}
		if done && clientDone {
			return nil
		}
		msg = next
	}
	return errors.New("the exchange did not end")
}

// AlterUserScramCredentials and DescribeUserScramCredentials through the
// metadata log (no authorizer: any client may), with Kafka's per-user
// errors; a credential set is what the SASL listeners authenticate
// against, and its keys are the sasl package's.
func TestScramAPIs(t *testing.T) {
	b, closeBroker, err := NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	alter := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	few := upsertion(t, "few", sasl.MechanismScramSHA256, "p", 4096)
	few.Iterations = 4095
	unknown := upsertion(t, "unknown", sasl.MechanismScramSHA256, "p", 4096)
	unknown.Mechanism = 0
	missing := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
	missing.Name, missing.Mechanism = "nobody", controller.ScramSHA512
	alter.Upsertions = []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{
		upsertion(t, "alice", sasl.MechanismScramSHA256, "alice-secret", 8192),
		upsertion(t, "alice2", sasl.MechanismScramSHA512, "alice-secret", 4096),
		few, unknown,
		upsertion(t, "twice", sasl.MechanismScramSHA256, "a", 4096), upsertion(t, "twice", sasl.MechanismScramSHA512, "b", 4096),
	}
	alter.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestDeletion{missing}
	got := alterCodes(askAs[*kmsg.AlterUserSCRAMCredentialsResponse](t, b, aclAlice, alter, 0))
	want := map[string]int16{"alice": 0, "alice2": 0, "few": kerr.UnacceptableCredential.Code, "unknown": kerr.UnsupportedSaslMechanism.Code,
		"twice": kerr.DuplicateResource.Code, "nobody": kerr.ResourceNotFound.Code}
	if len(got) != len(want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	for u, c := range want {
		if got[u] != c {
			t.Errorf("%s: code %d, want %d", u, got[u], c)
		}
	}

	all := askAs[*kmsg.DescribeUserSCRAMCredentialsResponse](t, b, aclAlice, kmsg.NewPtrDescribeUserSCRAMCredentialsRequest(), 0)
	if len(all.Results) != 2 || all.Results[0].User != "alice" || all.Results[1].User != "alice2" {
		t.Fatalf("describe all: %+v", all.Results)
	}
	if info := all.Results[0].CredentialInfos; len(info) != 1 || info[0].Mechanism != controller.ScramSHA256 || info[0].Iterations != 8192 {
		t.Fatalf("alice: %+v", info)
	}
	named := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	for _, u := range []string{"alice2", "nobody", "alice2"} {
		named.Users = append(named.Users, kmsg.DescribeUserSCRAMCredentialsRequestUser{Name: u})
	}
	res := askAs[*kmsg.DescribeUserSCRAMCredentialsResponse](t, b, aclAlice, named, 0).Results
	if len(res) != 2 || res[0].User != "alice2" || res[0].ErrorCode != kerr.DuplicateResource.Code ||
		res[1].User != "nobody" || res[1].ErrorCode != kerr.ResourceNotFound.Code {
		t.Fatalf("describe named: %+v", res)
	}

	if err := scramLogin(t, b, sasl.MechanismScramSHA256, "alice", "alice-secret"); err != nil {
		t.Fatalf("alice's SCRAM-SHA-256 login: %v", err)
	}
	if err := scramLogin(t, b, sasl.MechanismScramSHA512, "alice2", "alice-secret"); err != nil {
		t.Fatalf("alice2's SCRAM-SHA-512 login: %v", err)
	}
	if err := scramLogin(t, b, sasl.MechanismScramSHA256, "alice", "wrong"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	if err := scramLogin(t, b, sasl.MechanismScramSHA512, "alice", "alice-secret"); err == nil {
		t.Fatal("alice logged in with a mechanism she has no credential for")
	}
	// The controller derives the keys as package sasl does.
	for _, u := range alter.Upsertions[:2] {
		mech := controller.ScramMechanismName(u.Mechanism)
		want, err := sasl.ScramCredentialFromSaltedPassword(mech, u.Salt, u.SaltedPassword, int(u.Iterations))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := b.ScramStore().LookupScram(mech, u.Name)
		if !ok || !bytes.Equal(got.StoredKey, want.StoredKey) || !bytes.Equal(got.ServerKey, want.ServerKey) ||
			!bytes.Equal(got.Salt, want.Salt) || got.Iterations != want.Iterations {
			t.Fatalf("%s: stored %+v, sasl derives %+v", u.Name, got, want)
		}
	}

	// Deleting it: gone for describe and for logins.
	del := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
	d.Name, d.Mechanism = "alice", controller.ScramSHA256
	del.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestDeletion{d}
	if got := alterCodes(askAs[*kmsg.AlterUserSCRAMCredentialsResponse](t, b, aclAlice, del, 0)); got["alice"] != 0 {
		t.Fatalf("delete: %v", got)
	}
	if err := scramLogin(t, b, sasl.MechanismScramSHA256, "alice", "alice-secret"); err == nil {
		t.Fatal("a deleted credential logged in")
	}
}

// With an authorizer, the SCRAM APIs need DESCRIBE (describe) and ALTER
// (alter) on the cluster: CLUSTER_AUTHORIZATION_FAILED otherwise, for the
// request and every user named (alter: in name order, once each).
func TestScramAPIsAuthorization(t *testing.T) {
	b, _ := aclBroker(t)
	alter := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	alter.Upsertions = []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{
		upsertion(t, "zed", sasl.MechanismScramSHA256, "p", 4096), upsertion(t, "amy", sasl.MechanismScramSHA256, "p", 4096)}
	d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
	d.Name, d.Mechanism = "zed", controller.ScramSHA512
	alter.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestDeletion{d}
	denied := kerr.ClusterAuthorizationFailed.Code
	resp := askAs[*kmsg.AlterUserSCRAMCredentialsResponse](t, b, aclBob, alter, 0)
	if len(resp.Results) != 2 || resp.Results[0].User != "amy" || resp.Results[1].User != "zed" ||
		resp.Results[0].ErrorCode != denied || resp.Results[1].ErrorCode != denied {
		t.Fatalf("bob's alter: %+v", resp.Results)
	}
	describe := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	describe.Users = []kmsg.DescribeUserSCRAMCredentialsRequestUser{{Name: "amy"}}
	if r := askAs[*kmsg.DescribeUserSCRAMCredentialsResponse](t, b, aclBob, describe, 0); r.ErrorCode != denied || r.Results[0].ErrorCode != denied {
		t.Fatalf("bob's describe: %+v", r)
	}
	alter.Deletions = nil
	if got := alterCodes(askAs[*kmsg.AlterUserSCRAMCredentialsResponse](t, b, aclAdmin, alter, 0)); got["amy"] != 0 || got["zed"] != 0 {
		t.Fatalf("the super user's alter: %v", got)
	}
	if r := askAs[*kmsg.DescribeUserSCRAMCredentialsResponse](t, b, aclAdmin, describe, 0); r.ErrorCode != 0 || len(r.Results[0].CredentialInfos) != 1 {
		t.Fatalf("the super user's describe: %+v", r)
	}
}
