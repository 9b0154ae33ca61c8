package tlsconf

import "crypto/tls"

// Principal is the principal of a TLS connection as Kafka's
// DefaultKafkaPrincipalBuilder builds it for an SSL listener:
// "User:ANONYMOUS" when the client sent no certificate, else "User:" and
// the name rules maps the certificate's subject to (DistinguishedName;
// a nil rules keeps the name as it is). An error means the subject does
// not parse or no rule applies, where Kafka fails the connection's
// authentication.
func Principal(cs tls.ConnectionState, rules *PrincipalMapper) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return anonymousPrincipal, nil
	}
	dn, err := DistinguishedName(cs.PeerCertificates[0].RawSubject)
	if err != nil {
		return "", err
	}
	name, err := rules.Name(dn)
	if err != nil {
		return "", err
	}
	return userPrefix + name, nil
}
