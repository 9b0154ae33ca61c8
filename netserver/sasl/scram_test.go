package sasl

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl/scram"
	xdg "github.com/xdg-go/scram"
)

var scramMechanisms = []string{MechanismScramSHA256, MechanismScramSHA512}

func scramAuthenticator(t testing.TB, users ScramUsers) *Authenticator {
	return mustAuthenticator(t, Config{Mechanisms: scramMechanisms, Scram: users})
}

func scramUsers(t testing.TB, iterations int) ScramUsers {
	t.Helper()
	users := ScramUsers{}
	for _, m := range scramMechanisms {
		for user, pw := range map[string]string{"alice": "alice-secret", "a,b=c": "odd-name"} {
			c, err := NewScramCredential(m, pw, []byte("salt-"+user), iterations)
			if err != nil {
				t.Fatal(err)
			}
			users[ScramKey{m, user}] = c
		}
	}
	return users
}

func TestScramInterop(t *testing.T) {
	a := scramAuthenticator(t, scramUsers(t, 4096))
	for _, mech := range scramMechanisms {
		as := func(auth scram.Auth) error {
			s := mustStart(t, a, mech)
			m := auth.AsSha256Mechanism()
			if mech == MechanismScramSHA512 {
				m = auth.AsSha512Mechanism()
			}
			err := exchange(t, m, s, testNow)
			if err == nil && s.Principal() != "User:"+auth.User {
				t.Fatalf("principal %q", s.Principal())
			}
			if err != nil && (s.Done() || s.Principal() != "") {
				t.Fatal("failed session is done")
			}
			return err
		}
		generic := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + mech
		t.Run(mech, func(t *testing.T) {
			if err := as(scram.Auth{User: "alice", Pass: "alice-secret"}); err != nil {
				t.Fatal(err)
			}
			if err := as(scram.Auth{User: "a,b=c", Pass: "odd-name"}); err != nil {
				t.Fatal("escaped user name:", err)
			}
			if err := as(scram.Auth{Zid: "alice", User: "alice", Pass: "alice-secret"}); err != nil {
				t.Fatal("authzid = user:", err)
			}
			wrong := wantError(t, as(scram.Auth{User: "alice", Pass: "wrong"}), ErrAuthenticationFailed, generic)
			unknown := wantError(t, as(scram.Auth{User: "mallory", Pass: "wrong"}), ErrAuthenticationFailed, generic)
			if wrong.Message != unknown.Message {
				t.Fatal("unknown user and wrong password differ")
			}
			wantError(t, as(scram.Auth{Zid: "admin", User: "alice", Pass: "alice-secret"}), ErrAuthenticationFailed,
				"Authentication failed: Client requested an authorization id that is different from username")
			e := wantError(t, as(scram.Auth{User: "alice", Pass: "alice-secret", IsToken: true}), ErrAuthenticationFailed, generic)
			if !strings.Contains(e.Cause.Error(), "tokenauth") {
				t.Fatalf("cause %v", e.Cause)
			}
		})
	}
}

// TestScramCrossMechanism: a SHA-256 credential does not answer SHA-512.
func TestScramCrossMechanism(t *testing.T) {
	users := scramUsers(t, 4096)
	delete(users, ScramKey{MechanismScramSHA512, "alice"})
	a := scramAuthenticator(t, users)
	s := mustStart(t, a, MechanismScramSHA512)
	err := exchange(t, scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism(), s, testNow)
	wantError(t, err, ErrAuthenticationFailed, "")
}

func TestScramIterationsTooLow(t *testing.T) {
	users := scramUsers(t, 4096)
	c := users[ScramKey{MechanismScramSHA256, "alice"}]
	sp, err := ScramSaltedPassword(MechanismScramSHA256, "alice-secret", c.Salt, 4095)
	if err != nil {
		t.Fatal(err)
	}
	low, err := ScramCredentialFromSaltedPassword(MechanismScramSHA256, c.Salt, sp, 4096)
	if err != nil {
		t.Fatal(err)
	}
	low.Iterations = 4095 // as a store holding an old, weak credential would
	users[ScramKey{MechanismScramSHA256, "alice"}] = low
	a := scramAuthenticator(t, users)
	s := mustStart(t, a, MechanismScramSHA256)
	err = exchange(t, scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism(), s, testNow)
	e := wantError(t, err, ErrAuthenticationFailed, "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256")
	if !strings.Contains(e.Cause.Error(), "Iterations 4095 is less than the minimum 4096") {
		t.Fatalf("cause %v", e.Cause)
	}
}

