package tlsconf

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// reloadInterval is how often a Listener looks at its files at most.
const reloadInterval = time.Second

// ServerOption configures a Listener.
type ServerOption func(*Listener)

// WithLogger sets where a Listener reports reloads (Info) and failed
// reloads (Warn, each failure once). The default discards them.
func WithLogger(log *slog.Logger) ServerOption {
	return func(s *Listener) {
		if log != nil {
			s.log = log
		}
	}
}

// WithClock sets the clock the reload check reads (tests).
func WithClock(now func() time.Time) ServerOption {
	return func(s *Listener) {
		if now != nil {
			s.now = now
		}
	}
}

// Listener is the TLS side of a broker listener, made by Server. Its
// Config is for tls.NewListener; the certificate and the trust store it
// uses are those of the files when they were last read. On a handshake
// at least reloadInterval after the last check, the files are stat'ed,
// and the ones whose size, modification time or identity changed are
// read again (in that handshake's goroutine; the others do not wait).
//
// A reload that fails — a file half written, a wrong password, a key
// that does not match, a new subject or SAN that ssl.allow.dn.changes or
// ssl.allow.san.changes does not allow — keeps the previous material and
// is logged once; the file is read again when it changes again. New
// material gets new session ticket keys, so a session cannot be resumed
// past a trust store change.
//
// A Listener is safe for concurrent use.
type Listener struct {
	now             func() time.Time
	log             *slog.Logger
	clientAuth      tls.ClientAuthType
	versions        versionRange
	suites          []uint16
	mapper          *PrincipalMapper
	keystore        *keystoreSpec
	truststore      *truststoreSpec
	allowDNChanges  bool
	allowSANChanges bool

	config    *tls.Config
	current   atomic.Pointer[tls.Config]
	nextCheck atomic.Int64 // unix nanoseconds

	// mu serializes reloads and guards the material and file states.
	mu struct {
		sync.Mutex
		cert        tls.Certificate
		pool        *x509.CertPool // nil: system roots
		keyFile     fileStamp      // state of the key store file as loaded
		trustFile   fileStamp
		keyFailed   fileStamp // state whose reload failed (logged)
		trustFailed fileStamp
		keyErr      string // last stat error logged
		trustErr    string
	}
}

// Server reads a listener's ssl.* properties (after ForListener) and
// loads its key store, which a listener must have, and trust store.
func Server(props map[string]string, opts ...ServerOption) (*Listener, error) {
	s := &Listener{now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	if err := checkUnsupported(props); err != nil {
		return nil, err
	}
	var err error
	if s.clientAuth, err = clientAuth(props); err != nil {
		return nil, err
	}
	if s.versions, err = enabledVersions(props); err != nil {
		return nil, err
	}
	if s.suites, s.versions, err = cipherSuites(props, s.versions); err != nil {
		return nil, err
	}
	if _, err = endpointIdentification(props); err != nil {
		return nil, err
	}
	rules, ok := get(props, PrincipalMappingRules)
	if !ok {
		rules = defaultPrincipalMapping
	}
	if s.mapper, err = ParsePrincipalMappingRules(rules); err != nil {
		return nil, err
	}
	if s.allowDNChanges, err = boolProp(props, AllowDNChanges); err != nil {
		return nil, err
	}
	if s.allowSANChanges, err = boolProp(props, AllowSANChanges); err != nil {
		return nil, err
	}
	if s.keystore, err = keystoreFrom(props); err != nil {
		return nil, err
	}
	if s.keystore == nil {
		return nil, configErr(KeystoreLocation, nil, "an SSL listener needs a key store: set it, or %s and %s", KeystoreKey, KeystoreCertificateChain)
	}
	if s.truststore, err = truststoreFrom(props); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.cert, s.mu.keyFile, err = s.keystore.load(); err != nil {
		return nil, err
	}
	if s.truststore != nil {
		if s.mu.pool, s.mu.trustFile, err = s.truststore.load(); err != nil {
			return nil, err
		}
	}
	s.current.Store(s.build())
	s.nextCheck.Store(s.now().Add(reloadInterval).UnixNano())
	s.config = &tls.Config{
		MinVersion:         s.versions.min,
		MaxVersion:         s.versions.max,
		GetConfigForClient: s.configForClient,
	}
	return s, nil
}

// Config is the configuration for tls.NewListener. It hands each
// handshake the current material; it must not be modified.
func (s *Listener) Config() *tls.Config { return s.config }

// PrincipalMapper is the listener's ssl.principal.mapping.rules, for
// Principal.
func (s *Listener) PrincipalMapper() *PrincipalMapper { return s.mapper }

// ClientAuth is the listener's ssl.client.auth.
func (s *Listener) ClientAuth() tls.ClientAuthType { return s.clientAuth }

// Certificate is the leaf certificate presented now.
func (s *Listener) Certificate() *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.cert.Leaf
}

// Reload reads the key store and trust store files now, whether they
// changed or not (Kafka reloads on an AlterConfigs of the same path). On
// an error nothing changes.
func (s *Listener) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cert, keyFile, err := s.loadKeystore()
	if err != nil {
		return err
	}
	pool, trustFile := s.mu.pool, s.mu.trustFile
	if s.truststore != nil {
		if pool, trustFile, err = s.truststore.load(); err != nil {
			return err
		}
	}
	s.mu.cert, s.mu.keyFile, s.mu.pool, s.mu.trustFile = cert, keyFile, pool, trustFile
	s.current.Store(s.build())
	return nil
}

