// Package transport carries raft messages between controller nodes, and
// brokers' requests to them, over TCP on the controller listener. Each
// frame is a 4-byte big-endian length, a kind byte and a body:
//
//	kind 0  a protobuf raftpb.Message (one way)
//	kind 1  a broker's request: a Kafka request as on a Kafka connection
//	        (request header, then the kmsg-encoded body), the frame's
//	        length standing in for Kafka's size prefix; answered on the
//	        same connection by a kind 2 frame holding the Kafka response
//	        (correlation id, response header, body). Handle (package
//	        node's HandleRPC) makes the answer; a request it does not
//	        answer (not a request a controller serves) closes the
//	        connection, as Kafka does.
//
// A controller listener may be secured (Security): TLS on both ends, and
// an authentication exchange at the start of every connection before any
// other frame — kind 1 requests and kind 2 answers, as Kafka's SASL
// exchange is carried on a Kafka connection (SaslHandshake,
// SaslAuthenticate). The transport only frames the exchange; the hooks
// speak it (package netserver for the server side, clientconf for the
// client's). A connection whose exchange fails is closed with a log line.
//
// Raft messages are best effort, as raft expects:
// one connection per peer, dialled on demand, messages dropped (and the
// connection redialled later) when a peer is down or its queue is full.
// Frames larger than MaxFrame or that do not decode close the connection
// with a log line.
package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// MaxFrame bounds one message (raft batches up to 1 MiB of entries).
const MaxFrame = 16 << 20

// Transport is one node's end.
type Transport struct {
	sec     Security
	ln      net.Listener
	deliver func(*pb.Message)
	// Handle answers requests (kind 1 frames); nil refuses them all, a nil
	// answer one.
	handle func([]byte) []byte
	log    *slog.Logger

	mu    sync.Mutex
	peers map[uint64]*peer
	addrs map[uint64]string
	conns map[net.Conn]struct{}
	done  bool
	wg    sync.WaitGroup
}

type peer struct {
	queue chan *pb.Message
}

const (
	kindRaft     = 0
	kindRequest  = 1
	kindResponse = 2
)

// Security secures a controller listener and the connections to it. The
// zero value is PLAINTEXT.
type Security struct {
	// ServerTLS wraps accepted connections and ClientTLS dialled ones
	// (SSL, SASL_SSL); nil for none.
	ServerTLS, ClientTLS *tls.Config
	// Accept, when set, runs the authentication exchange of an accepted
	// connection before anything else is served on it: next reads one
	// kind 1 request body, reply writes one kind 2 answer body; it
	// returns the authenticated principal. An error closes the
	// connection.
	Accept func(next func() ([]byte, error), reply func([]byte) error) (principal string, err error)
	// TLSPrincipal is the principal of a TLS client without Accept (an
	// SSL controller listener): its certificate's, mapped.
	TLSPrincipal func(tls.ConnectionState) (string, error)
	// Allow decides whether an authenticated principal may use the
	// controller listener (Kafka checks CLUSTER_ACTION there); nil allows
	// every one. A refused connection is closed with a log line.
	Allow func(principal string) error
	// Dial, when set, runs the client's side of that exchange on every
	// dialled connection: call sends a request body and returns the
	// answer body.
	Dial func(ctx context.Context, call func(req []byte) ([]byte, error)) error
}

// handshakeTimeout bounds a connection's TLS handshake and authentication
// exchange.
const handshakeTimeout = 10 * time.Second

// Listen serves addr and hands every received message to deliver and
// every request to handle; addrs are the peers' controller addresses by
// node id. sec secures the listener and the connections to peers.
func Listen(addr string, addrs map[uint64]string, sec Security, deliver func(*pb.Message), handle func([]byte) []byte, log *slog.Logger) (*Transport, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &Transport{sec: sec, ln: ln, deliver: deliver, handle: handle, log: log, peers: map[uint64]*peer{}, addrs: addrs, conns: map[net.Conn]struct{}{}}
	t.wg.Add(1)
	go t.accept()
	return t, nil
}

// Addr is the listening address.
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

func (t *Transport) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.mu.Lock()
		if t.done {
			t.mu.Unlock()
			c.Close()
			return
		}
		t.conns[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.read(c)
	}
}

