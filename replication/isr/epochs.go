package isr

import "sort"

// EpochEntry is the first offset written in a leader epoch.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// EpochCache is a replica's leader epochs, ascending by epoch and start
// offset (Kafka's leader-epoch-checkpoint).
type EpochCache struct {
	entries []EpochEntry
}

// Entries returns a copy of the cache.
func (c *EpochCache) Entries() []EpochEntry { return append([]EpochEntry(nil), c.entries...) }

// Assign records that epoch starts at offset, as an append in a new epoch
// does. Entries at or after offset, or of a later epoch, are dropped first
// (they described a history this log no longer has).
func (c *EpochCache) Assign(epoch int32, offset int64) {
	if n := len(c.entries); n > 0 && c.entries[n-1].Epoch == epoch {
		return
	}
	c.TruncateFrom(offset)
	i := len(c.entries)
	for i > 0 && c.entries[i-1].Epoch >= epoch {
		i--
	}
	c.entries = append(c.entries[:i], EpochEntry{epoch, offset})
}

// TruncateFrom drops epochs that start at or after offset: the log was cut
// there.
func (c *EpochCache) TruncateFrom(offset int64) {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset >= offset })
	c.entries = c.entries[:i]
}

// Latest is the newest epoch (-1 when empty).
func (c *EpochCache) Latest() int32 {
	if len(c.entries) == 0 {
		return -1
	}
	return c.entries[len(c.entries)-1].Epoch
}

// EndOffsetFor answers OffsetForLeaderEpoch for epoch on a log ending at
// logEnd: the largest epoch at or below the asked one and the offset where
// it ends (the next epoch's start, or logEnd for the latest). (-1, -1) when
// this log has no such epoch.
func (c *EpochCache) EndOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].Epoch > epoch })
	if i == 0 {
		return -1, -1
	}
	if i == len(c.entries) {
		return c.entries[i-1].Epoch, logEnd
	}
	return c.entries[i-1].Epoch, c.entries[i].StartOffset
}

// Divergence is where a follower must cut its log (ending at logEnd, high
// watermark hw) after the leader answered OffsetForLeaderEpoch(the
// follower's latest epoch) with (leaderEpoch, leaderEnd). KIP-279's rule:
// the smaller of the leader's end for that epoch and this log's end for
// the same epoch, since both logs agree up to where that epoch ended on
// both. A leader with no such epoch (-1) vouches for nothing, so the
// follower keeps only what was committed (KIP-101's fallback).
func (c *EpochCache) Divergence(leaderEpoch int32, leaderEnd, logEnd, hw int64) int64 {
	if leaderEpoch < 0 {
		return min(hw, logEnd)
	}
	_, localEnd := c.EndOffsetFor(leaderEpoch, logEnd)
	if localEnd < 0 {
		return min(hw, logEnd)
	}
	return min(leaderEnd, localEnd, logEnd)
}
