package main

// SASL settings of a broker listener, with Kafka's keys. Each key may be
// set for one listener as listener.name.<listener>.<key> (listener name in
// lower case), which wins over the plain key, as in Kafka; the JAAS
// configs are per listener and mechanism
// (listener.name.<listener>.<mechanism>.sasl.jaas.config, sasl.JAASConfig
// has the rules).
//
//	sasl.enabled.mechanisms     PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER
//	                            (Kafka's default, GSSAPI, is not served: set it)
//	sasl.plain.credentials.file Rill's alternative to user_<name> JAAS options:
//	                            "user:password" lines
//	connections.max.reauth.ms   KIP-368 session lifetime (0: none), also per
//	                            mechanism: listener.name.L.<mechanism>.connections.max.reauth.ms
//	connection.failed.authentication.delay.ms  (100)
//	sasl.oauthbearer.jwks.endpoint.url         file:// or http(s):// JWKS; without it
//	                            OAUTHBEARER takes unsecured tokens (KIP-255, tests only)
//	sasl.oauthbearer.jwks.endpoint.refresh.ms, sasl.oauthbearer.expected.audience,
//	sasl.oauthbearer.expected.issuer, sasl.oauthbearer.sub.claim.name,
//	sasl.oauthbearer.scope.claim.name, sasl.oauthbearer.clock.skew.seconds
//
// SCRAM credentials live in the metadata log (rill user, or
// AlterUserScramCredentials); the store is the broker's view of it.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rillmq/rill/internal/listeners"
	"github.com/rillmq/rill/netserver/sasl"
)

// listenerGet is key for listener l: its listener.name.<l>.key value when
// set, else key's.
func (c *brokerConfig) listenerGet(l, key, def string) string {
	if v, ok := c.props["listener.name."+strings.ToLower(l)+"."+key]; ok {
		return v
	}
	return c.get(key, def)
}

// scramStoreRef is the SCRAM store SASL listeners authenticate against:
// the broker's view of the credentials in the metadata log, installed once
// the broker runtime has it. Until then (no request is served before the
// metadata is applied) no user exists.
type scramStoreRef struct {
	store atomic.Pointer[sasl.ScramStore]
}

func (r *scramStoreRef) set(s sasl.ScramStore) { r.store.Store(&s) }

func (r *scramStoreRef) LookupScram(mechanism, user string) (sasl.ScramCredential, bool) {
	if s := r.store.Load(); s != nil {
		return (*s).LookupScram(mechanism, user)
	}
	return sasl.ScramCredential{}, false
}

// saslAuthenticator builds listener l's authenticator; nil for a listener
// without SASL.
func (c *brokerConfig) saslAuthenticator(l listeners.Listener, scram sasl.ScramStore, log *slog.Logger) (auth *sasl.Authenticator, err error) {
	if l.Protocol != listeners.SASLPlaintext && l.Protocol != listeners.SASLSSL {
		return nil, nil
	}
	raw := c.listenerGet(l.Name, "sasl.enabled.mechanisms", "")
	var mechs []string
	for _, m := range strings.Split(raw, ",") {
		if m = strings.TrimSpace(m); m != "" {
			mechs = append(mechs, m)
		}
	}
	if len(mechs) == 0 {
		return nil, fmt.Errorf("listener %s (%s): set sasl.enabled.mechanisms (Kafka's default, GSSAPI, is not served; Rill serves PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)", l.Name, l.Protocol)
	}
	sc := sasl.Config{Mechanisms: mechs, MaxReauthByMechanism: map[string]time.Duration{}}
	if sc.MaxReauth, err = c.listenerMillis(l.Name, "connections.max.reauth.ms", 0); err != nil {
		return nil, err
	}
	for _, m := range mechs {
		lm := "listener.name." + strings.ToLower(l.Name) + "." + strings.ToLower(m) + ".connections.max.reauth.ms"
		if v, ok := c.props[lm]; ok {
			ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || ms < 0 {
				return nil, fmt.Errorf("%s=%q: want a non-negative number of milliseconds", lm, v)
			}
			sc.MaxReauthByMechanism[m] = time.Duration(ms) * time.Millisecond
		}
		switch m {
		case sasl.MechanismPlain:
			if sc.Plain, err = c.plainUsers(l.Name); err != nil {
				return nil, err
			}
		case sasl.MechanismScramSHA256, sasl.MechanismScramSHA512:
			sc.Scram = scram
		case sasl.MechanismOAuthBearer:
			if sc.OAuthBearer, err = c.oauthValidator(l.Name, log); err != nil {
				return nil, err
			}
		}
	}
	auth, err = sasl.NewAuthenticator(sc)
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", l.Name, err)
	}
	return auth, nil
}

