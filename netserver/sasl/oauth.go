package sasl

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token is a validated OAUTHBEARER token (Kafka's OAuthBearerToken).
type Token struct {
	// Principal is the principal name (the user of "User:<name>").
	Principal string
	Scope     []string
	// Expiration is when the token stops being valid; the session lifetime
	// (KIP-368) does not outlast it.
	Expiration time.Time
	// IssuedAt is the token's start time; zero when it has none.
	IssuedAt time.Time
}

// TokenValidator validates a bearer token at time now (Kafka's
// OAuthBearerValidatorCallback). A rejection should be a *TokenError; any
// other error is answered as "invalid_token". Implementations must be safe
// for concurrent use and must not block: a validator backed by a JWKS URL
// refreshes its keys elsewhere.
type TokenValidator interface {
	ValidateToken(token string, now time.Time) (Token, error)
}

// TokenError is a token rejection with the fields of the OAUTHBEARER error
// answer (RFC 7628 section 3.2.2).
type TokenError struct {
	// Status is "invalid_token" (the default when empty) or
	// "insufficient_scope".
	Status string
	// Scope and OpenIDConfiguration are optional.
	Scope               string
	OpenIDConfiguration string
	// Reason is for the broker's log.
	Reason string
}

func (e *TokenError) Error() string { return "oauthbearer: " + e.Reason }

// oauthServer is Kafka's OAuthBearerSaslServer.
type oauthServer struct {
	validator TokenValidator
	// errorJSON is the failure answer sent as a challenge; the client's
	// "\x01" then ends the exchange.
	errorJSON  string
	token      Token
	extensions map[string]string
	finished   bool
}

func (o *oauthServer) step(msg []byte, now time.Time) ([]byte, bool, error) {
	if len(msg) == 1 && msg[0] == 0x01 && o.errorJSON != "" {
		return nil, false, visibleFailure(o.errorJSON)
	}
	// As in Kafka, anything else after an error answer is a new attempt.
	o.errorJSON = ""
	ir, err := parseOAuthInitialResponse(msg)
	if err != nil {
		return nil, false, err
	}
	tok, err := o.validator.ValidateToken(ir.token, now)
	if err != nil {
		var te *TokenError
		if !errors.As(err, &te) {
			te = &TokenError{Reason: err.Error()}
		}
		o.errorJSON = oauthErrorJSON(te)
		return []byte(o.errorJSON), false, nil
	}
	if tok.Principal == "" {
		return nil, false, hiddenFailure("validator returned a token without a principal")
	}
	if ir.authzid != "" && ir.authzid != tok.Principal {
		return nil, false, visibleFailure(fmt.Sprintf(
			"Authentication failed: Client requested an authorization id (%s) that is different from the token's principal name (%s)",
			ir.authzid, tok.Principal))
	}
	// Kafka's validators accept every extension.
	o.token, o.extensions, o.finished = tok, ir.extensions, true
	return []byte{}, true, nil
}

func (o *oauthServer) user() string {
	if !o.finished {
		return ""
	}
	return o.token.Principal
}

func (o *oauthServer) credentialExpiry() (time.Time, bool) {
	return o.token.Expiration, o.finished && !o.token.Expiration.IsZero()
}

// oauthErrorJSON is OAuthBearerSaslServer.jsonErrorResponse, byte for byte.
func oauthErrorJSON(te *TokenError) string {
	status := te.Status
	if status == "" {
		status = "invalid_token"
	}
	s := `{"status":"` + status + `"`
	if te.Scope != "" {
		s += `, "scope":"` + te.Scope + `"`
	}
	if te.OpenIDConfiguration != "" {
		s += `, "openid-configuration":"` + te.OpenIDConfiguration + `"`
	}
	return s + "}"
}

type oauthInitialResponse struct {
	authzid    string
	token      string
	extensions map[string]string
}

// parseOAuthInitialResponse parses Kafka's OAuthBearerClientInitialResponse:
//
//	n,[a=<saslname>],\x01auth=<scheme> <token>\x01[<key>=<value>\x01]*\x01
//
// keys [A-Za-z]+, values [\x21-\x7E \t\r\n]+, scheme "Bearer" in any case,
// token [-_~+/.a-zA-Z0-9]+ then any '='.
func parseOAuthInitialResponse(msg []byte) (oauthInitialResponse, error) {
	bad := func(why string) (oauthInitialResponse, error) {
		return oauthInitialResponse{}, hiddenFailure("Invalid OAUTHBEARER client first message: %s", why)
	}
	rest, ok := bytes.CutPrefix(msg, []byte("n,"))
	if !ok {
		return bad("gs2 header")
	}
	authz, rest, ok := bytes.Cut(rest, []byte(","))
	if !ok {
		return bad("gs2 header")
	}
	var ir oauthInitialResponse
	if len(authz) > 0 {
		a, ok := bytes.CutPrefix(authz, []byte("a="))
		if !ok || !isScramSaslName(string(a)) {
			return bad("authzid")
		}
		ir.authzid = string(a)
	}
	body, ok := bytes.CutPrefix(rest, []byte{0x01})
	if !ok {
		return bad("separator")
	}
	body, ok = bytes.CutSuffix(body, []byte{0x01})
	if !ok {
		return bad("separator")
	}
	kvs := map[string]string{}
	for len(body) > 0 {
		pair, after, ok := bytes.Cut(body, []byte{0x01})
		if !ok {
			return bad("key-value pair")
		}
		k, v, ok := bytes.Cut(pair, []byte("="))
		if !ok || !isAlpha(string(k)) || !isOAuthValue(v) {
			return bad("key-value pair")
		}
		kvs[string(k)] = string(v)
		body = after
	}
	auth, ok := kvs["auth"]
	if !ok {
		return bad("'auth' not specified")
	}
	delete(kvs, "auth")
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !isWord(scheme) || !isBearerToken(token) {
		return bad("invalid 'auth' format")
	}
	if !strings.EqualFold(scheme, "bearer") {
		return bad("invalid scheme")
	}
	ir.token, ir.extensions = token, kvs
	return ir, nil
}

// isOAuthValue: [\x21-\x7E \t\r\n]+
func isOAuthValue(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if (c < 0x21 || c > 0x7E) && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// isWord: [\w]+
func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isBearerToken: [-_~+/.a-zA-Z0-9]+ followed by [=]*
func isBearerToken(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_~+/.", c) >= 0) {
			return false
		}
	}
	return true
}
