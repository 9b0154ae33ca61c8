package fetchsession

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Epochs and the id of no session, as KIP-227 numbers them.
const (
	InitialEpoch int32 = 0
	FinalEpoch   int32 = -1
	NoSession    int32 = 0
)

// Kafka's defaults: max.incremental.fetch.session.cache.slots and
// min.incremental.fetch.session.eviction.ms.
const (
	DefaultSlots         = 1000
	DefaultEvictionAfter = 120 * time.Second
)

// Config sizes a Cache.
type Config struct {
	// Slots is the most sessions cached; 0 caches none (every fetch is
	// answered sessionless).
	Slots int
	// EvictionAfter is how long a session is protected from eviction
	// after its creation and after its last use.
	EvictionAfter time.Duration
	// Seed seeds the session id generator.
	Seed uint64
}

// Kind is how a request is answered.
type Kind uint8

const (
	// Sessionless: read the request's partitions, answer them all, with
	// session id 0.
	Sessionless Kind = iota
	// Full: read the request's partitions, answer them all; Respond
	// creates a session when it can.
	Full
	// Incremental: read the session's partitions; Respond says which the
	// answer carries.
	Incremental
	// Error: answer ErrorCode with no partitions and session id 0.
	Error
)

func (k Kind) String() string {
	return [...]string{"sessionless", "full", "incremental", "error"}[k]
}

// Request is the session part of a Fetch request.
type Request struct {
	SessionID int32
	Epoch     int32
	// TopicIDs is set for Fetch v13+, which names topics by id.
	TopicIDs bool
	// Follower is set for a replica's fetch: its session is privileged.
	Follower   bool
	Partitions []PartitionRequest
	Forgotten  []Partition
}

// Context is a classified request: what to read, and what Respond needs.
type Context struct {
	Kind      Kind
	ErrorCode int16
	// SessionID is the incremental session's id.
	SessionID int32
	// Partitions are what to read, in this order: the request's, or for
	// an incremental request the session's.
	Partitions []PartitionRequest

	epoch    int32 // the session's epoch after Open
	follower bool
	topicIDs bool
}

// Response is the session part of an answer.
type Response struct {
	SessionID int32
	ErrorCode int16
	// Include says, by index in Context.Partitions, which partitions the
	// answer carries (nil: all).
	Include []bool
}

// Cache is the broker's fetch sessions.
type Cache struct {
	cfg Config

	mu struct {
		sync.Mutex
		rng        *rand.Rand
		sessions   map[int32]*session
		partitions int // cached partitions, as of each session's last touch
		evictions  uint64
	}
}

// New returns an empty Cache.
func New(cfg Config) *Cache {
	c := &Cache{cfg: cfg}
	c.mu.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	c.mu.sessions = map[int32]*session{}
	return c
}

// Stats are the cache's size, for metrics.
type Stats struct {
	Sessions   int
	Partitions int
	Evictions  uint64
}

// Stats returns the cache's size.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Sessions: len(c.mu.sessions), Partitions: c.mu.partitions, Evictions: c.mu.evictions}
}

// Open classifies req and applies it to its session.
func (c *Cache) Open(now time.Time, req Request) Context {
	ctx := Context{follower: req.Follower, topicIDs: req.TopicIDs}
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.Epoch == InitialEpoch || req.Epoch == FinalEpoch {
		// A full request closes the session it names.
		if s, ok := c.mu.sessions[req.SessionID]; ok && req.SessionID != NoSession {
			c.removeLocked(s)
		}
		ctx.Kind, ctx.Partitions = Full, req.Partitions
		if req.Epoch == FinalEpoch {
			ctx.Kind = Sessionless
		}
		return ctx
	}
	s, ok := c.mu.sessions[req.SessionID]
	switch {
	case !ok || req.SessionID == NoSession:
		return Context{Kind: Error, ErrorCode: kerr.FetchSessionIDNotFound.Code}
	case s.epoch != req.Epoch:
		return Context{Kind: Error, ErrorCode: kerr.InvalidFetchSessionEpoch.Code}
	case s.topicIDs != req.TopicIDs:
		return Context{Kind: Error, ErrorCode: kerr.FetchSessionTopicIDError.Code}
	}
	for _, p := range req.Partitions {
		s.upsert(p)
	}
	for _, p := range req.Forgotten {
		s.forget(p)
	}
	if len(s.byKey) == 0 {
		// Nothing left to follow: the session ends, and the request is
		// answered as the sessionless one it now is.
		c.removeLocked(s)
		ctx.Kind, ctx.Partitions = Sessionless, req.Partitions
		return ctx
	}
	c.touchLocked(s, now)
	s.epoch = nextEpoch(s.epoch)
	ctx.Kind, ctx.SessionID, ctx.epoch = Incremental, s.id, s.epoch
	ctx.Partitions = s.partitions()
	return ctx
}