func (t *Transport) read(c net.Conn) {
	defer t.wg.Done()
	raw := c // the key in conns; c may become a *tls.Conn
	defer func() {
		t.mu.Lock()
		delete(t.conns, raw)
		t.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	if err := t.secureAccepted(&c, &r); err != nil {
		t.log.Warn("closing controller connection: not secured", "remote", c.RemoteAddr(), "err", err)
		return
	}
	for {
		kind, body, err := readFrame(r)
		if err != nil {
			if err != io.EOF {
				t.log.Info("closing controller connection", "remote", c.RemoteAddr(), "err", err)
			}
			return
		}
		switch kind {
		case kindRaft:
			m := new(pb.Message)
			if err := proto.Unmarshal(body, m); err != nil {
				t.log.Warn("closing controller connection: raft message does not decode", "remote", c.RemoteAddr(), "err", err)
				return
			}
			t.deliver(m)
		case kindRequest:
			if t.handle == nil {
				return
			}
			reply := t.handle(body)
			if reply == nil {
				t.log.Warn("closing controller connection: a request that is not served", "remote", c.RemoteAddr())
				return
			}
			w := bufio.NewWriter(c)
			if writeFrame(w, kindResponse, reply) != nil || w.Flush() != nil {
				return
			}
		default:
			t.log.Warn("closing controller connection: unknown frame kind", "remote", c.RemoteAddr(), "kind", kind)
			return
		}
	}
}

func readFrame(r io.Reader) (byte, []byte, error) { return readFrameMax(r, MaxFrame) }

func readFrameMax(r io.Reader, max uint32) (byte, []byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 1 || n > max {
		return 0, nil, fmt.Errorf("%d-byte frame", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

func writeFrame(w io.Writer, kind byte, body []byte) error {
	if len(body)+1 > MaxFrame {
		return fmt.Errorf("controller transport: %d-byte frame", len(body)+1)
	}
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)+1))
	hdr[4] = kind
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// Call sends one request (a kind 1 frame's body) to addr on its own
// connection, secured by sec, and returns the reply (the kind 2 frame's
// body). It is a node.Caller.
func (sec Security) Call(ctx context.Context, addr string, req []byte) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer func() { c.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	r := bufio.NewReader(c)
	if err := sec.secureDialled(ctx, addr, &c, &r); err != nil {
		return nil, err
	}
	return roundTrip(c, r, req)
}

// roundTrip sends one request and reads its answer.
func roundTrip(c io.Writer, r io.Reader, req []byte) ([]byte, error) {
	if err := writeFrame(c, kindRequest, req); err != nil {
		return nil, err
	}
	kind, body, err := readFrame(r)
	if err != nil {
		return nil, err
	}
	if kind != kindResponse {
		return nil, fmt.Errorf("controller transport: reply of kind %d", kind)
	}
	return body, nil
}

// Send queues messages to their peers. It holds the lock while queueing
// (never blocking: a full queue drops the message) so Close cannot close a
// queue under it.
func (t *Transport) Send(msgs []*pb.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		p := t.peerLocked(m.GetTo())
		if p == nil {
			continue
		}
		select {
		case p.queue <- m:
		default: // the peer is slow or down: raft resends
		}
	}
}

func (t *Transport) peerLocked(id uint64) *peer {
	if t.done {
		return nil
	}
	if p := t.peers[id]; p != nil {
		return p
	}
	addr, ok := t.addrs[id]
	if !ok {
		return nil
	}
	p := &peer{queue: make(chan *pb.Message, 4096)}
	t.peers[id] = p
	t.wg.Add(1)
	go t.write(addr, p)
	return p
}

// peerTimeout bounds how long raft messages to a peer may go unacknowledged
// (or a write block) before the connection is dropped and redialled.
const peerTimeout = 2 * time.Second

// write sends a peer's queue over one connection, redialling as needed.
func (t *Transport) write(addr string, p *peer) {
	defer t.wg.Done()
	dialer := net.Dialer{Timeout: time.Second, Control: setUserTimeout(peerTimeout)}
	var c net.Conn
	var w *bufio.Writer
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for m := range p.queue {
		if c == nil {
			var err error
			c, err = dialer.Dial("tcp", addr)
			if err != nil {
				continue // dropped; raft retries
			}
			ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
			c.SetDeadline(time.Now().Add(handshakeTimeout))
			r := bufio.NewReader(c)
			err = t.sec.secureDialled(ctx, addr, &c, &r)
			cancel()
			if err != nil {
				t.log.Warn("securing controller connection failed", "peer", addr, "err", err)
				c.Close()
				c = nil
				continue // dropped; raft retries
			}
			c.SetDeadline(time.Time{})
			w = bufio.NewWriterSize(c, 64<<10)
		}
		c.SetWriteDeadline(time.Now().Add(peerTimeout))
		if err := t.writeFrame(w, m); err == nil && len(p.queue) == 0 {
			err = w.Flush()
			if err != nil {
				c.Close()
				c = nil
			}
		} else if err != nil {
			c.Close()
			c = nil
		}
	}
}

func (t *Transport) writeFrame(w *bufio.Writer, m *pb.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return writeFrame(w, kindRaft, b)
}

// Close stops listening, closes connections and ends the writers.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.done = true
	for c := range t.conns {
		c.Close()
	}
	for _, p := range t.peers {
		close(p.queue)
	}
	t.peers = map[uint64]*peer{}
	t.mu.Unlock()
	err := t.ln.Close()
	t.wg.Wait()
	return err
}

