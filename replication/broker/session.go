package broker

import "time"

// Session is a broker's own view of its session with the controller
// quorum, the pure core of Lifecycle: answered heartbeats and the clock go
// in, "may I lead?" comes out.
//
// The controller fences a broker whose last heartbeat it saw more than
// broker.session.timeout.ms ago, and elects other leaders for its
// partitions. A broker that cannot reach the quorum cannot learn that, so
// it assumes it: once no heartbeat sent within the last session timeout
// has been answered, it stops acting as a leader (Kafka's brokers go on
// serving from stale metadata; clients then write to a leader the
// majority has replaced). The session is measured from when the answered
// heartbeat was sent, not when its answer came: the controller saw it
// between the two. Lifecycle gives the Session a timeout shorter than the
// session by a margin (stepDownMargin), for a controller that answers
// heartbeats after it lost its quorum without knowing it yet; so the
// broker gives up leadership before a new controller can fence it.
//
// Back in session, the broker leads again only from metadata at least as
// new as what the controller had applied when it answered (the offset its
// BrokerHeartbeat answer carries, see Lifecycle): an older image may still
// name it leader of partitions the controller has since moved.
type Session struct {
	timeout time.Duration
	sentAt  time.Time // when the last answered heartbeat was sent
	index   uint64    // the controller's metadata index in that answer
	ok      bool      // any heartbeat answered yet
}

// NewSession returns the session of a broker that has had no answer yet.
func NewSession(timeout time.Duration) *Session { return &Session{timeout: timeout} }

// Answered records the active controller's answer to a heartbeat (or
// registration) sent at sentAt, when the controller's metadata was at
// index. Answers may arrive out of order; the newest send wins.
func (s *Session) Answered(sentAt time.Time, index uint64) {
	if s.ok && sentAt.Before(s.sentAt) {
		return
	}
	s.sentAt, s.ok = sentAt, true
	s.index = max(s.index, index)
}

// Alive reports whether a heartbeat sent less than a session timeout
// before now was answered.
func (s *Session) Alive(now time.Time) bool {
	return s.ok && now.Sub(s.sentAt) < s.timeout
}

// Expires is when the session ends unless another answer comes (zero
// before the first answer).
func (s *Session) Expires() time.Time {
	if !s.ok {
		return time.Time{}
	}
	return s.sentAt.Add(s.timeout)
}

// MayLead reports whether the broker may act as a leader now, with its
// metadata applied up to applied.
func (s *Session) MayLead(now time.Time, applied uint64) bool {
	return s.Alive(now) && applied >= s.index
}
