package sasl

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	kafkasasl "github.com/twmb/franz-go/pkg/sasl"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// errClient marks a failure the client side detected.
var errClient = errors.New("client rejected the server")

// exchange drives a franz-go client mechanism against a server session in
// memory, as kgo drives SaslAuthenticate: each client message is stepped,
// each server answer is given to the client, until the server is done or
// fails. It returns the server's error, or errClient wrapped.
func exchange(t testing.TB, mech kafkasasl.Mechanism, s *Session, now time.Time) error {
	t.Helper()
	cs, msg, err := mech.Authenticate(context.Background(), "broker:9092")
	if err != nil {
		t.Fatalf("client Authenticate: %v", err)
	}
	for range 10 {
		resp, done, err := s.Step(msg, now)
		if err != nil {
			return err
		}
		clientDone, next, cerr := cs.Challenge(resp)
		if cerr != nil {
			return fmt.Errorf("%w: %v", errClient, cerr)
		}
		if done {
			if !clientDone {
				return fmt.Errorf("%w: server done, client not", errClient)
			}
			return nil
		}
		if clientDone {
			return fmt.Errorf("%w: client done, server not", errClient)
		}
		msg = next
	}
	t.Fatal("exchange did not end in 10 steps")
	return nil
}

func mustAuthenticator(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	a, err := NewAuthenticator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustStart(t testing.TB, a *Authenticator, mechanism string) *Session {
	t.Helper()
	s, err := a.Start(mechanism)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantError checks err is an *Error of kind with message msg ("" for any).
func wantError(t testing.TB, err error, kind error, msg string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want kind %v", err, kind)
	}
	if msg != "" && e.Message != msg {
		t.Fatalf("message %q, want %q", e.Message, msg)
	}
	return e
}

// unsecuredJWT builds an alg "none" token with the given claims.
func unsecuredJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(c) + "."
}

// zeroReader is a deterministic nonce source.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
