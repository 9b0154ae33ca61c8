package main

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// kerrFor is a response's top-level error code as an error, with the
// broker's message when it sent one.
func kerrFor(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" {
		return fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}

func isElectionNotNeeded(err error) bool {
	return errors.Is(err, kerr.ElectionNotNeeded)
}

// brokerError is a per-resource error of a response in a line: the Kafka
// error name and the broker's message, without kerr's long description
// (which reads as if the client were at fault).
func brokerError(err error, msg string) string {
	text := err.Error()
	if ke, ok := errors.AsType[*kerr.Error](err); ok {
		text = ke.Message
	}
	if msg != "" {
		text += ": " + msg
	}
	return text
}
