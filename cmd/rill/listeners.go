package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/rillmq/rill/internal/clientconf"
	"github.com/rillmq/rill/internal/listeners"
	"github.com/rillmq/rill/internal/logging"
	"github.com/rillmq/rill/internal/tlsconf"
	"github.com/rillmq/rill/netserver"
	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/replication/controller"
)

// defaultListeners is where rill serve listens without listeners or
// --listen: loopback only.
const defaultListeners = "PLAINTEXT://127.0.0.1:9092"

// listenerConfig reads Kafka's listener settings (package listeners has
// the rules). listen, --listen HOST:PORT, is a shorthand for
// listeners=PLAINTEXT://HOST:PORT and replaces the setting; so does a
// listeners value that is a bare host:port (Rill's form before named
// listeners). Every listener's security settings are checked here.
func (c *brokerConfig) listenerConfig(listen string) (*listeners.Config, error) {
	s := listeners.Settings{
		Listeners:                   c.get("listeners", defaultListeners),
		AdvertisedListeners:         c.get("advertised.listeners", ""),
		ProtocolMap:                 c.get("listener.security.protocol.map", ""),
		InterBrokerListenerName:     c.get("inter.broker.listener.name", ""),
		SecurityInterBrokerProtocol: c.get("security.inter.broker.protocol", ""),
		ControllerListenerNames:     c.get("controller.listener.names", ""),
		AdvertisedHost:              c.get("advertised.host", ""),
		Controller:                  strings.Contains(c.get("process.roles", "broker"), "controller"),
	}
	if listen != "" {
		s.Listeners = "PLAINTEXT://" + listen
	} else if v := strings.TrimSpace(s.Listeners); v != "" && !strings.Contains(v, "://") && !strings.Contains(v, ",") {
		if _, _, err := net.SplitHostPort(v); err == nil {
			s.Listeners = "PLAINTEXT://" + v
		}
	}
	lc, err := listeners.Parse(s)
	if err != nil {
		return nil, err
	}
	// Check every listener's security settings before anything is
	// opened; listen builds them again to serve.
	c.checking = true
	defer func() { c.checking = false }()
	for _, l := range lc.Brokers() {
		var sc netserver.Config
		if err := c.secure(&sc, l, logging.Discard()); err != nil {
			return nil, err
		}
	}
	if _, err := c.interBrokerClient(lc); err != nil {
		return nil, err
	}
	if _, err := c.controllerSecurity(lc, s.Controller, nil, logging.Discard()); err != nil {
		return nil, err
	}
	return lc, nil
}

// servers are one protocol server per listener.
type servers []netserver.Server

