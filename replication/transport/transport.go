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
// Raft messages are best effort, as raft expects:
// one connection per peer, dialled on demand, messages dropped (and the
// connection redialled later) when a peer is down or its queue is full.
// Frames larger than MaxFrame or that do not decode close the connection
// with a log line.
package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
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
	ln      net.Listener
	deliver func(*pb.Message)
	// Handle answers requests (kind 1 frames); nil refuses them all, a nil
	// answer one.
	handle func([]byte) []byte
	logf   func(string, ...any)

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

// Listen serves addr and hands every received message to deliver and
// every request to handle; addrs are the peers' controller addresses by
// node id.
func Listen(addr string, addrs map[uint64]string, deliver func(*pb.Message), handle func([]byte) []byte, logf func(string, ...any)) (*Transport, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &Transport{ln: ln, deliver: deliver, handle: handle, logf: logf, peers: map[uint64]*peer{}, addrs: addrs, conns: map[net.Conn]struct{}{}}
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
	defer func() {
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		kind, body, err := readFrame(r)
		if err != nil {
			if err != io.EOF {
				t.logf("controller transport: closing %s: %v", c.RemoteAddr(), err)
			}
			return
		}
		switch kind {
		case kindRaft:
			m := new(pb.Message)
			if err := proto.Unmarshal(body, m); err != nil {
				t.logf("controller transport: closing %s: %v", c.RemoteAddr(), err)
				return
			}
			t.deliver(m)
		case kindRequest:
			if t.handle == nil {
				return
			}
			reply := t.handle(body)
			if reply == nil {
				t.logf("controller transport: closing %s: a request that is not served", c.RemoteAddr())
				return
			}
			w := bufio.NewWriter(c)
			if writeFrame(w, kindResponse, reply) != nil || w.Flush() != nil {
				return
			}
		default:
			t.logf("controller transport: closing %s: frame kind %d", c.RemoteAddr(), kind)
			return
		}
	}
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 1 || n > MaxFrame {
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
// connection and returns the reply (the kind 2 frame's body).
func Call(ctx context.Context, addr string, req []byte) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if err := writeFrame(c, kindRequest, req); err != nil {
		return nil, err
	}
	kind, body, err := readFrame(bufio.NewReader(c))
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
