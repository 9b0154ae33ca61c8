// Package transport carries raft messages between controller nodes over
// TCP on the controller listener: each frame is a 4-byte big-endian length
// and a protobuf raftpb.Message. Sending is best effort, as raft expects:
// one connection per peer, dialled on demand, messages dropped (and the
// connection redialled later) when a peer is down or its queue is full.
// Frames larger than MaxFrame or that do not decode close the connection
// with a log line.
package transport

import (
	"bufio"
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
	logf    func(string, ...any)

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

// Listen serves addr and hands every received message to deliver; addrs
// are the peers' controller addresses by node id.
func Listen(addr string, addrs map[uint64]string, deliver func(*pb.Message), logf func(string, ...any)) (*Transport, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &Transport{ln: ln, deliver: deliver, logf: logf, peers: map[uint64]*peer{}, addrs: addrs, conns: map[net.Conn]struct{}{}}
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
	var size [4]byte
	for {
		if _, err := io.ReadFull(r, size[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(size[:])
		if n > MaxFrame {
			t.logf("controller transport: closing %s: %d-byte frame", c.RemoteAddr(), n)
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		m := new(pb.Message)
		if err := proto.Unmarshal(buf, m); err != nil {
			t.logf("controller transport: closing %s: %v", c.RemoteAddr(), err)
			return
		}
		t.deliver(m)
	}
}

// Send queues messages to their peers.
func (t *Transport) Send(msgs []*pb.Message) {
	for _, m := range msgs {
		p := t.peer(m.GetTo())
		if p == nil {
			continue
		}
		select {
		case p.queue <- m:
		default: // the peer is slow or down: raft resends
		}
	}
}

func (t *Transport) peer(id uint64) *peer {
	t.mu.Lock()
	defer t.mu.Unlock()
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

// write sends a peer's queue over one connection, redialling as needed.
func (t *Transport) write(addr string, p *peer) {
	defer t.wg.Done()
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
			c, err = net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				continue // dropped; raft retries
			}
			w = bufio.NewWriterSize(c, 64<<10)
		}
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
	if len(b) > MaxFrame {
		return fmt.Errorf("controller transport: %d-byte message", len(b))
	}
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(len(b)))
	if _, err := w.Write(size[:]); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
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
