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
// malformed frame, an unknown API key or an unsupported version (other
// than ApiVersions, which gets Kafka's v0 fallback answer) closes that one
// connection with a log line and touches no other.
//
// This transport is goroutine-per-connection on net.Conn; the gnet
// event-loop transport the design card asks for is not built yet.
package netserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/netserver/wire"
)

// Config holds the server's limits, with Kafka's names.
type Config struct {
	Addr string
	// MaxRequestBytes is socket.request.max.bytes.
	MaxRequestBytes int32
	// MaxConnections is max.connections (0 = unlimited).
	MaxConnections int
	// IdleTimeout is connections.max.idle.ms.
	IdleTimeout time.Duration
}

// DefaultConfig is Kafka's defaults on addr.
func DefaultConfig(addr string) Config {
	return Config{Addr: addr, MaxRequestBytes: 100 << 20, IdleTimeout: 10 * time.Minute}
}

// Server serves the Kafka protocol.
type Server struct {
	cfg    Config
	broker *handler.Broker
	logf   func(string, ...any)
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen binds cfg.Addr and starts accepting.
func Listen(cfg Config, broker *handler.Broker, logf func(string, ...any)) (*Server, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, broker: broker, logf: logf, ln: ln, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (s *Server) Close() error {
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

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.logf("accept: %v", err)
			}
			return
		}
		s.mu.Lock()
		if s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections {
			s.mu.Unlock()
			s.logf("closing %s: max.connections (%d) reached", c.RemoteAddr(), s.cfg.MaxConnections)
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.serve(c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.logf("closing %s: %v", c.RemoteAddr(), err)
			}
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// serve reads requests from one connection until it fails or closes.
func (s *Server) serve(c net.Conn) error {
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	var sizeBuf [4]byte
	var out []byte
	for {
		if s.cfg.IdleTimeout > 0 {
			c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		}
		if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("idle for %v", s.cfg.IdleTimeout)
			}
			return err
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if size < 8 || size > s.cfg.MaxRequestBytes {
			return fmt.Errorf("request size %d outside [8, %d] (socket.request.max.bytes)", size, s.cfg.MaxRequestBytes)
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(r, frame); err != nil {
			return err
		}
		req, err := wire.Parse(frame)
		if err != nil {
			return err
		}
		var resp kmsg.Response
		switch {
		case req.Key == wire.ApiVersionsKey && (req.Msg == nil || !handler.Supports(req.Key, req.Version)):
			resp = handler.ApiVersionsFallback()
		case req.Msg == nil || !handler.Supports(req.Key, req.Version):
			return fmt.Errorf("unsupported request: api key %d (%s) version %d", req.Key, kmsg.NameForKey(req.Key), req.Version)
		default:
			resp = s.broker.Handle(s.ctx, req)
		}
		if resp == nil {
			continue // acks=0 produce: Kafka sends nothing
		}
		out = wire.AppendResponse(out[:0], req.CorrelationID, resp)
		if _, err := w.Write(out); err != nil {
			return err
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
