package handler

// Share sessions' ends: releasing what a member held when its session
// closes, is replaced, or its connection ends.

import (
	"context"
	"sync"
	"time"

	"github.com/rillmq/rill/netserver/sharesession"
)

// shareSessionConns is the set of connections whose end closes their
// share sessions (a watch registered once per connection).
type shareSessionConns struct {
	mu      sync.Mutex
	watched map[any]struct{}
}

// shareRelease hands back what member holds on parts: its session ended
// or stopped reading them.
func (b *Broker) shareRelease(group, member string, parts map[sharesession.Partition]struct{}) {
	for p := range parts {
		if sp := b.shares.loaded(shareKey{group, p.TopicID, p.Partition}); sp != nil {
			sp.release(member)
		}
	}
}

// watchShareConn closes conn's share sessions, releasing their members'
// records, when the connection ends (Kafka's disconnect listener).
func (b *Broker) watchShareConn(ctx context.Context, conn any) {
	if ctx.Done() == nil {
		return // no connection behind this context (tests)
	}
	w := &b.shareConns
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.watched[conn]; ok {
		return
	}
	if w.watched == nil {
		w.watched = map[any]struct{}{}
	}
	w.watched[conn] = struct{}{}
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		delete(w.watched, conn)
		w.mu.Unlock()
		for _, s := range b.shareSessions.CloseConn(conn) {
			b.shareRelease(s.Key.Group, s.Key.Member, s.Partitions)
		}
	})
}

// waitCtx returns after d or when ctx ends.
func waitCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// connToken identifies the connection a request came on: its context's
// Done channel, which the transport closes when the connection ends.
func connToken(ctx context.Context) any { return ctx.Done() }

func setOf(ps []sharesession.Partition) map[sharesession.Partition]struct{} {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[sharesession.Partition]struct{}, len(ps))
	for _, p := range ps {
		m[p] = struct{}{}
	}
	return m
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
