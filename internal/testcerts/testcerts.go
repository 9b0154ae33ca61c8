// Package testcerts makes throwaway certificate authorities and
// certificates for tests across the repository: a CA, server certificates
// for the loopback names, and client certificates with a chosen subject,
// written as the files Kafka's ssl.* properties point at, with those
// properties ready to use.
//
// Every Identity is written in four forms: the certificate chain (leaf,
// then CA) as PEM, the private key as PKCS#8 PEM (encrypted with PBES2
// when Options.KeyPassword is set), Kafka's PEM key store (key and chain
// in one file), and a PKCS12 key store. The CA is written as a PEM file
// and as a PKCS12 trust store (with Java's trusted-certificate mark, as
// keytool writes it). File names are unique within the directory, so an
// Authority can issue a second certificate for the same name (to test a
// reload by copying it over the first).
//
// Keys are ECDSA P-256 by default, RSA 2048 with Options.KeyType = RSA
// (for clients that want RSA). Certificates are valid from an hour before
// Options.Now to Options.Validity after it.
//
// Nothing here is for production: keys are written unencrypted unless a
// password is given, and the CA key is kept only in memory.
package testcerts

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// KeyType is the kind of key pairs an Authority makes.
type KeyType int

const (
	ECDSA KeyType = iota // P-256
	RSA                  // 2048 bits
)

// DefaultPassword is the PKCS12 store password when Options.Password is
// empty.
const DefaultPassword = "test-password"

// Options shape an Authority and what it issues.
type Options struct {
	KeyType KeyType
	// Password protects the PKCS12 stores; DefaultPassword when empty.
	Password string
	// KeyPassword, when set, encrypts the PEM private keys (PKCS#8,
	// PBES2) and is put in the properties as ssl.key.password.
	KeyPassword string
	// Hosts are the server certificates' DNS and IP subject alternative
	// names; default 127.0.0.1, localhost and ::1.
	Hosts []string
	// Now is the clock validity starts from (time.Now when nil).
	Now func() time.Time
	// Validity is how long certificates last; 24 hours when zero.
	Validity time.Duration
}

// Authority is a test CA and the directory it writes to. It is safe for
// concurrent use.
type Authority struct {
	Dir  string
	Cert *x509.Certificate
	Key  crypto.Signer
	// CertPEM is the CA certificate; CertFile holds it (a PEM trust store)
	// and TrustStoreP12 holds it as a PKCS12 trust store.
	CertPEM       []byte
	CertFile      string
	TrustStoreP12 string

	opts Options
	mu   sync.Mutex
	used map[string]int // file stems issued, for unique names
}

// Identity is an issued certificate and its files.
type Identity struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	TLS  tls.Certificate
	// CertPEM is the chain (leaf, CA) and KeyPEM the private key, as
	// written to CertFile and KeyFile; KeystoreFile holds both (Kafka's
	// PEM key store) and P12File is the PKCS12 key store.
	CertPEM      []byte
	KeyPEM       []byte
	CertFile     string
	KeyFile      string
	KeystoreFile string
	P12File      string
}

// New makes an Authority in t.TempDir(), failing the test on an error.
func New(t testing.TB, opts Options) *Authority {
	t.Helper()
	a, err := Generate(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("testcerts: %v", err)
	}
	return a
}

// Generate makes a CA and writes its files to dir, which must exist.
func Generate(dir string, opts Options) (*Authority, error) {
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"127.0.0.1", "localhost", "::1"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Validity == 0 {
		opts.Validity = 24 * time.Hour
	}
	a := &Authority{Dir: dir, opts: opts, used: map[string]int{}}
	key, err := newKey(opts.KeyType)
	if err != nil {
		return nil, err
	}
	now := opts.Now()
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Rill test CA " + serial.Text(16)[:8], Organization: []string{"Rill tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(opts.Validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("testcerts: CA certificate: %w", err)
	}
	if a.Cert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	a.Key = key
	a.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	a.CertFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(a.CertFile, a.CertPEM, 0o600); err != nil {
		return nil, err
	}
	p12, err := encodeTrustStore(a.Cert, opts.Password)
	if err != nil {
		return nil, err
	}
	a.TrustStoreP12 = filepath.Join(dir, "ca-truststore.p12")
	if err := os.WriteFile(a.TrustStoreP12, p12, 0o600); err != nil {
		return nil, err
	}
	return a, nil
}

