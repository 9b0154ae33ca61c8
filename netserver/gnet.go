package netserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/rillmq/rill/netserver/handler"
)

// gnetServer is the event-loop transport. The loops only frame: OnTraffic
// cuts whole request frames out of the inbound buffer, copies them and
// queues them on the connection; it never parses a body or waits. One
// worker goroutine per connection answers the queued frames in order and
// sends every response it has ready in one AsyncWrite, so pipelined
// requests cost one loop wake-up for the whole batch.
type gnetServer struct {
	gnet.BuiltinEventEngine
	cfg    Config
	broker *handler.Broker
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	eng   gnet.Engine
	ln    net.Listener  // clients connect here: see accept
	ready chan struct{} // closed by the first OnTick: the loops run
	once  sync.Once
	done  chan error

	accepting sync.WaitGroup // the accept goroutine

	conns   sync.Map // gnet.Conn → *gconn
	nconns  atomic.Int64
	workers sync.WaitGroup
}

// gconn is one connection's request queue. ctx is the connection's
// context, handed to every request: OnClose cancels it, so a long poll in
// flight ends when its connection does.
type gconn struct {
	c          gnet.Conn
	ctx        context.Context
	cancel     context.CancelFunc
	remote     string // RemoteAddr is only safe on the loop: kept here
	host       string // clientHost(RemoteAddr), for group membership
	mu         sync.Mutex
	queue      [][]byte
	queued     int // bytes in queue
	closed     bool
	wake       chan struct{}
	lastActive atomic.Int64
	// quotas is the connection's client quota state (the worker's).
	quotas *handler.QuotaConn
}

func listenGnet(cfg Config, broker *handler.Broker, log *slog.Logger) (*gnetServer, error) {
	ln := cfg.Bound
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(handler.WithListener(context.Background(), cfg.Listener))
	s := &gnetServer{cfg: cfg, broker: broker, log: log, ctx: ctx, cancel: cancel, ln: ln,
		ready: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		// gnet must listen somewhere: on a loopback port nobody is told
		// of. Clients come in through s.ln and Register (accept below).
		// LeastConnections, because Register picks a loop from the accept
		// goroutine, which gnet's default round robin does not allow.
		s.done <- gnet.Run(s, "tcp://127.0.0.1:0", gnet.WithMulticore(true), gnet.WithTicker(true),
			gnet.WithLoadBalancing(gnet.LeastConnections),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithLogger(quietLogger{}))
	}()
	select {
	case <-s.ready:
	case err := <-s.done:
		cancel()
		ln.Close()
		return nil, fmt.Errorf("netserver: gnet: %w", err)
	}
	s.accepting.Add(1)
	go s.accept()
	return s, nil
}

// accept takes connections from s.ln and hands them to the event loops.
// gnet's own acceptor (v2.9.7 acceptor_unix.go) treats any accept error
// but EAGAIN, EINTR, ECONNRESET and ECONNABORTED as fatal: on EMFILE its
// main reactor returns and the engine shuts down, closing every
// connection. So the server accepts itself, with the netconn transport's
// backoff (accept.go). Register dups the descriptor into a loop and closes
// the net.Conn; when the dup fails (EMFILE again) that one connection is
// dropped and the loop backs off all the same.
func (s *gnetServer) accept() {
	defer s.accepting.Done()
	backoff := acceptBackoff{log: s.log, addr: s.ln.Addr().String()}
	for {
		c, err := s.ln.Accept()
		if err == nil {
			err = s.register(c)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil || !backoff.failed(s.ctx, err) {
				return
			}
			continue
		}
		backoff.succeeded()
	}
}

// register hands c to an event loop and waits until it is open there
// (OnOpen ran).
func (s *gnetServer) register(c net.Conn) error {
	res, err := s.eng.Register(gnet.NewNetConnContext(s.ctx, c))
	if err != nil {
		c.Close()
		return err
	}
	if r := <-res; r.Err != nil {
		return fmt.Errorf("handing the connection to an event loop: %w", r.Err)
	}
	return nil
}

func (s *gnetServer) Addr() net.Addr { return s.ln.Addr() }

func (s *gnetServer) Close() error {
	s.cancel()
	lnErr := s.ln.Close()
	s.accepting.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.eng.Stop(ctx)
	s.workers.Wait()
	if runErr := <-s.done; err == nil && runErr != nil && !strings.Contains(runErr.Error(), "shut") {
		err = runErr
	}
	if err == nil {
		err = lnErr
	}
	return err
}

func (s *gnetServer) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	return gnet.None
}

func (s *gnetServer) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if s.cfg.MaxConnections > 0 && s.nconns.Load() >= int64(s.cfg.MaxConnections) {
		s.log.Warn("closing connection: max.connections reached", "remote", c.RemoteAddr().String(), "max_connections", s.cfg.MaxConnections)
		return nil, gnet.Close
	}
	s.nconns.Add(1)
	host := clientHost(c.RemoteAddr())
	ctx, cancel := context.WithCancel(handler.WithIdentity(s.ctx, handler.Identity{Principal: handler.AnonymousPrincipal, Host: strings.TrimPrefix(host, "/")}))
	gc := &gconn{c: c, ctx: ctx, cancel: cancel, remote: c.RemoteAddr().String(), host: host, wake: make(chan struct{}, 1),
		quotas: s.broker.NewQuotaConn()}
	gc.ctx = handler.WithQuotaConn(gc.ctx, gc.quotas)
	gc.lastActive.Store(time.Now().UnixNano())
	c.SetContext(gc)
	s.conns.Store(c, gc)
	s.workers.Add(1)
	go s.work(gc)
	return nil, gnet.None
}

