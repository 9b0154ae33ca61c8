package clientconf

import (
	"fmt"
	"strings"

	rillsasl "github.com/rillmq/rill/netserver/sasl"

	"github.com/rillmq/rill/internal/tlsconf"
)

// InterBrokerMechanism is the broker key naming the SASL mechanism of
// inter-broker clients; Kafka's default is GSSAPI.
const InterBrokerMechanism = "sasl.mechanism.inter.broker.protocol"

// InterBroker derives the client configuration a broker uses to reach
// other brokers on listener (whose security protocol is protocol), from
// the broker's own properties, as Kafka does:
//
//   - SSL: the listener's ssl.* settings (listener.name.<listener>.ssl.*
//     over ssl.*), so the broker presents its own key store as its client
//     certificate and trusts its trust store.
//   - SASL: sasl.mechanism.inter.broker.protocol, and the listener's JAAS
//     configuration for that mechanism
//     (listener.name.<listener>.<mechanism>.sasl.jaas.config, else
//     sasl.jaas.config), whose username and password (or unsecured
//     OAUTHBEARER claims) are the broker's credentials.
//
// Errors name the broker key at fault.
func InterBroker(brokerProps map[string]string, listener, protocol string, opts ...Option) (*Config, error) {
	client := map[string]string{SecurityProtocol: protocol}
	switch strings.ToUpper(protocol) {
	case SSL, SASLSSL:
		for k, v := range tlsconf.ForListener(brokerProps, listener) {
			client[k] = v
		}
	}
	jaasKey := ""
	switch strings.ToUpper(protocol) {
	case SASLPlaintext, SASLSSL:
		mech := strings.TrimSpace(brokerProps[InterBrokerMechanism])
		if mech == "" {
			return nil, keyErr(InterBrokerMechanism, nil, "must be set for a %s inter-broker listener: Kafka's default, GSSAPI, is not supported", protocol)
		}
		switch strings.ToUpper(mech) {
		case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer:
		default:
			return nil, keyErr(InterBrokerMechanism, nil, "unsupported mechanism %q (want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)", mech)
		}
		client[SASLMechanism] = mech
		jaas, key, ok := rillsasl.ServerJAASConfig(brokerProps, listener, mech)
		if !ok {
			return nil, keyErr("listener.name."+strings.ToLower(listener)+"."+strings.ToLower(mech)+".sasl.jaas.config", nil,
				"must be set: inter-broker clients authenticate with its username and password")
		}
		client[SASLJAASConfig] = jaas
		jaasKey = key
	}
	c, err := Parse(client, opts...)
	if err != nil {
		if e, ok := err.(*Error); ok {
			switch e.Key {
			case SASLMechanism:
				e.Key = InterBrokerMechanism
			case SASLJAASConfig:
				e.Key = jaasKey
			}
		}
		return nil, fmt.Errorf("inter-broker client of listener %s: %w", listener, err)
	}
	return c, nil
}
