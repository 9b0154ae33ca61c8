package brokerconf

// securityKeys are the TLS and SASL keys. The PerListener ones may also
// be set for one listener as listener.name.<listener>.<key> (that value
// wins for that listener); sasl.jaas.config and connections.max.reauth.ms
// also as listener.name.<listener>.<mechanism>.<key>.
var securityKeys = []Key{
	key("sasl.enabled.mechanisms", List, "", "SASL mechanisms served: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (Kafka's default, GSSAPI, is not served; a SASL listener must set this).", perListener()),
	key("sasl.jaas.config", Password, "", "JAAS login configuration: the broker's PLAIN users (user_<name>=\"<password>\") and its inter-broker credentials.", null(), perListener()),
	key("sasl.mechanism.inter.broker.protocol", String, "", "The SASL mechanism brokers use with each other (required on a SASL inter-broker listener; Kafka's default GSSAPI is not supported).", oneOf("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")),
	key("sasl.mechanism.controller.protocol", String, "", "The SASL mechanism of the controller listener's clients: PLAIN or OAUTHBEARER.", oneOf("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")),
	key("sasl.server.max.receive.size", Int, "524288", "The largest SASL token a client may send.", atLeast(8), perListener()),
	key("sasl.plain.credentials.file", String, "", "A file of user:password lines for PLAIN, read with the JAAS config's users.", rill(), null(), perListener()),
	key("sasl.oauthbearer.jwks.endpoint.url", String, "", "Where OAUTHBEARER tokens' signing keys are fetched (https:// or file://); unset: unsecured tokens (Kafka's default validator).", null(), perListener()),
	key("sasl.oauthbearer.jwks.endpoint.refresh.ms", Long, "3600000", "How often the JWKS is fetched again.", atLeast(0), perListener()),
	key("sasl.oauthbearer.expected.issuer", String, "", "The iss claim tokens must carry.", null(), perListener()),
	key("sasl.oauthbearer.expected.audience", List, "", "Audiences of which a token's aud claim must name one.", perListener()),
	key("sasl.oauthbearer.sub.claim.name", String, "sub", "The claim naming the principal.", perListener()),
	key("sasl.oauthbearer.scope.claim.name", String, "scope", "The claim listing the token's scopes.", perListener()),
	key("sasl.oauthbearer.clock.skew.seconds", Int, "30", "Clock skew allowed in token times.", atLeast(0), perListener()),
	key("connections.max.reauth.ms", Long, "0", "Longest session of a SASL connection before it must re-authenticate; 0: no limit.", atLeast(0), perListener()),
	key("connection.failed.authentication.delay.ms", Int, "100", "Delay before a connection that failed authentication is closed.", atLeast(0), perListener()),

	key("ssl.keystore.type", String, "", "The key store's format, PEM or PKCS12; unset: taken from the content (Kafka's default, JKS, is refused: convert with keytool).", null(), perListener()),
	key("ssl.keystore.location", String, "", "The key store file.", null(), perListener()),
	key("ssl.keystore.password", Password, "", "The key store's password.", null(), perListener()),
	key("ssl.key.password", Password, "", "The private key's password.", null(), perListener()),
	key("ssl.keystore.key", Password, "", "A PEM private key given inline.", null(), perListener()),
	key("ssl.keystore.certificate.chain", Password, "", "A PEM certificate chain given inline.", null(), perListener()),
	key("ssl.truststore.type", String, "", "The trust store's format, PEM or PKCS12; unset: taken from the content (JKS is refused).", null(), perListener()),
	key("ssl.truststore.location", String, "", "The trust store file.", null(), perListener()),
	key("ssl.truststore.password", Password, "", "The trust store's password.", null(), perListener()),
	key("ssl.truststore.certificates", Password, "", "PEM trusted certificates given inline.", null(), perListener()),
	key("ssl.client.auth", String, "none", "Whether clients must (required) or may (requested) present a certificate.", oneOf("required", "requested", "none"), perListener()),
	key("ssl.enabled.protocols", List, "TLSv1.2,TLSv1.3", "The TLS versions served.", perListener()),
	key("ssl.protocol", String, "TLSv1.3", "The TLS protocol of the SSL context.", perListener()),
	key("ssl.cipher.suites", List, "", "The cipher suites served; empty: Go's defaults.", perListener()),
	key("ssl.endpoint.identification.algorithm", String, "https", "Host name verification of peers (https) or none (empty).", perListener()),
	key("ssl.principal.mapping.rules", String, "DEFAULT", "Rules mapping certificate names to principals.", perListener()),
	key("ssl.allow.dn.changes", Bool, "false", "Whether a reloaded key store may change the certificate's DN.", perListener()),
	key("ssl.allow.san.changes", Bool, "false", "Whether a reloaded key store may change the certificate's SANs.", perListener()),
	key("ssl.provider", String, "", "A Java security provider: refused when set (Go's TLS is used).", null(), perListener()),
	key("ssl.engine.factory.class", Class, "", "A Java SSL engine factory: refused when set.", null(), perListener()),
}
