package broker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/signal"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

// LifecycleConfig configures a broker's Lifecycle.
type LifecycleConfig struct {
	Info controller.BrokerInfo
	// Controllers are the controller nodes' addresses, asked in turn.
	Controllers []string
	// Heartbeat is broker.heartbeat.interval.ms; Session is
	// broker.session.timeout.ms.
	Heartbeat, Session time.Duration
	// Call sends one request (transport.Call).
	Call node.Caller
	// Applied is the metadata offset the broker has applied (its
	// heartbeats' CurrentMetadataOffset); nil: 0.
	Applied func() uint64
	// Logger reports registration and session changes; nil discards.
	Logger *slog.Logger
}

// Lifecycle keeps a broker registered with the active controller and
// heartbeating (Kafka's BrokerLifecycleManager), and keeps the broker's
// Session: whether it may act as a partition leader.
//
// Timeouts follow the configured intervals, so that a controller failover
// never costs a live broker its session: one attempt waits at most a
// heartbeat interval or a quarter of the session timeout, whichever is
// shorter; an unanswered or NOT_CONTROLLER attempt moves on to the next
// controller at once; a round with no answer is retried after a short
// backoff, not a whole interval. A new active controller gives every
// broker a full session, so a broker reaches it with most of its session
// left.
//
// It speaks Kafka's messages (package node): BrokerRegistration with the
// broker's listener, rack and incarnation id, then BrokerHeartbeat with
// the metadata offset it has applied as CurrentMetadataOffset. An answer
// carries the metadata offset the active controller had applied (node's
// MetadataOffsetTag; the heartbeat's IsCaughtUp says whether the broker
// had it already), and the Session leads only from metadata that new.
// BROKER_ID_NOT_REGISTERED makes it register again.
type Lifecycle struct {
	cfg     LifecycleConfig
	changed *signal.Signal

	mu      sync.Mutex
	session *Session
	expiry  *time.Timer
	leading bool  // session.Alive as last published
	epoch   int64 // the registration's broker epoch; -1: none yet
}

// NewLifecycle returns a broker's lifecycle; Run drives it.
func NewLifecycle(cfg LifecycleConfig) *Lifecycle {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Lifecycle{cfg: cfg, changed: signal.New(), session: NewSession(cfg.Session - stepDownMargin(cfg.Session)), epoch: -1}
}

// stepDownMargin is how much sooner than its session timeout a broker
// gives up leadership. A controller cut off from its quorum goes on
// answering heartbeats (of unfenced brokers, which need no quorum round
// trip) until raft's check-quorum notices, up to two election timeouts
// (2 s at Rill's 100 ms tick and 10-tick elections), while the majority
// may elect a new controller, which fences the broker a session after
// becoming active, after one. Stepping down this much earlier keeps the
// broker's leadership from outliving that fence; a third of the session
// at most, so short test sessions still work.
func stepDownMargin(session time.Duration) time.Duration {
	return min(2*time.Second, session/3)
}

// MayLead reports whether the broker may act as leader now, with its
// metadata applied up to applied (see Session.MayLead).
func (l *Lifecycle) MayLead(applied uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.session.MayLead(time.Now(), applied)
}

// Changed returns a channel closed when the session starts or ends.
func (l *Lifecycle) Changed() <-chan struct{} { return l.changed.Wait() }

// attemptTimeout is how long one request to one controller may take.
func (l *Lifecycle) attemptTimeout() time.Duration {
	return max(min(l.cfg.Heartbeat, l.cfg.Session/4), 50*time.Millisecond)
}

// retryBackoff is the pause after a round of controllers gave no answer.
func (l *Lifecycle) retryBackoff() time.Duration {
	return max(min(l.cfg.Heartbeat, l.cfg.Session/20, 250*time.Millisecond), 10*time.Millisecond)
}

// answered records an answer to a request sent at sentAt and arms the
// session's expiry.
func (l *Lifecycle) answered(sentAt time.Time, index uint64) {
	l.mu.Lock()
	l.session.Answered(sentAt, index)
	if l.expiry != nil {
		l.expiry.Stop()
	}
	l.expiry = time.AfterFunc(time.Until(l.session.Expires()), l.expired)
	began := !l.leading
	l.leading = true
	l.changed.Notify() // the index may have moved too
	l.mu.Unlock()
	if began { // logged after the unlock: no lock is held across a write
		l.cfg.Logger.Info("in session with the controller quorum", "broker", l.cfg.Info.ID)
	}
}

