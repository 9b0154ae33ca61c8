package sasl

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// BenchmarkScramExchange: server is the broker's cost of one SCRAM
// authentication (two Steps; the client's messages are precomputed, the
// server nonce fixed so they stay valid); with-client adds franz-go's
// client, whose PBKDF2 over 4096 iterations dominates.
func BenchmarkScramExchange(b *testing.B) {
	users := scramUsers(b, ScramMinIterations)
	for _, mech := range scramMechanisms {
		auth := scram.Auth{User: "alice", Pass: "alice-secret", Nonce: []byte("bench-nonce")}
		m := auth.AsSha256Mechanism()
		if mech == MechanismScramSHA512 {
			m = auth.AsSha512Mechanism()
		}
		a := mustAuthenticator(b, Config{Mechanisms: scramMechanisms, Scram: users, Rand: zeroReader{}})

		b.Run(mech+"/server", func(b *testing.B) {
			cs, first, _ := m.Authenticate(context.Background(), "b")
			s := mustStart(b, a, mech)
			serverFirst, _, err := s.Step(first, testNow)
			if err != nil {
				b.Fatal(err)
			}
			_, final, _ := cs.Challenge(serverFirst)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s, _ := a.Start(mech)
				if _, _, err := s.Step(first, testNow); err != nil {
					b.Fatal(err)
				}
				if _, done, err := s.Step(final, testNow); err != nil || !done {
					b.Fatal(err)
				}
			}
		})

		b.Run(mech+"/with-client", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, _ := a.Start(mech)
				if err := exchange(b, m, s, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
