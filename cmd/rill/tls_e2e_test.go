package main

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/clientconf"
	"github.com/rillmq/rill/internal/testcerts"
)

// listenerSets turns ssl.* properties into --set flags for listener name.
func listenerSets(name string, props map[string]string) []string {
	var keys []string
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, "--set", "listener.name."+strings.ToLower(name)+"."+k+"="+props[k])
	}
	return out
}

// clientOpts are kgo options from Kafka client properties.
func clientOpts(t *testing.T, props map[string]string) []kgo.Opt {
	t.Helper()
	cc, err := clientconf.Parse(props)
	if err != nil {
		t.Fatal(err)
	}
	return cc.KgoOpts()
}

// An SSL listener with client certificates required and a SASL_SSL one
// beside a PLAINTEXT inter-broker listener: kgo produces and consumes
// over both; a client without a certificate, a plaintext client on the
// TLS port and a TLS client on the plaintext port are all refused with
// nothing else affected; replacing the key store file changes the
// certificate new connections get, without a restart.
func TestTLSListeners(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	server := ca.MustServer(t, "broker")
	internal, ssl, saslSSL := freePort(t), freePort(t), freePort(t)
	args := []string{
		"--set", "listeners=INTERNAL://" + internal + ",SSL://" + ssl + ",SASL_SSL://" + saslSSL,
		"--set", "listener.security.protocol.map=INTERNAL:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
		"--set", "inter.broker.listener.name=INTERNAL",
		"--set", "listener.name.ssl.ssl.client.auth=required",
		"--set", "listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN",
		"--set", `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
	}
	serverProps := ca.ServerProps(server, testcerts.PEMFiles)
	args = append(args, listenerSets("SSL", serverProps)...)
	args = append(args, listenerSets("SASL_SSL", serverProps)...)
	b := serveArgs(t, t.TempDir(), args...)

	alice := ca.MustClient(t, "alice")
	mtls := clientOpts(t, ca.ClientProps(alice, testcerts.PEMFiles))
	produceConsume(t, ssl, ssl, "over-mtls", 50, mtls...)

	saslProps := ca.ClientProps(nil, testcerts.PEMFiles)
	saslProps["security.protocol"] = "SASL_SSL"
	saslProps["sasl.mechanism"] = "PLAIN"
	saslProps["sasl.jaas.config"] = `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";`
	produceConsume(t, saslSSL, saslSSL, "over-sasl-ssl", 50, clientOpts(t, saslProps)...)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	refused := func(name, addr string, opts ...kgo.Opt) {
		t.Helper()
		cl := client(t, addr, append(opts, kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))...)
		short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
		defer cancelShort()
		if _, err := cl.Request(short, kmsg.NewPtrMetadataRequest()); err == nil {
			t.Fatalf("%s: answered", name)
		}
	}
	noCert := clientOpts(t, ca.ClientProps(nil, testcerts.PEMFiles))
	refused("no client certificate on the mTLS listener", ssl, noCert...)
	refused("plaintext client on the TLS listener", ssl)
	refused("TLS client on the plaintext listener", internal, mtls...)
	if !strings.Contains(b.log(), "TLS handshake") {
		t.Fatalf("no log line for the refused handshakes:\n%s", b.log())
	}
	produceConsume(t, internal, internal, "plaintext-unaffected", 5)

	// Certificate reload: a new certificate for the same name, copied
	// over the key store file, is what the next connection gets.
	before := peerSerial(t, ssl, alice)
	renewed := ca.MustServer(t, "broker")
	content, err := os.ReadFile(renewed.KeystoreFile)
	if err != nil {
		t.Fatal(err)
	}
	tmp := server.KeystoreFile + ".new"
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, server.KeystoreFile); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for peerSerial(t, ssl, alice) == before {
		if time.Now().After(deadline) {
			t.Fatalf("the listener still serves the old certificate 10 s after the key store changed\n%s", b.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := peerSerial(t, ssl, alice); got != renewed.Cert.SerialNumber.String() {
		t.Fatalf("serving certificate %s, want the renewed %s", got, renewed.Cert.SerialNumber)
	}
	produceConsume(t, ssl, ssl, "after-reload", 5, mtls...)
	b.stop()
}

// peerSerial is the serial number of the certificate addr presents.
func peerSerial(t *testing.T, addr string, id *testcerts.Identity) string {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{id.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}