func (s *Listener) configForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	s.maybeReload()
	return s.current.Load(), nil
}

// maybeReload lets one handshake per reloadInterval look at the files.
func (s *Listener) maybeReload() {
	now := s.now().UnixNano()
	next := s.nextCheck.Load()
	if now < next || !s.nextCheck.CompareAndSwap(next, now+int64(reloadInterval)) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	if s.keystore.location != "" && s.fileChanged(s.keystore.location, s.mu.keyFile, s.mu.keyFailed, &s.mu.keyErr) {
		cert, st, err := s.loadKeystore()
		if err != nil {
			s.mu.keyFailed = st
			s.log.Warn("keeping the previous key store", "path", s.keystore.location, "err", err)
		} else {
			s.mu.cert, s.mu.keyFile, changed = cert, st, true
			s.log.Info("reloaded the key store", "path", s.keystore.location,
				"serial", cert.Leaf.SerialNumber.String(), "expires", cert.Leaf.NotAfter.Format(time.RFC3339))
		}
	}
	if s.truststore != nil && s.truststore.location != "" &&
		s.fileChanged(s.truststore.location, s.mu.trustFile, s.mu.trustFailed, &s.mu.trustErr) {
		pool, st, err := s.truststore.load()
		if err != nil {
			s.mu.trustFailed = st
			s.log.Warn("keeping the previous trust store", "path", s.truststore.location, "err", err)
		} else {
			s.mu.pool, s.mu.trustFile, changed = pool, st, true
			s.log.Info("reloaded the trust store", "path", s.truststore.location)
		}
	}
	if changed {
		s.current.Store(s.build())
	}
}

// fileChanged stats path: true when it differs from both the loaded
// state and the state a failed reload saw. A stat error is logged once
// per message (the file may be missing only while it is replaced).
func (s *Listener) fileChanged(path string, loaded, failed fileStamp, lastErr *string) bool {
	st, err := statStamp(path)
	if err != nil {
		if msg := err.Error(); msg != *lastErr {
			*lastErr = msg
			s.log.Warn("keeping the previous material", "path", path, "err", err)
		}
		return false
	}
	*lastErr = ""
	return !st.same(loaded) && !st.same(failed)
}

// loadKeystore reads the key store and checks the new certificate against
// the one presented now, as Kafka checks a dynamic key store update.
func (s *Listener) loadKeystore() (tls.Certificate, fileStamp, error) {
	cert, st, err := s.keystore.load()
	if err != nil {
		return cert, st, err
	}
	old := s.mu.cert.Leaf
	if old == nil {
		return cert, st, nil
	}
	if !s.allowDNChanges && !bytes.Equal(old.RawSubject, cert.Leaf.RawSubject) {
		return cert, st, configErr(KeystoreLocation, nil, "the new certificate's subject differs from the current one (set %s=true to allow it)", AllowDNChanges)
	}
	if !s.allowSANChanges && !slices.Equal(subjectAltNames(old), subjectAltNames(cert.Leaf)) {
		return cert, st, configErr(KeystoreLocation, nil, "the new certificate's subject alternative names differ from the current ones (set %s=true to allow it)", AllowSANChanges)
	}
	return cert, st, nil
}

// build makes the per-handshake configuration of the current material.
// Called with mu held.
func (s *Listener) build() *tls.Config {
	cfg := &tls.Config{
		Certificates: []tls.Certificate{s.mu.cert},
		ClientAuth:   s.clientAuth,
		ClientCAs:    s.mu.pool,
		MinVersion:   s.versions.min,
		MaxVersion:   s.versions.max,
		CipherSuites: s.suites,
	}
	var key [32]byte
	if _, err := rand.Read(key[:]); err == nil {
		cfg.SetSessionTicketKeys([][32]byte{key})
	} else {
		cfg.SessionTicketsDisabled = true
	}
	return cfg
}

func subjectAltNames(c *x509.Certificate) []string {
	var out []string
	for _, d := range c.DNSNames {
		out = append(out, "dns:"+strings.ToLower(d))
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "ip:"+ip.String())
	}
	for _, e := range c.EmailAddresses {
		out = append(out, "email:"+e)
	}
	for _, u := range c.URIs {
		out = append(out, "uri:"+u.String())
	}
	slices.Sort(out)
	return out
}

// clientAuth reads ssl.client.auth (case-insensitive, as Kafka's
// SslClientAuth.forConfig).
func clientAuth(props map[string]string) (tls.ClientAuthType, error) {
	v, ok := get(props, ClientAuth)
	if !ok {
		return tls.NoClientCert, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "none":
		return tls.NoClientCert, nil
	case "requested":
		return tls.VerifyClientCertIfGiven, nil
	case "required":
		return tls.RequireAndVerifyClientCert, nil
	}
	return 0, configErr(ClientAuth, nil, "unknown value %q (want none, requested or required)", v)
}

// endpointIdentification reads ssl.endpoint.identification.algorithm:
// true to verify the server's host name. Unlike other keys, "" is a
// value: Kafka's way to turn the check off.
func endpointIdentification(props map[string]string) (bool, error) {
	v, ok := props[EndpointIdentification]
	if !ok {
		return true, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case endpointHTTPS:
		return true, nil
	case "":
		return false, nil
	}
	return false, configErr(EndpointIdentification, nil, "unsupported algorithm %q (want https, or empty to skip the host name check)", v)
}

func boolProp(props map[string]string, key string) (bool, error) {
	v, ok := get(props, key)
	if !ok {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, configErr(key, nil, "want true or false, got %q", v)
}
