// Package clientconf reads a Kafka client configuration — the properties
// file that kafka-*.sh --command-config takes, or the same keys in memory
// — into franz-go kgo options, for Rill's command-line tools and the
// broker's own inter-broker clients.
//
// # Keys
//
//   - bootstrap.servers: host:port,... (optional: tools may take it as a
//     flag). Each entry needs a port, as in Kafka.
//   - client.id
//   - security.protocol: PLAINTEXT (default), SSL, SASL_PLAINTEXT or
//     SASL_SSL (any case).
//   - sasl.mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER.
//     Kafka's default is GSSAPI (Kerberos), which is not supported, so a
//     SASL protocol needs it set.
//   - sasl.jaas.config: one login module in Kafka's JAAS syntax (parsed by
//     netserver/sasl.ParseJAASProperty). PlainLoginModule or
//     ScramLoginModule with username and password (and tokenauth for a
//     delegation token) for PLAIN and SCRAM; OAuthBearerLoginModule with
//     Kafka's unsecured-login options (unsecuredLoginStringClaim_sub and
//     the others) for OAUTHBEARER, which then sends a fresh unsigned JWT
//     (alg none) on every authentication, as Kafka's
//     OAuthBearerUnsecuredLoginCallbackHandler does.
//   - sasl.username and sasl.password: librdkafka's spelling of the PLAIN
//     and SCRAM credentials, taken when sasl.jaas.config is absent.
//   - ssl.*: with SSL and SASL_SSL, through tlsconf.Client (trust store,
//     key store for mutual TLS, endpoint identification, versions).
//
// Every other key is kept in Props and listed by Unused, for the tool
// that reads it (acks, group.id, ...) or to warn about. Values this
// package cannot honour are errors naming the key: GSSAPI, Java callback
// handler classes (sasl.login.callback.handler.class and the like), the
// OAuth client-credentials login (sasl.oauthbearer.token.endpoint.url),
// unknown protocols and mechanisms.
//
// # Files
//
// Load reads java.util.Properties syntax: key=value, key:value or
// key value; # and ! comment lines; a trailing backslash continues a line
// (leading blanks of the next one dropped); \t \n \r \f \uXXXX escapes,
// and a backslash before any other character keeps the character. Unlike
// Java, which reads these files as ISO-8859-1, the file is read as UTF-8
// when it is valid UTF-8.
package clientconf
