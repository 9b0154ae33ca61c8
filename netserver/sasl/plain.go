package sasl

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"time"
)

// PlainStore checks PLAIN credentials (Kafka's PlainServerCallbackHandler).
// Implementations must be safe for concurrent use and should compare in
// constant time.
type PlainStore interface {
	AuthenticatePlain(user, password string) bool
}

// PlainUsers is a PlainStore of user → password, as Kafka's JAAS
// user_<name>="<password>" options give them.
type PlainUsers map[string]string

// AuthenticatePlain compares in constant time, and spends the same
// comparison on an unknown user.
func (u PlainUsers) AuthenticatePlain(user, password string) bool {
	want, ok := u[user]
	if !ok {
		want = password + "\x00" // a comparison that fails, at the same cost
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1 && ok
}

// plainServer is Kafka's PlainSaslServer: one client message
// "[authzid] NUL authcid NUL passwd" (RFC 4616), an empty answer.
type plainServer struct {
	store         PlainStore
	authenticated string
}

func (p *plainServer) step(msg []byte, _ time.Time) ([]byte, bool, error) {
	// Kafka splits on at most three NULs and wants exactly three tokens.
	tokens := bytes.SplitN(msg, []byte{0}, 4)
	if len(tokens) != 3 {
		return nil, false, visibleFailure(fmt.Sprintf("Invalid SASL/PLAIN response: expected 3 tokens, got %d", len(tokens)))
	}
	authzid, user, password := string(tokens[0]), string(tokens[1]), string(tokens[2])
	if user == "" {
		return nil, false, visibleFailure("Authentication failed: username not specified")
	}
	if password == "" {
		return nil, false, visibleFailure("Authentication failed: password not specified")
	}
	if !p.store.AuthenticatePlain(user, password) {
		return nil, false, visibleFailure("Authentication failed: Invalid username or password")
	}
	if authzid != "" && authzid != user {
		return nil, false, visibleFailure("Authentication failed: Client requested an authorization id that is different from username")
	}
	p.authenticated = user
	return []byte{}, true, nil
}

func (p *plainServer) user() string                        { return p.authenticated }
func (p *plainServer) credentialExpiry() (time.Time, bool) { return time.Time{}, false }
