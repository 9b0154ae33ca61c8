package main

import (
	"fmt"
	stdlog "log"
	"net"
	"strconv"
	"time"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/netserver"
	"github.com/rillmq/rill/netserver/handler"
)

// startServer binds the Kafka protocol listener on addr.
// The returned broker must be closed (its group coordinator) after the
// server and before the engine.
func startServer(addr string, eng *engine.Engine, cfg *brokerConfig, logger *stdlog.Logger) (netserver.Server, *handler.Broker, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen address %q: bad port", addr)
	}
	hc, err := cfg.handlerConfig(host, int32(port))
	if err != nil {
		return nil, nil, err
	}
	broker := handler.New(hc, eng, logger.Printf)
	sc := netserver.DefaultConfig(addr)
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
	srv, err := netserver.Listen(sc, broker, logger.Printf)
	if err != nil {
		broker.Close()
		return nil, nil, err
	}
	if port == 0 {
		// An ephemeral port: advertise the one we got. No client can have
		// learned the address before this line, so nothing was answered
		// with port 0.
		broker.Advertise(host, int32(srv.Addr().(*net.TCPAddr).Port))
	}
	logger.Printf("listening on %s (node.id %d, transport %s)", srv.Addr(), hc.NodeID, sc.Transport)
	return srv, broker, nil
}
