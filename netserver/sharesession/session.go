// Package sharesession is the broker's cache of share sessions (KIP-932's
// ShareFetch session protocol, Kafka's ShareSessionCache): per share-group
// member, the partitions its ShareFetch requests read and the epoch its
// next ShareFetch or ShareAcknowledge must carry.
//
// # Contract
//
// A session is keyed by (group, member). Epoch 0 opens one (Open): a
// session the member had is replaced, and a full cache
// (group.share.max.share.sessions) refuses with
// SHARE_SESSION_LIMIT_REACHED. Every later request names the epoch it
// expects (Advance): no session is SHARE_SESSION_NOT_FOUND, another epoch
// INVALID_SHARE_SESSION_EPOCH, and a match moves the session to the next
// epoch (1, 2, ..., MaxInt32, then 1 again, as Kafka) before the request
// is served, so a retry of the same request is refused. Epoch -1 closes
// it (Close). A session belongs to the connection that opened it: when
// the connection ends its sessions go (CloseConn), and the caller
// releases the records their members held, as Kafka's disconnect
// listener does.
//
// The cache is safe for concurrent use; it does no I/O and keeps no
// clock (share sessions have no idle expiry in Kafka: they end with their
// connection or their member's epoch -1).
package sharesession

import (
	"maps"
	"math"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Key names a session: the share group and its member.
type Key struct{ Group, Member string }

// Partition is a partition of a topic by id.
type Partition struct {
	TopicID   [16]byte
	Partition int32
}

// Session is a copy of a session's state, as Advance and Open return it.
type Session struct {
	Key Key
	// Epoch is the epoch the next request must carry.
	Epoch int32
	// Conn is the connection that opened the session (a comparable token
	// the caller chooses).
	Conn any
	// Partitions are the partitions the session reads.
	Partitions map[Partition]struct{}
}

type session struct {
	epoch int32
	conn  any
	parts map[Partition]struct{}
}

// Cache holds the sessions of one broker.
type Cache struct {
	max int
	mu  struct {
		sync.Mutex
		sessions map[Key]*session
		byConn   map[any]map[Key]struct{}
	}
}

// New returns a cache of at most max sessions (unbounded when max <= 0).
func New(max int) *Cache {
	c := &Cache{max: max}
	c.mu.sessions = map[Key]*session{}
	c.mu.byConn = map[any]map[Key]struct{}{}
	return c
}

// nextEpoch is the epoch after e: MaxInt32 wraps to 1 (0 and -1 mean open
// and close).
func nextEpoch(e int32) int32 {
	if e == math.MaxInt32 {
		return 1
	}
	return e + 1
}

// Open starts k's session on conn over parts, replacing any session k
// had (whose partitions it returns, so the caller can release what the
// member held on partitions the new one no longer reads). The new
// session expects epoch 1 next.
func (c *Cache) Open(k Key, conn any, parts []Partition) (replaced map[Partition]struct{}, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.mu.sessions[k]; ok {
		replaced = old.parts
		c.removeLocked(k, old)
	}
	if c.max > 0 && len(c.mu.sessions) >= c.max {
		return replaced, kerr.ShareSessionLimitReached
	}
	s := &session{epoch: 1, conn: conn, parts: map[Partition]struct{}{}}
	for _, p := range parts {
		s.parts[p] = struct{}{}
	}
	c.mu.sessions[k] = s
	keys := c.mu.byConn[conn]
	if keys == nil {
		keys = map[Key]struct{}{}
		c.mu.byConn[conn] = keys
	}
	keys[k] = struct{}{}
	return replaced, nil
}

// Advance checks that k's session expects epoch, moves it to the next
// epoch, adds the partitions add and drops forget, and returns the
// session as it now is.
func (c *Cache) Advance(k Key, epoch int32, add, forget []Partition) (Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.mu.sessions[k]
	if !ok {
		return Session{}, kerr.ShareSessionNotFound
	}
	if s.epoch != epoch {
		return Session{}, kerr.InvalidShareSessionEpoch
	}
	s.epoch = nextEpoch(s.epoch)
	for _, p := range add {
		s.parts[p] = struct{}{}
	}
	for _, p := range forget {
		delete(s.parts, p)
	}
	return Session{Key: k, Epoch: s.epoch, Conn: s.conn, Partitions: maps.Clone(s.parts)}, nil
}

// Close ends k's session (epoch -1) and returns its partitions;
// SHARE_SESSION_NOT_FOUND when it has none.
func (c *Cache) Close(k Key) (map[Partition]struct{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.mu.sessions[k]
	if !ok {
		return nil, kerr.ShareSessionNotFound
	}
	c.removeLocked(k, s)
	return s.parts, nil
}

// CloseConn ends every session conn opened and returns them.
func (c *Cache) CloseConn(conn any) []Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Session
	for k := range c.mu.byConn[conn] {
		s := c.mu.sessions[k]
		out = append(out, Session{Key: k, Epoch: s.epoch, Conn: conn, Partitions: s.parts})
		c.removeLocked(k, s)
	}
	return out
}

// Len is the number of sessions.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mu.sessions)
}

func (c *Cache) removeLocked(k Key, s *session) {
	delete(c.mu.sessions, k)
	if keys := c.mu.byConn[s.conn]; keys != nil {
		delete(keys, k)
		if len(keys) == 0 {
			delete(c.mu.byConn, s.conn)
		}
	}
}