func (c *brokerConfig) listenerMillis(l, key string, def int64) (time.Duration, error) {
	v := strings.TrimSpace(c.listenerGet(l, key, strconv.FormatInt(def, 10)))
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 {
		return 0, fmt.Errorf("%s=%q: want a non-negative number of milliseconds", key, v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// plainUsers are listener l's PLAIN users: the user_<name> options of its
// JAAS config, and the lines of sasl.plain.credentials.file.
func (c *brokerConfig) plainUsers(l string) (sasl.PlainUsers, error) {
	users := sasl.PlainUsers{}
	found := false
	if v, key, ok := sasl.ServerJAASConfig(c.props, l, sasl.MechanismPlain); ok {
		entries, err := sasl.ParseJAAS(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		fromJAAS, err := sasl.PlainUsersFromJAAS(entries)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		for u, p := range fromJAAS {
			users[u] = p
		}
		found = true
	}
	if path := c.listenerGet(l, "sasl.plain.credentials.file", ""); path != "" {
		content, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("sasl.plain.credentials.file: %w", err)
		}
		fromFile, err := sasl.ParseCredentialsFile(string(content))
		if err != nil {
			return nil, fmt.Errorf("sasl.plain.credentials.file %s: %w", path, err)
		}
		for u, p := range fromFile {
			if _, dup := users[u]; dup {
				return nil, fmt.Errorf("listener %s: PLAIN user %q is both in the JAAS config and in %s", l, u, path)
			}
			users[u] = p
		}
		found = true
	}
	if !found {
		return nil, fmt.Errorf("listener %s enables PLAIN without users: set listener.name.%s.plain.sasl.jaas.config (%s required user_<name>=\"<password>\";) or sasl.plain.credentials.file",
			l, strings.ToLower(l), sasl.PlainLoginModule)
	}
	return users, nil
}

// oauthValidator is listener l's OAUTHBEARER token validator: signed JWTs
// against sasl.oauthbearer.jwks.endpoint.url, or, without it, Kafka's
// default unsecured validator with the JAAS config's unsecuredValidator*
// options (logged: it accepts unsigned tokens). The JWKS is refreshed
// every sasl.oauthbearer.jwks.endpoint.refresh.ms for the life of the
// process.
func (c *brokerConfig) oauthValidator(l string, log *slog.Logger) (sasl.TokenValidator, error) {
	url := c.listenerGet(l, "sasl.oauthbearer.jwks.endpoint.url", "")
	if url == "" {
		opts := map[string]string{}
		if v, key, ok := sasl.ServerJAASConfig(c.props, l, sasl.MechanismOAuthBearer); ok {
			e, err := sasl.ParseJAASProperty(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			opts = e.Options
		}
		v, err := sasl.UnsecuredValidatorFromJAAS(opts)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", l, err)
		}
		log.Warn("OAUTHBEARER accepts unsecured (unsigned) tokens, as Kafka's default validator; set sasl.oauthbearer.jwks.endpoint.url outside tests", "listener", l)
		return v, nil
	}
	opts := sasl.JWKSOptions{
		ExpectedIssuer: c.listenerGet(l, "sasl.oauthbearer.expected.issuer", ""),
		SubClaim:       c.listenerGet(l, "sasl.oauthbearer.sub.claim.name", "sub"),
		ScopeClaim:     c.listenerGet(l, "sasl.oauthbearer.scope.claim.name", "scope"),
	}
	for _, a := range strings.Split(c.listenerGet(l, "sasl.oauthbearer.expected.audience", ""), ",") {
		if a = strings.TrimSpace(a); a != "" {
			opts.ExpectedAudience = append(opts.ExpectedAudience, a)
		}
	}
	skew, err := strconv.ParseInt(strings.TrimSpace(c.listenerGet(l, "sasl.oauthbearer.clock.skew.seconds", "30")), 10, 64)
	if err != nil || skew < 0 {
		return nil, fmt.Errorf("sasl.oauthbearer.clock.skew.seconds: want a non-negative number of seconds")
	}
	opts.ClockSkew = time.Duration(skew) * time.Second
	refresh, err := c.listenerMillis(l, "sasl.oauthbearer.jwks.endpoint.refresh.ms", 3600000)
	if err != nil {
		return nil, err
	}
	jwks, err := fetchJWKS(context.Background(), url)
	if err != nil {
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url: %w", err)
	}
	v, err := sasl.NewJWKSValidator(jwks, opts)
	if err != nil {
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url %s: %w", url, err)
	}
	if refresh <= 0 || c.checking {
		return v, nil
	}
	// Refresh the keys as Kafka's RefreshingHttpsJwks does; a failed
	// refresh keeps the old keys and logs.
	go func() {
		for range time.Tick(refresh) {
			jwks, err := fetchJWKS(context.Background(), url)
			if err == nil {
				err = v.SetKeys(jwks)
			}
			if err != nil {
				log.Warn("refreshing the JWKS failed, keeping the previous keys", "listener", l, "url", url, "err", err)
			}
		}
	}()
	return v, nil
}

// fetchJWKS reads a JSON Web Key Set from a file:// URL, a path, or
// http(s).
func fetchJWKS(ctx context.Context, url string) ([]byte, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return os.ReadFile(strings.TrimPrefix(url, "file://"))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}
