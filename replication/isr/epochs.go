package isr

import "github.com/rillmq/rill/engine/log"

// Divergence is where a follower must cut its log (ending at logEnd, high
// watermark hw, leader epochs c) after the leader answered
// OffsetForLeaderEpoch(the follower's latest epoch) with (leaderEpoch,
// leaderEnd). KIP-279's rule: the smaller of the leader's end for that
// epoch and this log's end for the same epoch, since both logs agree up to
// where that epoch ended on both. A leader with no such epoch (-1) vouches
// for nothing, so the follower keeps only what was committed (KIP-101's
// fallback).
func Divergence(c *log.EpochCache, leaderEpoch int32, leaderEnd, logEnd, hw int64) int64 {
	if leaderEpoch < 0 {
		return min(hw, logEnd)
	}
	_, localEnd := c.EndOffsetFor(leaderEpoch, logEnd)
	if localEnd < 0 {
		return min(hw, logEnd)
	}
	return min(leaderEnd, localEnd, logEnd)
}