// expired runs when the session's end passes with no newer answer.
func (l *Lifecycle) expired() {
	l.mu.Lock()
	if !l.leading || l.session.Alive(time.Now()) {
		l.mu.Unlock()
		return // a newer answer re-armed the timer
	}
	l.leading = false
	l.changed.Notify()
	l.mu.Unlock()
	l.cfg.Logger.Warn("no heartbeat answered by the controller quorum: stepping down as leader until it has the current metadata",
		"broker", l.cfg.Info.ID, "session", l.cfg.Session)
}

// BrokerEpoch is the epoch the active controller gave the broker's
// registration (-1 before one is answered).
func (l *Lifecycle) BrokerEpoch() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch
}

// registration is the broker's BrokerRegistration.
func (l *Lifecycle) registration() *kmsg.BrokerRegistrationRequest {
	info := l.cfg.Info
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID, req.IncarnationID = info.ID, node.IncarnationID(info.Incarnation)
	// Every listener, the inter-broker one first: the controller takes
	// the first as the broker's Host and Port, which brokers dial.
	endpoints := info.Listeners
	if len(endpoints) == 0 {
		endpoints = []controller.Endpoint{{Name: "PLAINTEXT", Host: info.Host, Port: info.Port}}
	}
	for _, e := range endpoints {
		ln := kmsg.NewBrokerRegistrationRequestListener()
		ln.Name, ln.Host, ln.Port, ln.SecurityProtocol = e.Name, e.Host, uint16(e.Port), e.Protocol
		req.Listeners = append(req.Listeners, ln)
	}
	if info.Rack != "" {
		req.Rack = kmsg.StringPtr(info.Rack)
	}
	return req
}

// heartbeat is the broker's BrokerHeartbeat, with the metadata offset it
// has applied.
func (l *Lifecycle) heartbeat() *kmsg.BrokerHeartbeatRequest {
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = l.cfg.Info.ID, l.BrokerEpoch()
	if l.cfg.Applied != nil {
		req.CurrentMetadataOffset = int64(l.cfg.Applied())
	}
	return req
}

// answerOffset is the metadata offset the active controller had applied
// when it answered a registration or heartbeat: the one Rill's nodes
// carry in node.MetadataOffsetTag. Without it (a controller that does not
// send it), a registration's broker epoch (Kafka: its record's offset), or
// for a heartbeat the offset the broker sent when the answer says it is
// caught up, else one past it.
func answerOffset(req kmsg.Request, resp kmsg.Response) uint64 {
	if offset, ok := node.MetadataOffset(resp); ok {
		return offset
	}
	switch r := resp.(type) {
	case *kmsg.BrokerRegistrationResponse:
		return uint64(max(r.BrokerEpoch, 0))
	case *kmsg.BrokerHeartbeatResponse:
		sent := uint64(max(req.(*kmsg.BrokerHeartbeatRequest).CurrentMetadataOffset, 0))
		if r.IsCaughtUp {
			return sent
		}
		return sent + 1
	}
	return 0
}

// Run registers and heartbeats until ctx ends.
func (l *Lifecycle) Run(ctx context.Context) {
	defer func() {
		l.mu.Lock()
		if l.expiry != nil {
			l.expiry.Stop()
		}
		l.mu.Unlock()
	}()
	registered := false
	next := 0
	for {
		answered, justRegistered := false, false
		for tries := 0; tries < len(l.cfg.Controllers) && !answered; tries++ {
			var req kmsg.Request = l.heartbeat()
			if !registered {
				req = l.registration()
			}
			addr := l.cfg.Controllers[next%len(l.cfg.Controllers)]
			sent := time.Now()
			cctx, cancel := context.WithTimeout(ctx, l.attemptTimeout())
			resp, err := node.Ask(cctx, l.cfg.Call, addr, req)
			cancel()
			if err != nil {
				next++
				continue
			}
			err = node.ResponseError(resp)
			if errors.Is(err, kerr.NotController) {
				next++
				continue
			}
			answered = true
			switch {
			case err == nil:
				if !registered {
					l.mu.Lock()
					l.epoch = resp.(*kmsg.BrokerRegistrationResponse).BrokerEpoch
					l.mu.Unlock()
				}
				l.answered(sent, answerOffset(req, resp))
				if !registered {
					registered, justRegistered = true, true
					l.cfg.Logger.Info("registered with the controller", "broker", l.cfg.Info.ID, "controller", addr)
				}
			case errors.Is(err, kerr.BrokerIDNotRegistered):
				registered = false
			}
		}
		wait := l.cfg.Heartbeat
		switch {
		case justRegistered:
			continue // heartbeat at once: the broker is fenced until then
		case !answered:
			wait = l.retryBackoff()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
