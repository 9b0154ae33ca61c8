package testcerts

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

func TestIssuedFilesLoad(t *testing.T) {
	for _, kt := range []KeyType{ECDSA, RSA} {
		a := New(t, Options{KeyType: kt})
		srv, err := a.Server("broker")
		if err != nil {
			t.Fatal(err)
		}
		cli, err := a.Client("alice")
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(a.Cert)
		if _, err := srv.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err != nil {
			t.Errorf("key type %d: server certificate for localhost: %v", kt, err)
		}
		if _, err := srv.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "::1"}); err != nil {
			t.Errorf("key type %d: server certificate for ::1: %v", kt, err)
		}
		if _, err := cli.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("key type %d: client certificate: %v", kt, err)
		}
		if cli.Cert.Subject.CommonName != "alice" {
			t.Errorf("client CN = %q", cli.Cert.Subject.CommonName)
		}
		if _, err := tls.LoadX509KeyPair(cli.CertFile, cli.KeyFile); err != nil {
			t.Errorf("key type %d: PEM files: %v", kt, err)
		}
		if _, err := tls.LoadX509KeyPair(cli.KeystoreFile, cli.KeystoreFile); err != nil {
			t.Errorf("key type %d: PEM key store: %v", kt, err)
		}
		p12, err := os.ReadFile(srv.P12File)
		if err != nil {
			t.Fatal(err)
		}
		if _, leaf, cas, err := pkcs12.DecodeChain(p12, DefaultPassword); err != nil || !leaf.Equal(srv.Cert) || len(cas) != 1 {
			t.Errorf("key type %d: PKCS12 key store: %v", kt, err)
		}
		ts, err := os.ReadFile(a.TrustStoreP12)
		if err != nil {
			t.Fatal(err)
		}
		if certs, err := pkcs12.DecodeTrustStore(ts, DefaultPassword); err != nil || len(certs) != 1 || !certs[0].Equal(a.Cert) {
			t.Errorf("key type %d: PKCS12 trust store: %v", kt, err)
		}
	}
}

func TestUniqueFileNames(t *testing.T) {
	a := New(t, Options{})
	first, err := a.Server("broker")
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.Server("broker")
	if err != nil {
		t.Fatal(err)
	}
	if first.KeystoreFile == second.KeystoreFile {
		t.Fatalf("both certificates written to %s", first.KeystoreFile)
	}
}

func TestProps(t *testing.T) {
	a := New(t, Options{KeyPassword: "kp"})
	id, err := a.Client("bob")
	if err != nil {
		t.Fatal(err)
	}
	p := a.ClientProps(id, PEMFiles)
	for k, want := range map[string]string{
		"security.protocol":       "SSL",
		"ssl.keystore.type":       "PEM",
		"ssl.keystore.location":   id.KeystoreFile,
		"ssl.key.password":        "kp",
		"ssl.truststore.location": a.CertFile,
	} {
		if p[k] != want {
			t.Errorf("%s = %q, want %q", k, p[k], want)
		}
	}
	if p := a.ClientProps(nil, PKCS12); p["ssl.keystore.location"] != "" || p["ssl.truststore.password"] != DefaultPassword {
		t.Errorf("trust-only PKCS12 props: %v", p)
	}
	if p := a.ServerProps(id, PEMInline); p["ssl.keystore.key"] == "" || p["ssl.truststore.certificates"] != string(a.CertPEM) {
		t.Errorf("inline props: %v", p)
	}
}
