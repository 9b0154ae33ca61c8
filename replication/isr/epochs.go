package isr

// EndOffsetFor answers OffsetForLeaderEpoch from a log's leader epochs:
// the largest epoch not above epoch and the offset where it ended (the
// log end for the latest), or (-1, -1) when the log has no such epoch.
// engine/log's Log.EndOffsetForEpoch is one.
type EndOffsetFor func(epoch int32) (int32, int64)

// Divergence is where a follower must cut its log (ending at logEnd, high
// watermark hw, leader epochs local) after the leader answered the
// follower's latest epoch with (leaderEpoch, leaderEnd), through
// OffsetForLeaderEpoch or a Fetch's DivergingEpoch. KIP-279's rule: the
// smaller of the leader's end for that epoch and this log's end for the
// same epoch, since both logs agree up to where that epoch ended on both.
// A leader with no such epoch (-1) vouches for nothing, so the follower
// keeps only what was committed (KIP-101's fallback).
func Divergence(local EndOffsetFor, leaderEpoch int32, leaderEnd, logEnd, hw int64) int64 {
	if leaderEpoch < 0 {
		return min(hw, logEnd)
	}
	_, localEnd := local(leaderEpoch)
	if localEnd < 0 {
		return min(hw, logEnd)
	}
	return min(leaderEnd, localEnd, logEnd)
}
