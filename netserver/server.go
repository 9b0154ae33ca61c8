// Package netserver is Rill's Kafka protocol server: it accepts TCP
// connections, frames requests (package wire), hands them to the API
// handlers (package handler) and writes the responses back.
//
// Per connection, requests are processed one at a time in arrival order
// and responses go out in the same order, which is what Kafka's own broker
// does (it mutes a connection while its request is in flight); clients
// pipeline across connections. Limits: socket.request.max.bytes bounds a
// frame; max.connections bounds open connections (more are closed on
// accept with a log line); connections.max.idle.ms closes idle ones. A
// failing accept (out of file descriptors: EMFILE) backs off and retries
// with one log line per episode, never ending the listener (accept.go). An
// idle netconn connection holds no buffers (connbuf.go). A
// malformed frame, an unknown API key or an unsupported version (other
// than ApiVersions, which gets Kafka's v0 fallback answer) closes that one
// connection with a log line and touches no other. Each connection has its
// own context, derived from the server's (which names its listener:
// Config.Listener), which ends when the connection
// closes; its requests run under it, so a long poll (Fetch, JoinGroup,
// SyncGroup) ends with its connection, not at its deadline. A client over
// its quota (handler/quota.go) is answered at once with the throttle time
// and its connection muted for it (KIP-219): the next request is not
// read (netconn) or not handled (gnet, whose loops keep reading into the
// connection's queue) until the throttle ends.
//
// Two transports serve the same handlers (Config.Transport): "netconn",
// goroutine-per-connection on net.Conn (this file), and "gnet", gnet/v2
// event loops (each connection accepted by the server and registered with
// a loop) that only frame requests and hand them to one worker
// goroutine per connection, which writes each batch of responses with one
// AsyncWrite (gnet.go). BENCHMARKS.md compares them; the default is the
// faster one there.
package netserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/netserver/sasl"
)

// Config holds the server's limits, with Kafka's names.
type Config struct {
	Addr string
	// Bound, when set, is Addr already bound (rill serve binds its
	// listeners before recovering the logs, so a port in use fails the
	// start at once); the server owns it from Listen on. Both
	// transports accept on it (gnet hands each connection to a loop).
	Bound net.Listener
	// Listener is the name of the listener this server serves (Kafka's
	// listeners setting): every connection's context carries it
	// (handler.WithListener), so clients are answered with that
	// listener's advertised addresses. A broker with several listeners
	// runs one server per listener.
	Listener string
	// Transport is "netconn" or "gnet" (rill's net.transport).
	Transport string
	// NoSendfile makes the netconn transport copy Fetch record data
	// through user space (one read from the page cache) instead of
	// sendfile. The default, DefaultNoSendfile, is what measured faster
	// in BENCHMARKS.md.
	NoSendfile bool
	// MaxRequestBytes is socket.request.max.bytes.
	MaxRequestBytes int32
	// MaxConnections is max.connections (0 = unlimited).
	MaxConnections int
	// IdleTimeout is connections.max.idle.ms.
	IdleTimeout time.Duration

	// TLS, when set, makes the listener speak TLS (an SSL or SASL_SSL
	// listener): the handshake runs on accept, within
	// TLSHandshakeTimeout, and a failed one closes the connection with a
	// log line. Fetch data is then copied, never sent with sendfile.
	TLS *tls.Config
	// TLSHandshakeTimeout bounds the TLS handshake (0: 10 s).
	TLSHandshakeTimeout time.Duration
	// TLSPrincipal is the principal of a TLS client from its handshake
	// (the certificate's subject, ssl.principal.mapping.rules); nil, or
	// a client without a certificate, is User:ANONYMOUS. Used on SSL
	// listeners; SASL_SSL takes the SASL principal. An error (no mapping
	// rule matched) closes the connection.
	TLSPrincipal func(tls.ConnectionState) (string, error)
	// SASL, when set, makes every connection authenticate before any
	// request but ApiVersions is served (SASL_PLAINTEXT, SASL_SSL; see
	// sasl.go).
	SASL *sasl.Authenticator
	// FailedAuthenticationDelay is connection.failed.authentication.delay.ms:
	// how long a failed authentication waits before its answer.
	FailedAuthenticationDelay time.Duration
	// SASLMaxReceiveSize is sasl.server.max.receive.size: the largest
	// frame a connection may send before it has authenticated (0:
	// DefaultSASLMaxReceiveSize), so an unauthenticated client cannot
	// make the broker allocate socket.request.max.bytes.
	SASLMaxReceiveSize int32
}

