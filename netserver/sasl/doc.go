// Package sasl is the server side of Kafka's SASL authentication: the
// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER mechanisms as
// SaslHandshake/SaslAuthenticate carry them, with Kafka's semantics
// (org.apache.kafka.common.security: SaslServerAuthenticator,
// PlainSaslServer, ScramSaslServer, OAuthBearerSaslServer; KIP-84, KIP-255,
// KIP-368).
//
// The package is pure: no I/O, no goroutines, no clock. Bytes go in, bytes
// come out, and the caller passes the time.
//
// # Contract
//
// One Authenticator per listener holds the enabled mechanisms and the
// credential sources (PlainStore, ScramStore, TokenValidator). It is
// immutable and safe for concurrent use. Per connection:
//
//  1. SaslHandshake names a mechanism: Start(mechanism). An error is
//     ErrUnsupportedMechanism (UNSUPPORTED_SASL_MECHANISM; answer with
//     Mechanisms()).
//  2. Each SaslAuthenticate auth_bytes goes to Session.Step(bytes, now),
//     which returns the auth_bytes to answer and whether the exchange is
//     complete. A Session is used by one connection at a time.
//  3. On done, Principal() is the authenticated principal ("User:alice")
//     and SessionLifetime(now) is the session_lifetime_ms to answer
//     (KIP-368: the smaller of connections.max.reauth.ms and the
//     credential's remaining lifetime; 0 means no limit). The connection
//     must re-authenticate before it runs out; Reauthenticate(previous,
//     mechanism) starts that exchange, which must keep the mechanism and
//     end with the same principal.
//  4. Any error ends the session: the connection answers the error's
//     code and Message and closes. Error.Message is what Kafka would send
//     (for credential failures the generic "Authentication failed during
//     authentication due to invalid credentials with SASL mechanism M", so
//     an unknown user and a wrong password look alike); Error.Cause is the
//     detail for the broker's log only. A Step after done or after an error
//     is ErrIllegalState (ILLEGAL_SASL_STATE).
//
// # Mechanisms
//
// PLAIN (RFC 4616) checks "authzid NUL user NUL password" against a
// PlainStore; the authzid must be empty or the user. Users come from
// Kafka's JAAS option syntax (ParseJAAS, PlainUsersFromJAAS,
// ServerJAASConfig) or a credentials file (ParseCredentialsFile).
//
// SCRAM-SHA-256/512 (RFC 5802, RFC 7677, KIP-84) verify the client proof
// with github.com/xdg-go/scram against a ScramCredential (salt, iterations
// of at least 4096, StoredKey, ServerKey) from a ScramStore. The messages
// are first checked against Kafka's grammar (ScramMessages) so that the
// library only sees well-formed input. The "tokenauth" extension
// (delegation tokens) is refused; other extensions are ignored, as in
// Kafka.
//
// OAUTHBEARER (RFC 7628, KIP-255) parses the client's initial response and
// hands the token to a TokenValidator. UnsecuredValidator is Kafka's
// OAuthBearerUnsecuredValidatorCallbackHandler (alg "none", for tests);
// JWKSValidator verifies RS256/ES256 JWTs against a JSON Web Key Set with
// github.com/go-jose/go-jose/v4, as Kafka's OAuthBearerValidatorCallbackHandler
// (the caller fetches the JWKS and calls SetKeys on refresh). A
// rejected token is answered, as in Kafka, with a JSON status
// ({"status":"invalid_token"}) as a challenge; the client's "\x01" reply
// then ends the exchange with SASL_AUTHENTICATION_FAILED carrying that JSON.
package sasl
