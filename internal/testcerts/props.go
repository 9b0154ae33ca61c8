package testcerts

// Format chooses how properties point at the stores.
type Format int

const (
	// PEMFiles: ssl.keystore.type=PEM with ssl.keystore.location (Kafka's
	// PEM key store file) and a PEM trust store file.
	PEMFiles Format = iota
	// PEMInline: the PEM text in ssl.keystore.key,
	// ssl.keystore.certificate.chain and ssl.truststore.certificates
	// (KIP-651).
	PEMInline
	// PKCS12: PKCS12 key and trust store files with their passwords.
	PKCS12
)

// ServerProps are the ssl.* properties of a listener serving id's
// certificate and trusting the Authority (for client certificates). Add
// ssl.client.auth for mutual TLS.
func (a *Authority) ServerProps(id *Identity, f Format) map[string]string {
	p := map[string]string{}
	a.keystoreProps(p, id, f)
	a.truststoreProps(p, f)
	return p
}

// ClientProps are the properties of a Kafka client that trusts the
// Authority, with security.protocol=SSL (set SASL_SSL for SASL), and that
// presents id's certificate unless id is nil.
func (a *Authority) ClientProps(id *Identity, f Format) map[string]string {
	p := map[string]string{"security.protocol": "SSL"}
	if id != nil {
		a.keystoreProps(p, id, f)
	}
	a.truststoreProps(p, f)
	return p
}

func (a *Authority) keystoreProps(p map[string]string, id *Identity, f Format) {
	switch f {
	case PEMFiles:
		p["ssl.keystore.type"] = "PEM"
		p["ssl.keystore.location"] = id.KeystoreFile
		if a.opts.KeyPassword != "" {
			p["ssl.key.password"] = a.opts.KeyPassword
		}
	case PEMInline:
		p["ssl.keystore.type"] = "PEM"
		p["ssl.keystore.key"] = string(id.KeyPEM)
		p["ssl.keystore.certificate.chain"] = string(id.CertPEM)
		if a.opts.KeyPassword != "" {
			p["ssl.key.password"] = a.opts.KeyPassword
		}
	case PKCS12:
		p["ssl.keystore.type"] = "PKCS12"
		p["ssl.keystore.location"] = id.P12File
		p["ssl.keystore.password"] = a.opts.Password
	}
}

func (a *Authority) truststoreProps(p map[string]string, f Format) {
	switch f {
	case PEMFiles:
		p["ssl.truststore.type"] = "PEM"
		p["ssl.truststore.location"] = a.CertFile
	case PEMInline:
		p["ssl.truststore.type"] = "PEM"
		p["ssl.truststore.certificates"] = string(a.CertPEM)
	case PKCS12:
		p["ssl.truststore.type"] = "PKCS12"
		p["ssl.truststore.location"] = a.TrustStoreP12
		p["ssl.truststore.password"] = a.opts.Password
	}
}
