package fetchsession

import "time"

// Partition names a partition: by topic id in a session of topic ids
// (Fetch v13+), else by topic name. The other field is ignored.
type Partition struct {
	TopicID   [16]byte
	Topic     string
	Partition int32
}

// key is Partition with only the field that names it set, so that a
// request naming a partition by id matches however the name was given.
func (p Partition) key(topicIDs bool) Partition {
	if topicIDs {
		return Partition{TopicID: p.TopicID, Partition: p.Partition}
	}
	return Partition{Topic: p.Topic, Partition: p.Partition}
}

// Params are a partition's fetch parameters as a request gives them; an
// incremental request that leaves a partition out reads it with the
// parameters cached from the last request that named it.
type Params struct {
	FetchOffset        int64
	LogStartOffset     int64 // the follower's
	MaxBytes           int32
	CurrentLeaderEpoch int32
	LastFetchedEpoch   int32
}

// PartitionRequest is one partition of a request: what to read.
type PartitionRequest struct {
	Partition
	Params
}

// Result is what reading a partition gave, for deciding whether an
// incremental answer carries it.
type Result struct {
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64 // the leader's
	RecordBytes      int
	ErrorCode        int16
	// Always is set when the answer must carry the partition whatever
	// changed: a diverging epoch or a preferred read replica.
	Always bool
}

// cached is a session's partition: its last request parameters and what
// it was last told. Partitions are a doubly linked list in reading order:
// one that returned data moves to the back, so that a response bounded by
// MaxBytes does not always favour the same partitions.
type cached struct {
	PartitionRequest
	highWatermark    int64
	lastStableOffset int64
	logStartOffset   int64

	prev, next *cached
}

// mustRespond reports whether an incremental answer carries the
// partition given r, recording what is sent when update is set. An error
// resets the cached high watermark, so the partition is sent again once
// the error clears.
func (c *cached) mustRespond(r Result, update bool) bool {
	must := r.RecordBytes > 0 || r.Always || r.ErrorCode != 0
	if c.highWatermark != r.HighWatermark || c.lastStableOffset != r.LastStableOffset || c.logStartOffset != r.LogStartOffset {
		must = true
		if update {
			c.highWatermark, c.lastStableOffset, c.logStartOffset = r.HighWatermark, r.LastStableOffset, r.LogStartOffset
		}
	}
	if r.ErrorCode != 0 && update {
		c.highWatermark = -1
	}
	return must
}

// session is one fetch session.
type session struct {
	id         int32
	privileged bool // a follower's
	topicIDs   bool // names partitions by topic id (v13+)
	created    time.Time
	lastUsed   time.Time
	// epoch is the epoch the next incremental request must carry.
	epoch int32

	byKey      map[Partition]*cached
	head, tail *cached

	// As of the last touch (Kafka's rule): the size the cache counts and
	// whether the session had outlived EvictionAfter since creation.
	size int
	aged bool
}

func newSession(id int32, privileged, topicIDs bool, now time.Time) *session {
	return &session{id: id, privileged: privileged, topicIDs: topicIDs, created: now, lastUsed: now,
		epoch: nextEpoch(0), byKey: map[Partition]*cached{}}
}

// upsert adds p at the back, or updates its parameters in place.
func (s *session) upsert(p PartitionRequest) *cached {
	k := p.Partition.key(s.topicIDs)
	if c, ok := s.byKey[k]; ok {
		c.Params = p.Params
		return c
	}
	c := &cached{PartitionRequest: PartitionRequest{Partition: k, Params: p.Params},
		highWatermark: -1, lastStableOffset: -1, logStartOffset: -1}
	s.byKey[k] = c
	s.pushBack(c)
	return c
}

func (s *session) forget(p Partition) {
	k := p.key(s.topicIDs)
	if c, ok := s.byKey[k]; ok {
		delete(s.byKey, k)
		s.unlink(c)
	}
}

func (s *session) pushBack(c *cached) {
	c.prev, c.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = c
	} else {
		s.head = c
	}
	s.tail = c
}

func (s *session) unlink(c *cached) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		s.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		s.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// partitions are the session's partitions in reading order, as requests
// (the partition named as the session names it).
func (s *session) partitions() []PartitionRequest {
	out := make([]PartitionRequest, 0, len(s.byKey))
	for c := s.head; c != nil; c = c.next {
		out = append(out, c.PartitionRequest)
	}
	return out
}

// nextEpoch follows KIP-227: epochs run 1 to MaxInt32 and wrap to 1; a
// negative epoch has no successor but the final epoch.
func nextEpoch(e int32) int32 {
	switch {
	case e < 0:
		return FinalEpoch
	case e == 1<<31-1:
		return 1
	default:
		return e + 1
	}
}
