package netserver

// Request metrics (package internal/metrics): each request's handling
// time, the part of it spent parked (acks=all, Fetch long polls), and the
// time to encode and hand its answer to the socket. Connection counts are
// read at scrape time (Connections), not counted per event.

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/metrics"
	"github.com/rillmq/rill/netserver/handler"
)

// requestTiming measures one request; nil (no sink installed) measures
// nothing.
type requestTiming struct {
	key            int16
	start, handled time.Time
	timer          *metrics.RequestTimer
}

// timedRespond is respond, measured when a metrics sink is installed. The
// caller calls sent on the timing once the answer is handed to the socket
// (or there is none to send).
func timedRespond(ctx context.Context, broker *handler.Broker, frame []byte, clientHost string) (kmsg.Response, int32, *requestTiming, error) {
	if !metrics.Enabled() || len(frame) < 2 {
		resp, corr, err := respond(ctx, broker, frame, clientHost)
		return resp, corr, nil, err
	}
	t := &requestTiming{key: int16(binary.BigEndian.Uint16(frame)), start: time.Now()}
	ctx, t.timer = metrics.WithRequestTimer(ctx)
	resp, corr, err := respond(ctx, broker, frame, clientHost)
	t.handled = time.Now()
	return resp, corr, t, err
}

// sent reports the request: Local is its handling less the time parked.
func (t *requestTiming) sent() {
	if t == nil {
		return
	}
	remote := t.timer.Remote()
	metrics.ObserveRequest(metrics.Request{APIKey: t.key, Local: max(t.handled.Sub(t.start)-remote, 0), Remote: remote, Send: time.Since(t.handled)})
}

// Connections is the number of open client connections of the server.
func (s *connServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Connections is the number of open client connections of the server.
func (s *gnetServer) Connections() int { return int(s.nconns.Load()) }

// ListenerName is the listener the server serves (Config.Listener).
func (s *connServer) ListenerName() string { return s.cfg.Listener }

// ListenerName is the listener the server serves (Config.Listener).
func (s *gnetServer) ListenerName() string { return s.cfg.Listener }

// ConnectionCounter is what both transports' Servers also are: a scrape
// reads their open connections per listener.
type ConnectionCounter interface {
	Connections() int
	ListenerName() string
}

var (
	_ ConnectionCounter = (*connServer)(nil)
	_ ConnectionCounter = (*gnetServer)(nil)
)
