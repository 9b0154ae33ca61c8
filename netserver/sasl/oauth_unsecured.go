package sasl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The JAAS options of Kafka's OAuthBearerUnsecuredValidatorCallbackHandler
// (read by UnsecuredValidatorFromJAAS).
const (
	UnsecuredPrincipalClaimOption = "unsecuredValidatorPrincipalClaimName"
	UnsecuredScopeClaimOption     = "unsecuredValidatorScopeClaimName"
	UnsecuredRequiredScopeOption  = "unsecuredValidatorRequiredScope"
	UnsecuredClockSkewOption      = "unsecuredValidatorAllowableClockSkewMs"
)

// UnsecuredValidator is Kafka's OAuthBearerUnsecuredValidatorCallbackHandler
// (KIP-255): it accepts unsigned JWTs (alg "none", empty signature) and is
// for tests only. It checks, in Kafka's order: the principal claim is a
// non-blank string; "exp" is a number and now minus the skew is before it;
// "iat", if present, is a number not after now plus the skew, and before
// exp; the token's scope holds every RequiredScope element. A scope
// failure is "insufficient_scope", anything else "invalid_token".
type UnsecuredValidator struct {
	PrincipalClaim     string   // default "sub"
	ScopeClaim         string   // default "scope"
	RequiredScope      []string // none by default
	AllowableClockSkew time.Duration
}

// UnsecuredValidatorFromJAAS reads the validator's options from a JAAS
// entry's options, as Kafka does (blank means the default; the skew is
// whole non-negative milliseconds; the required scope is space-separated).
func UnsecuredValidatorFromJAAS(options map[string]string) (*UnsecuredValidator, error) {
	v := &UnsecuredValidator{
		PrincipalClaim: strings.TrimSpace(options[UnsecuredPrincipalClaimOption]),
		ScopeClaim:     strings.TrimSpace(options[UnsecuredScopeClaimOption]),
		RequiredScope:  strings.Fields(options[UnsecuredRequiredScopeOption]),
	}
	if s := strings.TrimSpace(options[UnsecuredClockSkewOption]); s != "" {
		ms, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("sasl: %s: %w", UnsecuredClockSkewOption, err)
		}
		if ms < 0 {
			return nil, fmt.Errorf("sasl: Allowable clock skew millis must not be negative: %s", s)
		}
		v.AllowableClockSkew = time.Duration(ms) * time.Millisecond
	}
	return v, nil
}

func invalidToken(format string, args ...any) *TokenError {
	return &TokenError{Status: "invalid_token", Reason: fmt.Sprintf(format, args...)}
}

// ValidateToken implements TokenValidator.
func (v *UnsecuredValidator) ValidateToken(token string, now time.Time) (Token, error) {
	principalClaim := cmpOr(strings.TrimSpace(v.PrincipalClaim), "sub")
	scopeClaim := cmpOr(strings.TrimSpace(v.ScopeClaim), "scope")
	if strings.Contains(token, "..") {
		return Token{}, invalidToken("Malformed compact serialization contains '..'")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Token{}, invalidToken("Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values")
	}
	header, err := jwtPart(parts[0])
	if err != nil {
		return Token{}, err
	}
	claims, err := jwtPart(parts[1])
	if err != nil {
		return Token{}, err
	}
	if alg, ok := header["alg"].(string); !ok || alg != "none" {
		return Token{}, invalidToken("Unsecured JWS must have 'none' for an algorithm")
	}
	if parts[2] != "" {
		return Token{}, invalidToken("Unsecured JWS must not contain a digital signature")
	}
	var scope []string
	switch s := claims[scopeClaim].(type) {
	case nil:
	case string:
		if t := strings.TrimSpace(s); t != "" {
			scope = []string{t} // Kafka takes a string scope as one element
		}
	case []string:
		for _, e := range s {
			if t := strings.TrimSpace(e); t != "" {
				scope = append(scope, t)
			}
		}
	default:
		return Token{}, invalidToken("The '%s' claim was not of type List", scopeClaim)
	}
	exp, err := numberClaim(claims, "exp")
	if err != nil {
		return Token{}, err
	}
	if exp == nil {
		return Token{}, invalidToken("No expiration time in JWT")
	}
	principal, isString := claims[principalClaim].(string)
	if claims[principalClaim] != nil && !isString {
		return Token{}, invalidToken("The '%s' claim was not of type String", principalClaim)
	}
	if strings.TrimSpace(principal) == "" {
		return Token{}, invalidToken("No principal name in JWT claim: %s", principalClaim)
	}
	iat, err := numberClaim(claims, "iat")
	if err != nil {
		return Token{}, err
	}
	nowMs := float64(now.UnixMilli())
	skewMs := float64(v.AllowableClockSkew.Milliseconds())
	if iat != nil && 1000**iat > nowMs+skewMs {
		return Token{}, invalidToken("The Issued At value (%f seconds) was after the indicated time (%d ms) plus allowable clock skew (%d ms)",
			*iat, now.UnixMilli(), int64(skewMs))
	}
	if nowMs-skewMs >= 1000**exp {
		return Token{}, invalidToken("The indicated time (%d ms) minus allowable clock skew (%d ms) was on or after the Expiration Time value (%f seconds)",
			now.UnixMilli(), int64(skewMs), *exp)
	}
	if iat != nil && *exp <= *iat {
		return Token{}, invalidToken("The Expiration Time time (%f seconds) was not after the Issued At time (%f seconds)", *exp, *iat)
	}
	for _, want := range v.RequiredScope {
		found := false
		for _, have := range scope {
			found = found || have == want
		}
		if !found {
			return Token{}, &TokenError{
				Status: "insufficient_scope",
				// Java's List.toString, as Kafka answers it.
				Scope:  "[" + strings.Join(v.RequiredScope, ", ") + "]",
				Reason: fmt.Sprintf("The provided scope (%v) was missing a required scope (%s).", scope, want),
			}
		}
	}
	tok := Token{Principal: principal, Scope: scope, Expiration: millisTime(*exp)}
	if iat != nil {
		tok.IssuedAt = millisTime(*iat)
	}
	return tok, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func millisTime(seconds float64) time.Time {
	return time.UnixMilli(int64(math.Round(seconds * 1000)))
}

// jwtPart decodes a JOSE header or claims set into Kafka's view of it:
// arrays become []string (each element as text), numbers float64,
// strings string, and every other value its text ("true", "null", "").
// Base64url is the JWT encoding (RFC 7515); the standard alphabet and
// padding are accepted too.
func jwtPart(part string) (map[string]any, error) {
	s := strings.TrimRight(part, "=")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, invalidToken("malformed Base64 URL encoded value")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, invalidToken("malformed JSON")
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = kafkaJSONValue(v)
	}
	return out, nil
}

func kafkaJSONValue(v any) any {
	switch x := v.(type) {
	case []any:
		list := make([]string, 0, len(x))
		for _, e := range x {
			list = append(list, jsonText(e))
		}
		return list
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	default:
		return jsonText(x)
	}
}

// jsonText is Jackson's JsonNode.asText.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	return "" // objects and arrays
}

func numberClaim(claims map[string]any, name string) (*float64, error) {
	switch x := claims[name].(type) {
	case nil:
		return nil, nil
	case float64:
		return &x, nil
	default:
		return nil, invalidToken("The '%s' claim was not of type Number", name)
	}
}
