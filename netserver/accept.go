package netserver

// Accept errors. A listener's accept fails for reasons that pass: the
// process or the system is out of file descriptors (EMFILE, ENFILE), the
// kernel is out of socket buffers (ENOBUFS, ENOMEM). Returning from the
// accept loop on such an error would leave the broker up with a dead
// listener; retrying at once would spin a core, since the pending
// connection stays in the backlog and the listener stays readable. So the
// loop backs off, as net/http's Server does (5 ms doubling to 1 s), logs
// the episode once when it begins (Warn, with the error) and once when an
// accept succeeds again (Info, with the count of failed accepts and how
// long it lasted), and resumes by itself when descriptors free up. Only
// the listener closing (Close) ends the loop; any other error is retried
// the same way, as Kafka's Acceptor logs and goes on.

import (
	"context"
	"log/slog"
	"time"
)

// Accept backoff bounds: net/http's Server uses the same.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptBackoff paces one accept loop through an episode of failing
// accepts. It is the loop's own: not safe for concurrent use.
type acceptBackoff struct {
	log  *slog.Logger
	addr string

	delay    time.Duration // the next wait; 0 outside an episode
	failures int           // failed accepts in this episode
	since    time.Time     // when the episode began
}

// failed records a failed accept and waits before the next one. It
// returns false when ctx ended meanwhile (the server is closing).
func (b *acceptBackoff) failed(ctx context.Context, err error) bool {
	if b.failures == 0 {
		b.since = time.Now()
		b.delay = acceptBackoffMin
		b.log.Warn("accept failing: backing off until it succeeds (logged once per episode)", "addr", b.addr, "err", err)
	} else {
		b.delay = min(2*b.delay, acceptBackoffMax)
	}
	b.failures++
	t := time.NewTimer(b.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// succeeded ends an episode, if one is running, with its log line.
func (b *acceptBackoff) succeeded() {
	if b.failures == 0 {
		return
	}
	b.log.Info("accept recovered", "addr", b.addr, "failed_accepts", b.failures, "lasted", time.Since(b.since).Round(time.Millisecond))
	b.failures, b.delay = 0, 0
}
