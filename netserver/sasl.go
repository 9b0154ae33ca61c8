package netserver

// SASL on a connection: the state Kafka's SaslServerAuthenticator keeps,
// around the pure exchanges of package sasl.
//
// Before authentication only ApiVersions, SaslHandshake and
// SaslAuthenticate are served; any other request closes the connection
// (Kafka: "Unexpected Kafka request of type X during SASL handshake"). A
// SaslHandshake v1 is followed by SaslAuthenticate requests; a v0 one by
// raw tokens, size-prefixed with no request header, answered the same way
// (Kafka 0.10 clients). An unsupported mechanism is answered
// UNSUPPORTED_SASL_MECHANISM with the enabled ones, a failed exchange
// SASL_AUTHENTICATION_FAILED (after connection.failed.authentication.delay.ms,
// as Kafka delays it to slow down guessing), and the connection closes
// after either answer.
//
// Once authenticated the connection carries the principal
// (handler.WithIdentity). A SaslHandshake after that starts a
// re-authentication (KIP-368), which must keep the mechanism and the
// principal; requests keep being served meanwhile. When the session has a
// lifetime (connections.max.reauth.ms, a token's expiry) a request other
// than the two SASL ones after it ends closes the connection, as Kafka
// does.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/netserver/sasl"
	"github.com/rillmq/rill/netserver/wire"
)

const (
	saslHandshakeKey    = 17
	saslAuthenticateKey = 36
)

// DefaultFailedAuthenticationDelay is Kafka's
// connection.failed.authentication.delay.ms.
const DefaultFailedAuthenticationDelay = 100 * time.Millisecond

// saslConn is one connection's SASL state. It is used by the connection's
// serving goroutine only.
type saslConn struct {
	auth  *sasl.Authenticator
	delay time.Duration
	host  string // client IP, for the identity

	// pending is the exchange in progress (nil: none); done the last
	// completed one (nil: not authenticated yet).
	pending *sasl.Session
	done    *sasl.Session
	// raw: SaslHandshake v0 was used, so tokens come without headers.
	raw bool
	// expiry is when the authenticated session ends (zero: never).
	expiry time.Time
}

// saslOutcome is what the connection does with one frame.
type saslOutcome struct {
	// pass: hand the frame to the broker as usual.
	pass bool
	// resp (with corr) or raw (a v0 token, size-prefixed by the writer)
	// is the answer to write.
	resp    kmsg.Response
	corr    int32
	raw     []byte
	sendRaw bool
	// closeAfter: close the connection once the answer is written, after
	// delay.
	closeAfter bool
	delay      time.Duration
	// identity is set when an authentication completed: the connection's
	// context carries it from now on.
	identity *handler.Identity
}

// handle decides what happens to frame. An error closes the connection at
// once, without an answer.
func (s *saslConn) handle(frame []byte, now time.Time) (saslOutcome, error) {
	if s.raw {
		return s.rawToken(frame, now)
	}
	if len(frame) < 2 {
		return saslOutcome{}, fmt.Errorf("%w: short frame", wire.ErrMalformed)
	}
	key := int16(binary.BigEndian.Uint16(frame))
	if key != saslHandshakeKey && key != saslAuthenticateKey {
		switch {
		case s.done == nil && key != wire.ApiVersionsKey:
			return saslOutcome{}, fmt.Errorf("unexpected %s request during SASL authentication", kmsg.NameForKey(key))
		case s.done != nil && !s.expiry.IsZero() && now.After(s.expiry):
			return saslOutcome{}, fmt.Errorf("SASL session of %s expired at %s (connections.max.reauth.ms or credential lifetime); the client did not re-authenticate",
				s.done.Principal(), s.expiry.Format(time.RFC3339Nano))
		}
		return saslOutcome{pass: true}, nil
	}
	req, err := wire.Parse(frame)
	if err != nil {
		return saslOutcome{}, err
	}
	if req.Msg == nil || !handler.Supports(req.Key, req.Version) {
		return saslOutcome{}, fmt.Errorf("unsupported request: %s version %d", kmsg.NameForKey(req.Key), req.Version)
	}
	switch m := req.Msg.(type) {
	case *kmsg.SASLHandshakeRequest:
		return s.handshake(m, req.CorrelationID)
	case *kmsg.SASLAuthenticateRequest:
		return s.authenticate(m, req.CorrelationID, now)
	}
	return saslOutcome{}, fmt.Errorf("unexpected %s request", kmsg.NameForKey(req.Key))
}

func (s *saslConn) handshake(req *kmsg.SASLHandshakeRequest, corr int32) (saslOutcome, error) {
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.SupportedMechanisms = append(resp.SupportedMechanisms, s.auth.Mechanisms()...)
	out := saslOutcome{resp: resp, corr: corr}
	if s.pending != nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		out.closeAfter = true
		return out, nil
	}
	var sess *sasl.Session
	var err error
	if s.done == nil {
		sess, err = s.auth.Start(req.Mechanism)
	} else {
		if req.Version == 0 {
			// Raw tokens cannot interleave with requests: a v0 client
			// cannot re-authenticate.
			resp.ErrorCode = kerr.IllegalSaslState.Code
			out.closeAfter = true
			return out, nil
		}
		sess, err = s.auth.Reauthenticate(s.done, req.Mechanism)
	}
	if err != nil {
		resp.ErrorCode = saslErrorCode(err)
		out.closeAfter = true
		return out, nil
	}
	s.pending = sess
	s.raw = req.Version == 0
	return out, nil
}

