package netserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/rillmq/rill/netserver/sasl"
)

// saslConfig is a netconn server with PLAIN (alice/secret), SCRAM-SHA-512
// (alice/secret) and unsecured OAUTHBEARER, re-authentication after
// maxReauth (0: never).
func saslConfig(t *testing.T, maxReauth time.Duration) Config {
	t.Helper()
	cred, err := sasl.GenerateScramCredential(sasl.MechanismScramSHA512, "secret", 4096, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := sasl.NewAuthenticator(sasl.Config{
		Mechanisms:  []string{sasl.MechanismPlain, sasl.MechanismScramSHA512, sasl.MechanismOAuthBearer},
		Plain:       sasl.PlainUsers{"alice": "secret"},
		Scram:       sasl.ScramUsers{{Mechanism: sasl.MechanismScramSHA512, User: "alice"}: cred},
		OAuthBearer: &sasl.UnsecuredValidator{},
		MaxReauth:   maxReauth,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := cfgFor("netconn")
	cfg.SASL = auth
	cfg.FailedAuthenticationDelay = 10 * time.Millisecond
	return cfg
}

func unsecuredToken(sub string, lifetime time.Duration) string {
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"sub": sub, "iat": now.Unix(), "exp": now.Add(lifetime).Unix()})
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(claims) + "."
}

// Every mechanism lets a real client (kgo) produce and consume; the wrong
// password is answered SASL_AUTHENTICATION_FAILED.
func TestSASLMechanismsWithKgo(t *testing.T) {
	s, _ := startLogged(t, saslConfig(t, 0))
	for name, mech := range map[string]kgosasl.Mechanism{
		"PLAIN":         plain.Auth{User: "alice", Pass: "secret"}.AsMechanism(),
		"SCRAM-SHA-512": scram.Auth{User: "alice", Pass: "secret"}.AsSha512Mechanism(),
		"OAUTHBEARER":   oauth.Auth{Token: unsecuredToken("alice", time.Hour)}.AsMechanism(),
	} {
		t.Run(name, func(t *testing.T) {
			cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr().String()), kgo.SASL(mech), kgo.DefaultProduceTopic("t"))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cl.ProduceSync(ctx, kgo.StringRecord(name)).FirstErr(); err != nil {
				t.Fatalf("produce over SASL %s: %v", name, err)
			}
		})
	}
	for name, mech := range map[string]kgosasl.Mechanism{
		"PLAIN":         plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism(),
		"SCRAM-SHA-512": scram.Auth{User: "alice", Pass: "wrong"}.AsSha512Mechanism(),
		"unknown user":  scram.Auth{User: "mallory", Pass: "secret"}.AsSha512Mechanism(),
	} {
		t.Run("bad "+name, func(t *testing.T) {
			cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr().String()), kgo.SASL(mech), kgo.RequestRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cl.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
				t.Fatalf("ping with a bad credential: %v, want SASL_AUTHENTICATION_FAILED", err)
			}
		})
	}
}

// saslExchange sends one request on c and decodes its answer into resp.
func saslExchange(t *testing.T, c net.Conn, req kmsg.Request, version int16, corr int32, resp kmsg.Response) {
	t.Helper()
	b := roundTrip(t, c, requestFrame(req, version, corr))
	resp.SetVersion(version)
	body := b[4:]
	if resp.IsFlexible() {
		body = body[1:] // response header tags
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
}

// expectClosed fails unless the peer closes c without another byte.
func expectClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("%s: answered %d more bytes instead of closing", what, n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("%s: the connection stayed open", what)
	}
}

