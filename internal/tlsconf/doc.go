// Package tlsconf turns Kafka's ssl.* properties into crypto/tls
// configurations with Kafka's names, defaults and checks (Kafka's
// DefaultSslEngineFactory; KIP-651 for inline PEM), and names the
// principal of an SSL connection as Kafka's DefaultKafkaPrincipalBuilder
// does (KIP-371 for ssl.principal.mapping.rules).
//
// # Contract
//
// Every function takes the properties as already-resolved ssl.* keys;
// ForListener applies a broker's listener.name.<listener>.ssl.* overrides
// first. Properties are read, never modified. An empty value counts as
// unset, except for ssl.endpoint.identification.algorithm where "" is
// Kafka's way to turn host name verification off. Keys this package does
// not know are ignored, as Kafka ignores unknown configs; ssl.provider and
// ssl.engine.factory.class are refused because they change behaviour
// Rill cannot provide. Every configuration error is a *ConfigError
// naming the key and the reason.
//
//   - Server builds a broker listener's TLS configuration. Its Config is
//     for tls.NewListener and stays valid for the listener's life: the key
//     store and trust store files are re-read when they change (checked at
//     most once a second, from a handshake, never from a goroutine of
//     their own). A reload that fails keeps the previous material and is
//     logged once; so is a new certificate whose subject or subject
//     alternative names differ, which Kafka refuses unless
//     ssl.allow.dn.changes / ssl.allow.san.changes is true.
//   - Client builds the configuration of a Kafka client (inter-broker
//     clients, tools): trust store, optional key store for mutual TLS,
//     and ssl.endpoint.identification.algorithm.
//   - Principal is the principal of a TLS connection: "User:" and the
//     peer certificate's subject as Java's X500Principal.getName() prints
//     it (DistinguishedName), mapped by ssl.principal.mapping.rules
//     (PrincipalMapper), or User:ANONYMOUS without a client certificate.
//
// # Stores
//
// ssl.keystore.type and ssl.truststore.type are PEM or PKCS12. Kafka's
// default, JKS, cannot be read here: a JKS store is refused with the
// keytool command that converts it. When the type is unset it is taken
// from the content (PEM text, else PKCS12), where Kafka would assume JKS.
// A PEM key store is one file (or the inline ssl.keystore.key and
// ssl.keystore.certificate.chain) with one private key and its
// certificate chain, leaf first; the key is PKCS#8, PKCS#1 or SEC 1, or
// an encrypted PKCS#8 (PBES2) key opened with ssl.key.password. As in
// Kafka, ssl.keystore.password and ssl.truststore.password are refused
// for PEM stores, and a PKCS12 key store needs ssl.keystore.password.
//
// # Versions and cipher suites
//
// ssl.enabled.protocols may hold TLSv1.2 and TLSv1.3 (the default is
// both); older versions are refused. On clients ssl.protocol=TLSv1.2 caps
// the version at 1.2 as Java's TLSv1.2 SSLContext does. ssl.cipher.suites
// takes the IANA (Java) names Go implements; Go's TLS 1.3 suites cannot
// be chosen one by one, so a list naming any TLS 1.3 suite enables all
// three, and a list naming none disables TLS 1.3, as in Java.
package tlsconf
