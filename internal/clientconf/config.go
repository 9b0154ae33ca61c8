package clientconf

import (
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/rillmq/rill/internal/tlsconf"
)

// The keys this package reads.
const (
	BootstrapServers = "bootstrap.servers"
	ClientID         = "client.id"
	SecurityProtocol = "security.protocol"
	SASLMechanism    = "sasl.mechanism"
	SASLJAASConfig   = "sasl.jaas.config"
	SASLUsername     = "sasl.username" // librdkafka
	SASLPassword     = "sasl.password" // librdkafka
)

// Security protocols.
const (
	Plaintext     = "PLAINTEXT"
	SSL           = "SSL"
	SASLPlaintext = "SASL_PLAINTEXT"
	SASLSSL       = "SASL_SSL"
)

// SASL mechanisms.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
	mechanismGSSAPI      = "GSSAPI"
)

// refusedWithSASL are keys that plug Java classes or an OAuth token
// endpoint into Kafka's SASL login; with SASL they would change what is
// sent, so they are refused rather than ignored.
var refusedWithSASL = map[string]string{
	"sasl.login.callback.handler.class":   "Java callback handlers cannot be loaded",
	"sasl.client.callback.handler.class":  "Java callback handlers cannot be loaded",
	"sasl.login.class":                    "Java login classes cannot be loaded",
	"sasl.oauthbearer.token.endpoint.url": "the OAuth client-credentials login is not supported (OAuthBearerLoginModule's unsecured login is)",
}

// Error is a configuration error: the key it is about and why.
type Error struct {
	Key    string
	Reason string
	Err    error
}

func (e *Error) Error() string {
	s := "clientconf: " + e.Key + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func keyErr(key string, err error, format string, args ...any) *Error {
	return &Error{Key: key, Reason: fmt.Sprintf(format, args...), Err: err}
}

// Option adjusts Parse.
type Option func(*Config)

// WithClock sets the clock OAUTHBEARER's unsecured tokens are dated by
// (tests).
func WithClock(now func() time.Time) Option {
	return func(c *Config) {
		if now != nil {
			c.now = now
		}
	}
}

// Config is a parsed client configuration. It is immutable after Parse
// and safe for concurrent use.
type Config struct {
	// Props are the properties as given (a copy).
	Props map[string]string
	// BootstrapServers is bootstrap.servers, or nil.
	BootstrapServers []string
	ClientID         string
	// SecurityProtocol is PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
	SecurityProtocol string
	// Mechanism is the SASL mechanism, "" without SASL.
	Mechanism string

	tls  *tls.Config
	sasl sasl.Mechanism
	used map[string]bool
	now  func() time.Time
}

// Parse reads client properties (see the package documentation); the map
// is copied, not kept. It is also how the broker builds its inter-broker
// clients from properties it holds in memory (see InterBroker).
func Parse(props map[string]string, opts ...Option) (*Config, error) {
	c := &Config{Props: maps.Clone(props), used: map[string]bool{}, now: time.Now}
	if c.Props == nil {
		c.Props = map[string]string{}
	}
	for _, o := range opts {
		o(c)
	}
	if err := c.parseBootstrap(); err != nil {
		return nil, err
	}
	if v, ok := c.get(ClientID); ok {
		c.ClientID = v
	}
	proto, ok := c.get(SecurityProtocol)
	if !ok {
		proto = Plaintext
	}
	c.SecurityProtocol = strings.ToUpper(strings.TrimSpace(proto))
	switch c.SecurityProtocol {
	case Plaintext, SSL, SASLPlaintext, SASLSSL:
	default:
		return nil, keyErr(SecurityProtocol, nil, "unknown protocol %q (want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)", proto)
	}
	if c.SecurityProtocol == SSL || c.SecurityProtocol == SASLSSL {
		cfg, err := tlsconf.Client(c.Props)
		if err != nil {
			return nil, err
		}
		c.tls = cfg
		for k := range c.Props {
			if strings.HasPrefix(k, "ssl.") {
				c.used[k] = true
			}
		}
	}
	if c.SecurityProtocol == SASLPlaintext || c.SecurityProtocol == SASLSSL {
		if err := c.parseSASL(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// get reads a key and marks it used; an empty value counts as unset.
func (c *Config) get(key string) (string, bool) {
	v, ok := c.Props[key]
	if !ok {
		return "", false
	}
	c.used[key] = true
	if strings.TrimSpace(v) == "" {
		return "", false
	}
	return v, true
}

func (c *Config) parseBootstrap() error {
	v, ok := c.get(BootstrapServers)
	if !ok {
		return nil
	}
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" || port == "" {
			return keyErr(BootstrapServers, err, "invalid url %q (want host:port)", s)
		}
		c.BootstrapServers = append(c.BootstrapServers, s)
	}
	if len(c.BootstrapServers) == 0 {
		return keyErr(BootstrapServers, nil, "no server in %q", v)
	}
	return nil
}

// KgoOpts are the kgo options of the configuration: seed brokers and
// client ID when set, the TLS dialer for SSL and SASL_SSL, and the SASL
// mechanism for SASL_PLAINTEXT and SASL_SSL.
func (c *Config) KgoOpts() []kgo.Opt {
	var opts []kgo.Opt
	if len(c.BootstrapServers) > 0 {
		opts = append(opts, kgo.SeedBrokers(c.BootstrapServers...))
	}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if c.tls != nil {
		opts = append(opts, kgo.DialTLSConfig(c.tls))
	}
	if c.sasl != nil {
		opts = append(opts, kgo.SASL(c.sasl))
	}
	return opts
}

// TLS is the client TLS configuration, nil for PLAINTEXT and
// SASL_PLAINTEXT. Callers must not modify it (kgo clones it per dial).
func (c *Config) TLS() *tls.Config { return c.tls }

// SASL is the franz-go SASL mechanism, nil without SASL.
func (c *Config) SASL() sasl.Mechanism { return c.sasl }

// Unused lists, sorted, the keys this package did not read: settings for
// the tool (acks, group.id, ...) or mistakes to warn about.
func (c *Config) Unused() []string {
	var out []string
	for k := range c.Props {
		if !c.used[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
