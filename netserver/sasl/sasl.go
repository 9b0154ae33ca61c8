package sasl

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// The mechanism names, as SaslHandshake and sasl.enabled.mechanisms spell
// them (case-sensitive, as in Kafka).
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// PrincipalType is the type of every principal SASL authenticates, as in
// Kafka's DefaultKafkaPrincipalBuilder.
const PrincipalType = "User"

// Config configures an Authenticator (one per listener).
type Config struct {
	// Mechanisms is sasl.enabled.mechanisms for the listener, in the order
	// SaslHandshake answers them.
	Mechanisms []string
	// Plain checks PLAIN passwords; required when PLAIN is enabled.
	Plain PlainStore
	// Scram finds SCRAM credentials; required when a SCRAM mechanism is
	// enabled.
	Scram ScramStore
	// OAuthBearer validates bearer tokens; required when OAUTHBEARER is
	// enabled.
	OAuthBearer TokenValidator
	// MaxReauth is connections.max.reauth.ms (0: no limit), and
	// MaxReauthByMechanism its per-mechanism overrides
	// (listener.name.L.<mechanism>.connections.max.reauth.ms).
	MaxReauth            time.Duration
	MaxReauthByMechanism map[string]time.Duration
	// Rand is the source of SCRAM server nonces; nil means crypto/rand.
	Rand io.Reader
}

// Authenticator starts SASL sessions for one listener. It is immutable and
// safe for concurrent use.
type Authenticator struct {
	cfg        Config
	mechanisms []string
}

