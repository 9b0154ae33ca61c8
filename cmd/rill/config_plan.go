package main

import (
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/internal/listeners"
	"github.com/rillmq/rill/netserver"
	"github.com/rillmq/rill/netserver/handler"
)

// servePlan is everything rill serve derives from its settings before it
// opens a file or binds a port: a setting any part refuses fails the
// start with nothing touched (no data directory created, no log
// recovered).
type servePlan struct {
	dir       string
	listeners *listeners.Config
	engine    engine.Config
	handler   handler.Config
	net       netserver.Config
	nodeID    int64
	voters    map[uint64]string
}

// plan builds and checks every derived config: listeners and their
// security, the engine's, the handlers' (groups, transactions, quotas,
// authorizer), the network's, the cluster runtime's and the controller
// quorum's.
func (c *brokerConfig) plan() (*servePlan, error) {
	p := &servePlan{dir: c.dataDir()}
	var err error
	if err = checkProcessRoles(c); err != nil {
		return nil, err
	}
	if p.listeners, err = c.listenerConfig(""); err != nil {
		return nil, err
	}
	if p.engine, err = c.engineConfig(p.dir); err != nil {
		return nil, err
	}
	if p.handler, err = c.handlerConfig(p.listeners); err != nil {
		return nil, err
	}
	// authorizer.class.name; the broker runtime feeds it the ACLs of the
	// metadata log (startRuntime).
	if p.handler.Authorizer, err = authorizerFromConfig(c.get); err != nil {
		return nil, err
	}
	if p.net, err = c.netConfig(); err != nil {
		return nil, err
	}
	if _, err = runtimeConfig(c); err != nil {
		return nil, err
	}
	if p.nodeID, err = c.int64("node.id", 1); err != nil {
		return nil, err
	}
	if v := c.get("controller.quorum.voters", ""); v != "" {
		if p.voters, err = parseVoters(v); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkProcessRoles refuses a controller-only node: rill serve always
// serves Kafka clients, and a controller that did so without the broker
// role would be a stray single broker.
func checkProcessRoles(c *brokerConfig) error {
	if roles := c.get("process.roles", "broker"); !strings.Contains(roles, "broker") {
		return fmt.Errorf("process.roles=%s: controller-only nodes are not supported; use broker,controller", roles)
	}
	return nil
}

// netConfig is the protocol servers' config shared by every listener
// (each adds its address and security).
func (c *brokerConfig) netConfig() (netserver.Config, error) {
	sc := netserver.DefaultConfig("")
	sc.Transport = c.get("net.transport", sc.Transport)
	if v, ok := c.props["net.sendfile"]; ok {
		sc.NoSendfile = v != "true"
	}
	maxReq, err := c.int64("socket.request.max.bytes", int64(sc.MaxRequestBytes))
	if err != nil {
		return sc, err
	}
	sc.MaxRequestBytes = int32(maxReq)
	maxConns, err := c.int64("max.connections", math.MaxInt32)
	if err != nil {
		return sc, err
	}
	sc.MaxConnections = int(maxConns)
	idle, err := c.int64("connections.max.idle.ms", sc.IdleTimeout.Milliseconds())
	if err != nil {
		return sc, err
	}
	sc.IdleTimeout = time.Duration(idle) * time.Millisecond
	return sc, nil
}

// bindListeners binds every broker listener of lc before the logs are
// recovered, so that a port in use, or a host that is not this machine's,
// fails the start at once. The servers take the sockets over (listen);
// the returned function closes those not taken over.
func bindListeners(lc *listeners.Config) (map[string]net.Listener, func(), error) {
	bound := map[string]net.Listener{}
	closeAll := func() {
		for _, ln := range bound {
			ln.Close()
		}
	}
	for _, l := range lc.Brokers() {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("listener %s: %w", l, err)
		}
		bound[l.Name] = ln
	}
	return bound, closeAll, nil
}
