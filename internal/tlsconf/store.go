package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// jksMagic and jceksMagic start Java's own key store formats.
var (
	jksMagic   = []byte{0xFE, 0xED, 0xFE, 0xED}
	jceksMagic = []byte{0xCE, 0xCE, 0xCE, 0xCE}
)

func jksError(key string) error {
	return configErr(key, nil, "JKS key stores are not supported; convert it to PKCS12 with "+
		"`keytool -importkeystore -srckeystore k.jks -destkeystore k.p12 -deststoretype PKCS12` "+
		"(then set the store type to PKCS12), or export it to PEM from that PKCS12 file "+
		"(`openssl pkcs12 -in k.p12 -out k.pem`)")
}

// storeType reads ssl.keystore.type or ssl.truststore.type: PEM, PKCS12,
// or "" (unset: taken from the content).
func storeType(props map[string]string, key string) (string, error) {
	v, ok := get(props, key)
	if !ok {
		return "", nil
	}
	switch t := strings.ToUpper(strings.TrimSpace(v)); t {
	case typePEM, typePKCS12:
		return t, nil
	case typeJKS, typeJCEKS:
		return "", jksError(key)
	}
	return "", configErr(key, nil, "unsupported store type %q (want PEM or PKCS12)", v)
}

// contentType decides the type of a store read from a file.
func contentType(typ, locationKey string, data []byte) (string, error) {
	if bytes.HasPrefix(data, jksMagic) || bytes.HasPrefix(data, jceksMagic) {
		return "", jksError(locationKey)
	}
	if typ != "" {
		return typ, nil
	}
	if looksPEM(data) {
		return typePEM, nil
	}
	return typePKCS12, nil
}

// keystoreSpec is the key store part of the properties, checked as
// Kafka's DefaultSslEngineFactory checks it.
type keystoreSpec struct {
	typ                    string // PEM, PKCS12 or "" (from the file)
	location               string
	password               string
	hasPassword            bool
	keyPassword            string
	hasKeyPassword         bool
	inlineKey, inlineChain string
}

// keystoreFrom returns nil when no key store is configured.
func keystoreFrom(props map[string]string) (*keystoreSpec, error) {
	typ, err := storeType(props, KeystoreType)
	if err != nil {
		return nil, err
	}
	k := &keystoreSpec{typ: typ}
	k.location, _ = get(props, KeystoreLocation)
	k.password, k.hasPassword = get(props, KeystorePassword)
	k.keyPassword, k.hasKeyPassword = get(props, KeyPassword)
	var hasKey, hasChain bool
	k.inlineKey, hasKey = get(props, KeystoreKey)
	k.inlineChain, hasChain = get(props, KeystoreCertificateChain)
	switch {
	case hasKey:
		if typ != "" && typ != typePEM {
			return nil, configErr(KeystoreKey, nil, "an inline key needs %s=PEM, not %s", KeystoreType, typ)
		}
		if !hasChain {
			return nil, configErr(KeystoreCertificateChain, nil, "must be set with %s", KeystoreKey)
		}
		if k.location != "" {
			return nil, configErr(KeystoreLocation, nil, "cannot be set with the inline %s", KeystoreKey)
		}
		if k.hasPassword {
			return nil, configErr(KeystorePassword, nil, "cannot be set for a PEM key store; only %s may be", KeyPassword)
		}
		k.typ = typePEM
	case hasChain:
		return nil, configErr(KeystoreKey, nil, "must be set with %s", KeystoreCertificateChain)
	case k.location == "":
		if k.hasPassword {
			return nil, configErr(KeystorePassword, nil, "is set but %s is not", KeystoreLocation)
		}
		return nil, nil
	}
	if k.location != "" && k.typ == typePEM && k.hasPassword {
		return nil, configErr(KeystorePassword, nil, "cannot be set for a PEM key store; only %s may be", KeyPassword)
	}
	if k.location != "" && k.typ == typePKCS12 && !k.hasPassword {
		return nil, configErr(KeystorePassword, nil, "must be set for a PKCS12 key store")
	}
	return k, nil
}

// load reads the key store. stamp is the file's state before the read,
// for reloading; it is zero for an inline store.
func (k *keystoreSpec) load() (tls.Certificate, fileStamp, error) {
	if k.location == "" {
		c, err := k.pem(KeystoreKey, []byte(k.inlineKey+"\n"+k.inlineChain))
		return c, fileStamp{}, err
	}
	stamp, data, err := readStamped(k.location)
	if err != nil {
		return tls.Certificate{}, stamp, configErr(KeystoreLocation, err, "cannot read the key store")
	}
	typ, err := contentType(k.typ, KeystoreLocation, data)
	if err != nil {
		return tls.Certificate{}, stamp, err
	}
	var c tls.Certificate
	if typ == typePEM {
		if k.hasPassword {
			return tls.Certificate{}, stamp, configErr(KeystorePassword, nil, "cannot be set for a PEM key store; only %s may be", KeyPassword)
		}
		c, err = k.pem(KeystoreLocation, data)
	} else {
		c, err = k.pkcs12(data)
	}
	return c, stamp, err
}