func (s servers) Close() error {
	var first error
	for _, srv := range s {
		if err := srv.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// interBrokerClient is the security of the broker's own clients of other
// brokers (replica fetchers, transaction verification and markers): the
// inter-broker listener's protocol, with the broker's credentials from its
// JAAS config for sasl.mechanism.inter.broker.protocol and its own key and
// trust stores (clientconf.InterBroker has Kafka's rules). Nil on a
// PLAINTEXT inter-broker listener.
func (c *brokerConfig) interBrokerClient(lc *listeners.Config) (*clientconf.Config, error) {
	for _, l := range lc.Listeners {
		if l.Name != lc.InterBroker || l.Protocol == listeners.Plaintext {
			continue
		}
		cc, err := clientconf.InterBroker(c.props, l.Name, l.Protocol)
		if err != nil {
			return nil, fmt.Errorf("inter-broker listener %s (%s): %w", l.Name, l.Protocol, err)
		}
		return cc, nil
	}
	return nil, nil
}

// secure sets sc's TLS and SASL for listener l from the config.
func (c *brokerConfig) secure(sc *netserver.Config, l listeners.Listener, logs *logging.Logging) error {
	auth, err := c.saslAuthenticator(l, &c.scram, logs.Component("sasl"))
	if err != nil {
		return err
	}
	sc.SASL = auth
	delay, err := c.listenerMillis(l.Name, "connection.failed.authentication.delay.ms", netserver.DefaultFailedAuthenticationDelay.Milliseconds())
	if err != nil {
		return err
	}
	sc.FailedAuthenticationDelay = delay
	if auth != nil {
		v := strings.TrimSpace(c.listenerGet(l.Name, "sasl.server.max.receive.size", fmt.Sprint(netserver.DefaultSASLMaxReceiveSize)))
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 8 {
			return fmt.Errorf("sasl.server.max.receive.size=%q: want a number of bytes of at least 8", v)
		}
		sc.SASLMaxReceiveSize = int32(n)
	}
	switch l.Protocol {
	case listeners.SSL, listeners.SASLSSL:
		props := tlsconf.ForListener(c.props, l.Name)
		if l.Protocol == listeners.SASLSSL {
			props = tlsconf.ForSASLSSLListener(c.props, l.Name)
		}
		tl, err := tlsconf.Server(props, tlsconf.WithLogger(logs.Component("tls")))
		if err != nil {
			return fmt.Errorf("listener %s (%s): %w", l.Name, l.Protocol, err)
		}
		sc.TLS = tl.Config()
		if l.Protocol == listeners.SSL {
			mapper := tl.PrincipalMapper()
			sc.TLSPrincipal = func(cs tls.ConnectionState) (string, error) { return tlsconf.Principal(cs, mapper) }
		}
	}
	return nil
}

// listen serves every broker listener of lc (the inter-broker one first)
// on its socket in bound (bindListeners), with sc's limits and cfg's
// security settings, and advertises the port bound where the listener's
// was 0 and no advertised address was set.
func listen(lc *listeners.Config, sc netserver.Config, bound map[string]net.Listener, cfg *brokerConfig, broker *handler.Broker, nodeID int32, logs *logging.Logging) (servers, error) {
	var out servers
	for _, l := range lc.Brokers() {
		lsc := sc
		lsc.Addr, lsc.Listener, lsc.Bound = l.Addr(), l.Name, bound[l.Name]
		if err := cfg.secure(&lsc, l, logs); err != nil {
			out.Close()
			return nil, err
		}
		srv, err := netserver.Listen(lsc, broker, logs.Component("net"))
		if err != nil {
			out.Close()
			return nil, fmt.Errorf("listener %s: %w", l, err)
		}
		out = append(out, srv)
		if l.Port == 0 && !l.Advertised {
			// An ephemeral port: advertise the one we got. No client can
			// have learned the address before this line, so nothing was
			// answered with port 0.
			port := int32(srv.Addr().(*net.TCPAddr).Port)
			broker.AdvertiseListener(l.Name, l.AdvertisedHost, port)
			if l.Name == lc.InterBroker {
				broker.Advertise(l.AdvertisedHost, port)
			}
		}
		host, port := broker.Advertised()
		for _, e := range broker.AdvertisedListeners() {
			if e.Name == l.Name {
				host, port = e.Host, e.Port
			}
		}
		logs.Component("server").Info("listening", "addr", srv.Addr().String(), "listener", l.Name, "protocol", l.Protocol,
			"advertised", net.JoinHostPort(host, fmt.Sprint(port)), "node_id", nodeID, "transport", sc.Transport)
	}
	return out, nil
}

// registeredListeners are the broker's advertised listeners as it
// registers them with the controller, the inter-broker one first.
func registeredListeners(lc *listeners.Config, broker *handler.Broker) []controller.Endpoint {
	protocols := map[string]string{}
	for _, l := range lc.Listeners {
		protocols[l.Name] = l.Protocol
	}
	var out []controller.Endpoint
	for _, e := range broker.AdvertisedListeners() {
		out = append(out, controller.Endpoint{Name: e.Name, Host: e.Host, Port: e.Port, Protocol: listeners.ProtocolID(protocols[e.Name])})
	}
	return out
}
