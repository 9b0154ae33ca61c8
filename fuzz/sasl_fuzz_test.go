package fuzz

import (
	"errors"
	"testing"
	"time"

	"github.com/rillmq/rill/netserver/sasl"
)

var saslNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// saslMechanisms are the mechanisms FuzzSASL picks from.
var saslMechanisms = []string{sasl.MechanismPlain, sasl.MechanismScramSHA256, sasl.MechanismScramSHA512, sasl.MechanismOAuthBearer}

func saslAuthenticator(f *testing.F) *sasl.Authenticator {
	scram := sasl.ScramUsers{}
	for _, m := range saslMechanisms[1:3] {
		c, err := sasl.NewScramCredential(m, "alice-secret", []byte("salt"), sasl.ScramMinIterations)
		if err != nil {
			f.Fatal(err)
		}
		scram[sasl.ScramKey{Mechanism: m, User: "alice"}] = c
	}
	a, err := sasl.NewAuthenticator(sasl.Config{
		Mechanisms:  saslMechanisms,
		Plain:       sasl.PlainUsers{"alice": "alice-secret"},
		Scram:       scram,
		OAuthBearer: &sasl.UnsecuredValidator{RequiredScope: []string{"kafka"}},
		MaxReauth:   time.Hour,
	})
	if err != nil {
		f.Fatal(err)
	}
	return a
}

// FuzzSASL: arbitrary client messages to every mechanism, as the first
// message or, with stage odd, after a valid first step (SCRAM's
// client-final; OAUTHBEARER's reply to an error challenge). The session
// never panics, every error is an *sasl.Error of a known kind, a failed
// session stays failed, and a completed one names User:alice.
func FuzzSASL(f *testing.F) {
	a := saslAuthenticator(f)
	expired := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6MX0."
	f.Add(uint8(0), uint8(0), []byte("\x00alice\x00alice-secret"))
	f.Add(uint8(0), uint8(0), []byte("alice\x00alice\x00wrong"))
	f.Add(uint8(1), uint8(0), []byte("n,,n=alice,r=abc"))
	f.Add(uint8(2), uint8(0), []byte("n,a=alice,n=alice,r=abc,tokenauth=true"))
	f.Add(uint8(1), uint8(1), []byte("c=biws,r=client-nonceAAAA,p=dGVzdA=="))
	f.Add(uint8(2), uint8(1), []byte("c=biws,r=x,ext=1,p="))
	f.Add(uint8(3), uint8(0), []byte("n,,\x01auth=Bearer "+expired+"\x01\x01"))
	f.Add(uint8(3), uint8(0), []byte("n,a=alice,\x01k=v\x01auth=Bearer abc\x01\x01"))
	f.Add(uint8(3), uint8(1), []byte{1})
	f.Fuzz(func(t *testing.T, mech, stage uint8, data []byte) {
		mechanism := saslMechanisms[int(mech)%len(saslMechanisms)]
		s, err := a.Start(mechanism)
		if err != nil {
			t.Fatal(err)
		}
		if stage%2 == 1 {
			var first []byte
			switch mechanism {
			case sasl.MechanismScramSHA256, sasl.MechanismScramSHA512:
				first = []byte("n,,n=alice,r=client-nonce")
			case sasl.MechanismOAuthBearer:
				first = []byte("n,,\x01auth=Bearer " + expired + "\x01\x01")
			default:
				first = []byte("\x00alice\x00wrong")
			}
			if _, _, err := s.Step(first, saslNow); err != nil && mechanism != sasl.MechanismPlain {
				t.Fatalf("valid first step: %v", err)
			}
		}
		orig := append([]byte(nil), data...)
		for range 2 {
			_, done, err := s.Step(data, saslNow)
			if string(data) != string(orig) {
				t.Fatal("Step modified its input")
			}
			if err != nil {
				var e *sasl.Error
				if !errors.As(err, &e) || !(errors.Is(err, sasl.ErrAuthenticationFailed) || errors.Is(err, sasl.ErrIllegalState)) || e.Message == "" {
					t.Fatalf("error %v (%T)", err, err)
				}
				if done || s.Done() {
					t.Fatal("done with an error")
				}
				if _, _, err := s.Step(data, saslNow); !errors.Is(err, sasl.ErrIllegalState) {
					t.Fatalf("step after failure: %v", err)
				}
				return
			}
			if done {
				if s.Principal() != "User:alice" {
					t.Fatalf("principal %q", s.Principal())
				}
				if s.SessionLifetime(saslNow) <= 0 {
					t.Fatal("no session lifetime with connections.max.reauth.ms set")
				}
				return
			}
		}
	})
}

// FuzzJAAS: the JAAS parser never panics, and what it accepts has a login
// module, a known control flag and options.
func FuzzJAAS(f *testing.F) {
	f.Add(`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret";`)
	f.Add("M /* c */ optional // x\n a='\\101\\n' b=c-d.e$;")
	f.Add("M required a=\"\\")
	f.Add("- / 5 .x -.5 \"")
	f.Fuzz(func(t *testing.T, config string) {
		entries, err := sasl.ParseJAAS(config)
		if err != nil {
			return
		}
		for _, e := range entries {
			switch e.ControlFlag {
			case "REQUIRED", "REQUISITE", "SUFFICIENT", "OPTIONAL":
			default:
				t.Fatalf("flag %q", e.ControlFlag)
			}
			if e.LoginModule == "" || e.Options == nil {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}
