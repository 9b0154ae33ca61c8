package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/internal/testcerts"
)

// Calls over a TLS controller listener with an authentication exchange
// and an Allow check: an allowed peer is answered, a refused one is not,
// and every closed connection leaves the listener's connection set (each
// TLS connection used to stay in it for good).
func TestSecuredCalls(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	srv := ca.MustServer(t, "controller")
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	principal := func(next func() ([]byte, error), reply func([]byte) error) (string, error) {
		b, err := next()
		if err != nil {
			return "", err
		}
		if err := reply([]byte("ok..")); err != nil {
			return "", err
		}
		return "User:" + string(b), nil
	}
	sec := Security{
		ServerTLS: &tls.Config{Certificates: []tls.Certificate{srv.TLS}},
		Accept:    principal,
		Allow: func(p string) error {
			if p != "User:broker" {
				return errors.New("not a broker")
			}
			return nil
		},
	}
	tr, err := Listen("127.0.0.1:0", nil, sec, func(*pb.Message) {}, func(b []byte) []byte { return append([]byte("re:"), b...) }, logtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	addr := tr.Addr().String()
	as := func(name string) Security {
		return Security{ClientTLS: &tls.Config{RootCAs: pool}, Dial: func(_ context.Context, call func([]byte) ([]byte, error)) error {
			_, err := call([]byte(name))
			return err
		}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 50; i++ {
		reply, err := as("broker").Call(ctx, addr, []byte("hello"))
		if err != nil || string(reply) != "re:hello" {
			t.Fatalf("call %d as broker: %q %v", i, reply, err)
		}
	}
	if _, err := as("intruder").Call(ctx, addr, []byte("hello")); err == nil {
		t.Fatal("a refused principal was answered")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.mu.Lock()
		n := len(tr.conns)
		tr.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d closed connections still in the listener's set", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
