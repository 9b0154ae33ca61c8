package clientconf

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	rillsasl "github.com/rillmq/rill/netserver/sasl"
)

// Kafka's client login modules.
const (
	plainLoginModule       = "org.apache.kafka.common.security.plain.PlainLoginModule"
	scramLoginModule       = "org.apache.kafka.common.security.scram.ScramLoginModule"
	oauthBearerLoginModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
)

// credentials are a user name and password for PLAIN or SCRAM.
type credentials struct {
	user, pass string
	token      bool // SCRAM: a delegation token (tokenauth)
}

func (c *Config) parseSASL() error {
	for _, k := range slices.Sorted(maps.Keys(refusedWithSASL)) {
		if v, ok := c.get(k); ok {
			return keyErr(k, nil, "%q: %s", v, refusedWithSASL[k])
		}
	}
	mech, ok := c.get(SASLMechanism)
	if !ok {
		return keyErr(SASLMechanism, nil, "must be set for %s: Kafka's default, GSSAPI (Kerberos), is not supported", c.SecurityProtocol)
	}
	c.Mechanism = strings.ToUpper(strings.TrimSpace(mech))
	switch c.Mechanism {
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		cred, err := c.credentials()
		if err != nil {
			return err
		}
		switch c.Mechanism {
		case MechanismPlain:
			c.sasl = plain.Auth{User: cred.user, Pass: cred.pass}.AsMechanism()
		case MechanismScramSHA256:
			c.sasl = scram.Auth{User: cred.user, Pass: cred.pass, IsToken: cred.token}.AsSha256Mechanism()
		default:
			c.sasl = scram.Auth{User: cred.user, Pass: cred.pass, IsToken: cred.token}.AsSha512Mechanism()
		}
	case MechanismOAuthBearer:
		login, err := c.unsecuredLogin()
		if err != nil {
			return err
		}
		c.sasl = oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			// A new token per authentication, dated now, as Kafka's login
			// refreshes its token before it expires.
			return oauth.Auth{Token: login.token(c.now()), Extensions: login.extensions}, nil
		})
	case mechanismGSSAPI:
		return keyErr(SASLMechanism, nil, "GSSAPI (Kerberos) is not supported")
	default:
		return keyErr(SASLMechanism, nil, "unknown mechanism %q (want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)", mech)
	}
	return nil
}

// credentials reads the user and password of PLAIN or SCRAM from
// sasl.jaas.config, or from librdkafka's sasl.username/sasl.password.
// Kafka's PLAIN and SCRAM clients take the credentials of either login
// module, so either is accepted for both.
func (c *Config) credentials() (credentials, error) {
	user, hasUser := c.get(SASLUsername)
	pass, hasPass := c.get(SASLPassword)
	jaas, hasJAAS := c.get(SASLJAASConfig)
	if !hasJAAS {
		switch {
		case hasUser && hasPass:
			return credentials{user: user, pass: pass}, nil
		case hasUser:
			return credentials{}, keyErr(SASLPassword, nil, "must be set with %s", SASLUsername)
		case hasPass:
			return credentials{}, keyErr(SASLUsername, nil, "must be set with %s", SASLPassword)
		}
		return credentials{}, keyErr(SASLJAASConfig, nil, "must be set for %s (or librdkafka's %s and %s)", c.Mechanism, SASLUsername, SASLPassword)
	}
	entry, err := rillsasl.ParseJAASProperty(jaas)
	if err != nil {
		return credentials{}, keyErr(SASLJAASConfig, err, "cannot parse")
	}
	if entry.LoginModule != plainLoginModule && entry.LoginModule != scramLoginModule {
		return credentials{}, keyErr(SASLJAASConfig, nil, "login module %s does not serve %s (want %s or %s)",
			entry.LoginModule, c.Mechanism, plainLoginModule, scramLoginModule)
	}
	cred := credentials{user: entry.Options["username"], pass: entry.Options["password"]}
	if cred.user == "" {
		return credentials{}, keyErr(SASLJAASConfig, nil, "no username option")
	}
	if _, ok := entry.Options["password"]; !ok {
		return credentials{}, keyErr(SASLJAASConfig, nil, "no password option")
	}
	// Both spellings set: they must agree, or which one is used matters.
	if (hasUser && user != cred.user) || (hasPass && pass != cred.pass) {
		return credentials{}, keyErr(SASLUsername, nil, "%s/%s differ from the credentials in %s", SASLUsername, SASLPassword, SASLJAASConfig)
	}
	if v, ok := entry.Options["tokenauth"]; ok {
		if entry.LoginModule != scramLoginModule || !strings.HasPrefix(c.Mechanism, "SCRAM-") {
			return credentials{}, keyErr(SASLJAASConfig, nil, "tokenauth is a ScramLoginModule option for SCRAM")
		}
		cred.token = strings.EqualFold(v, "true")
	}
	return cred, nil
}
