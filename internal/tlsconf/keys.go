package tlsconf

import (
	"fmt"
	"strings"
)

// The ssl.* property keys this package reads, with Kafka's names.
const (
	KeystoreType             = "ssl.keystore.type"
	KeystoreLocation         = "ssl.keystore.location"
	KeystorePassword         = "ssl.keystore.password"
	KeyPassword              = "ssl.key.password"
	KeystoreKey              = "ssl.keystore.key"
	KeystoreCertificateChain = "ssl.keystore.certificate.chain"
	TruststoreType           = "ssl.truststore.type"
	TruststoreLocation       = "ssl.truststore.location"
	TruststorePassword       = "ssl.truststore.password"
	TruststoreCertificates   = "ssl.truststore.certificates"
	ClientAuth               = "ssl.client.auth"
	EnabledProtocols         = "ssl.enabled.protocols"
	Protocol                 = "ssl.protocol"
	CipherSuites             = "ssl.cipher.suites"
	EndpointIdentification   = "ssl.endpoint.identification.algorithm"
	PrincipalMappingRules    = "ssl.principal.mapping.rules"
	AllowDNChanges           = "ssl.allow.dn.changes"
	AllowSANChanges          = "ssl.allow.san.changes"
)

// Keys that are refused, and Kafka's defaults.
const (
	provider           = "ssl.provider"
	engineFactoryClass = "ssl.engine.factory.class"

	defaultEnabledProtocols = "TLSv1.2,TLSv1.3"
	defaultProtocol         = "TLSv1.3"
	endpointHTTPS           = "https"
	defaultPrincipalMapping = "DEFAULT"

	listenerPrefix = "listener.name."
	sslPrefix      = "ssl."

	typePEM    = "PEM"
	typePKCS12 = "PKCS12"
	typeJKS    = "JKS"
	typeJCEKS  = "JCEKS"

	anonymousPrincipal = "User:ANONYMOUS"
	userPrefix         = "User:"
)

// ConfigError is a configuration error: the key it is about and why.
type ConfigError struct {
	Key    string
	Reason string
	Err    error // the underlying error, if any
}

func (e *ConfigError) Error() string {
	s := "tlsconf: " + e.Key + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(key string, err error, format string, args ...any) *ConfigError {
	return &ConfigError{Key: key, Reason: fmt.Sprintf(format, args...), Err: err}
}

// ForListener returns the ssl.* properties of a broker listener: every
// ssl.* key of props, overridden by listener.name.<listener>.ssl.* (the
// listener name lower-cased), which is Kafka's precedence. The result is
// a new map.
//
// For a SASL_SSL listener Kafka ignores the broker-wide ssl.client.auth
// and honours only the listener's own (KIP-684); ForSASLSSLListener does
// that.
func ForListener(props map[string]string, listener string) map[string]string {
	prefix := listenerPrefix + strings.ToLower(listener) + "."
	out := map[string]string{}
	for k, v := range props {
		if strings.HasPrefix(k, sslPrefix) {
			out[k] = v
		}
	}
	for k, v := range props {
		if rest, ok := strings.CutPrefix(k, prefix); ok && strings.HasPrefix(rest, sslPrefix) {
			out[rest] = v
		}
	}
	return out
}

// ForSASLSSLListener is ForListener for a SASL_SSL listener: a
// broker-wide ssl.client.auth is dropped, so that only
// listener.name.<listener>.ssl.client.auth asks SASL clients for a
// certificate (KIP-684).
func ForSASLSSLListener(props map[string]string, listener string) map[string]string {
	out := ForListener(props, listener)
	if _, own := props[listenerPrefix+strings.ToLower(listener)+"."+ClientAuth]; !own {
		delete(out, ClientAuth)
	}
	return out
}

// get returns a property's value; an empty value counts as unset.
func get(props map[string]string, key string) (string, bool) {
	v, ok := props[key]
	if !ok || strings.TrimSpace(v) == "" {
		return "", false
	}
	return v, true
}

// list splits a comma-separated list, as Kafka's LIST type does.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkUnsupported refuses the keys that replace Kafka's SSL engine.
func checkUnsupported(props map[string]string) error {
	for _, k := range []string{provider, engineFactoryClass} {
		if v, ok := get(props, k); ok {
			return configErr(k, nil, "%q is not supported: Rill uses Go's crypto/tls", v)
		}
	}
	return nil
}