func (k *keystoreSpec) pem(key string, data []byte) (tls.Certificate, error) {
	certs, keys, err := pemBlocks(data)
	if err != nil {
		return tls.Certificate{}, configErr(key, err, "bad PEM key store")
	}
	if key == KeystoreKey {
		// Inline: the key and the chain come from their own properties;
		// name the one at fault.
		if len(keys) == 0 {
			return tls.Certificate{}, configErr(KeystoreKey, nil, "no private key")
		}
		if len(certs) == 0 {
			return tls.Certificate{}, configErr(KeystoreCertificateChain, nil, "no certificate")
		}
	}
	if len(keys) != 1 {
		return tls.Certificate{}, configErr(key, nil, "want one private key in the PEM key store, found %d", len(keys))
	}
	if len(certs) == 0 {
		return tls.Certificate{}, configErr(key, nil, "no certificate in the PEM key store")
	}
	signer, err := parsePrivateKey(keys[0], k.keyPassword, k.hasKeyPassword)
	if errors.Is(err, errKeyPassword) {
		return tls.Certificate{}, configErr(KeyPassword, err, "bad private key")
	}
	if err != nil {
		return tls.Certificate{}, configErr(key, err, "bad private key")
	}
	c, err := certificateFor(signer, certs)
	if err != nil {
		return tls.Certificate{}, configErr(key, err, "bad key store")
	}
	return c, nil
}

func (k *keystoreSpec) pkcs12(data []byte) (tls.Certificate, error) {
	if !k.hasPassword {
		return tls.Certificate{}, configErr(KeystorePassword, nil, "must be set for a PKCS12 key store")
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, k.password)
	if err != nil {
		if k.hasKeyPassword && k.keyPassword != k.password {
			return tls.Certificate{}, configErr(KeystoreLocation, err,
				"cannot read the PKCS12 key store (a %s other than %s is not supported)", KeyPassword, KeystorePassword)
		}
		return tls.Certificate{}, configErr(KeystoreLocation, err, "cannot read the PKCS12 key store (wrong %s?)", KeystorePassword)
	}
	s, err := asSigner(key)
	if err != nil {
		return tls.Certificate{}, configErr(KeystoreLocation, err, "bad PKCS12 key")
	}
	c, err := certificateFor(s, append([]*x509.Certificate{leaf}, cas...))
	if err != nil {
		return tls.Certificate{}, configErr(KeystoreLocation, err, "bad PKCS12 key store")
	}
	return c, nil
}

// truststoreSpec is the trust store part of the properties.
type truststoreSpec struct {
	typ         string
	location    string
	password    string
	hasPassword bool
	inline      string
}

// truststoreFrom returns nil when no trust store is configured: then Go's
// system roots are trusted, as Java trusts its default cacerts.
func truststoreFrom(props map[string]string) (*truststoreSpec, error) {
	typ, err := storeType(props, TruststoreType)
	if err != nil {
		return nil, err
	}
	t := &truststoreSpec{typ: typ}
	t.location, _ = get(props, TruststoreLocation)
	t.password, t.hasPassword = get(props, TruststorePassword)
	var hasInline bool
	t.inline, hasInline = get(props, TruststoreCertificates)
	switch {
	case hasInline:
		if typ != "" && typ != typePEM {
			return nil, configErr(TruststoreCertificates, nil, "inline certificates need %s=PEM, not %s", TruststoreType, typ)
		}
		if t.location != "" {
			return nil, configErr(TruststoreLocation, nil, "cannot be set with the inline %s", TruststoreCertificates)
		}
		t.typ = typePEM
	case t.location == "":
		if t.hasPassword {
			return nil, configErr(TruststorePassword, nil, "is set but %s is not", TruststoreLocation)
		}
		return nil, nil
	}
	if t.typ == typePEM && t.hasPassword {
		return nil, configErr(TruststorePassword, nil, "cannot be set for a PEM trust store")
	}
	return t, nil
}

func (t *truststoreSpec) load() (*x509.CertPool, fileStamp, error) {
	if t.location == "" {
		pool, err := pemPool(TruststoreCertificates, []byte(t.inline))
		return pool, fileStamp{}, err
	}
	stamp, data, err := readStamped(t.location)
	if err != nil {
		return nil, stamp, configErr(TruststoreLocation, err, "cannot read the trust store")
	}
	typ, err := contentType(t.typ, TruststoreLocation, data)
	if err != nil {
		return nil, stamp, err
	}
	if typ == typePEM {
		if t.hasPassword {
			return nil, stamp, configErr(TruststorePassword, nil, "cannot be set for a PEM trust store")
		}
		pool, err := pemPool(TruststoreLocation, data)
		return pool, stamp, err
	}
	certs, err := pkcs12.DecodeTrustStore(data, t.password)
	if err != nil {
		// DecodeTrustStore takes only certificates Java marked as trust
		// anchors; a file made by openssl has no such mark, so take every
		// certificate in it instead.
		certs, err = pkcs12Certificates(data, t.password)
	}
	if err != nil {
		return nil, stamp, configErr(TruststoreLocation, err, "cannot read the PKCS12 trust store (wrong %s?)", TruststorePassword)
	}
	if len(certs) == 0 {
		return nil, stamp, configErr(TruststoreLocation, nil, "no certificate in the trust store")
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, stamp, nil
}

func pemPool(key string, data []byte) (*x509.CertPool, error) {
	certs, _, err := pemBlocks(data)
	if err != nil {
		return nil, configErr(key, err, "bad PEM trust store")
	}
	if len(certs) == 0 {
		return nil, configErr(key, nil, "no certificate in the trust store")
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func pkcs12Certificates(data []byte, password string) ([]*x509.Certificate, error) {
	blocks, err := pkcs12.ToPEM(data, password)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, b := range blocks {
		if b.Type != pemCertificate {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// fileStamp is what a file looked like when it was read: a reload is due
// when any of it changes (a rewrite, or a new file renamed over it).
type fileStamp struct {
	info os.FileInfo
}

func (a fileStamp) same(b fileStamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

func statStamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{info: fi}, nil
}

// readStamped stats, then reads: a file rewritten during the read then
// looks changed at the next check and is read again.
func readStamped(path string) (fileStamp, []byte, error) {
	st, err := statStamp(path)
	if err != nil {
		return fileStamp{}, nil, err
	}
	data, err := os.ReadFile(path)
	return st, data, err
}
