package main

import (
	"net"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/internal/logging"
	"github.com/rillmq/rill/netserver/handler"
)

// startServer serves the Kafka protocol on the broker listeners of p,
// whose sockets bound holds (bindListeners). The returned broker must be
// closed (its group coordinator) after the servers and before the engine.
func startServer(p *servePlan, bound map[string]net.Listener, eng *engine.Engine, cfg *brokerConfig, logs *logging.Logging) (servers, *handler.Broker, error) {
	hc := p.handler
	hc.Groups.Logger, hc.TxnLogger = logs.Component("group"), logs.Component("txn")
	hc.Loggers = logs // BROKER_LOGGER config resources
	broker := handler.New(hc, eng, logs.Component("handler"))
	// The SASL listeners' SCRAM credentials: the metadata log's, as this
	// broker applies them (lookups wait until it serves).
	cfg.scram.set(broker.ScramStore())
	srv, err := listen(p.listeners, p.net, bound, cfg, broker, hc.NodeID, logs)
	if err != nil {
		broker.Close()
		return nil, nil, err
	}
	return srv, broker, nil
}
