package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/youmark/pkcs8"
)

// PEM block types of private keys.
const (
	pemPKCS8          = "PRIVATE KEY"
	pemPKCS8Encrypted = "ENCRYPTED PRIVATE KEY"
	pemPKCS1          = "RSA PRIVATE KEY"
	pemSEC1           = "EC PRIVATE KEY"
	pemCertificate    = "CERTIFICATE"
)

// pemBlocks splits PEM text into its certificates and private keys; other
// blocks (an "EC PARAMETERS" block openssl writes, for one) are skipped.
// Text between blocks is ignored, as Kafka's PEM parser ignores it.
func pemBlocks(data []byte) (certs []*x509.Certificate, keys []*pem.Block, err error) {
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, nil, err
	}
	for _, b := range blocks {
		switch b.Type {
		case pemCertificate:
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
			}
			certs = append(certs, c)
		case pemPKCS8, pemPKCS8Encrypted, pemPKCS1, pemSEC1:
			keys = append(keys, b)
		}
	}
	if len(blocks) == 0 {
		return nil, nil, errors.New("no PEM data")
	}
	return certs, keys, nil
}

// errKeyPassword marks key decryption failures, which are reported
// against ssl.key.password rather than the store.
var errKeyPassword = errors.New("key password")

// parsePrivateKey decodes one PEM private key. password is
// ssl.key.password; as in Kafka it must be set for an encrypted key and
// only for one.
func parsePrivateKey(b *pem.Block, password string, hasPassword bool) (crypto.Signer, error) {
	if _, legacy := b.Headers["Proc-Type"]; legacy {
		// OpenSSL's traditional encryption (MD5 key derivation) is
		// insecure and Go no longer decrypts it; Kafka rejects it too.
		return nil, fmt.Errorf("%w: legacy OpenSSL-encrypted %s is not supported; convert it to encrypted PKCS#8: openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key.p8.pem", errKeyPassword, b.Type)
	}
	var key any
	var err error
	switch b.Type {
	case pemPKCS8Encrypted:
		if !hasPassword {
			return nil, fmt.Errorf("%w: the private key is encrypted and ssl.key.password is not set", errKeyPassword)
		}
		key, err = pkcs8.ParsePKCS8PrivateKey(b.Bytes, []byte(password))
		if err != nil {
			return nil, fmt.Errorf("%w: cannot decrypt the private key (wrong password, or not PBES2): %v", errKeyPassword, err)
		}
	case pemPKCS8, pemPKCS1, pemSEC1:
		if hasPassword {
			return nil, fmt.Errorf("%w: ssl.key.password is set but the private key is not encrypted", errKeyPassword)
		}
		switch b.Type {
		case pemPKCS8:
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case pemPKCS1:
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			key, err = x509.ParseECPrivateKey(b.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", b.Type)
	}
	return asSigner(key)
}

// asSigner keeps the key types crypto/tls signs with.
func asSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("private key of type %T is not usable for TLS", key)
}

// certificateFor assembles a tls.Certificate and checks that the key is
// the leaf's.
func certificateFor(key crypto.Signer, chain []*x509.Certificate) (tls.Certificate, error) {
	if len(chain) == 0 {
		return tls.Certificate{}, errors.New("no certificate")
	}
	pub, ok := chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return tls.Certificate{}, errors.New("the private key does not match the first certificate (the chain must start with the key's certificate)")
	}
	c := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, x := range chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c, nil
}
