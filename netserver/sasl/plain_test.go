package sasl

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl/plain"
)

func plainAuthenticator(t testing.TB) *Authenticator {
	return mustAuthenticator(t, Config{
		Mechanisms: []string{MechanismPlain},
		Plain:      PlainUsers{"alice": "alice-secret", "admin": "admin-secret"},
	})
}

func TestPlainInterop(t *testing.T) {
	a := plainAuthenticator(t)
	for _, tc := range []struct {
		name, zid, user, pass string
		msg                   string // "" for success
	}{
		{name: "ok", user: "alice", pass: "alice-secret"},
		{name: "authzid equal to user", zid: "alice", user: "alice", pass: "alice-secret"},
		{name: "wrong password", user: "alice", pass: "nope", msg: "Authentication failed: Invalid username or password"},
		{name: "unknown user", user: "mallory", pass: "nope", msg: "Authentication failed: Invalid username or password"},
		{name: "other authzid", zid: "admin", user: "alice", pass: "alice-secret", msg: "Authentication failed: Client requested an authorization id that is different from username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStart(t, a, MechanismPlain)
			err := exchange(t, plain.Auth{Zid: tc.zid, User: tc.user, Pass: tc.pass}.AsMechanism(), s, testNow)
			if tc.msg != "" {
				wantError(t, err, ErrAuthenticationFailed, tc.msg)
				if s.Principal() != "" || s.Done() {
					t.Fatalf("failed session has principal %q", s.Principal())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Principal(); got != "User:"+tc.user {
				t.Fatalf("principal %q", got)
			}
		})
	}
}

func TestPlainMalformed(t *testing.T) {
	a := plainAuthenticator(t)
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"empty", "", "Invalid SASL/PLAIN response: expected 3 tokens, got 1"},
		{"truncated after authzid", "\x00alice", "Invalid SASL/PLAIN response: expected 3 tokens, got 2"},
		{"four tokens", "\x00alice\x00alice-secret\x00x", "Invalid SASL/PLAIN response: expected 3 tokens, got 4"},
		{"no user", "\x00\x00alice-secret", "Authentication failed: username not specified"},
		{"no password", "\x00alice\x00", "Authentication failed: password not specified"},
		{"password prefix", "\x00alice\x00alice-secre", "Authentication failed: Invalid username or password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStart(t, a, MechanismPlain)
			_, _, err := s.Step([]byte(tc.msg), testNow)
			wantError(t, err, ErrAuthenticationFailed, tc.want)
			_, _, err = s.Step([]byte("\x00alice\x00alice-secret"), testNow)
			wantError(t, err, ErrIllegalState, "")
		})
	}
}

func TestPlainUsersUnknownEqualsWrong(t *testing.T) {
	u := PlainUsers{"alice": "pw"}
	if u.AuthenticatePlain("bob", "pw") || u.AuthenticatePlain("alice", "pw\x00") || u.AuthenticatePlain("alice", "") {
		t.Fatal("accepted a bad credential")
	}
	if !u.AuthenticatePlain("alice", "pw") {
		t.Fatal("refused a good credential")
	}
	if !errors.Is(&Error{Kind: ErrAuthenticationFailed}, ErrAuthenticationFailed) {
		t.Fatal("errors.Is")
	}
}
