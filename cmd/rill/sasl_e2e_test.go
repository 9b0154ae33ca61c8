package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// unsignedJWT is a KIP-255 unsecured token for sub.
func unsignedJWT(sub string, lifetime time.Duration) string {
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"sub": sub, "iat": now.Unix(), "exp": now.Add(lifetime).Unix()})
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(claims) + "."
}

// A SASL_PLAINTEXT listener beside a PLAINTEXT inter-broker one: PLAIN
// users from Kafka's JAAS syntax and from a credentials file, and
// unsecured OAUTHBEARER, let kgo produce and consume in a group; a wrong
// password is refused with SASL_AUTHENTICATION_FAILED and a client without
// SASL gets nothing from the SASL listener.
func TestSASLPlaintextListener(t *testing.T) {
	internal, external := freePort(t), freePort(t)
	creds := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(creds, []byte("# PLAIN users\nbob:bob secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := serveArgs(t, t.TempDir(),
		"--set", "listeners=INTERNAL://"+internal+",EXTERNAL://"+external,
		"--set", "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT",
		"--set", "inter.broker.listener.name=INTERNAL",
		"--set", "listener.name.external.sasl.enabled.mechanisms=PLAIN,OAUTHBEARER",
		"--set", `listener.name.external.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
		"--set", "listener.name.external.sasl.plain.credentials.file="+creds)

	produceConsume(t, external, external, "sasl-plain-alice", 20, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))
	produceConsume(t, external, external, "sasl-plain-bob", 20, kgo.SASL(plain.Auth{User: "bob", Pass: "bob secret"}.AsMechanism()))
	produceConsume(t, external, external, "sasl-oauth", 20, kgo.SASL(oauth.Auth{Token: unsignedJWT("carol", time.Hour)}.AsMechanism()))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	bad := client(t, external, kgo.SASL(plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism()), kgo.RequestRetries(0))
	if err := bad.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("wrong password: %v, want SASL_AUTHENTICATION_FAILED\n%s", err, b.log())
	}
	none := client(t, external, kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	shortCtx, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	if _, err := none.Request(shortCtx, kmsg.NewPtrMetadataRequest()); err == nil {
		t.Fatal("a client without SASL was answered Metadata on the SASL listener")
	}
	// The plaintext listener is unaffected.
	produceConsume(t, internal, internal, "plaintext-still", 5)
	b.stop()
}

// OAUTHBEARER against a JWKS file (sasl.oauthbearer.jwks.endpoint.url):
// a token signed with the set's key, with the expected issuer and
// audience, is accepted; an unsigned one, one signed with another key and
// one for another audience are refused.
func TestOAuthBearerJWKS(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	sign := func(k *rsa.PrivateKey, aud string) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		claims, _ := json.Marshal(map[string]any{"sub": "svc-orders", "iss": "https://idp.example", "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		jws, err := signer.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		token, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	addr := freePort(t)
	b := serveArgs(t, t.TempDir(), "--set", "listeners=SASL_PLAINTEXT://"+addr, "--set", "sasl.enabled.mechanisms=OAUTHBEARER",
		"--set", "sasl.mechanism.inter.broker.protocol=OAUTHBEARER",
		"--set", `sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";`,
		"--set", "listener.name.sasl_plaintext.sasl.oauthbearer.jwks.endpoint.url=file://"+path,
		"--set", "sasl.oauthbearer.expected.issuer=https://idp.example", "--set", "sasl.oauthbearer.expected.audience=rill")
	produceConsume(t, addr, addr, "jwks", 10, kgo.SASL(oauth.Auth{Token: sign(key, "rill")}.AsMechanism()))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for name, token := range map[string]string{
		"unsigned":       unsignedJWT("svc-orders", time.Hour),
		"another key":    sign(other, "rill"),
		"wrong audience": sign(key, "someone-else"),
	} {
		cl := client(t, addr, kgo.SASL(oauth.Auth{Token: token}.AsMechanism()), kgo.RequestRetries(0))
		if err := cl.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("%s token: %v, want SASL_AUTHENTICATION_FAILED\n%s", name, err, b.log())
		}
	}
	b.stop()
}
