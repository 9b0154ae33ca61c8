package main

import (
	"context"
	"fmt"
	"maps"

	"github.com/rillmq/rill/internal/clientconf"
	"github.com/rillmq/rill/internal/listeners"
	"github.com/rillmq/rill/internal/tlsconf"
	"github.com/rillmq/rill/netserver"
	"github.com/rillmq/rill/replication/transport"
)

// controllerSecurity secures the controller quorum's links with the
// protocol of the controller listener (controller.listener.names' first
// name in listener.security.protocol.map), as Kafka does:
//
//   - A quorum member's controller listener takes that listener's ssl.*
//     settings (listener.name.<name>.ssl.* over ssl.*) and its SASL
//     settings (listener.name.<name>.sasl.enabled.mechanisms and JAAS
//     configs), like any broker listener.
//   - Every node dials the controllers with sasl.mechanism.controller.protocol
//     and the credentials of the controller listener's JAAS config for
//     that mechanism (username and password options), presenting its key
//     store and trusting its trust store.
//
// SCRAM credentials live in the metadata log the controllers replicate, so
// the controller listener authenticates with PLAIN or OAUTHBEARER.
func (c *brokerConfig) controllerSecurity(lc *listeners.Config, quorumMember bool, logf func(string, ...any)) (transport.Security, error) {
	var sec transport.Security
	if len(lc.ControllerNames) == 0 {
		return sec, nil
	}
	name := lc.ControllerNames[0]
	protocol := lc.Protocols[name]
	if protocol == "" || protocol == listeners.Plaintext {
		return sec, nil
	}
	l := listeners.Listener{Endpoint: listeners.Endpoint{Name: name}, Protocol: protocol, Controller: true}
	sasl := protocol == listeners.SASLPlaintext || protocol == listeners.SASLSSL
	if sasl {
		mech := c.get("sasl.mechanism.controller.protocol", "")
		if mech == "" {
			return sec, fmt.Errorf("controller listener %s (%s): set sasl.mechanism.controller.protocol (Kafka's default, GSSAPI, is not served)", name, protocol)
		}
		if mech != "PLAIN" && mech != "OAUTHBEARER" {
			return sec, fmt.Errorf("sasl.mechanism.controller.protocol=%s: the controller listener authenticates with PLAIN or OAUTHBEARER (SCRAM credentials are kept in the metadata log the controllers serve)", mech)
		}
	}
	// The client side: the same derivation as the inter-broker clients,
	// with the controller's mechanism.
	props := maps.Clone(c.props)
	if sasl {
		props["sasl.mechanism.inter.broker.protocol"] = c.get("sasl.mechanism.controller.protocol", "")
	}
	cc, err := clientconf.InterBroker(props, name, protocol)
	if err != nil {
		return sec, fmt.Errorf("controller listener %s (%s): %w", name, protocol, err)
	}
	sec.ClientTLS = cc.TLS()
	if mech := cc.SASL(); mech != nil {
		sec.Dial = func(ctx context.Context, call func([]byte) ([]byte, error)) error {
			return clientconf.Authenticate(ctx, mech, "", call)
		}
	}
	if !quorumMember {
		return sec, nil
	}
	if protocol == listeners.SSL || protocol == listeners.SASLSSL {
		props := tlsconf.ForListener(c.props, name)
		if protocol == listeners.SASLSSL {
			props = tlsconf.ForSASLSSLListener(c.props, name)
		}
		tl, err := tlsconf.Server(props, tlsconf.WithLogf(logf))
		if err != nil {
			return sec, fmt.Errorf("controller listener %s (%s): %w", name, protocol, err)
		}
		sec.ServerTLS = tl.Config()
	}
	if sasl {
		auth, err := c.saslAuthenticator(l, &c.scram, logf)
		if err != nil {
			return sec, err
		}
		sec.Accept = netserver.SASLExchange(auth)
	}
	return sec, nil
}