// scramFirst runs the first step with a franz-go client and returns the
// client session, the server session and the client-final message.
func scramFirst(t *testing.T, a *Authenticator, mech, user, pass string, nonce []byte) (*Session, []byte) {
	t.Helper()
	auth := scram.Auth{User: user, Pass: pass, Nonce: nonce}
	m := auth.AsSha256Mechanism()
	if mech == MechanismScramSHA512 {
		m = auth.AsSha512Mechanism()
	}
	cs, first, err := m.Authenticate(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	s := mustStart(t, a, mech)
	serverFirst, done, err := s.Step(first, testNow)
	if err != nil || done {
		t.Fatalf("first step: %v %v", done, err)
	}
	_, final, err := cs.Challenge(serverFirst)
	if err != nil {
		t.Fatal(err)
	}
	return s, final
}

func TestScramTamperedProof(t *testing.T) {
	a := scramAuthenticator(t, scramUsers(t, 4096))
	for _, mech := range scramMechanisms {
		s, final := scramFirst(t, a, mech, "alice", "alice-secret", nil)
		i := bytes.Index(final, []byte(",p=")) + 3
		proof, err := base64.StdEncoding.DecodeString(string(final[i:]))
		if err != nil {
			t.Fatal(err)
		}
		proof[0] ^= 1
		tampered := append(final[:i:i], base64.StdEncoding.EncodeToString(proof)...)
		_, _, err = s.Step(tampered, testNow)
		e := wantError(t, err, ErrAuthenticationFailed, "")
		if !strings.Contains(e.Cause.Error(), "proof") {
			t.Fatalf("cause %v", e.Cause)
		}
	}
}

// TestScramReplayedNonce: a client-final recorded from one exchange does
// not authenticate another, even with the same client nonce, because the
// server's half of the nonce differs.
func TestScramReplayedNonce(t *testing.T) {
	a := scramAuthenticator(t, scramUsers(t, 4096))
	nonce := []byte("fixed-client-nonce")
	_, recorded := scramFirst(t, a, MechanismScramSHA256, "alice", "alice-secret", nonce)
	s, _ := scramFirst(t, a, MechanismScramSHA256, "alice", "alice-secret", nonce)
	_, _, err := s.Step(recorded, testNow)
	e := wantError(t, err, ErrAuthenticationFailed, "")
	if !strings.Contains(e.Cause.Error(), "nonce") {
		t.Fatalf("cause %v", e.Cause)
	}
}

// TestScramDeterministicNonce: the server nonce is base64 of 24 bytes of
// Config.Rand appended to the client's.
func TestScramDeterministicNonce(t *testing.T) {
	a := mustAuthenticator(t, Config{Mechanisms: scramMechanisms, Scram: scramUsers(t, 4096), Rand: zeroReader{}})
	s := mustStart(t, a, MechanismScramSHA256)
	resp, _, err := s.Step([]byte("n,,n=alice,r=abc"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := "r=abc" + base64.StdEncoding.EncodeToString(make([]byte, 24)) + ",s=" +
		base64.StdEncoding.EncodeToString([]byte("salt-alice")) + ",i=4096"
	if string(resp) != want {
		t.Fatalf("server-first %q, want %q", resp, want)
	}
	a = mustAuthenticator(t, Config{Mechanisms: scramMechanisms, Scram: scramUsers(t, 4096), Rand: bytes.NewReader(nil)})
	_, _, err = mustStart(t, a, MechanismScramSHA256).Step([]byte("n,,n=alice,r=abc"), testNow)
	wantError(t, err, ErrAuthenticationFailed, "")
}

func TestScramMalformed(t *testing.T) {
	a := scramAuthenticator(t, scramUsers(t, 4096))
	for _, msg := range []string{
		"", "n", "n,", "n,,", "n,,n=alice", "n,,n=alice,", "n,,n=alice,r=", "n,,n=,r=x",
		"y,,n=alice,r=x", "p=tls-unique,,n=alice,r=x", ",,n=alice,r=x",
		"n,,m=ext,n=alice,r=x", "n,b=x,n=alice,r=x", "n,a=,n=alice,r=x",
		"n,,n=al=ice,r=x", "n,,n=alice,r=x,", "n,,n=alice,r=x,1=2", "n,,n=alice,r=x,k=",
		"n,,n=al\xc3\xa9,r=x", "n,,n=alice,r=a b",
	} {
		s := mustStart(t, a, MechanismScramSHA256)
		if _, _, err := s.Step([]byte(msg), testNow); err == nil {
			t.Errorf("client-first %q accepted", msg)
		} else {
			wantError(t, err, ErrAuthenticationFailed, "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256")
		}
	}
	// Unknown extensions are ignored, as in Kafka; tokenauth=false is not a token.
	for _, msg := range []string{"n,,n=alice,r=x,foo=bar", "n,,n=alice,r=x,tokenauth=false", "n,a=alice,n=alice,r=x"} {
		if _, _, err := mustStart(t, a, MechanismScramSHA256).Step([]byte(msg), testNow); err != nil {
			t.Errorf("client-first %q: %v", msg, err)
		}
	}
	// Truncations of a valid client-final.
	_, final := scramFirst(t, a, MechanismScramSHA256, "alice", "alice-secret", nil)
	for _, cut := range []int{0, 1, 2, 5, len(final) / 2, len(final) - 2, len(final) - 1} {
		s, fresh := scramFirst(t, a, MechanismScramSHA256, "alice", "alice-secret", nil)
		if _, _, err := s.Step(fresh[:cut], testNow); err == nil {
			t.Errorf("client-final cut at %d accepted", cut)
		}
	}
	for _, mutate := range []func(string) string{
		func(f string) string { return strings.Replace(f, "c=biws", "c=bi", 1) },          // bad base64
		func(f string) string { return strings.Replace(f, "c=biws", "c=eSws", 1) },        // "y,," binding
		func(f string) string { return strings.Replace(f, ",p=", ",x=1,p=", 1) },          // extension: allowed
		func(f string) string { return f + "AAAA" },                                       // long proof
		func(f string) string { return strings.Replace(f, ",p=", ",p=AAAA", 1)[:len(f)] }, // garbled
	} {
		s, fresh := scramFirst(t, a, MechanismScramSHA256, "alice", "alice-secret", nil)
		_, done, err := s.Step([]byte(mutate(string(fresh))), testNow)
		if err == nil || done {
			t.Errorf("mutated client-final %q accepted", mutate(string(fresh)))
		}
	}
}

func TestScramCredentialDerivation(t *testing.T) {
	// Against xdg-go/scram's own client-side derivation.
	salt := []byte("W22ZaJ0SNY7soEsUEjb6gQ==")
	for _, tc := range []struct {
		mech string
		gen  xdg.HashGeneratorFcn
	}{{MechanismScramSHA256, xdg.SHA256}, {MechanismScramSHA512, xdg.SHA512}} {
		c, err := NewScramCredential(tc.mech, "pencil", salt, 4096)
		if err != nil {
			t.Fatal(err)
		}
		client, err := tc.gen.NewClient("user", "pencil", "")
		if err != nil {
			t.Fatal(err)
		}
		want := client.GetStoredCredentials(xdg.KeyFactors{Salt: string(salt), Iters: 4096})
		if !bytes.Equal(c.StoredKey, want.StoredKey) || !bytes.Equal(c.ServerKey, want.ServerKey) {
			t.Fatalf("%s: derived keys differ from xdg-go/scram", tc.mech)
		}
	}
	// The upsertion path (salt + SaltedPassword) and the password path agree.
	sp, _ := ScramSaltedPassword(MechanismScramSHA256, "pencil", []byte("salt"), 4096)
	c1, _ := ScramCredentialFromSaltedPassword(MechanismScramSHA256, []byte("salt"), sp, 4096)
	c2, _ := NewScramCredential(MechanismScramSHA256, "pencil", []byte("salt"), 4096)
	if !bytes.Equal(c1.StoredKey, c2.StoredKey) || !bytes.Equal(c1.ServerKey, c2.ServerKey) {
		t.Fatal("upsertion and password derivations differ")
	}

	for _, tc := range []struct {
		mech  string
		salt  []byte
		sp    []byte
		iters int
	}{
		{MechanismScramSHA256, []byte("s"), sp, 4095},
		{MechanismScramSHA256, []byte("s"), sp, 16385},
		{MechanismScramSHA256, nil, sp, 4096},
		{MechanismScramSHA256, []byte("s"), nil, 4096},
		{"SCRAM-SHA-1", []byte("s"), sp, 4096},
	} {
		if _, err := ScramCredentialFromSaltedPassword(tc.mech, tc.salt, tc.sp, tc.iters); !errors.Is(err, ErrUnacceptableCredential) {
			t.Errorf("%+v: %v", tc, err)
		}
	}
	c, err := GenerateScramCredential(MechanismScramSHA512, "pw", 4096, zeroReader{})
	if err != nil || len(c.Salt) != 32 || len(c.StoredKey) != 64 {
		t.Fatalf("generate: %v %d %d", err, len(c.Salt), len(c.StoredKey))
	}
	if _, err := GenerateScramCredential(MechanismScramSHA512, "pw", 4096, bytes.NewReader(nil)); err == nil {
		t.Fatal("generate with a failing reader")
	}
}