// NewAuthenticator checks cfg: every mechanism is known and has its
// credential source.
func NewAuthenticator(cfg Config) (*Authenticator, error) {
	if len(cfg.Mechanisms) == 0 {
		return nil, errors.New("sasl: no mechanism enabled")
	}
	var mechs []string
	for _, m := range cfg.Mechanisms {
		if slices.Contains(mechs, m) {
			continue
		}
		switch m {
		case MechanismPlain:
			if cfg.Plain == nil {
				return nil, errors.New("sasl: PLAIN enabled without a PlainStore")
			}
		case MechanismScramSHA256, MechanismScramSHA512:
			if cfg.Scram == nil {
				return nil, fmt.Errorf("sasl: %s enabled without a ScramStore", m)
			}
		case MechanismOAuthBearer:
			if cfg.OAuthBearer == nil {
				return nil, errors.New("sasl: OAUTHBEARER enabled without a TokenValidator")
			}
		default:
			return nil, fmt.Errorf("sasl: unsupported mechanism %q in sasl.enabled.mechanisms", m)
		}
		mechs = append(mechs, m)
	}
	for m, d := range cfg.MaxReauthByMechanism {
		if d < 0 {
			return nil, fmt.Errorf("sasl: negative connections.max.reauth.ms for %s", m)
		}
	}
	if cfg.MaxReauth < 0 {
		return nil, errors.New("sasl: negative connections.max.reauth.ms")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Authenticator{cfg: cfg, mechanisms: mechs}, nil
}

// Mechanisms is the enabled mechanisms, for the SaslHandshake answer. The
// caller must not modify it.
func (a *Authenticator) Mechanisms() []string { return a.mechanisms }

// Start begins an authentication with the mechanism the client asked for
// in SaslHandshake.
func (a *Authenticator) Start(mechanism string) (*Session, error) {
	return a.start(mechanism, nil)
}

// Reauthenticate begins a re-authentication (KIP-368) of a connection whose
// previous session is previous. The mechanism must not change, and the
// exchange fails at its end if the principal changes.
func (a *Authenticator) Reauthenticate(previous *Session, mechanism string) (*Session, error) {
	if previous == nil || previous.state != stateDone {
		return nil, &Error{Kind: ErrIllegalState, Message: "Re-authentication requires a completed authentication"}
	}
	if mechanism != previous.mechanism {
		return nil, &Error{Kind: ErrAuthenticationFailed, Message: fmt.Sprintf(
			"SASL mechanism '%s' requested by client is not supported for re-authentication of mechanism '%s'",
			mechanism, previous.mechanism)}
	}
	return a.start(mechanism, previous)
}

func (a *Authenticator) start(mechanism string, previous *Session) (*Session, error) {
	if !slices.Contains(a.mechanisms, mechanism) {
		return nil, &Error{Kind: ErrUnsupportedMechanism, Message: "Unsupported SASL mechanism " + mechanism}
	}
	s := &Session{mechanism: mechanism, previous: previous, maxReauth: a.cfg.MaxReauth}
	if d, ok := a.cfg.MaxReauthByMechanism[mechanism]; ok {
		s.maxReauth = d
	}
	switch mechanism {
	case MechanismPlain:
		s.server = &plainServer{store: a.cfg.Plain}
	case MechanismScramSHA256, MechanismScramSHA512:
		s.server = newScramServer(mechanism, a.cfg.Scram, a.cfg.Rand)
	case MechanismOAuthBearer:
		s.server = &oauthServer{validator: a.cfg.OAuthBearer}
	}
	return s, nil
}

// mechanismServer is one mechanism's side of an exchange. step returns a
// *failure (or any error, taken as hidden) to reject.
type mechanismServer interface {
	step(msg []byte, now time.Time) (resp []byte, done bool, err error)
	// user is the authenticated user name once done.
	user() string
	// credentialExpiry is when the credential stops being valid, if it has
	// a lifetime (an OAUTHBEARER token's exp).
	credentialExpiry() (time.Time, bool)
}

type sessionState int8

const (
	stateAuthenticating sessionState = iota
	stateDone
	stateFailed
)

// Session is one authentication exchange of one connection.
type Session struct {
	mechanism string
	server    mechanismServer
	state     sessionState
	previous  *Session // the session being re-authenticated, or nil
	maxReauth time.Duration
	principal string
}

// Mechanism is the session's mechanism name.
func (s *Session) Mechanism() string { return s.mechanism }

// Reauthenticating reports whether the session re-authenticates a
// connection.
func (s *Session) Reauthenticating() bool { return s.previous != nil }

// Done reports whether the exchange completed successfully.
func (s *Session) Done() bool { return s.state == stateDone }

// Step consumes one client message (SaslAuthenticate auth_bytes) at time
// now and returns the server message to answer (possibly empty) and
// whether the exchange is complete. An error is an *Error and ends the
// session; a Step after the end is ErrIllegalState.
func (s *Session) Step(clientMsg []byte, now time.Time) (serverMsg []byte, done bool, err error) {
	switch s.state {
	case stateDone:
		return nil, false, &Error{Kind: ErrIllegalState, Message: "Unexpected SASL authenticate request: authentication is complete"}
	case stateFailed:
		return nil, false, &Error{Kind: ErrIllegalState, Message: "Unexpected SASL authenticate request: authentication failed"}
	}
	resp, done, err := s.server.step(clientMsg, now)
	if err != nil {
		s.state = stateFailed
		return nil, false, s.failed(err)
	}
	if !done {
		return resp, false, nil
	}
	principal := PrincipalType + ":" + s.server.user()
	if s.previous != nil && principal != s.previous.principal {
		s.state = stateFailed
		return nil, false, &Error{Kind: ErrAuthenticationFailed, Message: fmt.Sprintf(
			"Cannot change principals during re-authentication from %s.%s: %s.%s",
			PrincipalType, s.previous.server.user(), PrincipalType, s.server.user())}
	}
	s.principal = principal
	s.state = stateDone
	return resp, true, nil
}

func (s *Session) failed(err error) *Error {
	var f *failure
	if errors.As(err, &f) && f.visible != "" {
		return &Error{Kind: ErrAuthenticationFailed, Message: f.visible, Cause: f.cause}
	}
	return &Error{Kind: ErrAuthenticationFailed, Message: genericMessage(s.mechanism, s.previous != nil), Cause: err}
}

// Principal is the authenticated principal, "User:<name>", once Done;
// otherwise "".
func (s *Session) Principal() string { return s.principal }

// User is the authenticated user name (the principal without its type)
// once Done; otherwise "".
func (s *Session) User() string {
	if s.state != stateDone {
		return ""
	}
	return s.server.user()
}

// SessionLifetime is the session_lifetime_ms of the final SaslAuthenticate
// answer, with now the time the exchange completed: the smaller of
// connections.max.reauth.ms and the time left on the credential, never
// negative; 0 when neither applies (or before Done), as Kafka's
// SaslServerAuthenticator computes it.
func (s *Session) SessionLifetime(now time.Time) time.Duration {
	d, _ := s.lifetime(now)
	return d
}

// SessionExpiry is the time after which the broker must close the
// connection unless it has re-authenticated (KIP-368), with now the time
// the exchange completed; ok is false when the session does not expire.
// A credential already expired at now gives now.
func (s *Session) SessionExpiry(now time.Time) (deadline time.Time, ok bool) {
	d, ok := s.lifetime(now)
	if !ok {
		return time.Time{}, false
	}
	return now.Add(d), true
}

func (s *Session) lifetime(now time.Time) (time.Duration, bool) {
	if s.state != stateDone {
		return 0, false
	}
	expiry, hasExpiry := s.server.credentialExpiry()
	maxSet := s.maxReauth > 0
	var d time.Duration
	switch {
	case !hasExpiry && !maxSet:
		return 0, false
	case !hasExpiry:
		d = s.maxReauth
	case !maxSet:
		d = expiry.Sub(now)
	default:
		d = min(expiry.Sub(now), s.maxReauth)
	}
	return max(d, 0), true
}
