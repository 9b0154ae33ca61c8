package handler

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/replication/isr"
	"github.com/rillmq/rill/replication/metadata"
	"github.com/rillmq/rill/replication/replica"
)

// errorCodes is the one table where the domain errors the handlers meet
// (the engine's, the replicas', the metadata's) become Kafka codes. The
// controller's errors are mapped where a controller node answers
// (replication/node's rpc.go): the handlers get them as Kafka errors.
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	{log.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{log.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{log.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{log.ErrTransactionCoordinatorFenced, kerr.TransactionCoordinatorFenced},
	{log.ErrInvalidTxnState, kerr.InvalidTxnState},
	{log.ErrBatchTooLarge, kerr.MessageTooLarge},
	{format.ErrCorrupt, kerr.CorruptMessage},
	{engine.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists},
	{engine.ErrPartitionExists, kerr.TopicAlreadyExists},
	{log.ErrClosed, kerr.KafkaStorageError},
	{log.ErrFailed, kerr.KafkaStorageError},
	{replica.ErrNotLeader, kerr.NotLeaderForPartition},
	{replica.ErrLeaderNotAvailable, kerr.LeaderNotAvailable},
	{replica.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{replica.ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
	{isr.ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
	{isr.ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend},
	{isr.ErrAckTimeout, kerr.RequestTimedOut},
}

// toKerr maps an error to its Kafka error code: a Kafka error as it is
// (the handlers' own checks, a controller's answer), a domain error by
// errorCodes, anything else KAFKA_STORAGE_ERROR.
func toKerr(err error) *kerr.Error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return kerr.KafkaStorageError
}
