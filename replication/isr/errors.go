package isr

import "errors"

// Errors of a leader's acks=all appends. They carry no Kafka error codes:
// the broker's handlers map them (netserver/handler/errors.go).
var (
	// ErrNotEnoughReplicas refuses an acks=all append while the ISR is
	// smaller than min.insync.replicas (NOT_ENOUGH_REPLICAS).
	ErrNotEnoughReplicas = errors.New("isr: fewer in-sync replicas than min.insync.replicas")
	// ErrNotEnoughReplicasAfterAppend ends an acks=all wait whose append
	// was committed while the ISR was below min.insync.replicas
	// (NOT_ENOUGH_REPLICAS_AFTER_APPEND).
	ErrNotEnoughReplicasAfterAppend = errors.New("isr: committed with fewer in-sync replicas than min.insync.replicas")
	// ErrAckTimeout ends an acks=all wait the high watermark did not reach
	// by its deadline (REQUEST_TIMED_OUT).
	ErrAckTimeout = errors.New("isr: not committed before the deadline")
)
