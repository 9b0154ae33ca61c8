package handler

import (
	"context"

	"github.com/rillmq/rill/netserver/authz"
)

// AnonymousPrincipal is the principal of a connection that did not
// authenticate (a PLAINTEXT listener, or SSL without a client
// certificate), as Kafka names it.
const AnonymousPrincipal = "User:ANONYMOUS"

// Identity is who sent a request: the connection's authenticated
// principal ("User:alice", as Kafka's KafkaPrincipal prints) and the
// client's IP address (no port, no leading slash), which ACLs match
// against. The server puts it in each connection's context once it is
// known (WithIdentity): at accept for PLAINTEXT, after the TLS handshake
// for SSL, after SASL authentication for SASL listeners. Re-authentication
// never changes it (KIP-368 requires the same principal).
type Identity struct {
	Principal string
	Host      string
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityOf is the identity WithIdentity gave ctx; without one it is the
// anonymous principal from an unknown host.
func IdentityOf(ctx context.Context) Identity {
	if id, ok := ctx.Value(identityKey{}).(Identity); ok {
		return id
	}
	return Identity{Principal: AnonymousPrincipal}
}

// Authorizer is the broker's authorizer (nil: none), which other links of
// the broker (the controller listener) check principals with.
func (b *Broker) Authorizer() *authz.Authorizer { return b.cfg.Authorizer }
