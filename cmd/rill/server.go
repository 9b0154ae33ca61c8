package main

import (
	stdlog "log"
	"net"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/netserver/handler"
)

// startServer serves the Kafka protocol on the broker listeners of p,
// whose sockets bound holds (bindListeners). The returned broker must be
// closed (its group coordinator) after the servers and before the engine.
func startServer(p *servePlan, bound map[string]net.Listener, eng *engine.Engine, cfg *brokerConfig, logger *stdlog.Logger) (servers, *handler.Broker, error) {
	broker := handler.New(p.handler, eng, logger.Printf)
	// The SASL listeners' SCRAM credentials: the metadata log's, as this
	// broker applies them (lookups wait until it serves).
	cfg.scram.set(broker.ScramStore())
	srv, err := listen(p.listeners, p.net, bound, cfg, broker, p.handler.NodeID, logger)
	if err != nil {
		broker.Close()
		return nil, nil, err
	}
	return srv, broker, nil
}