// DefaultSASLMaxReceiveSize is Kafka's sasl.server.max.receive.size.
const DefaultSASLMaxReceiveSize = 512 << 10

// secure reports whether the listener does TLS or SASL, which only the
// netconn transport serves.
func (c Config) secure() bool { return c.TLS != nil || c.SASL != nil }

// DefaultConfig is Kafka's defaults on addr.
func DefaultConfig(addr string) Config {
	return Config{Addr: addr, Transport: DefaultTransport, NoSendfile: DefaultNoSendfile, MaxRequestBytes: 100 << 20, IdleTimeout: 10 * time.Minute}
}

// DefaultNoSendfile: on loopback with a client on the same two cores, one
// copy measured faster than sendfile (BENCHMARKS.md), so sendfile is opt-in
// (net.sendfile=true).
const DefaultNoSendfile = true

// DefaultTransport is the faster transport in BENCHMARKS.md.
const DefaultTransport = "netconn"

// Server serves the Kafka protocol until Close.
type Server interface {
	// Addr is the bound address.
	Addr() net.Addr
	// Close stops accepting, closes every connection and waits for the
	// transport's goroutines.
	Close() error
}

// Listen binds cfg.Addr with cfg.Transport and starts serving.
func Listen(cfg Config, broker *handler.Broker, log *slog.Logger) (Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch cfg.Transport {
	case "", "netconn":
		return listenConn(cfg, broker, log)
	case "gnet":
		if cfg.secure() {
			// TLS and SASL are per-connection state on the serving
			// goroutine; the event loops only frame.
			return listenConn(cfg, broker, log)
		}
		return listenGnet(cfg, broker, log)
	}
	return nil, fmt.Errorf("netserver: unknown transport %q (want netconn or gnet)", cfg.Transport)
}

// connServer is the net.Conn transport.
type connServer struct {
	cfg    Config
	broker *handler.Broker
	log    *slog.Logger
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func listenConn(cfg Config, broker *handler.Broker, log *slog.Logger) (*connServer, error) {
	ln := cfg.Bound
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, err
		}
	}
	if cfg.SASLMaxReceiveSize <= 0 {
		cfg.SASLMaxReceiveSize = DefaultSASLMaxReceiveSize
	}
	if cfg.TLS != nil {
		cfg.NoSendfile = true
		if cfg.TLSHandshakeTimeout <= 0 {
			cfg.TLSHandshakeTimeout = 10 * time.Second
		}
	}
	ctx, cancel := context.WithCancel(handler.WithListener(context.Background(), cfg.Listener))
	s := &connServer{cfg: cfg, broker: broker, log: log, ln: ln, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *connServer) Addr() net.Addr { return s.ln.Addr() }

