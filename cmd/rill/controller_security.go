package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/rillmq/rill/internal/clientconf"
	"github.com/rillmq/rill/internal/listeners"
	"github.com/rillmq/rill/internal/logging"
	"github.com/rillmq/rill/internal/tlsconf"
	"github.com/rillmq/rill/netserver"
	"github.com/rillmq/rill/netserver/authz"
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
// the controller listener authenticates with PLAIN or OAUTHBEARER only
// (SCRAM is left out of the mechanisms it inherits). An SSL controller
// listener requires client certificates. An authenticated principal may
// use the listener only with CLUSTER_ACTION on the cluster when an
// authorizer is configured (in practice: the brokers' principal in
// super.users, since ACLs are only known once the log is replayed), as
// Kafka's controllers check; authorizer is the broker's (nil: none, or
// only validating the settings, which then starts nothing).
func (c *brokerConfig) controllerSecurity(lc *listeners.Config, quorumMember bool, authorizer *authz.Authorizer, logs *logging.Logging) (transport.Security, error) {
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
		tl, err := tlsconf.Server(props, tlsconf.WithLogger(logs.Component("tls")))
		if err != nil {
			return sec, fmt.Errorf("controller listener %s (%s): %w", name, protocol, err)
		}
		sec.ServerTLS = tl.Config()
		if protocol == listeners.SSL {
			if props[tlsconf.ClientAuth] != "required" {
				return sec, fmt.Errorf("controller listener %s (SSL): set listener.name.%s.ssl.client.auth=required (without SASL, client certificates are what authenticates brokers to the controllers)", name, strings.ToLower(name))
			}
			mapper := tl.PrincipalMapper()
			sec.TLSPrincipal = func(cs tls.ConnectionState) (string, error) { return tlsconf.Principal(cs, mapper) }
		}
	}
	if sasl {
		var mechs []string
		for _, m := range strings.Split(c.listenerGet(name, "sasl.enabled.mechanisms", ""), ",") {
			if m = strings.TrimSpace(m); m != "" && !strings.HasPrefix(m, "SCRAM-") {
				mechs = append(mechs, m)
			}
		}
		if len(mechs) == 0 {
			return sec, fmt.Errorf("controller listener %s (%s): set listener.name.%s.sasl.enabled.mechanisms to PLAIN or OAUTHBEARER (SCRAM is not offered there)", name, protocol, strings.ToLower(name))
		}
		own := &brokerConfig{props: maps.Clone(c.props), checking: c.checking}
		own.props["listener.name."+strings.ToLower(name)+".sasl.enabled.mechanisms"] = strings.Join(mechs, ",")
		auth, err := own.saslAuthenticator(l, nil, logs.Component("sasl"))
		if err != nil {
			return sec, err
		}
		delay, err := c.listenerMillis(name, "connection.failed.authentication.delay.ms", netserver.DefaultFailedAuthenticationDelay.Milliseconds())
		if err != nil {
			return sec, err
		}
		sec.Accept = netserver.SASLExchange(auth, delay)
	}
	if authorizer != nil {
		sec.Allow = func(principal string) error {
			d := authorizer.Authorize(authz.Request{Principal: principal, Host: "*", Operation: authz.OpClusterAction,
				Resource: authz.Resource{Type: authz.ResourceCluster, Name: authz.ClusterName}})
			if !d.Allowed {
				return errors.New("no CLUSTER_ACTION on the cluster (put the brokers' principal in super.users)")
			}
			return nil
		}
	}
	return sec, nil
}
