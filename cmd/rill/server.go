package main

import (
	stdlog "log"

	"github.com/rillmq/rill/engine"
)

type server interface{ Close() error }

// startServer starts the Kafka protocol server. Until netserver lands the
// broker serves storage only and says so.
func startServer(addr string, eng *engine.Engine, cfg *brokerConfig, logger *stdlog.Logger) (server, error) {
	logger.Printf("Kafka protocol server not built yet: %s is not bound", addr)
	return nil, nil
}
