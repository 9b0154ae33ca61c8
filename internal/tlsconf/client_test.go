package tlsconf

import (
	"strings"
	"testing"

	"github.com/rillmq/rill/internal/testcerts"
)

func TestEndpointIdentification(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker") // valid for 127.0.0.1, localhost, ::1
	l := mustServer(t, ca.ServerProps(broker, testcerts.PEMFiles))
	cp := ca.ClientProps(nil, testcerts.PEMFiles)
	stranger := testcerts.New(t, testcerts.Options{})

	for _, tc := range []struct {
		name       string
		props      map[string]string
		serverName string
		ok         bool
	}{
		{"default verifies the host", cp, "localhost", true},
		{"default refuses another host", cp, "kafka.example.com", false},
		{"https refuses another host", with(cp, EndpointIdentification, "HTTPS"), "kafka.example.com", false},
		{"empty skips the host check", with(cp, EndpointIdentification, ""), "kafka.example.com", true},
		{"empty still verifies the chain", with(stranger.ClientProps(nil, testcerts.PEMFiles), EndpointIdentification, ""), "localhost", false},
	} {
		r := handshake(t, l.Config(), mustClient(t, tc.props), tc.serverName)
		if (r.clientErr == nil) != tc.ok {
			t.Errorf("%s: client error %v, want ok=%v", tc.name, r.clientErr, tc.ok)
		}
	}
}

func TestClientWithoutTruststoreUsesSystemRoots(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	l := mustServer(t, ca.ServerProps(broker, testcerts.PEMFiles))
	c := mustClient(t, map[string]string{})
	if c.RootCAs != nil {
		t.Fatal("RootCAs set without a trust store")
	}
	r := handshake(t, l.Config(), c, "localhost")
	if r.clientErr == nil || !strings.Contains(r.clientErr.Error(), "certificate") {
		t.Fatalf("a test CA was trusted by the system roots: %v", r.clientErr)
	}
}

func TestForListener(t *testing.T) {
	props := map[string]string{
		"ssl.keystore.location":                        "/global.p12",
		"ssl.client.auth":                              "required",
		"ssl.truststore.location":                      "/trust.pem",
		"listener.name.external.ssl.keystore.location": "/external.p12",
		"listener.name.external.ssl.client.auth":       "none",
		"listener.name.internal.ssl.keystore.location": "/internal.p12",
		"listener.name.EXTERNAL.ssl.keystore.type":     "PEM", // not lower case: not this listener's
		"log.dirs": "/data",
	}
	got := ForListener(props, "EXTERNAL")
	want := map[string]string{
		"ssl.keystore.location":   "/external.p12",
		"ssl.client.auth":         "none",
		"ssl.truststore.location": "/trust.pem",
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// KIP-684: a SASL_SSL listener takes only its own ssl.client.auth.
	if v, ok := ForSASLSSLListener(props, "INTERNAL")["ssl.client.auth"]; ok {
		t.Errorf("SASL_SSL listener inherited ssl.client.auth=%s", v)
	}
	if v := ForSASLSSLListener(props, "EXTERNAL")["ssl.client.auth"]; v != "none" {
		t.Errorf("SASL_SSL listener's own ssl.client.auth = %q", v)
	}
}
