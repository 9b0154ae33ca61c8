package tlsconf

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rillmq/rill/internal/testcerts"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigErrors(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	alice := ca.MustClient(t, "alice")
	enc := testcerts.New(t, testcerts.Options{KeyPassword: "right"})
	encBroker := enc.MustServer(t, "broker")

	pemProps := ca.ServerProps(broker, testcerts.PEMFiles)
	p12Props := ca.ServerProps(broker, testcerts.PKCS12)
	inline := ca.ServerProps(broker, testcerts.PEMInline)
	garbage := writeFile(t, "garbage", []byte("\x00\x01 not a store"))
	jks := writeFile(t, "k.jks", append([]byte{0xFE, 0xED, 0xFE, 0xED}, make([]byte, 64)...))
	keyOnly := writeFile(t, "key.pem", alice.KeyPEM)
	twoKeys := writeFile(t, "two.pem", append(append(append([]byte{}, broker.KeyPEM...), alice.KeyPEM...), broker.CertPEM...))
	legacy := writeFile(t, "legacy.pem", append(pem.EncodeToMemory(&pem.Block{
		Type:    "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"},
		Bytes:   make([]byte, 32),
	}), broker.CertPEM...))

	for _, tc := range []struct {
		name  string
		props map[string]string
		key   string // the key the error must name
		text  string // and a part of its message
	}{
		{"JKS type", with(pemProps, KeystoreType, "JKS"), KeystoreType, "keytool -importkeystore -srckeystore k.jks -destkeystore k.p12 -deststoretype PKCS12"},
		{"JKS trust store type", with(pemProps, TruststoreType, "jks"), TruststoreType, "keytool"},
		{"JKS content", with(pemProps, KeystoreType, "", KeystoreLocation, jks), KeystoreLocation, "keytool"},
		{"JKS content said PKCS12", with(p12Props, KeystoreLocation, jks), KeystoreLocation, "keytool"},
		{"unknown store type", with(pemProps, KeystoreType, "BCFKS"), KeystoreType, "unsupported store type"},
		{"missing file", with(pemProps, KeystoreLocation, "/nonexistent/k.pem"), KeystoreLocation, "cannot read"},
		{"garbage PEM key store", with(pemProps, KeystoreLocation, garbage), KeystoreLocation, "no PEM data"},
		{"garbage PKCS12 key store", with(p12Props, KeystoreLocation, garbage), KeystoreLocation, "PKCS12"},
		{"garbage untyped key store", with(p12Props, KeystoreType, "", KeystoreLocation, garbage), KeystoreLocation, "PKCS12"},
		{"garbage trust store", with(pemProps, TruststoreLocation, garbage), TruststoreLocation, "no PEM data"},
		{"garbage PKCS12 trust store", with(p12Props, TruststoreLocation, garbage), TruststoreLocation, "PKCS12"},
		{"PKCS12 wrong password", with(p12Props, KeystorePassword, "wrong"), KeystoreLocation, "wrong ssl.keystore.password"},
		{"PKCS12 trust store wrong password", with(p12Props, TruststorePassword, "wrong"), TruststoreLocation, "PKCS12"},
		{"PKCS12 without password", with(p12Props, KeystorePassword, ""), KeystorePassword, "must be set"},
		{"PEM with store password", with(pemProps, KeystorePassword, "x"), KeystorePassword, "PEM"},
		{"PEM trust store with password", with(pemProps, TruststorePassword, "x"), TruststorePassword, "PEM"},
		{"store password without store", with(inline, KeystoreKey, "", KeystoreCertificateChain, "", KeystorePassword, "x"), KeystorePassword, "not"},
		{"trust store password without store", with(inline, TruststoreCertificates, "", TruststorePassword, "x"), TruststorePassword, "not"},
		{"encrypted key without password", with(enc.ServerProps(encBroker, testcerts.PEMFiles), KeyPassword, ""), KeyPassword, "encrypted"},
		{"encrypted key, wrong password", with(enc.ServerProps(encBroker, testcerts.PEMFiles), KeyPassword, "wrong"), KeyPassword, "cannot decrypt"},
		{"inline encrypted key, wrong password", with(enc.ServerProps(encBroker, testcerts.PEMInline), KeyPassword, "wrong"), KeyPassword, "cannot decrypt"},
		{"plain key with a key password", with(pemProps, KeyPassword, "x"), KeyPassword, "not encrypted"},
		{"legacy encrypted key", with(pemProps, KeystoreLocation, legacy), KeyPassword, "openssl pkcs8 -topk8"},
		{"no certificate", with(pemProps, KeystoreLocation, keyOnly), KeystoreLocation, "no certificate"},
		{"two keys", with(pemProps, KeystoreLocation, twoKeys), KeystoreLocation, "found 2"},
		{"key of another certificate", with(inline, KeystoreKey, string(alice.KeyPEM)), KeystoreKey, "does not match"},
		{"inline key without chain", with(inline, KeystoreCertificateChain, ""), KeystoreCertificateChain, "must be set"},
		{"inline chain without key", with(inline, KeystoreKey, ""), KeystoreKey, "must be set"},
		{"inline chain is a key", with(inline, KeystoreCertificateChain, string(alice.KeyPEM)), KeystoreCertificateChain, "no certificate"},
		{"inline key and location", with(inline, KeystoreLocation, broker.KeystoreFile), KeystoreLocation, "inline"},
		{"inline key in PKCS12", with(inline, KeystoreType, "PKCS12"), KeystoreKey, "PEM"},
		{"inline trust and location", with(inline, TruststoreLocation, ca.CertFile), TruststoreLocation, "inline"},
		{"trust store of keys only", with(pemProps, TruststoreLocation, keyOnly), TruststoreLocation, "no certificate"},
		{"no key store", map[string]string{}, KeystoreLocation, "needs a key store"},
		{"client auth", with(pemProps, ClientAuth, "maybe"), ClientAuth, "maybe"},
		{"unknown suite", with(pemProps, CipherSuites, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_FOO"), CipherSuites, "TLS_FOO"},
		{"insecure suite", with(pemProps, CipherSuites, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"), CipherSuites, "insecure"},
		{"endpoint algorithm", with(pemProps, EndpointIdentification, "ldaps"), EndpointIdentification, "ldaps"},
		{"provider", with(pemProps, "ssl.provider", "BC"), "ssl.provider", "not supported"},
		{"engine factory", with(pemProps, "ssl.engine.factory.class", "x.Y"), "ssl.engine.factory.class", "not supported"},
		{"allow dn changes", with(pemProps, AllowDNChanges, "maybe"), AllowDNChanges, "true or false"},
		{"mapping rules", with(pemProps, PrincipalMappingRules, "RULE:x"), PrincipalMappingRules, "invalid rule"},
		{"no protocol", with(pemProps, EnabledProtocols, " , "), EnabledProtocols, "no protocol"},
		{"unknown protocol", with(pemProps, EnabledProtocols, "TLSv9"), EnabledProtocols, "unknown protocol"},
	} {
		_, err := Server(tc.props)
		if !isConfigErr(err, tc.key) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: got %v; want a ConfigError on %s with %q", tc.name, err, tc.key, tc.text)
		}
	}
}

func TestClientConfigErrors(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	cp := ca.ClientProps(nil, testcerts.PEMFiles)
	for _, tc := range []struct {
		name  string
		props map[string]string
		key   string
	}{
		{"old ssl.protocol", with(cp, Protocol, "TLSv1.1"), Protocol},
		{"SSL ssl.protocol", with(cp, Protocol, "SSL"), Protocol},
		{"protocol caps every enabled one", with(cp, Protocol, "TLSv1.2", EnabledProtocols, "TLSv1.3"), Protocol},
		{"endpoint algorithm", with(cp, EndpointIdentification, "x"), EndpointIdentification},
		{"TLS 1.1 enabled", with(cp, EnabledProtocols, "TLSv1.1"), EnabledProtocols},
		{"truststore", with(cp, TruststoreLocation, "/nonexistent"), TruststoreLocation},
	} {
		if _, err := Client(tc.props); !isConfigErr(err, tc.key) {
			t.Errorf("%s: got %v, want a ConfigError on %s", tc.name, err, tc.key)
		}
	}
}

// Keys in PKCS#1 and SEC 1 form, and PEM written on one line as Kafka
// accepts it in a properties file.
func TestPEMKeyForms(t *testing.T) {
	for _, kt := range []testcerts.KeyType{testcerts.RSA, testcerts.ECDSA} {
		ca := testcerts.New(t, testcerts.Options{KeyType: kt})
		broker := ca.MustServer(t, "broker")
		var block *pem.Block
		switch k := broker.Key.(type) {
		case *rsa.PrivateKey:
			block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		case *ecdsa.PrivateKey:
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		}
		keyPEM := string(pem.EncodeToMemory(block))
		props := with(ca.ServerProps(broker, testcerts.PEMInline), KeystoreKey, keyPEM)
		if _, err := Server(props); err != nil {
			t.Errorf("%s: %v", block.Type, err)
		}
		oneLine := strings.ReplaceAll(keyPEM, "\n", " ")
		chain := strings.ReplaceAll(string(broker.CertPEM), "\n", " ")
		trust := strings.ReplaceAll(string(ca.CertPEM), "\n", "")
		props = with(props, KeystoreKey, oneLine, KeystoreCertificateChain, chain, TruststoreCertificates, trust)
		if _, err := Server(props); err != nil {
			t.Errorf("%s on one line: %v", block.Type, err)
		}
	}
}

// A PKCS12 trust store written without Java's trusted-certificate mark
// (as openssl writes one) is read too.
func TestStoreTypeFromContent(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	broker := ca.MustServer(t, "broker")
	alice := ca.MustClient(t, "alice")
	for _, f := range []testcerts.Format{testcerts.PEMFiles, testcerts.PKCS12} {
		sp := ca.ServerProps(broker, f)
		delete(sp, KeystoreType)
		delete(sp, TruststoreType)
		cp := ca.ClientProps(alice, f)
		delete(cp, KeystoreType)
		delete(cp, TruststoreType)
		r := handshake(t, mustServer(t, with(sp, ClientAuth, "required")).Config(), mustClient(t, cp), "localhost")
		if err := r.ok(); err != nil {
			t.Errorf("format %d without types: %v", f, err)
		}
	}
	// The PKCS12 key store holds the CA too: as a trust store it is read
	// without Java's trusted mark.
	cp := with(ca.ClientProps(nil, testcerts.PKCS12), TruststoreLocation, alice.P12File)
	if _, err := Client(cp); err != nil {
		t.Errorf("PKCS12 trust store without trusted marks: %v", err)
	}
}