func dialRaw(t *testing.T, s Server) net.Conn {
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func handshake(t *testing.T, c net.Conn, version int16, mechanism string) *kmsg.SASLHandshakeResponse {
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = mechanism
	resp := kmsg.NewPtrSASLHandshakeResponse()
	saslExchange(t, c, req, version, 1, resp)
	return resp
}

func authenticate(t *testing.T, c net.Conn, version int16, token string) *kmsg.SASLAuthenticateResponse {
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = []byte(token)
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	saslExchange(t, c, req, version, 2, resp)
	return resp
}

// The connection-level rules: only ApiVersions and SASL before
// authentication, an unknown mechanism and a failed exchange answered and
// then closed, a truncated frame closing only its connection.
func TestSASLConnectionRules(t *testing.T) {
	s, log := startLogged(t, saslConfig(t, 0))

	t.Run("request before authentication", func(t *testing.T) {
		c := dialRaw(t, s)
		roundTrip(t, c, apiVersionsFrame(3, 1)) // served
		c.Write(requestFrame(kmsg.NewPtrMetadataRequest(), 12, 2))
		expectClosed(t, c, "Metadata before authentication")
		if len(log.Containing("unexpected Metadata request during SASL authentication")) == 0 {
			t.Fatal("no log line names the refused request")
		}
	})
	t.Run("unknown mechanism", func(t *testing.T) {
		c := dialRaw(t, s)
		resp := handshake(t, c, 1, "GSSAPI")
		if resp.ErrorCode != kerr.UnsupportedSaslMechanism.Code || strings.Join(resp.SupportedMechanisms, ",") != "PLAIN,SCRAM-SHA-512,OAUTHBEARER" {
			t.Fatalf("handshake GSSAPI: code %d mechanisms %v", resp.ErrorCode, resp.SupportedMechanisms)
		}
		expectClosed(t, c, "after UNSUPPORTED_SASL_MECHANISM")
	})
	t.Run("bad password", func(t *testing.T) {
		c := dialRaw(t, s)
		if resp := handshake(t, c, 1, "PLAIN"); resp.ErrorCode != 0 {
			t.Fatalf("handshake PLAIN: code %d", resp.ErrorCode)
		}
		resp := authenticate(t, c, 2, "\x00alice\x00nope")
		if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil || strings.Contains(*resp.ErrorMessage, "nope") {
			t.Fatalf("bad password: code %d message %v", resp.ErrorCode, resp.ErrorMessage)
		}
		expectClosed(t, c, "after SASL_AUTHENTICATION_FAILED")
	})
	t.Run("authenticate without handshake", func(t *testing.T) {
		c := dialRaw(t, s)
		if resp := authenticate(t, c, 1, "\x00alice\x00secret"); resp.ErrorCode != kerr.IllegalSaslState.Code {
			t.Fatalf("SaslAuthenticate first: code %d, want ILLEGAL_SASL_STATE", resp.ErrorCode)
		}
		expectClosed(t, c, "after ILLEGAL_SASL_STATE")
	})
	t.Run("truncated frame", func(t *testing.T) {
		good := dialRaw(t, s)
		handshake(t, good, 1, "PLAIN")
		c := dialRaw(t, s)
		frame := requestFrame(kmsg.NewPtrSASLHandshakeRequest(), 1, 1)
		c.Write(frame[:len(frame)-3])
		c.Close()
		if resp := authenticate(t, good, 2, "\x00alice\x00secret"); resp.ErrorCode != 0 {
			t.Fatalf("the other connection: code %d", resp.ErrorCode)
		}
		roundTrip(t, good, requestFrame(kmsg.NewPtrMetadataRequest(), 12, 3))
	})
}

// SaslHandshake v0 is followed by raw tokens (no request header), as Kafka
// 0.10 clients send them; requests are served after the exchange.
func TestSASLHandshakeV0RawTokens(t *testing.T) {
	s, log := startLogged(t, saslConfig(t, 0))
	c := dialRaw(t, s)
	if resp := handshake(t, c, 0, "PLAIN"); resp.ErrorCode != 0 {
		t.Fatalf("handshake v0: code %d", resp.ErrorCode)
	}
	token := []byte("\x00alice\x00secret")
	if answer := roundTrip(t, c, append(binary.BigEndian.AppendUint32(nil, uint32(len(token))), token...)); len(answer) != 0 {
		t.Fatalf("PLAIN v0 answer %q, want an empty token", answer)
	}
	resp := kmsg.NewPtrMetadataResponse()
	saslExchange(t, c, kmsg.NewPtrMetadataRequest(), 9, 3, resp)
	if len(resp.Brokers) != 1 {
		t.Fatalf("metadata after v0 authentication: %d brokers", len(resp.Brokers))
	}

	// A token shorter than a request header is a token all the same.
	short := dialRaw(t, s)
	handshake(t, short, 0, "PLAIN")
	token = []byte("\x00a\x00b")
	short.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(token))), token...))
	expectClosed(t, short, "a wrong 4-byte v0 token")
	if len(log.Containing("Invalid username or password")) == 0 {
		t.Fatal("the short v0 token was not read as a token")
	}

	// A one-byte token is answered (the connection closes) at once: the
	// server does not read past the frame looking for an API key.
	tiny := dialRaw(t, s)
	handshake(t, tiny, 0, "PLAIN")
	tiny.Write(append(binary.BigEndian.AppendUint32(nil, 1), 'x'))
	expectClosed(t, tiny, "a one-byte v0 token")

	// Before authentication a frame over sasl.server.max.receive.size
	// closes the connection unread.
	big := dialRaw(t, s)
	big.Write(binary.BigEndian.AppendUint32(nil, DefaultSASLMaxReceiveSize+1))
	expectClosed(t, big, "an oversized frame before authentication")
	if len(log.Containing("sasl.server.max.receive.size")) == 0 {
		t.Fatal("no log line for the oversized frame")
	}

	bad := dialRaw(t, s)
	handshake(t, bad, 0, "PLAIN")
	token = []byte("\x00alice\x00nope")
	bad.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(token))), token...))
	expectClosed(t, bad, "a bad v0 token")
}