// Respond decides the session part of the answer to ctx given results,
// one per ctx.Partitions. With commit it creates a full request's session
// and records in an incremental session what is sent; without, it only
// previews the answer (Full then answers with no session).
func (c *Cache) Respond(now time.Time, ctx *Context, results []Result, commit bool) Response {
	switch ctx.Kind {
	case Error:
		return Response{ErrorCode: ctx.ErrorCode}
	case Sessionless:
		return Response{}
	case Full:
		if !commit {
			return Response{}
		}
		return Response{SessionID: c.create(now, ctx, results)}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.mu.sessions[ctx.SessionID]
	if !ok {
		// Evicted or closed since Open: the fetcher starts over.
		return Response{ErrorCode: kerr.FetchSessionIDNotFound.Code}
	}
	if s.epoch != ctx.epoch {
		// Another request moved the session on since Open (a duplicate).
		return Response{SessionID: s.id, ErrorCode: kerr.InvalidFetchSessionEpoch.Code}
	}
	include := make([]bool, len(ctx.Partitions))
	for i, p := range ctx.Partitions {
		cp, ok := s.byKey[p.Partition]
		if !ok || i >= len(results) {
			continue // cannot happen while the epoch holds
		}
		include[i] = cp.mustRespond(results[i], commit)
		if commit && results[i].RecordBytes > 0 {
			s.unlink(cp)
			s.pushBack(cp)
		}
	}
	return Response{SessionID: s.id, Include: include}
}

// create caches a full request's session if a slot is free or can be
// freed, returning its id or NoSession.
func (c *Cache) create(now time.Time, ctx *Context, results []Result) int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := len(ctx.Partitions)
	if c.cfg.Slots <= 0 || (len(c.mu.sessions) >= c.cfg.Slots && !c.tryEvictLocked(ctx.follower, size, now)) {
		return NoSession
	}
	s := newSession(c.newIDLocked(), ctx.follower, ctx.topicIDs, now)
	for i, p := range ctx.Partitions {
		cp := s.upsert(p)
		if i < len(results) {
			r := results[i]
			cp.highWatermark, cp.lastStableOffset, cp.logStartOffset = r.HighWatermark, r.LastStableOffset, r.LogStartOffset
		}
	}
	c.mu.sessions[s.id] = s
	c.touchLocked(s, now)
	return s.id
}

// newIDLocked draws a positive id no session has.
func (c *Cache) newIDLocked() int32 {
	for {
		id := c.mu.rng.Int32()
		if _, used := c.mu.sessions[id]; id != NoSession && !used {
			return id
		}
	}
}

// touchLocked records a use of s at now: its last use, and its size and
// age for eviction.
func (c *Cache) touchLocked(s *session, now time.Time) {
	s.lastUsed = now
	c.mu.partitions += len(s.byKey) - s.size
	s.size = len(s.byKey)
	s.aged = now.Sub(s.created) > c.cfg.EvictionAfter
}

func (c *Cache) removeLocked(s *session) {
	delete(c.mu.sessions, s.id)
	c.mu.partitions -= s.size
}
