package sasl

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// JWKSOptions are the validation settings of Kafka's
// OAuthBearerValidatorCallbackHandler.
type JWKSOptions struct {
	// ExpectedAudience is sasl.oauthbearer.expected.audience: when set, the
	// token's "aud" must name one of them.
	ExpectedAudience []string
	// ExpectedIssuer is sasl.oauthbearer.expected.issuer: when set, "iss"
	// must equal it.
	ExpectedIssuer string
	// SubClaim is sasl.oauthbearer.sub.claim.name (default "sub").
	SubClaim string
	// ScopeClaim is sasl.oauthbearer.scope.claim.name (default "scope").
	ScopeClaim string
	// ClockSkew is sasl.oauthbearer.clock.skew.seconds; Kafka's default is
	// 30s, which the caller passes (zero means none).
	ClockSkew time.Duration
}

// JWKSValidator validates signed JWTs (RS256 and ES256) against a JSON Web
// Key Set, as Kafka's OAuthBearerValidatorCallbackHandler does with
// sasl.oauthbearer.jwks.endpoint.url: the signature with the key the "kid"
// header names (or any key when there is no kid), "exp" and "iat"
// required, "exp" not passed and "iat" not in the future (with the clock
// skew), issuer and audience when configured, and a non-blank string
// subject claim as the principal. It does no I/O: the caller reads the
// JWKS file or URL and calls SetKeys when it refreshes.
type JWKSValidator struct {
	opts JWKSOptions
	keys atomic.Pointer[jose.JSONWebKeySet]
}

// NewJWKSValidator makes a validator with the key set jwks (JSON).
func NewJWKSValidator(jwks []byte, opts JWKSOptions) (*JWKSValidator, error) {
	opts.SubClaim = cmpOr(strings.TrimSpace(opts.SubClaim), "sub")
	opts.ScopeClaim = cmpOr(strings.TrimSpace(opts.ScopeClaim), "scope")
	if opts.ClockSkew < 0 {
		return nil, errors.New("sasl: negative OAUTHBEARER clock skew")
	}
	v := &JWKSValidator{opts: opts}
	if err := v.SetKeys(jwks); err != nil {
		return nil, err
	}
	return v, nil
}

// SetKeys replaces the key set; safe to call while tokens are validated.
func (v *JWKSValidator) SetKeys(jwks []byte) error {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return fmt.Errorf("sasl: parsing the JWKS: %w", err)
	}
	var usable []jose.JSONWebKey
	for _, k := range set.Keys {
		if k.Use == "enc" || !k.Valid() {
			continue
		}
		usable = append(usable, k.Public())
	}
	if len(usable) == 0 {
		return errors.New("sasl: the JWKS has no signature verification key")
	}
	v.keys.Store(&jose.JSONWebKeySet{Keys: usable})
	return nil
}

var jwksAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// ValidateToken implements TokenValidator.
func (v *JWKSValidator) ValidateToken(token string, now time.Time) (Token, error) {
	parsed, err := jwt.ParseSigned(token, jwksAlgorithms)
	if err != nil {
		return Token{}, invalidToken("parsing the JWT: %v", err)
	}
	if len(parsed.Headers) != 1 {
		return Token{}, invalidToken("want one JWS signature, have %d", len(parsed.Headers))
	}
	header := parsed.Headers[0]
	set := v.keys.Load()
	candidates := set.Keys
	if header.KeyID != "" {
		candidates = set.Key(header.KeyID)
	}
	var std jwt.Claims
	var raw map[string]any
	verified := false
	for _, k := range candidates {
		if k.Algorithm != "" && k.Algorithm != header.Algorithm {
			continue
		}
		if parsed.Claims(k.Key, &std, &raw) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Token{}, invalidToken("no key of the JWKS verifies the signature (kid %q)", header.KeyID)
	}
	if std.Expiry == nil {
		return Token{}, invalidToken("no expiration time (exp) in the JWT")
	}
	if std.IssuedAt == nil {
		return Token{}, invalidToken("no issued at time (iat) in the JWT")
	}
	if err := std.ValidateWithLeeway(jwt.Expected{
		Issuer:      v.opts.ExpectedIssuer,
		AnyAudience: v.opts.ExpectedAudience,
		Time:        now,
	}, v.opts.ClockSkew); err != nil {
		return Token{}, invalidToken("%v", err)
	}
	principal, _ := raw[v.opts.SubClaim].(string)
	if strings.TrimSpace(principal) == "" {
		return Token{}, invalidToken("no string principal in the JWT claim %s", v.opts.SubClaim)
	}
	var scope []string
	switch s := raw[v.opts.ScopeClaim].(type) {
	case string:
		scope = strings.Fields(s)
	case []any:
		for _, e := range s {
			if str, ok := e.(string); ok && strings.TrimSpace(str) != "" {
				scope = append(scope, strings.TrimSpace(str))
			}
		}
	}
	return Token{
		Principal:  principal,
		Scope:      scope,
		Expiration: std.Expiry.Time(),
		IssuedAt:   std.IssuedAt.Time(),
	}, nil
}
