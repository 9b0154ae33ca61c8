package broker

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

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
	// Logf logs; nil discards.
	Logf func(string, ...any)
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
type Lifecycle struct {
	cfg     LifecycleConfig
	changed *signal.Signal

	mu      sync.Mutex
	session *Session
	expiry  *time.Timer
	leading bool // session.Alive as last published
}

// NewLifecycle returns a broker's lifecycle; Run drives it.
func NewLifecycle(cfg LifecycleConfig) *Lifecycle {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Lifecycle{cfg: cfg, changed: signal.New(), session: NewSession(cfg.Session)}
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
	defer l.mu.Unlock()
	l.session.Answered(sentAt, index)
	if l.expiry != nil {
		l.expiry.Stop()
	}
	l.expiry = time.AfterFunc(time.Until(l.session.Expires()), l.expired)
	if !l.leading {
		l.leading = true
		l.cfg.Logf("broker %d: in session with the controller quorum", l.cfg.Info.ID)
	}
	l.changed.Notify() // the index may have moved too
}

// expired runs when the session's end passes with no newer answer.
func (l *Lifecycle) expired() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leading || l.session.Alive(time.Now()) {
		return // a newer answer re-armed the timer
	}
	l.leading = false
	l.cfg.Logf("broker %d: no heartbeat answered by the controller quorum for %v: stepping down as leader until it has the current metadata",
		l.cfg.Info.ID, l.cfg.Session)
	l.changed.Notify()
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
		op := "heartbeat"
		if !registered {
			op = "register"
		}
		b, _ := json.Marshal(node.BrokerRequest{Op: op, Broker: l.cfg.Info})
		answered, justRegistered := false, false
		for tries := 0; tries < len(l.cfg.Controllers) && !answered; tries++ {
			addr := l.cfg.Controllers[next%len(l.cfg.Controllers)]
			sent := time.Now()
			cctx, cancel := context.WithTimeout(ctx, l.attemptTimeout())
			resp, err := l.cfg.Call(cctx, addr, b)
			cancel()
			var r node.BrokerReply
			if err == nil {
				err = json.Unmarshal(resp, &r)
			}
			if err != nil || r.ErrorCode == kerr.NotController.Code {
				next++
				continue
			}
			answered = true
			switch {
			case r.ErrorCode == 0:
				l.answered(sent, r.MetadataIndex)
				if !registered {
					registered, justRegistered = true, true
					l.cfg.Logf("broker %d registered with the controller at %s", l.cfg.Info.ID, addr)
				}
			case r.ErrorCode == kerr.BrokerIDNotRegistered.Code:
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
