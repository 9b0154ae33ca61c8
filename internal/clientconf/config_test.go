package clientconf

import (
	"errors"
	"strings"
	"testing"

	"github.com/rillmq/rill/internal/testcerts"
	"github.com/rillmq/rill/internal/tlsconf"
)

const (
	plainJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";`
	scramJAAS = `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";`
	oauthJAAS = `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice";`
)

func TestParse(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	ssl := ca.ClientProps(nil, testcerts.PEMFiles)
	for _, tc := range []struct {
		name  string
		props map[string]string
		proto string
		mech  string
		tls   bool
		opts  int // kgo options
	}{
		{"empty", map[string]string{}, Plaintext, "", false, 0},
		{"plaintext", map[string]string{BootstrapServers: "a:9092, b:9093", ClientID: "tool"}, Plaintext, "", false, 2},
		{"lower-case protocol", map[string]string{SecurityProtocol: "ssl"}, SSL, "", true, 1},
		{"ssl", ssl, SSL, "", true, 1},
		{"plain", map[string]string{SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "PLAIN", SASLJAASConfig: plainJAAS}, SASLPlaintext, MechanismPlain, false, 1},
		{"scram-256 with the plain module", map[string]string{SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "SCRAM-SHA-256", SASLJAASConfig: plainJAAS}, SASLPlaintext, MechanismScramSHA256, false, 1},
		{"scram-512 over TLS", with(ssl, SecurityProtocol, "SASL_SSL", SASLMechanism, "SCRAM-SHA-512", SASLJAASConfig, scramJAAS), SASLSSL, MechanismScramSHA512, true, 2},
		{"librdkafka credentials", map[string]string{SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "plain", SASLUsername: "u", SASLPassword: "p"}, SASLPlaintext, MechanismPlain, false, 1},
		{"both spellings agree", map[string]string{SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "PLAIN", SASLJAASConfig: plainJAAS, SASLUsername: "alice", SASLPassword: "alice-secret"}, SASLPlaintext, MechanismPlain, false, 1},
		{"oauthbearer", map[string]string{SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "OAUTHBEARER", SASLJAASConfig: oauthJAAS}, SASLPlaintext, MechanismOAuthBearer, false, 1},
		{"SASL keys ignored without SASL", map[string]string{SASLMechanism: "GSSAPI", "sasl.login.callback.handler.class": "x"}, Plaintext, "", false, 0},
		{"ssl keys ignored without TLS", map[string]string{"ssl.truststore.location": "/nonexistent"}, Plaintext, "", false, 0},
	} {
		c, err := Parse(tc.props)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.SecurityProtocol != tc.proto || c.Mechanism != tc.mech || (c.TLS() != nil) != tc.tls || (c.SASL() != nil) != (tc.mech != "") {
			t.Errorf("%s: protocol %s mechanism %q tls %v sasl %v", tc.name, c.SecurityProtocol, c.Mechanism, c.TLS() != nil, c.SASL() != nil)
		}
		if n := len(c.KgoOpts()); n != tc.opts {
			t.Errorf("%s: %d kgo options, want %d", tc.name, n, tc.opts)
		}
	}
}

func TestParseErrors(t *testing.T) {
	sasl := map[string]string{SecurityProtocol: "SASL_SSL", SASLMechanism: "PLAIN", SASLJAASConfig: plainJAAS}
	for _, tc := range []struct {
		name  string
		props map[string]string
		key   string
	}{
		{"unknown protocol", map[string]string{SecurityProtocol: "TLS"}, SecurityProtocol},
		{"bootstrap without port", map[string]string{BootstrapServers: "a:9092,b"}, BootstrapServers},
		{"bootstrap without host", map[string]string{BootstrapServers: ":9092"}, BootstrapServers},
		{"bootstrap of commas", map[string]string{BootstrapServers: " , "}, BootstrapServers},
		{"no mechanism", with(sasl, SASLMechanism, ""), SASLMechanism},
		{"GSSAPI", with(sasl, SASLMechanism, "GSSAPI"), SASLMechanism},
		{"unknown mechanism", with(sasl, SASLMechanism, "DIGEST-MD5"), SASLMechanism},
		{"no credentials", with(sasl, SASLJAASConfig, ""), SASLJAASConfig},
		{"username only", with(sasl, SASLJAASConfig, "", SASLUsername, "u"), SASLPassword},
		{"password only", with(sasl, SASLJAASConfig, "", SASLPassword, "p"), SASLUsername},
		{"bad JAAS", with(sasl, SASLJAASConfig, "org.Module required username=\"u\""), SASLJAASConfig},
		{"Kerberos module", with(sasl, SASLJAASConfig, `com.sun.security.auth.module.Krb5LoginModule required;`), SASLJAASConfig},
		{"no username", with(sasl, SASLJAASConfig, `org.apache.kafka.common.security.plain.PlainLoginModule required password="p";`), SASLJAASConfig},
		{"no password", with(sasl, SASLJAASConfig, `org.apache.kafka.common.security.plain.PlainLoginModule required username="u";`), SASLJAASConfig},
		{"spellings differ", with(sasl, SASLUsername, "bob"), SASLUsername},
		{"tokenauth with PLAIN", with(sasl, SASLJAASConfig, `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p" tokenauth="true";`), SASLJAASConfig},
		{"OAuth module for PLAIN", with(sasl, SASLJAASConfig, oauthJAAS), SASLJAASConfig},
		{"PLAIN module for OAUTHBEARER", with(sasl, SASLMechanism, "OAUTHBEARER"), SASLJAASConfig},
		{"callback handler", with(sasl, "sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"), "sasl.login.callback.handler.class"},
		{"token endpoint", with(sasl, "sasl.oauthbearer.token.endpoint.url", "https://idp/token"), "sasl.oauthbearer.token.endpoint.url"},
	} {
		_, err := Parse(tc.props)
		var e *Error
		if !errors.As(err, &e) || e.Key != tc.key {
			t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.key)
		}
	}
	// ssl.* errors come from tlsconf, naming the key too.
	_, err := Parse(map[string]string{SecurityProtocol: "SSL", "ssl.truststore.location": "/nonexistent"})
	var ce *tlsconf.ConfigError
	if !errors.As(err, &ce) || ce.Key != tlsconf.TruststoreLocation {
		t.Errorf("bad trust store: %v", err)
	}
}

func TestPropsAreCopied(t *testing.T) {
	props := map[string]string{ClientID: "a", "acks": "all"}
	c, err := Parse(props)
	if err != nil {
		t.Fatal(err)
	}
	props[ClientID] = "b"
	if c.Props[ClientID] != "a" || c.ClientID != "a" {
		t.Errorf("config changed with the caller's map: %v", c.Props)
	}
	if u := c.Unused(); strings.Join(u, ",") != "acks" {
		t.Errorf("unused %v", u)
	}
}

func with(p map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
