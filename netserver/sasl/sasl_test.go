package sasl

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

func TestNewAuthenticatorChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"none", Config{}, "no mechanism"},
		{"unknown", Config{Mechanisms: []string{"GSSAPI"}}, `unsupported mechanism "GSSAPI"`},
		{"lowercase", Config{Mechanisms: []string{"plain"}, Plain: PlainUsers{}}, `unsupported mechanism "plain"`},
		{"plain without store", Config{Mechanisms: []string{MechanismPlain}}, "PlainStore"},
		{"scram without store", Config{Mechanisms: []string{MechanismScramSHA512}}, "ScramStore"},
		{"oauth without validator", Config{Mechanisms: []string{MechanismOAuthBearer}}, "TokenValidator"},
		{"negative reauth", Config{Mechanisms: []string{MechanismPlain}, Plain: PlainUsers{}, MaxReauth: -1}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAuthenticator(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	a := mustAuthenticator(t, Config{
		Mechanisms: []string{MechanismScramSHA512, MechanismPlain, MechanismScramSHA512},
		Plain:      PlainUsers{}, Scram: ScramUsers{},
	})
	if got := a.Mechanisms(); !slices.Equal(got, []string{MechanismScramSHA512, MechanismPlain}) {
		t.Fatalf("mechanisms %v", got)
	}
}

func TestStartUnsupportedMechanism(t *testing.T) {
	a := plainAuthenticator(t)
	for _, m := range []string{"SCRAM-SHA-256", "GSSAPI", "plain", ""} {
		_, err := a.Start(m)
		wantError(t, err, ErrUnsupportedMechanism, "Unsupported SASL mechanism "+m)
	}
}

func TestStepAfterDone(t *testing.T) {
	a := plainAuthenticator(t)
	s := mustStart(t, a, MechanismPlain)
	resp, done, err := s.Step([]byte("\x00alice\x00alice-secret"), testNow)
	if err != nil || !done || len(resp) != 0 {
		t.Fatalf("step: %q %v %v", resp, done, err)
	}
	_, _, err = s.Step([]byte("\x00alice\x00alice-secret"), testNow)
	wantError(t, err, ErrIllegalState, "")
	if s.Principal() != "User:alice" || s.User() != "alice" || s.Mechanism() != MechanismPlain {
		t.Fatalf("session %q %q %q", s.Principal(), s.User(), s.Mechanism())
	}
}

func TestSessionLifetime(t *testing.T) {
	oauthValidator := &UnsecuredValidator{}
	exp := testNow.Add(30 * time.Minute)
	token := unsecuredJWT(t, map[string]any{"sub": "alice", "exp": exp.Unix()})
	for _, tc := range []struct {
		name      string
		mechanism string
		maxReauth time.Duration
		byMech    map[string]time.Duration
		at        time.Time // completion time passed to SessionLifetime
		want      time.Duration
		wantOK    bool
	}{
		{name: "plain, no limit", mechanism: MechanismPlain, at: testNow},
		{name: "plain, max reauth", mechanism: MechanismPlain, maxReauth: time.Hour, at: testNow, want: time.Hour, wantOK: true},
		{name: "plain, per mechanism", mechanism: MechanismPlain, maxReauth: time.Hour,
			byMech: map[string]time.Duration{MechanismPlain: time.Minute}, at: testNow, want: time.Minute, wantOK: true},
		{name: "per mechanism zero disables", mechanism: MechanismPlain, maxReauth: time.Hour,
			byMech: map[string]time.Duration{MechanismPlain: 0}, at: testNow},
		{name: "token, no max", mechanism: MechanismOAuthBearer, at: testNow, want: 30 * time.Minute, wantOK: true},
		{name: "token shorter than max", mechanism: MechanismOAuthBearer, maxReauth: time.Hour, at: testNow, want: 30 * time.Minute, wantOK: true},
		{name: "max shorter than token", mechanism: MechanismOAuthBearer, maxReauth: time.Minute, at: testNow, want: time.Minute, wantOK: true},
		{name: "token expired at completion", mechanism: MechanismOAuthBearer, maxReauth: time.Minute, at: exp.Add(time.Second), want: 0, wantOK: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustAuthenticator(t, Config{
				Mechanisms: []string{MechanismPlain, MechanismOAuthBearer},
				Plain:      PlainUsers{"alice": "pw"}, OAuthBearer: oauthValidator,
				MaxReauth: tc.maxReauth, MaxReauthByMechanism: tc.byMech,
			})
			s := mustStart(t, a, tc.mechanism)
			if s.SessionLifetime(testNow) != 0 {
				t.Fatal("lifetime before done")
			}
			var err error
			if tc.mechanism == MechanismPlain {
				err = exchange(t, plain.Auth{User: "alice", Pass: "pw"}.AsMechanism(), s, testNow)
			} else {
				err = exchange(t, oauth.Auth{Token: token}.AsMechanism(), s, testNow)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.SessionLifetime(tc.at); got != tc.want {
				t.Fatalf("lifetime %v, want %v", got, tc.want)
			}
			deadline, ok := s.SessionExpiry(tc.at)
			if ok != tc.wantOK || (ok && !deadline.Equal(tc.at.Add(tc.want))) {
				t.Fatalf("expiry %v %v", deadline, ok)
			}
		})
	}
}

func TestReauthenticate(t *testing.T) {
	a := mustAuthenticator(t, Config{
		Mechanisms: []string{MechanismPlain, MechanismScramSHA256},
		Plain:      PlainUsers{"alice": "pw-a", "bob": "pw-b"}, Scram: ScramUsers{},
	})
	first := mustStart(t, a, MechanismPlain)
	if _, err := a.Reauthenticate(first, MechanismPlain); !errors.Is(err, ErrIllegalState) {
		t.Fatalf("reauth of an unfinished session: %v", err)
	}
	if err := exchange(t, plain.Auth{User: "alice", Pass: "pw-a"}.AsMechanism(), first, testNow); err != nil {
		t.Fatal(err)
	}

	_, err := a.Reauthenticate(first, MechanismScramSHA256)
	wantError(t, err, ErrAuthenticationFailed,
		"SASL mechanism 'SCRAM-SHA-256' requested by client is not supported for re-authentication of mechanism 'PLAIN'")

	same, err := a.Reauthenticate(first, MechanismPlain)
	if err != nil {
		t.Fatal(err)
	}
	if !same.Reauthenticating() {
		t.Fatal("not reauthenticating")
	}
	if err := exchange(t, plain.Auth{User: "alice", Pass: "pw-a"}.AsMechanism(), same, testNow); err != nil {
		t.Fatal(err)
	}

	other, _ := a.Reauthenticate(same, MechanismPlain)
	err = exchange(t, plain.Auth{User: "bob", Pass: "pw-b"}.AsMechanism(), other, testNow)
	wantError(t, err, ErrAuthenticationFailed, "Cannot change principals during re-authentication from User.alice: User.bob")
	if other.Done() || other.Principal() != "" {
		t.Fatal("principal change accepted")
	}
}
