package replica

import "errors"

// Errors of a broker's replicas (and, from an acks=all wait, package
// isr's). They carry no Kafka error codes: the broker's handlers map them
// (netserver/handler/errors.go). The follower's fetcher reads Kafka codes
// from the leader's Fetch responses: that is a wire edge of its own.
var (
	// ErrNotLeader: another broker leads the partition, or this one
	// stopped leading it while an acks=all append waited
	// (NOT_LEADER_OR_FOLLOWER).
	ErrNotLeader = errors.New("replica: not the partition's leader")
	// ErrLeaderNotAvailable: the partition has no leader
	// (LEADER_NOT_AVAILABLE).
	ErrLeaderNotAvailable = errors.New("replica: the partition has no leader")
	// ErrFencedLeaderEpoch: a request names a leader epoch older than
	// the leader's (FENCED_LEADER_EPOCH).
	ErrFencedLeaderEpoch = errors.New("replica: leader epoch older than the leader's")
	// ErrUnknownLeaderEpoch: a request names a leader epoch newer than
	// the leader's (UNKNOWN_LEADER_EPOCH).
	ErrUnknownLeaderEpoch = errors.New("replica: leader epoch newer than the leader's")
	// ErrISRChangeRefused is what Config.AlterPartition wraps when the
	// controller answered an ISR change with a refusal (a stale epoch, an
	// ineligible replica), as opposed to no answer: the leader then starts
	// again from the published state at once.
	ErrISRChangeRefused = errors.New("replica: ISR change refused by the controller")
)
