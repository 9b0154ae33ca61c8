package main

import (
	"time"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/internal/listeners"
	"github.com/rillmq/rill/internal/logging"
	"github.com/rillmq/rill/netserver"
	"github.com/rillmq/rill/netserver/handler"
)

// startServer binds the Kafka protocol listeners of lc (one server each).
// The returned broker must be closed (its group coordinator) after the
// servers and before the engine.
func startServer(lc *listeners.Config, eng *engine.Engine, cfg *brokerConfig, logs *logging.Logging) (servers, *handler.Broker, error) {
	hc, err := cfg.handlerConfig(lc)
	if err != nil {
		return nil, nil, err
	}
	if hc.Authorizer == nil {
		// authorizer.class.name; the broker runtime feeds it the ACLs of
		// the metadata log (startRuntime).
		if hc.Authorizer, err = authorizerFromConfig(cfg.get); err != nil {
			return nil, nil, err
		}
	}
	hc.Groups.Logger, hc.TxnLogger = logs.Component("group"), logs.Component("txn")
	broker := handler.New(hc, eng, logs.Component("handler"))
	// The SASL listeners' SCRAM credentials: the metadata log's, as this
	// broker applies them (lookups wait until it serves).
	cfg.scram.set(broker.ScramStore())
	sc := netserver.DefaultConfig("")
	sc.Transport = cfg.get("net.transport", sc.Transport)
	if v, ok := cfg.props["net.sendfile"]; ok {
		sc.NoSendfile = v != "true"
	}
	maxReq, err := cfg.int64("socket.request.max.bytes", int64(sc.MaxRequestBytes))
	if err != nil {
		return nil, nil, err
	}
	sc.MaxRequestBytes = int32(maxReq)
	maxConns, err := cfg.int64("max.connections", 0)
	if err != nil {
		return nil, nil, err
	}
	sc.MaxConnections = int(maxConns)
	idle, err := cfg.int64("connections.max.idle.ms", sc.IdleTimeout.Milliseconds())
	if err != nil {
		return nil, nil, err
	}
	sc.IdleTimeout = time.Duration(idle) * time.Millisecond
	srv, err := listen(lc, sc, cfg, broker, hc.NodeID, logs)
	if err != nil {
		broker.Close()
		return nil, nil, err
	}
	return srv, broker, nil
}
