package sasl

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

type jwksFixture struct {
	rsaKey *rsa.PrivateKey
	ecKey  *ecdsa.PrivateKey
	jwks   []byte
}

func newJWKSFixture(t *testing.T) *jwksFixture {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rsaKey.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: &ecKey.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &jwksFixture{rsaKey: rsaKey, ecKey: ecKey, jwks: jwks}
}

func signJWT(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestJWKSValidator(t *testing.T) {
	fx := newJWKSFixture(t)
	v, err := NewJWKSValidator(fx.jwks, JWKSOptions{ExpectedIssuer: "https://idp", ExpectedAudience: []string{"kafka"}, ClockSkew: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"sub": "alice", "iss": "https://idp", "aud": []string{"kafka"},
			"exp": testNow.Add(time.Hour).Unix(), "iat": testNow.Add(-time.Minute).Unix(), "scope": "read write"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tc := range []struct {
		name  string
		token string
		want  string // "" for valid; else a substring of the reason
	}{
		{"rs256", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(nil)), ""},
		{"es256", signJWT(t, jose.ES256, fx.ecKey, "ec-1", claims(nil)), ""},
		{"no kid", signJWT(t, jose.ES256, fx.ecKey, "", claims(nil)), ""},
		{"exp within skew", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { c["exp"] = testNow.Add(-10 * time.Second).Unix() })), ""},
		{"unknown kid", signJWT(t, jose.RS256, fx.rsaKey, "rsa-2", claims(nil)), "verifies"},
		{"kid of the other key", signJWT(t, jose.RS256, fx.rsaKey, "ec-1", claims(nil)), "verifies"},
		{"foreign key", signJWT(t, jose.RS256, otherRSA, "rsa-1", claims(nil)), "verifies"},
		{"hs256", signJWT(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "rsa-1", claims(nil)), "parsing"},
		{"alg none", unsecuredJWT(t, claims(nil)), "parsing"},
		{"expired", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { c["exp"] = testNow.Add(-time.Minute).Unix() })), "expired"},
		{"no exp", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { delete(c, "exp") })), "exp"},
		{"no iat", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { delete(c, "iat") })), "iat"},
		{"iat in future", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { c["iat"] = testNow.Add(time.Hour).Unix() })), "future"},
		{"wrong issuer", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { c["iss"] = "https://evil" })), "issuer"},
		{"wrong audience", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { c["aud"] = "other" })), "audience"},
		{"no sub", signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { delete(c, "sub") })), "principal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.ValidateToken(tc.token, testNow)
			if tc.want == "" {
				if err != nil || tok.Principal != "alice" || strings.Join(tok.Scope, ",") != "read,write" {
					t.Fatalf("%+v %v", tok, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}

	// Tampered payload: re-sign nothing, swap the claims segment.
	good := strings.Split(signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(nil)), ".")
	evil := strings.Split(signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(func(c map[string]any) { c["sub"] = "admin" })), ".")
	if _, err := v.ValidateToken(good[0]+"."+evil[1]+"."+good[2], testNow); err == nil {
		t.Fatal("tampered payload accepted")
	}

	// Through the mechanism with franz-go's client; the session lasts until exp.
	a := oauthAuthenticator(t, v)
	s := mustStart(t, a, MechanismOAuthBearer)
	if err := exchange(t, oauth.Auth{Token: signJWT(t, jose.ES256, fx.ecKey, "ec-1", claims(nil))}.AsMechanism(), s, testNow); err != nil {
		t.Fatal(err)
	}
	if s.Principal() != "User:alice" || s.SessionLifetime(testNow) != time.Hour {
		t.Fatalf("%q %v", s.Principal(), s.SessionLifetime(testNow))
	}

	// Key rotation.
	rotated, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &otherRSA.PublicKey, KeyID: "rsa-2", Algorithm: "RS256", Use: "sig"}}})
	if err := v.SetKeys(rotated); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ValidateToken(signJWT(t, jose.RS256, fx.rsaKey, "rsa-1", claims(nil)), testNow); err == nil {
		t.Fatal("old key still accepted")
	}
	if _, err := v.ValidateToken(signJWT(t, jose.RS256, otherRSA, "rsa-2", claims(nil)), testNow); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "{}", `{"keys":[]}`, `{"keys":[{"kty":"oct","k":"AAAA","use":"enc"}]}`} {
		if err := v.SetKeys([]byte(bad)); err == nil {
			t.Errorf("JWKS %q accepted", bad)
		}
	}
}
