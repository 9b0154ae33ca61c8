package sasl

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

func oauthAuthenticator(t testing.TB, v TokenValidator) *Authenticator {
	return mustAuthenticator(t, Config{Mechanisms: []string{MechanismOAuthBearer}, OAuthBearer: v})
}

func TestOAuthInterop(t *testing.T) {
	exp := testNow.Add(time.Hour).Unix()
	iat := testNow.Add(-time.Minute).Unix()
	validator := &UnsecuredValidator{RequiredScope: []string{"kafka"}, AllowableClockSkew: 30 * time.Second}
	a := oauthAuthenticator(t, validator)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		zid    string
		ext    map[string]string
		msg    string // "" for success
	}{
		{name: "ok", claims: map[string]any{"sub": "alice", "exp": exp, "iat": iat, "scope": []string{"kafka", "other"}}},
		{name: "string scope", claims: map[string]any{"sub": "alice", "exp": exp, "scope": " kafka "}},
		{name: "extensions", claims: map[string]any{"sub": "alice", "exp": exp, "scope": "kafka"}, ext: map[string]string{"traceId": "123", "logicalCluster": "lkc-1"}},
		{name: "authzid = principal", zid: "alice", claims: map[string]any{"sub": "alice", "exp": exp, "scope": "kafka"}},
		{name: "iat within skew", claims: map[string]any{"sub": "alice", "exp": exp, "iat": testNow.Add(20 * time.Second).Unix(), "scope": "kafka"}},
		{name: "exp within skew", claims: map[string]any{"sub": "alice", "exp": testNow.Add(-20 * time.Second).Unix(), "scope": "kafka"}},
		{name: "expired", claims: map[string]any{"sub": "alice", "exp": testNow.Add(-time.Minute).Unix(), "scope": "kafka"}, msg: `{"status":"invalid_token"}`},
		{name: "no exp", claims: map[string]any{"sub": "alice", "scope": "kafka"}, msg: `{"status":"invalid_token"}`},
		{name: "string exp", claims: map[string]any{"sub": "alice", "exp": "soon", "scope": "kafka"}, msg: `{"status":"invalid_token"}`},
		{name: "iat in future", claims: map[string]any{"sub": "alice", "exp": exp, "iat": testNow.Add(time.Minute).Unix(), "scope": "kafka"}, msg: `{"status":"invalid_token"}`},
		{name: "exp before iat", claims: map[string]any{"sub": "alice", "exp": iat - 1, "iat": iat, "scope": "kafka"}, msg: `{"status":"invalid_token"}`},
		{name: "no sub", claims: map[string]any{"exp": exp, "scope": "kafka"}, msg: `{"status":"invalid_token"}`},
		{name: "blank sub", claims: map[string]any{"sub": " ", "exp": exp, "scope": "kafka"}, msg: `{"status":"invalid_token"}`},
		{name: "numeric sub", claims: map[string]any{"sub": 5, "exp": exp, "scope": "kafka"}, msg: `{"status":"invalid_token"}`},
		{name: "missing scope", claims: map[string]any{"sub": "alice", "exp": exp, "scope": []string{"other"}}, msg: `{"status":"insufficient_scope", "scope":"[kafka]"}`},
		{name: "numeric scope", claims: map[string]any{"sub": "alice", "exp": exp, "scope": 1}, msg: `{"status":"invalid_token"}`},
		{name: "other authzid", zid: "bob", claims: map[string]any{"sub": "alice", "exp": exp, "scope": "kafka"},
			msg: "Authentication failed: Client requested an authorization id (bob) that is different from the token's principal name (alice)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStart(t, a, MechanismOAuthBearer)
			err := exchange(t, oauth.Auth{Zid: tc.zid, Token: unsecuredJWT(t, tc.claims), Extensions: tc.ext}.AsMechanism(), s, testNow)
			if tc.msg != "" {
				wantError(t, err, ErrAuthenticationFailed, tc.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Principal() != "User:alice" {
				t.Fatalf("principal %q", s.Principal())
			}
		})
	}
}

func TestOAuthErrorChallengeThenRetry(t *testing.T) {
	a := oauthAuthenticator(t, &UnsecuredValidator{})
	s := mustStart(t, a, MechanismOAuthBearer)
	expired := unsecuredJWT(t, map[string]any{"sub": "alice", "exp": testNow.Add(-time.Hour).Unix()})
	resp, done, err := s.Step([]byte("n,,\x01auth=Bearer "+expired+"\x01\x01"), testNow)
	if err != nil || done || string(resp) != `{"status":"invalid_token"}` {
		t.Fatalf("%q %v %v", resp, done, err)
	}
	// Kafka takes anything but "\x01" as a new initial response.
	good := unsecuredJWT(t, map[string]any{"sub": "alice", "exp": testNow.Add(time.Hour).Unix()})
	resp, done, err = s.Step([]byte("n,,\x01auth=bearer "+good+"\x01\x01"), testNow)
	if err != nil || !done || len(resp) != 0 {
		t.Fatalf("%q %v %v", resp, done, err)
	}
	// A lone \x01 without a pending error is a malformed initial response.
	s = mustStart(t, a, MechanismOAuthBearer)
	_, _, err = s.Step([]byte{1}, testNow)
	wantError(t, err, ErrAuthenticationFailed, "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER")
}

type fixedValidator struct {
	tok Token
	err error
}

func (v fixedValidator) ValidateToken(string, time.Time) (Token, error) { return v.tok, v.err }

