package tlsconf

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/internal/testcerts"
)

func mustServer(t *testing.T, props map[string]string, opts ...ServerOption) *Listener {
	t.Helper()
	l, err := Server(props, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustClient(t *testing.T, props map[string]string) *tls.Config {
	t.Helper()
	c, err := Client(props)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func with(p map[string]string, kv ...string) map[string]string {
	out := maps.Clone(p)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestClientAuthModes(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	alice := ca.MustClient(t, "alice")
	stranger := testcerts.New(t, testcerts.Options{})
	mallory := stranger.MustClient(t, "mallory")

	withCert := ca.ClientProps(alice, testcerts.PEMFiles)
	noCert := ca.ClientProps(nil, testcerts.PEMFiles)
	// A certificate from a CA the broker does not trust.
	untrusted := with(noCert, KeystoreLocation, mallory.KeystoreFile, KeystoreType, "PEM")

	for _, tc := range []struct {
		clientAuth string
		client     map[string]string
		principal  string // "" when the handshake must fail
	}{
		{"required", withCert, "User:CN=alice"},
		{"required", noCert, ""},
		{"required", untrusted, ""},
		{"requested", withCert, "User:CN=alice"},
		{"requested", noCert, "User:ANONYMOUS"},
		// Go's client, as Java's, sends no certificate that the server's
		// CA list does not take.
		{"requested", untrusted, "User:ANONYMOUS"},
		{"none", withCert, "User:ANONYMOUS"},
		{"none", noCert, "User:ANONYMOUS"},
		{"", withCert, "User:ANONYMOUS"},
	} {
		name := fmt.Sprintf("%s/keystore=%v", tc.clientAuth, tc.client[KeystoreLocation] != "")
		props := with(ca.ServerProps(broker, testcerts.PEMFiles), ClientAuth, tc.clientAuth)
		l := mustServer(t, props)
		r := handshake(t, l.Config(), mustClient(t, tc.client), "localhost")
		if tc.principal == "" {
			if r.serverErr == nil {
				t.Errorf("%s: handshake succeeded, want it refused", name)
			}
			continue
		}
		if err := r.ok(); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, err := Principal(r.server, l.PrincipalMapper())
		if err != nil || got != tc.principal {
			t.Errorf("%s: principal %q, %v; want %q", name, got, err, tc.principal)
		}
	}

	// A certificate the client sends anyway is verified when requested.
	forced := mustClient(t, noCert)
	forced.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &mallory.TLS, nil }
	l := mustServer(t, with(ca.ServerProps(broker, testcerts.PEMFiles), ClientAuth, "requested"))
	if r := handshake(t, l.Config(), forced, "localhost"); r.serverErr == nil {
		t.Error("requested: an untrusted certificate was accepted")
	}
}

func TestPrincipalFromSubjectAndRules(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	alice := ca.MustIssue(t, testcerts.Spec{
		Name:       "alice",
		Subject:    pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"eng"}, Organization: []string{"Acme"}, Country: []string{"US"}},
		ClientAuth: true,
	})
	client := mustClient(t, ca.ClientProps(alice, testcerts.PEMFiles))
	for rules, want := range map[string]string{
		"":                                   "User:CN=alice,OU=eng,O=Acme,C=US",
		"DEFAULT":                            "User:CN=alice,OU=eng,O=Acme,C=US",
		"RULE:^CN=(.*?),OU=(.*?),.*$/$1/U":   "User:ALICE",
		"RULE:^CN=bob,.*$/bob/,DEFAULT":      "User:CN=alice,OU=eng,O=Acme,C=US",
		"RULE:^CN=(.*?),OU=(.*?),.*$/$2.$1/": "User:eng.alice",
	} {
		props := with(ca.ServerProps(broker, testcerts.PEMFiles), ClientAuth, "required", PrincipalMappingRules, rules)
		l := mustServer(t, props)
		r := handshake(t, l.Config(), client, "localhost")
		if err := r.ok(); err != nil {
			t.Fatalf("%q: %v", rules, err)
		}
		if got, err := Principal(r.server, l.PrincipalMapper()); err != nil || got != want {
			t.Errorf("rules %q: got %q, %v; want %q", rules, got, err, want)
		}
	}
	// No rule applies: Kafka fails the authentication.
	l := mustServer(t, with(ca.ServerProps(broker, testcerts.PEMFiles), ClientAuth, "required", PrincipalMappingRules, "RULE:^CN=bob.*$/bob/"))
	r := handshake(t, l.Config(), client, "localhost")
	if err := r.ok(); err != nil {
		t.Fatal(err)
	}
	if got, err := Principal(r.server, l.PrincipalMapper()); err == nil {
		t.Errorf("got %q, want an error", got)
	}
}

func TestStoreFormats(t *testing.T) {
	for _, kt := range []testcerts.KeyType{testcerts.ECDSA, testcerts.RSA} {
		for _, kp := range []string{"", "key-secret"} {
			ca := testcerts.New(t, testcerts.Options{KeyType: kt, KeyPassword: kp})
			broker := ca.MustServer(t, "broker")
			alice := ca.MustClient(t, "alice")
			for _, f := range []testcerts.Format{testcerts.PEMFiles, testcerts.PEMInline, testcerts.PKCS12} {
				name := fmt.Sprintf("keytype=%d keypassword=%q format=%d", kt, kp, f)
				l, err := Server(with(ca.ServerProps(broker, f), ClientAuth, "required"))
				if err != nil {
					t.Errorf("%s: server: %v", name, err)
					continue
				}
				c, err := Client(ca.ClientProps(alice, f))
				if err != nil {
					t.Errorf("%s: client: %v", name, err)
					continue
				}
				r := handshake(t, l.Config(), c, "127.0.0.1")
				if err := r.ok(); err != nil {
					t.Errorf("%s: %v", name, err)
				} else if p, _ := Principal(r.server, nil); p != "User:CN=alice" {
					t.Errorf("%s: principal %q", name, p)
				}
			}
		}
	}
}

func TestOldTLSRefused(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	l := mustServer(t, ca.ServerProps(broker, testcerts.PEMFiles))
	client := mustClient(t, ca.ClientProps(nil, testcerts.PEMFiles))
	client.MinVersion, client.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if r := handshake(t, l.Config(), client, "localhost"); r.serverErr == nil || r.clientErr == nil {
		t.Fatalf("TLS 1.1 handshake: server %v, client %v; want both to fail", r.serverErr, r.clientErr)
	}
	for _, v := range []string{"TLSv1.1", "TLSv1", "TLSv1.2,TLSv1.1", "SSLv3"} {
		if _, err := Server(with(ca.ServerProps(broker, testcerts.PEMFiles), EnabledProtocols, v)); !isConfigErr(err, EnabledProtocols) {
			t.Errorf("ssl.enabled.protocols=%s: %v", v, err)
		}
	}
}

func TestVersionsAndSuitesNegotiated(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	sp := ca.ServerProps(broker, testcerts.PEMFiles)
	cp := ca.ClientProps(nil, testcerts.PEMFiles)
	for _, tc := range []struct {
		name           string
		server, client map[string]string
		version        uint16
		suite          uint16
	}{
		{"defaults", sp, cp, tls.VersionTLS13, 0},
		{"client ssl.protocol=TLSv1.2", sp, with(cp, Protocol, "TLSv1.2"), tls.VersionTLS12, 0},
		{"server enables TLSv1.2 only", with(sp, EnabledProtocols, "TLSv1.2"), cp, tls.VersionTLS12, 0},
		{"client TLSv1.3 only", sp, with(cp, EnabledProtocols, "TLSv1.3"), tls.VersionTLS13, 0},
		{"TLS 1.2 suites only disable TLS 1.3", with(sp, CipherSuites, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"), cp,
			tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
	} {
		r := handshake(t, mustServer(t, tc.server).Config(), mustClient(t, tc.client), "localhost")
		if err := r.ok(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if r.client.Version != tc.version {
			t.Errorf("%s: version %x, want %x", tc.name, r.client.Version, tc.version)
		}
		if tc.suite != 0 && r.client.CipherSuite != tc.suite {
			t.Errorf("%s: suite %s", tc.name, tls.CipherSuiteName(r.client.CipherSuite))
		}
	}
	// Suites with no overlap fail the handshake.
	r := handshake(t,
		mustServer(t, with(sp, EnabledProtocols, "TLSv1.2", CipherSuites, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")).Config(),
		mustClient(t, with(cp, EnabledProtocols, "TLSv1.2", CipherSuites, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")), "localhost")
	if r.ok() == nil {
		t.Error("handshake with no common suite succeeded")
	}
}

// clock is a settable clock for the reload check.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	// Write to a temporary file and rename it over the old one, as
	// certificate managers do; a rewrite in place is tested below.
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}

func TestKeystoreReload(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	first := ca.MustServer(t, "broker")
	second := ca.MustServer(t, "broker")
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	log, lg := logtest.New(t)
	l := mustServer(t, ca.ServerProps(first, testcerts.PEMFiles), WithClock(clk.Now), WithLogger(log))
	client := mustClient(t, ca.ClientProps(nil, testcerts.PEMFiles))
	serial := func() string {
		t.Helper()
		r := handshake(t, l.Config(), client, "localhost")
		if err := r.ok(); err != nil {
			t.Fatal(err)
		}
		return r.client.PeerCertificates[0].SerialNumber.String()
	}
	if got := serial(); got != first.Cert.SerialNumber.String() {
		t.Fatalf("first certificate: serial %s", got)
	}
	copyFile(t, second.KeystoreFile, first.KeystoreFile)
	// Within a second of the last check the files are not looked at.
	if got := serial(); got != first.Cert.SerialNumber.String() {
		t.Fatalf("reloaded before the interval: serial %s", got)
	}
	clk.Advance(reloadInterval)
	if got := serial(); got != second.Cert.SerialNumber.String() {
		t.Fatalf("after the rewrite: serial %s, want %s", got, second.Cert.SerialNumber)
	}
	if l.Certificate().SerialNumber.Cmp(second.Cert.SerialNumber) != 0 {
		t.Error("Certificate() is not the reloaded one")
	}
	if lg.Count("reloaded the key store") != 1 {
		t.Errorf("logs: %q", lg.Lines())
	}

	// A broken file keeps the old certificate and is logged once.
	if err := os.WriteFile(first.KeystoreFile, []byte("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clk.Advance(reloadInterval)
		if got := serial(); got != second.Cert.SerialNumber.String() {
			t.Fatalf("after a broken rewrite: serial %s", got)
		}
	}
	if n := lg.Count("keeping the previous key store"); n != 1 {
		t.Errorf("failed reload logged %d times: %q", n, lg.Lines())
	}

	// A fixed file, rewritten in place, is picked up.
	third := ca.MustServer(t, "broker")
	b, err := os.ReadFile(third.KeystoreFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first.KeystoreFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	clk.Advance(reloadInterval)
	if got := serial(); got != third.Cert.SerialNumber.String() {
		t.Fatalf("after the fix: serial %s, want %s", got, third.Cert.SerialNumber)
	}

	// A certificate for another subject is refused, as in Kafka.
	other := ca.MustServer(t, "other-broker")
	copyFile(t, other.KeystoreFile, first.KeystoreFile)
	clk.Advance(reloadInterval)
	if got := serial(); got != third.Cert.SerialNumber.String() {
		t.Fatalf("subject change accepted: serial %s", got)
	}
	if lg.Count(AllowDNChanges) != 1 {
		t.Errorf("subject change not logged: %q", lg.Lines())
	}
	if err := l.Reload(); !isConfigErr(err, KeystoreLocation) {
		t.Errorf("Reload with another subject: %v", err)
	}
}

func TestKeystoreReloadAllowsDNChange(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	first := ca.MustServer(t, "broker")
	other := ca.MustServer(t, "other")
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	l := mustServer(t, with(ca.ServerProps(first, testcerts.PEMFiles), AllowDNChanges, "true"), WithClock(clk.Now))
	copyFile(t, other.KeystoreFile, first.KeystoreFile)
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if l.Certificate().Subject.CommonName != "other" {
		t.Fatalf("subject %s", l.Certificate().Subject)
	}
}

func TestTruststoreReload(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	newCA := testcerts.New(t, testcerts.Options{})
	carol := newCA.MustClient(t, "carol")
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	props := with(ca.ServerProps(broker, testcerts.PEMFiles), ClientAuth, "required")
	l := mustServer(t, props, WithClock(clk.Now))
	// carol trusts the broker's CA but has a certificate of the new CA.
	client := mustClient(t, with(ca.ClientProps(nil, testcerts.PEMFiles), KeystoreLocation, carol.KeystoreFile, KeystoreType, "PEM"))
	if r := handshake(t, l.Config(), client, "localhost"); r.serverErr == nil {
		t.Fatal("a certificate of an untrusted CA was accepted")
	}
	// Trust both CAs.
	if err := os.WriteFile(ca.CertFile, append(append([]byte{}, ca.CertPEM...), newCA.CertPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.Advance(reloadInterval)
	r := handshake(t, l.Config(), client, "localhost")
	if err := r.ok(); err != nil {
		t.Fatalf("after adding the CA: %v", err)
	}
	if p, _ := Principal(r.server, nil); p != "User:CN=carol" {
		t.Fatalf("principal %q", p)
	}
}

// Concurrent handshakes while the files change: for the race detector.
func TestReloadConcurrentHandshakes(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	first := ca.MustServer(t, "broker")
	second := ca.MustServer(t, "broker")
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	l := mustServer(t, ca.ServerProps(first, testcerts.PEMFiles), WithClock(clk.Now))
	client := mustClient(t, ca.ClientProps(nil, testcerts.PEMFiles))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				clk.Advance(reloadInterval)
				if r := handshake(t, l.Config(), client, "localhost"); r.ok() != nil {
					t.Error(r.ok())
				}
			}
		})
	}
	copyFile(t, second.KeystoreFile, first.KeystoreFile)
	wg.Wait()
}

func isConfigErr(err error, key string) bool {
	var ce *ConfigError
	return errors.As(err, &ce) && ce.Key == key
}
