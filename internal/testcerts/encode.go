package testcerts

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// encodeKey writes a private key as PKCS#8 PEM, encrypted (PBES2,
// AES-256-CBC, PBKDF2-SHA256) when password is set, which is the one
// encrypted form Kafka's PEM key stores read.
func encodeKey(key crypto.Signer, password string) ([]byte, error) {
	if password == "" {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	der, err := pkcs8.MarshalPrivateKey(key, []byte(password), nil)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}

// encodeKeyStore writes a PKCS12 key store (key, leaf, CA) with one
// password for the store and the key, as keytool and openssl do.
func encodeKeyStore(key crypto.Signer, leaf, ca *x509.Certificate, password string) ([]byte, error) {
	return pkcs12.Modern2023.Encode(key, leaf, []*x509.Certificate{ca}, password)
}

// encodeTrustStore writes a PKCS12 trust store holding ca as a trusted
// certificate entry.
func encodeTrustStore(ca *x509.Certificate, password string) ([]byte, error) {
	return pkcs12.Modern2023.EncodeTrustStore([]*x509.Certificate{ca}, password)
}
