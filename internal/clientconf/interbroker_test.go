package clientconf

import (
	"errors"
	"testing"

	"github.com/rillmq/rill/internal/testcerts"
	"github.com/rillmq/rill/internal/tlsconf"
)

func TestInterBroker(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	brokerProps := map[string]string{
		"listeners":          "INTERNAL://127.0.0.1:9093,EXTERNAL://127.0.0.1:9092",
		InterBrokerMechanism: "SCRAM-SHA-512",
		"listener.name.internal.scram-sha-512.sasl.jaas.config": scramJAAS,
		"ssl.truststore.location":                               ca.CertFile,
		"ssl.truststore.type":                                   "PEM",
		"listener.name.internal.ssl.keystore.location":          broker.KeystoreFile,
		"listener.name.internal.ssl.keystore.type":              "PEM",
	}
	c, err := InterBroker(brokerProps, "INTERNAL", "SASL_SSL")
	if err != nil {
		t.Fatal(err)
	}
	if c.Mechanism != MechanismScramSHA512 || c.TLS() == nil || len(c.TLS().Certificates) != 1 {
		t.Fatalf("inter-broker config: mechanism %q tls %v", c.Mechanism, c.TLS() != nil)
	}
	if _, err := InterBroker(brokerProps, "INTERNAL", "PLAINTEXT"); err != nil {
		t.Errorf("PLAINTEXT: %v", err)
	}

	for _, tc := range []struct {
		name  string
		props map[string]string
		key   string
	}{
		{"no mechanism", with(brokerProps, InterBrokerMechanism, ""), InterBrokerMechanism},
		{"GSSAPI", with(brokerProps, InterBrokerMechanism, "GSSAPI"), InterBrokerMechanism},
		{"no JAAS for the mechanism", with(brokerProps, InterBrokerMechanism, "PLAIN"), "listener.name.internal.plain.sasl.jaas.config"},
		{"JAAS without credentials", with(brokerProps, "listener.name.internal.scram-sha-512.sasl.jaas.config",
			`org.apache.kafka.common.security.scram.ScramLoginModule required;`), "listener.name.internal.scram-sha-512.sasl.jaas.config"},
	} {
		_, err := InterBroker(tc.props, "INTERNAL", "SASL_SSL")
		var e *Error
		if !errors.As(err, &e) || e.Key != tc.key {
			t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.key)
		}
	}
	_, err = InterBroker(with(brokerProps, "listener.name.internal.ssl.keystore.location", "/nonexistent"), "INTERNAL", "SSL")
	var ce *tlsconf.ConfigError
	if !errors.As(err, &ce) || ce.Key != tlsconf.KeystoreLocation {
		t.Errorf("bad key store: %v", err)
	}
}
