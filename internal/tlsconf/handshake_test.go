package tlsconf

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// result is what both ends of one handshake saw.
type result struct {
	server    tls.ConnectionState
	serverErr error
	client    tls.ConnectionState
	clientErr error
}

// handshake runs one TLS handshake over loopback TCP between a listener
// with serverCfg and a client with clientCfg dialling serverName. The
// server writes a byte once its handshake succeeded, and the client reads
// it, so that a client certificate the server refuses (which TLS 1.3
// reports after the client's handshake is done) fails the client too.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config, serverName string) result {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tln := tls.NewListener(ln, serverCfg)
	type serverResult struct {
		state tls.ConnectionState
		err   error
	}
	done := make(chan serverResult, 1)
	go func() {
		c, err := tln.Accept()
		if err != nil {
			done <- serverResult{err: err}
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			done <- serverResult{err: err}
			return
		}
		_, err = tc.Write([]byte{1})
		done <- serverResult{state: tc.ConnectionState(), err: err}
	}()
	var r result
	cfg := clientCfg.Clone()
	cfg.ServerName = serverName
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), cfg)
	if err != nil {
		r.clientErr = err
	} else {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		var b [1]byte
		if _, err := io.ReadFull(conn, b[:]); err != nil {
			r.clientErr = err
		}
		r.client = conn.ConnectionState()
		conn.Close()
	}
	sr := <-done
	r.server, r.serverErr = sr.state, sr.err
	return r
}

func (r result) ok() error {
	return errors.Join(r.serverErr, r.clientErr)
}