// Spec describes a certificate to Issue.
type Spec struct {
	// Name is the file name stem (made unique).
	Name string
	// Subject is the certificate's subject, unless RawSubject (a DER
	// X.501 Name, for subjects pkix.Name cannot say, such as a
	// multi-valued RDN or a chosen attribute order) is set.
	Subject    pkix.Name
	RawSubject []byte
	DNSNames   []string
	IPs        []net.IP
	// ServerAuth and ClientAuth choose the extended key usages.
	ServerAuth bool
	ClientAuth bool
}

// Server issues a certificate for a broker: subject CN=name, the
// Authority's hosts as SANs, usable for serving and (as brokers are also
// clients of each other) as a client certificate.
func (a *Authority) Server(name string) (*Identity, error) {
	s := Spec{Name: name, Subject: pkix.Name{CommonName: name}, ServerAuth: true, ClientAuth: true}
	for _, h := range a.opts.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			s.IPs = append(s.IPs, ip)
		} else {
			s.DNSNames = append(s.DNSNames, h)
		}
	}
	return a.Issue(s)
}

// Client issues a client certificate with subject CN=cn.
func (a *Authority) Client(cn string) (*Identity, error) {
	return a.Issue(Spec{Name: cn, Subject: pkix.Name{CommonName: cn}, ClientAuth: true})
}

// Issue issues a certificate and writes its files.
func (a *Authority) Issue(s Spec) (*Identity, error) {
	key, err := newKey(a.opts.KeyType)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := a.opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      s.Subject,
		RawSubject:   s.RawSubject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(a.opts.Validity),
		DNSNames:     s.DNSNames,
		IPAddresses:  s.IPs,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if a.opts.KeyType == RSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if s.ServerAuth {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if s.ClientAuth {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, key.Public(), a.Key)
	if err != nil {
		return nil, fmt.Errorf("testcerts: certificate %s: %w", s.Name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	id := &Identity{Cert: cert, Key: key}
	id.TLS = tls.Certificate{Certificate: [][]byte{der, a.Cert.Raw}, PrivateKey: key, Leaf: cert}
	id.CertPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), a.CertPEM...)
	if id.KeyPEM, err = encodeKey(key, a.opts.KeyPassword); err != nil {
		return nil, err
	}
	p12, err := encodeKeyStore(key, cert, a.Cert, a.opts.Password)
	if err != nil {
		return nil, err
	}
	stem := a.stem(s.Name)
	id.CertFile = filepath.Join(a.Dir, stem+".crt.pem")
	id.KeyFile = filepath.Join(a.Dir, stem+".key.pem")
	id.KeystoreFile = filepath.Join(a.Dir, stem+".keystore.pem")
	id.P12File = filepath.Join(a.Dir, stem+".p12")
	for _, f := range []struct {
		path string
		data []byte
	}{
		{id.CertFile, id.CertPEM},
		{id.KeyFile, id.KeyPEM},
		{id.KeystoreFile, append(append([]byte{}, id.KeyPEM...), id.CertPEM...)},
		{id.P12File, p12},
	} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// stem makes file names unique: name, name-2, name-3, ...
func (a *Authority) stem(name string) string {
	if name == "" {
		name = "cert"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.used[name]++
	if n := a.used[name]; n > 1 {
		return fmt.Sprintf("%s-%d", name, n)
	}
	return name
}

func newKey(t KeyType) (crypto.Signer, error) {
	switch t {
	case RSA:
		return rsa.GenerateKey(rand.Reader, 2048)
	case ECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("testcerts: unknown key type %d", t)
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// MustServer is Server, failing the test on an error.
func (a *Authority) MustServer(t testing.TB, name string) *Identity {
	t.Helper()
	return must(t)(a.Server(name))
}

// MustClient is Client, failing the test on an error.
func (a *Authority) MustClient(t testing.TB, cn string) *Identity {
	t.Helper()
	return must(t)(a.Client(cn))
}

// MustIssue is Issue, failing the test on an error.
func (a *Authority) MustIssue(t testing.TB, s Spec) *Identity {
	t.Helper()
	return must(t)(a.Issue(s))
}

func must(t testing.TB) func(*Identity, error) *Identity {
	return func(id *Identity, err error) *Identity {
		t.Helper()
		if err != nil {
			t.Fatalf("testcerts: %v", err)
		}
		return id
	}
}