// secureAccepted runs the TLS handshake and the authentication exchange
// of an accepted connection, replacing *c and *r with the secured ones.
func (t *Transport) secureAccepted(c *net.Conn, r **bufio.Reader) error {
	if t.sec.ServerTLS == nil && t.sec.Accept == nil {
		return nil
	}
	(*c).SetDeadline(time.Now().Add(handshakeTimeout))
	defer func() { (*c).SetDeadline(time.Time{}) }()
	if t.sec.ServerTLS != nil {
		tc := tls.Server(*c, t.sec.ServerTLS)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		*c, *r = tc, bufio.NewReaderSize(tc, 64<<10)
	}
	principal := ""
	if t.sec.Accept != nil {
		conn, rd := *c, *r
		next := func() ([]byte, error) {
			kind, body, err := readFrameMax(rd, maxUnauthenticatedFrame)
			if err != nil {
				return nil, err
			}
			if kind != kindRequest {
				return nil, fmt.Errorf("frame kind %d before authentication", kind)
			}
			return body, nil
		}
		reply := func(b []byte) error { return writeFrame(conn, kindResponse, b) }
		p, err := t.sec.Accept(next, reply)
		if err != nil {
			return fmt.Errorf("authentication: %w", err)
		}
		principal = p
	} else if tc, ok := (*c).(*tls.Conn); ok && t.sec.TLSPrincipal != nil {
		p, err := t.sec.TLSPrincipal(tc.ConnectionState())
		if err != nil {
			return fmt.Errorf("TLS principal: %w", err)
		}
		principal = p
	}
	if t.sec.Allow != nil {
		if err := t.sec.Allow(principal); err != nil {
			return fmt.Errorf("%s refused: %w", principal, err)
		}
	}
	return nil
}

// maxUnauthenticatedFrame bounds a frame before authentication (Kafka's
// sasl.server.max.receive.size), so an unauthenticated peer cannot make
// the node allocate MaxFrame.
const maxUnauthenticatedFrame = 512 << 10

// secureDialled is secureAccepted's client side, on a connection to addr.
func (s Security) secureDialled(ctx context.Context, addr string, c *net.Conn, r **bufio.Reader) error {
	if s.ClientTLS != nil {
		cfg := s.ClientTLS
		if cfg.ServerName == "" {
			// As kgo does: verify the certificate against the host dialled.
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(*c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		*c, *r = tc, bufio.NewReader(tc)
	}
	if s.Dial == nil {
		return nil
	}
	conn, rd := *c, *r
	if err := s.Dial(ctx, func(req []byte) ([]byte, error) { return roundTrip(conn, rd, req) }); err != nil {
		return fmt.Errorf("authentication: %w", err)
	}
	return nil
}
