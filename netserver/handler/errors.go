package handler

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/replication/metadata"
)

// toKerr maps domain errors to Kafka error codes: the one table where
// Go errors become wire codes.
func toKerr(err error) *kerr.Error {
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		return ke
	case errors.Is(err, log.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange
	case errors.Is(err, log.ErrInvalidProducerEpoch):
		return kerr.InvalidProducerEpoch
	case errors.Is(err, log.ErrOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber
	case errors.Is(err, log.ErrBatchTooLarge):
		return kerr.MessageTooLarge
	case errors.Is(err, format.ErrCorrupt):
		return kerr.CorruptMessage
	case errors.Is(err, engine.ErrUnknownPartition), errors.Is(err, metadata.ErrUnknownTopic):
		return kerr.UnknownTopicOrPartition
	case errors.Is(err, metadata.ErrTopicExists), errors.Is(err, engine.ErrPartitionExists):
		return kerr.TopicAlreadyExists
	case errors.Is(err, log.ErrClosed), errors.Is(err, log.ErrFailed):
		return kerr.KafkaStorageError
	}
	return kerr.KafkaStorageError
}