func (s *connServer) Close() error {
	s.cancel()
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// errIdle ends a connection that sent nothing for connections.max.idle.ms:
// routine, so it is logged at Debug, not with the failures.
var errIdle = errors.New("idle past connections.max.idle.ms")

func (s *connServer) accept() {
	defer s.wg.Done()
	backoff := acceptBackoff{log: s.log, addr: s.ln.Addr().String()}
	for {
		c, err := s.ln.Accept()
		if err != nil {
			// Out of descriptors (EMFILE) and the like pass: back off
			// and retry (accept.go). Only Close ends the loop.
			if errors.Is(err, net.ErrClosed) || !backoff.failed(s.ctx, err) {
				return
			}
			continue
		}
		backoff.succeeded()
		s.mu.Lock()
		if s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections {
			s.mu.Unlock()
			s.log.Warn("closing connection: max.connections reached", "remote", c.RemoteAddr().String(), "max_connections", s.cfg.MaxConnections)
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithCancel(s.ctx)
			defer cancel()
			switch err := s.serve(ctx, cancel, c); {
			case errors.Is(err, errIdle):
				s.log.Debug("closing connection: idle", "remote", c.RemoteAddr().String(), "idle_timeout", s.cfg.IdleTimeout)
			case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
				s.log.Info("closing connection", "remote", c.RemoteAddr().String(), "err", err)
			}
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// serve reads requests from one connection until it fails or closes. ctx
// is the connection's: cancel ends it when the peer closes while a request
// is in flight (peerWatch).
func (s *connServer) serve(ctx context.Context, cancel context.CancelFunc, c net.Conn) error {
	host := clientHost(c.RemoteAddr())
	id := handler.Identity{Principal: handler.AnonymousPrincipal, Host: strings.TrimPrefix(host, "/")}
	if s.cfg.TLS != nil {
		tc, err := s.handshake(ctx, c)
		if err != nil {
			return err
		}
		c = tc
		if s.cfg.TLSPrincipal != nil {
			if id.Principal, err = s.cfg.TLSPrincipal(tc.ConnectionState()); err != nil {
				return fmt.Errorf("TLS principal: %w", err)
			}
		}
	}
	// quotas is the connection's client quota state: a request over its
	// quota is answered at once and the connection muted for the
	// throttle time (KIP-219): its next request is not read until then.
	quotas := s.broker.NewQuotaConn()
	ctx = handler.WithQuotaConn(ctx, quotas)
	// base is the context an authentication's identity is added to: a
	// re-authentication replaces the identity instead of stacking one
	// more context on every request's path.
	base := ctx
	var sc *saslConn
	if s.cfg.SASL != nil {
		sc = &saslConn{auth: s.cfg.SASL, delay: s.cfg.FailedAuthenticationDelay, host: id.Host}
	} else {
		ctx = handler.WithIdentity(ctx, id)
	}
	// The connection's buffers are pooled while it is idle (connbuf.go).
	bufs := &connBuffers{c: c}
	defer bufs.release(false)
	watch := newPeerWatch(c, bufs, cancel)
	defer watch.close()
	var sizeBuf [4]byte
	for {
		if s.cfg.IdleTimeout > 0 {
			c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		}
		if err := bufs.readSize(&sizeBuf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return errIdle
			}
			return err
		}
		r, w := bufs.r, bufs.w
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		minSize := int32(8) // a request header
		if sc != nil && sc.raw {
			minSize = 0 // a SaslHandshake v0 token has no header
		}
		if size < minSize || size > s.cfg.MaxRequestBytes {
			return fmt.Errorf("request size %d outside [%d, %d] (socket.request.max.bytes)", size, minSize, s.cfg.MaxRequestBytes)
		}
		if sc != nil && sc.done == nil && size > s.cfg.SASLMaxReceiveSize {
			return fmt.Errorf("%d-byte frame before authentication, over sasl.server.max.receive.size (%d)", size, s.cfg.SASLMaxReceiveSize)
		}
		// A Produce frame's buffer is reused: its record bytes are
		// validated and written to the log during the call and nothing
		// keeps them. That saves zeroing (and the GC returning) a fresh
		// buffer of up to a megabyte per request: about half the
		// broker's CPU per produced megabyte (BENCHMARKS.md, make
		// bench-profile).
		// Peek only within the frame: a SASL v0 raw token may be
		// shorter than an API key, and peeking past it would wait for
		// the next frame.
		produce := false
		if size >= 2 {
			key, err := r.Peek(2)
			produce = err == nil && binary.BigEndian.Uint16(key) == 0
		}
		frame := bufs.frame(int(size), produce)
		if _, err := io.ReadFull(r, frame); err != nil {
			return err
		}
		if sc != nil {
			o, err := sc.handle(frame, time.Now())
			if o.identity != nil {
				ctx = handler.WithIdentity(base, *o.identity)
			}
			if !o.pass {
				if err != nil && !o.closeAfter {
					return err
				}
				if err := s.answerSASL(ctx, w, o); err != nil {
					return err
				}
				if o.closeAfter {
					if err == nil {
						err = errors.New("closed after a refused SASL handshake")
					}
					return err
				}
				continue
			}
		}
		watch.start()
		quotas.Begin(frame)
		resp, corr, timing, err := timedRespond(ctx, s.broker, frame, host)
		mute := quotas.End(ctx, resp)
		watch.stop()
		if err != nil {
			return err
		}
		if resp == nil {
			timing.sent()
			// acks=0 produce: Kafka sends nothing, but mutes a throttled
			// connection all the same.
			if mute > 0 {
				if err := s.mute(ctx, w, watch, mute); err != nil {
					return err
				}
			}
			continue
		}
		if fr, ok := resp.(*handler.FetchResponse); ok && len(fr.Ranges) > 0 && !s.cfg.NoSendfile {
			pieces, err := encodeFetch(corr, fr)
			if err != nil {
				return err
			}
			if err := writePieces(w, c, pieces); err != nil {
				return err
			}
		} else {
			out, err := appendResponse(bufs.encodeBuffer(), corr, resp)
			bufs.keepEncoded(out)
			if err != nil {
				return err
			}
			if _, err := w.Write(out); err != nil {
				return err
			}
		}
		timing.sent()
		if mute > 0 {
			if err := s.mute(ctx, w, watch, mute); err != nil {
				return err
			}
			continue
		}
		// Flush unless a whole next request is already buffered:
		// pipelined requests then share one write.
		if !wholeFrameBuffered(r) {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

// muteFor sends what w holds and waits d before the connection's next
// request is read (KIP-219's muted channel): a timer, or the connection
// closing.
// mute mutes the connection for d after flushing its answer, watching
// the peer meanwhile (a client that closes while throttled frees its
// connection at once) and for at most connections.max.idle.ms (a
// throttle longer than that is an idle connection; Kafka's byte-rate
// throttles have no bound of their own).
func (s *connServer) mute(ctx context.Context, w *bufio.Writer, watch *peerWatch, d time.Duration) error {
	if s.cfg.IdleTimeout > 0 && d > s.cfg.IdleTimeout {
		d = s.cfg.IdleTimeout
	}
	watch.start()
	defer watch.stop()
	return muteFor(ctx, w, d)
}

func muteFor(ctx context.Context, w *bufio.Writer, d time.Duration) error {
	if err := w.Flush(); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxReusedFrame bounds the Produce buffer a connection keeps.
const maxReusedFrame = 4 << 20

func wholeFrameBuffered(r *bufio.Reader) bool {
	if r.Buffered() < 4 {
		return false
	}
	p, err := r.Peek(4)
	if err != nil {
		return false
	}
	return r.Buffered()-4 >= int(binary.BigEndian.Uint32(p))
}

// watchAfter is how long a request runs before peerWatch starts watching
// its connection: short requests cost a timer reset and nothing more.
const watchAfter = 10 * time.Millisecond

// peerWatch notices a peer closing its connection while a request is in
// flight, and cancels the connection's context so long polls (Fetch
// MaxWaitMillis, JoinGroup, SyncGroup) end with it. The serving goroutine
// does not read while a handler runs, so for a request still running after
// watchAfter a goroutine peeks at the connection's reader meanwhile:
// end of stream or an error other than a timeout means the peer is gone.
// Pipelined requests are only peeked, never consumed; a reader full of them
// ends the watch. stop interrupts the peek with a read deadline and waits,
// so the serving goroutine owns the reader again when it returns.
type peerWatch struct {
	c      net.Conn
	bufs   *connBuffers // its reader is the connection's while a request runs
	cancel context.CancelFunc
	timer  *time.Timer
	done   chan struct{} // a watch that started has ended
}

func newPeerWatch(c net.Conn, bufs *connBuffers, cancel context.CancelFunc) *peerWatch {
	w := &peerWatch{c: c, bufs: bufs, cancel: cancel, done: make(chan struct{}, 1)}
	w.timer = time.AfterFunc(time.Hour, w.watch)
	w.timer.Stop()
	return w
}

// start arms the watch for the request about to run.
func (w *peerWatch) start() { w.timer.Reset(watchAfter) }

// stop disarms it; the reader is the caller's again on return.
func (w *peerWatch) stop() {
	if w.timer.Stop() {
		return // the request finished before the watch began
	}
	w.c.SetReadDeadline(time.Unix(1, 0))
	<-w.done
	w.c.SetReadDeadline(time.Time{}) // serve sets the idle deadline before reading
}

func (w *peerWatch) close() { w.timer.Stop() }

func (w *peerWatch) watch() {
	defer func() { w.done <- struct{}{} }()
	r := w.bufs.r
	for n := r.Buffered() + 1; n <= r.Size(); n = r.Buffered() + 1 {
		if _, err := r.Peek(n); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				w.cancel()
			}
			return
		}
	}
}

// handshake runs the TLS handshake of a new connection.
func (s *connServer) handshake(ctx context.Context, c net.Conn) (*tls.Conn, error) {
	tc := tls.Server(c, s.cfg.TLS)
	hctx, cancel := context.WithTimeout(ctx, s.cfg.TLSHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// answerSASL writes a SASL answer the connection gives itself, after the
// failed-authentication delay when there is one.
func (s *connServer) answerSASL(ctx context.Context, w *bufio.Writer, o saslOutcome) error {
	if o.delay > 0 {
		t := time.NewTimer(o.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	var out []byte
	if o.resp != nil {
		var err error
		if out, err = appendResponse(nil, o.corr, o.resp); err != nil {
			return err
		}
	} else if o.sendRaw {
		out = binary.BigEndian.AppendUint32(nil, uint32(len(o.raw)))
		out = append(out, o.raw...)
	}
	if _, err := w.Write(out); err != nil {
		return err
	}
	return w.Flush()
}