// KIP-368: the answer carries the session lifetime; a connection that has
// not re-authenticated by then is closed at its next request; kgo, which
// re-authenticates in time, keeps working; re-authentication must keep
// the principal.
func TestSASLReauthentication(t *testing.T) {
	const lifetime = 700 * time.Millisecond
	s, log := startLogged(t, saslConfig(t, lifetime))

	c := dialRaw(t, s)
	handshake(t, c, 1, "PLAIN")
	resp := authenticate(t, c, 2, "\x00alice\x00secret")
	if resp.ErrorCode != 0 || resp.SessionLifetimeMillis <= 0 || resp.SessionLifetimeMillis > lifetime.Milliseconds() {
		t.Fatalf("authenticate: code %d session lifetime %d ms, want (0, %d]", resp.ErrorCode, resp.SessionLifetimeMillis, lifetime.Milliseconds())
	}
	roundTrip(t, c, requestFrame(kmsg.NewPtrMetadataRequest(), 12, 3))

	// Re-authenticating in time extends the session.
	re := dialRaw(t, s)
	handshake(t, re, 1, "PLAIN")
	authenticate(t, re, 2, "\x00alice\x00secret")

	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr().String()), kgo.SASL(plain.Auth{User: "alice", Pass: "secret"}.AsMechanism()), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(3 * lifetime)
	for i := 0; time.Now().Before(deadline); i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := cl.ProduceSync(ctx, kgo.StringRecord("r")).FirstErr()
		cancel()
		if err != nil {
			t.Fatalf("kgo produce %d across re-authentications: %v", i, err)
		}
		if i == 0 {
			time.Sleep(lifetime / 2)
			if resp := handshake(t, re, 1, "PLAIN"); resp.ErrorCode != 0 {
				t.Fatalf("re-authentication handshake: code %d", resp.ErrorCode)
			}
			if resp := authenticate(t, re, 2, "\x00alice\x00secret"); resp.ErrorCode != 0 {
				t.Fatalf("re-authentication: code %d", resp.ErrorCode)
			}
		}
		time.Sleep(lifetime / 5)
	}
	// c never re-authenticated: its next request closes it.
	c.Write(requestFrame(kmsg.NewPtrMetadataRequest(), 12, 4))
	expectClosed(t, c, "a request after the session expired")
	if len(log.Containing("expired")) == 0 {
		t.Fatal("no log line says the session expired")
	}

	// A re-authentication as someone else fails and closes.
	other := dialRaw(t, s)
	handshake(t, other, 1, "OAUTHBEARER")
	authenticate(t, other, 2, "n,,\x01auth=Bearer "+unsecuredToken("alice", time.Hour)+"\x01\x01")
	if resp := handshake(t, other, 1, "OAUTHBEARER"); resp.ErrorCode != 0 {
		t.Fatalf("re-authentication handshake: code %d", resp.ErrorCode)
	}
	if resp := authenticate(t, other, 2, "n,,\x01auth=Bearer "+unsecuredToken("bob", time.Hour)+"\x01\x01"); resp.ErrorCode != kerr.SaslAuthenticationFailed.Code {
		t.Fatalf("re-authentication as bob: code %d, want SASL_AUTHENTICATION_FAILED", resp.ErrorCode)
	}
	expectClosed(t, other, "after a principal change")
}
