package main

import (
	"io"

	"github.com/rillmq/rill/internal/logging"
)

// lookup is the config getter logging.ParseSettings reads log.format,
// log.level and log.level.<component> through: set keys only, so the
// logging package keeps its own defaults.
func (c *brokerConfig) lookup(key string) (string, bool) {
	v, ok := c.props[key]
	return v, ok
}

// newLogging builds the process's logger from the config, writing to w
// (stderr).
func newLogging(cfg *brokerConfig, w io.Writer) (*logging.Logging, error) {
	s, err := logging.ParseSettings(cfg.lookup)
	if err != nil {
		return nil, err
	}
	return logging.New(w, s), nil
}
