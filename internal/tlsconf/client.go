package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// Client builds the TLS configuration of a Kafka client from its ssl.*
// properties: the trust store (none: Go's system roots, as Java's
// default cacerts), the key store if there is one (mutual TLS), the
// versions (ssl.protocol=TLSv1.2 caps them at 1.2) and cipher suites,
// and ssl.endpoint.identification.algorithm: "https" (the default)
// verifies the server's host name, "" verifies the certificate chain
// only. ServerName is left empty: franz-go's kgo.DialTLSConfig sets it
// to each broker's host.
//
// The stores are read once; a client is expected to live shorter than
// its certificate.
func Client(props map[string]string) (*tls.Config, error) {
	if err := checkUnsupported(props); err != nil {
		return nil, err
	}
	versions, err := enabledVersions(props)
	if err != nil {
		return nil, err
	}
	limit, err := clientVersionCap(props)
	if err != nil {
		return nil, err
	}
	if versions.max > limit {
		versions.max = limit
	}
	if versions.min > versions.max {
		return nil, configErr(Protocol, nil, "%s leaves none of %s enabled", props[Protocol], EnabledProtocols)
	}
	suites, versions, err := cipherSuites(props, versions)
	if err != nil {
		return nil, err
	}
	verifyHost, err := endpointIdentification(props)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: versions.min, MaxVersion: versions.max, CipherSuites: suites}
	ks, err := keystoreFrom(props)
	if err != nil {
		return nil, err
	}
	if ks != nil {
		cert, _, err := ks.load()
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	ts, err := truststoreFrom(props)
	if err != nil {
		return nil, err
	}
	if ts != nil {
		if cfg.RootCAs, _, err = ts.load(); err != nil {
			return nil, err
		}
	}
	if !verifyHost {
		// Go verifies the chain and the host name together; to keep the
		// first without the second, turn both off and verify the chain
		// here (VerifyConnection runs whatever InsecureSkipVerify says).
		cfg.InsecureSkipVerify = true
		roots := cfg.RootCAs
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs, roots)
		}
	}
	return cfg, nil
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tlsconf: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}