func (s *gnetServer) OnClose(c gnet.Conn, err error) gnet.Action {
	if gc, ok := c.Context().(*gconn); ok {
		gc.cancel()
		gc.mu.Lock()
		gc.closed = true
		gc.mu.Unlock()
		select {
		case gc.wake <- struct{}{}:
		default:
		}
		s.conns.Delete(c)
		s.nconns.Add(-1)
	}
	return gnet.None
}

// OnTraffic frames: it queues every complete request and leaves a partial
// one in gnet's buffer for the next call.
func (s *gnetServer) OnTraffic(c gnet.Conn) gnet.Action {
	gc, ok := c.Context().(*gconn)
	if !ok {
		return gnet.Close
	}
	gc.lastActive.Store(time.Now().UnixNano())
	var frames [][]byte
	for c.InboundBuffered() >= 4 {
		head, _ := c.Peek(4)
		size := int32(binary.BigEndian.Uint32(head))
		if size < 8 || size > s.cfg.MaxRequestBytes {
			s.log.Warn("closing connection: request size outside [8, socket.request.max.bytes]", "remote", c.RemoteAddr().String(), "size", size, "max_request_bytes", s.cfg.MaxRequestBytes)
			return gnet.Close
		}
		if c.InboundBuffered() < 4+int(size) {
			break
		}
		buf, _ := c.Next(4 + int(size))
		frames = append(frames, append([]byte(nil), buf[4:]...))
	}
	if len(frames) > 0 {
		n := 0
		for _, f := range frames {
			n += len(f)
		}
		gc.mu.Lock()
		if gc.queued+n > int(s.cfg.MaxRequestBytes) {
			// The worker is behind (a muted connection, a slow request)
			// and the client keeps sending: bound what waits, as Kafka's
			// muted channel stops reading.
			gc.mu.Unlock()
			s.log.Warn("closing connection: requests queued unanswered over socket.request.max.bytes", "remote", c.RemoteAddr().String(), "max_request_bytes", s.cfg.MaxRequestBytes)
			return gnet.Close
		}
		gc.queue = append(gc.queue, frames...)
		gc.queued += n
		gc.mu.Unlock()
		select {
		case gc.wake <- struct{}{}:
		default:
		}
	}
	return gnet.None
}

// OnTick closes connections idle past connections.max.idle.ms, and
// tells listenGnet the engine is up.
func (s *gnetServer) OnTick() (time.Duration, gnet.Action) {
	// OnBoot runs before the event loops exist; the ticker starts after
	// them, so its first call is when Register may be used.
	s.once.Do(func() { close(s.ready) })
	if s.cfg.IdleTimeout > 0 {
		cutoff := time.Now().Add(-s.cfg.IdleTimeout).UnixNano()
		s.conns.Range(func(k, v any) bool {
			if gc := v.(*gconn); gc.lastActive.Load() < cutoff {
				s.log.Debug("closing connection: idle", "remote", gc.remote, "idle_timeout", s.cfg.IdleTimeout)
				gc.c.Close()
			}
			return true
		})
	}
	return time.Second, gnet.None
}

// work answers one connection's requests in order, one AsyncWrite per batch.
func (s *gnetServer) work(gc *gconn) {
	defer s.workers.Done()
	defer gc.cancel()
	var out []byte
	for {
		<-gc.wake
		for {
			gc.mu.Lock()
			batch, closed := gc.queue, gc.closed
			gc.queue, gc.queued = nil, 0
			gc.mu.Unlock()
			if closed {
				return
			}
			if len(batch) == 0 {
				break
			}
			out = nil // AsyncWrite may still hold the previous buffer
			for _, frame := range batch {
				gc.quotas.Begin(frame)
				resp, corr, timing, err := timedRespond(gc.ctx, s.broker, frame, gc.host)
				mute := gc.quotas.End(gc.ctx, resp)
				if err == nil && resp != nil {
					out, err = appendResponse(out, corr, resp)
				}
				timing.sent()
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						s.log.Info("closing connection", "remote", gc.remote, "err", err)
					}
					if len(out) > 0 {
						gc.c.AsyncWrite(out, nil)
					}
					gc.c.Close()
					return
				}
				if mute > 0 {
					// KIP-219: the answer goes now; the connection's
					// next request waits out the throttle (the loop
					// keeps queueing what arrives meanwhile).
					if len(out) > 0 {
						if err := gc.c.AsyncWrite(out, nil); err != nil {
							return
						}
						out = nil
					}
					if !gc.mute(mute) {
						return
					}
				}
			}
			if len(out) > 0 {
				if err := gc.c.AsyncWrite(out, nil); err != nil {
					return
				}
			}
		}
	}
}

// mute waits d, or until the connection closes (false).
func (gc *gconn) mute(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-gc.ctx.Done():
		return false
	}
}

// quietLogger drops gnet's own log lines; the server logs what matters.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(string, ...any) {}
