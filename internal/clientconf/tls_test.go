package clientconf

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/internal/testcerts"
	"github.com/rillmq/rill/internal/tlsconf"
)

// handshakeOutcome is what the echo server saw of one connection.
type handshakeOutcome struct {
	principal string
	err       error
}

// echoServer is a TLS server that reports each connection's handshake
// and echoes what it reads. It is not a Kafka broker: kgo's first
// request comes back as a response it cannot use, which is enough to
// see the TLS side.
func echoServer(t *testing.T, l *tlsconf.Listener) (string, <-chan handshakeOutcome) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan handshakeOutcome, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, l.Config())
				_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
				if err := tc.Handshake(); err != nil {
					out <- handshakeOutcome{err: err}
					return
				}
				p, err := tlsconf.Principal(tc.ConnectionState(), l.PrincipalMapper())
				out <- handshakeOutcome{principal: p, err: err}
				_, _ = io.Copy(tc, tc)
			}()
		}
	}()
	return ln.Addr().String(), out
}

// firstHandshake starts a kgo client with the configuration's options and
// returns the first handshake the server saw.
func firstHandshake(t *testing.T, c *Config, out <-chan handshakeOutcome) handshakeOutcome {
	t.Helper()
	cl, err := kgo.NewClient(append(c.KgoOpts(), kgo.RetryTimeout(time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = cl.Ping(ctx) }()
	select {
	case o := <-out:
		return o
	case <-ctx.Done():
		t.Fatal("no connection reached the server")
		return handshakeOutcome{}
	}
}

func TestKgoOverMutualTLS(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	alice := ca.MustClient(t, "alice")
	l, err := tlsconf.Server(with(ca.ServerProps(broker, testcerts.PEMFiles), tlsconf.ClientAuth, "required"))
	if err != nil {
		t.Fatal(err)
	}
	// A server per client: a client's reconnections are its own.
	for _, f := range []testcerts.Format{testcerts.PEMFiles, testcerts.PKCS12, testcerts.PEMInline} {
		addr, out := echoServer(t, l)
		c, err := Parse(with(ca.ClientProps(alice, f), BootstrapServers, addr, ClientID, "tls-test"))
		if err != nil {
			t.Fatal(err)
		}
		if o := firstHandshake(t, c, out); o.err != nil || o.principal != "User:CN=alice" {
			t.Errorf("format %d: principal %q, %v", f, o.principal, o.err)
		}
	}

	// Without a key store the server refuses the handshake.
	addr, out := echoServer(t, l)
	c, err := Parse(with(ca.ClientProps(nil, testcerts.PEMFiles), BootstrapServers, addr))
	if err != nil {
		t.Fatal(err)
	}
	if o := firstHandshake(t, c, out); o.err == nil {
		t.Errorf("a client without a certificate got in as %q", o.principal)
	}
}
