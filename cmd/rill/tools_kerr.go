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