func TestOAuthValidatorErrors(t *testing.T) {
	msg := []byte("n,,\x01auth=Bearer abc\x01\x01")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("boom"), `{"status":"invalid_token"}`},
		{&TokenError{Status: "insufficient_scope", Scope: "a b", OpenIDConfiguration: "https://idp/.well-known/openid-configuration"},
			`{"status":"insufficient_scope", "scope":"a b", "openid-configuration":"https://idp/.well-known/openid-configuration"}`},
	} {
		s := mustStart(t, oauthAuthenticator(t, fixedValidator{err: tc.err}), MechanismOAuthBearer)
		resp, _, err := s.Step(msg, testNow)
		if err != nil || string(resp) != tc.want {
			t.Fatalf("%q %v", resp, err)
		}
		_, _, err = s.Step([]byte{1}, testNow)
		wantError(t, err, ErrAuthenticationFailed, tc.want)
	}
	s := mustStart(t, oauthAuthenticator(t, fixedValidator{}), MechanismOAuthBearer)
	_, _, err := s.Step(msg, testNow)
	wantError(t, err, ErrAuthenticationFailed, "")
}

func TestOAuthMalformed(t *testing.T) {
	a := oauthAuthenticator(t, fixedValidator{tok: Token{Principal: "alice"}})
	for _, msg := range []string{
		"", "n", "n,", "n,,", "n,,\x01", "n,,\x01\x01", "y,,\x01auth=Bearer x\x01\x01", "n,,auth=Bearer x\x01\x01",
		"n,,\x01auth=Bearer x\x01", "n,,\x01auth=Bearer x", "n,,\x01auth=Basic x\x01\x01", "n,,\x01auth=Bearer\x01\x01",
		"n,,\x01auth=Bearer x y\x01\x01", "n,,\x01auth=Bearer x=y\x01\x01", "n,,\x01auth=Bearer x\x01k\x01\x01",
		"n,,\x01auth=Bearer x\x011=2\x01\x01", "n,,\x01auth=Bearer x\x01\x01\x01", "n,a=,\x01auth=Bearer x\x01\x01",
		"n,b=x,\x01auth=Bearer x\x01\x01", "n,,\x01k=v\x01\x01", "n,,\x01auth=Bearer x\x01k=\xff\x01\x01",
	} {
		s := mustStart(t, a, MechanismOAuthBearer)
		if _, done, err := s.Step([]byte(msg), testNow); err == nil || done {
			t.Errorf("initial response %q accepted", msg)
		}
	}
	for _, msg := range []string{
		"n,,\x01auth=Bearer x\x01\x01", "n,,\x01auth=BEARER  x==\x01\x01", "n,a=alice,\x01auth=Bearer x\x01\x01",
		"n,,\x01k=v v\x01auth=Bearer -_~+/.aZ09\x01\x01",
	} {
		s := mustStart(t, a, MechanismOAuthBearer)
		if _, done, err := s.Step([]byte(msg), testNow); err != nil || !done {
			t.Errorf("initial response %q: %v", msg, err)
		}
	}
}

func TestUnsecuredValidatorTokenShape(t *testing.T) {
	v := &UnsecuredValidator{}
	enc := base64.RawURLEncoding.EncodeToString
	claims := enc([]byte(`{"sub":"alice","exp":4102444800}`))
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{enc([]byte(`{"alg":"none"}`)) + "." + claims + ".", true},
		{base64.StdEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + claims + ".", true},
		{enc([]byte(`{"alg":"HS256"}`)) + "." + claims + ".", false},
		{enc([]byte(`{"typ":"JWT"}`)) + "." + claims + ".", false},
		{enc([]byte(`{"alg":"none"}`)) + "." + claims + ".sig", false},
		{enc([]byte(`{"alg":"none"}`)) + "." + claims, false},
		{enc([]byte(`{"alg":"none"}`)) + ".." + claims, false},
		{enc([]byte(`{"alg":"none"}`)) + "." + claims + "..", false},
		{enc([]byte(`[]`)) + "." + claims + ".", false},
		{enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte("nope")) + ".", false},
		{enc([]byte(`{"alg":"none"}`)) + ".!!!.", false},
	} {
		tok, err := v.ValidateToken(tc.token, testNow)
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.token, err)
		}
		if tc.ok && (tok.Principal != "alice" || !tok.Expiration.Equal(time.Unix(4102444800, 0))) {
			t.Errorf("token %+v", tok)
		}
	}
}

func TestUnsecuredValidatorFromJAAS(t *testing.T) {
	e, err := ParseJAASProperty(`org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required
		unsecuredValidatorPrincipalClaimName="email" unsecuredValidatorScopeClaimName="scp"
		unsecuredValidatorRequiredScope="a b" unsecuredValidatorAllowableClockSkewMs="1500";`)
	if err != nil {
		t.Fatal(err)
	}
	v, err := UnsecuredValidatorFromJAAS(e.Options)
	if err != nil {
		t.Fatal(err)
	}
	if v.PrincipalClaim != "email" || v.ScopeClaim != "scp" || strings.Join(v.RequiredScope, ",") != "a,b" || v.AllowableClockSkew != 1500*time.Millisecond {
		t.Fatalf("%+v", v)
	}
	tok, err := v.ValidateToken(unsecuredJWT(t, map[string]any{"email": "e@x", "exp": testNow.Unix() + 1, "scp": []string{"b", "a"}}), testNow)
	if err != nil || tok.Principal != "e@x" {
		t.Fatalf("%+v %v", tok, err)
	}
	for _, bad := range []string{"-1", "x", "99999999999"} {
		if _, err := UnsecuredValidatorFromJAAS(map[string]string{UnsecuredClockSkewOption: bad}); err == nil {
			t.Errorf("skew %q accepted", bad)
		}
	}
}
