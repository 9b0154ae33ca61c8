package clientconf

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	rillsasl "github.com/rillmq/rill/netserver/sasl"
)

// The options of Kafka's OAuthBearerUnsecuredLoginCallbackHandler.
const (
	optionPrefix         = "unsecuredLogin"
	principalClaimOption = optionPrefix + "PrincipalClaimName"
	lifetimeOption       = optionPrefix + "LifetimeSeconds"
	stringClaimPrefix    = optionPrefix + "StringClaim_"
	numberClaimPrefix    = optionPrefix + "NumberClaim_"
	listClaimPrefix      = optionPrefix + "ListClaim_"
	extensionPrefix      = optionPrefix + "Extension_"
	defaultLifetime      = 3600 * time.Second
)

// Kafka's SASL extension grammar (OAuthBearerClientInitialResponse).
var (
	extensionKey   = regexp.MustCompile(`^[A-Za-z]+$`)
	extensionValue = regexp.MustCompile(`^[\x21-\x7E \t\r\n]+$`)
)

// unsecuredLogin makes the unsigned JWTs of Kafka's unsecured OAUTHBEARER
// login: header {"alg":"none"}, claims exp and iat (seconds, fractional)
// then the configured string, number and list claims.
type unsecuredLogin struct {
	lifetime   time.Duration
	claims     []claim // sorted by name
	extensions map[string]string
}

type claim struct {
	name  string
	value json.RawMessage
}

// unsecuredLogin reads an OAuthBearerLoginModule entry and checks it as
// Kafka's login would when it makes a token: the principal claim (sub
// unless unsecuredLoginPrincipalClaimName says otherwise) must be a
// non-blank string claim, iat and exp cannot be set, numbers must parse,
// and extension names and values must fit SASL's grammar.
func (c *Config) unsecuredLogin() (*unsecuredLogin, error) {
	jaas, ok := c.get(SASLJAASConfig)
	if !ok {
		return nil, keyErr(SASLJAASConfig, nil, "must be set for OAUTHBEARER (%s with unsecuredLoginStringClaim_sub=...)", oauthBearerLoginModule)
	}
	entry, err := rillsasl.ParseJAASProperty(jaas)
	if err != nil {
		return nil, keyErr(SASLJAASConfig, err, "cannot parse")
	}
	if entry.LoginModule != oauthBearerLoginModule {
		return nil, keyErr(SASLJAASConfig, nil, "login module %s does not serve OAUTHBEARER (want %s)", entry.LoginModule, oauthBearerLoginModule)
	}
	l := &unsecuredLogin{lifetime: defaultLifetime, extensions: map[string]string{}}
	principal := strings.TrimSpace(entry.Options[principalClaimOption])
	if principal == "" {
		principal = "sub"
	}
	if v, ok := entry.Options[lifetimeOption]; ok {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, keyErr(SASLJAASConfig, err, "%s", lifetimeOption)
		}
		l.lifetime = time.Duration(secs) * time.Second
	}
	hasPrincipal := false
	for _, k := range slices.Sorted(maps.Keys(entry.Options)) {
		v := entry.Options[k]
		var name string
		var value any
		switch {
		case strings.HasPrefix(k, stringClaimPrefix) && len(k) > len(stringClaimPrefix):
			name, value = k[len(stringClaimPrefix):], v
			if name == principal && strings.TrimSpace(v) != "" {
				hasPrincipal = true
			}
		case strings.HasPrefix(k, numberClaimPrefix) && len(k) > len(numberClaimPrefix):
			name = k[len(numberClaimPrefix):]
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, keyErr(SASLJAASConfig, err, "number claim %s", name)
			}
			value = f
		case strings.HasPrefix(k, listClaimPrefix) && len(k) > len(listClaimPrefix):
			name, value = k[len(listClaimPrefix):], listClaim(v)
		case strings.HasPrefix(k, extensionPrefix):
			ext := k[len(extensionPrefix):]
			if !extensionKey.MatchString(ext) || ext == "auth" {
				return nil, keyErr(SASLJAASConfig, nil, "extension name %q is invalid", ext)
			}
			if !extensionValue.MatchString(v) {
				return nil, keyErr(SASLJAASConfig, nil, "extension value %q for extension %s is invalid", v, ext)
			}
			l.extensions[ext] = v
			continue
		default:
			continue
		}
		if name == "iat" || name == "exp" {
			return nil, keyErr(SASLJAASConfig, nil, "cannot explicitly set the '%s' claim", name)
		}
		raw, err := json.Marshal(value)
		if err != nil {
			return nil, keyErr(SASLJAASConfig, err, "claim %s", name)
		}
		l.claims = append(l.claims, claim{name: name, value: raw})
	}
	if !hasPrincipal {
		return nil, keyErr(SASLJAASConfig, nil, "no principal: set %s%s to a non-blank value", stringClaimPrefix, principal)
	}
	return l, nil
}

// listClaim is Kafka's list claim value: the first character is the
// delimiter of the rest. As in Kafka (Java's String.split, then an empty
// element added), trailing empty elements are dropped and one empty
// element ends the list when the text starts or ends with the delimiter
// or holds two in a row.
func listClaim(v string) []string {
	out := []string{}
	if len(v) <= 1 {
		return out
	}
	delim, text := v[:1], v[1:]
	parts := strings.Split(text, delim)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	out = append(out, parts...)
	if strings.HasPrefix(text, delim) || strings.HasSuffix(text, delim) || strings.Contains(text, delim+delim) {
		out = append(out, "")
	}
	return out
}

// token makes a token dated now.
func (l *unsecuredLogin) token(now time.Time) string {
	iat := float64(now.UnixMilli()) / 1000
	exp := iat + l.lifetime.Seconds()
	var b strings.Builder
	b.WriteString(`{"exp":`)
	b.WriteString(strconv.FormatFloat(exp, 'f', -1, 64))
	b.WriteString(`,"iat":`)
	b.WriteString(strconv.FormatFloat(iat, 'f', -1, 64))
	for _, c := range l.claims {
		name, _ := json.Marshal(c.name)
		b.WriteByte(',')
		b.Write(name)
		b.WriteByte(':')
		b.Write(c.value)
	}
	b.WriteByte('}')
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(b.String())) + "."
}