func (s *saslConn) authenticate(req *kmsg.SASLAuthenticateRequest, corr int32, now time.Time) (saslOutcome, error) {
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	out := saslOutcome{resp: resp, corr: corr}
	if s.pending == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SaslAuthenticate without a SaslHandshake"
		if s.done != nil {
			msg = "SaslAuthenticate request received after successful authentication"
		}
		resp.ErrorMessage = &msg
		out.closeAfter = true
		return out, nil
	}
	token, complete, err := s.pending.Step(req.SASLAuthBytes, now)
	if err != nil {
		resp.ErrorCode = saslErrorCode(err)
		var se *sasl.Error
		if errors.As(err, &se) {
			resp.ErrorMessage = &se.Message
		}
		out.closeAfter, out.delay = true, s.delay
		return out, &authFailure{err: err, principal: s.pending.User()}
	}
	resp.SASLAuthBytes = token
	if complete {
		out.identity = s.complete(now)
		resp.SessionLifetimeMillis = s.done.SessionLifetime(now).Milliseconds()
	}
	return out, nil
}

// authFailure is a failed exchange: the answer is still written, then the
// connection closes; the error is the broker's log line.
type authFailure struct {
	err       error
	principal string
}

func (f *authFailure) Error() string {
	if f.principal != "" {
		return fmt.Sprintf("authentication of %q failed: %v", f.principal, f.err)
	}
	return fmt.Sprintf("authentication failed: %v", f.err)
}

func (s *saslConn) rawToken(token []byte, now time.Time) (saslOutcome, error) {
	if s.pending == nil {
		return saslOutcome{}, errors.New("SASL token after a completed v0 exchange")
	}
	reply, complete, err := s.pending.Step(token, now)
	if err != nil {
		// v0 has no error answer: Kafka closes the connection.
		return saslOutcome{closeAfter: true, delay: s.delay}, &authFailure{err: err, principal: s.pending.User()}
	}
	out := saslOutcome{raw: reply, sendRaw: true}
	if complete {
		out.identity = s.complete(now)
		s.raw = false
	}
	return out, nil
}

// complete makes the pending exchange the connection's session.
func (s *saslConn) complete(now time.Time) *handler.Identity {
	s.done, s.pending = s.pending, nil
	s.expiry = time.Time{}
	if d, ok := s.done.SessionExpiry(now); ok {
		s.expiry = d
	}
	return &handler.Identity{Principal: s.done.Principal(), Host: s.host}
}

func saslErrorCode(err error) int16 {
	switch {
	case errors.Is(err, sasl.ErrUnsupportedMechanism):
		return kerr.UnsupportedSaslMechanism.Code
	case errors.Is(err, sasl.ErrIllegalState):
		return kerr.IllegalSaslState.Code
	}
	return kerr.SaslAuthenticationFailed.Code
}

// withIdentity is ctx carrying id, when there is one.
func withIdentity(ctx context.Context, id *handler.Identity) context.Context {
	if id == nil {
		return ctx
	}
	return handler.WithIdentity(ctx, *id)
}

// SASLExchange is the server side of a SASL exchange carried outside a
// Kafka connection: next reads one request frame (header and body, no size
// prefix) and reply writes one answer (correlation id, header, body), as
// the controller transport frames them (replication/transport.Security).
// It serves SaslHandshake v1 and SaslAuthenticate with the same rules as
// a SASL listener and returns the principal once the client is
// authenticated; any other request, or a failed exchange, is an error
// after its answer (a failed one after delay,
// connection.failed.authentication.delay.ms).
func SASLExchange(auth *sasl.Authenticator, delay time.Duration) func(next func() ([]byte, error), reply func([]byte) error) (string, error) {
	return func(next func() ([]byte, error), reply func([]byte) error) (string, error) {
		sc := &saslConn{auth: auth}
		for {
			frame, err := next()
			if err != nil {
				return "", err
			}
			o, err := sc.handle(frame, time.Now())
			switch {
			case o.pass:
				return "", errors.New("a request other than SaslHandshake or SaslAuthenticate before authentication")
			case o.sendRaw:
				return "", errors.New("SaslHandshake v0 is not served here")
			case err != nil && !o.closeAfter:
				return "", err
			}
			if o.delay > 0 || (err != nil && delay > 0) {
				time.Sleep(max(o.delay, delay)) // slows down password guessing, as on a listener
			}
			if o.resp != nil {
				if rerr := reply(wire.AppendResponse(nil, o.corr, o.resp)[4:]); rerr != nil {
					return "", rerr
				}
			}
			if o.closeAfter {
				if err == nil {
					err = errors.New("refused SASL handshake")
				}
				return "", err
			}
			if o.identity != nil {
				return o.identity.Principal, nil
			}
		}
	}
}
