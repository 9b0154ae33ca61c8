package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

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
