package sasl

import (
	"errors"
	"fmt"
)

// The error kinds. Every error Start, Reauthenticate and Step return is an
// *Error whose Kind is one of these, so errors.Is(err, ErrX) selects the
// Kafka error code at the wire edge.
var (
	// ErrUnsupportedMechanism: UNSUPPORTED_SASL_MECHANISM (33).
	ErrUnsupportedMechanism = errors.New("sasl: unsupported mechanism")
	// ErrAuthenticationFailed: SASL_AUTHENTICATION_FAILED (58).
	ErrAuthenticationFailed = errors.New("sasl: authentication failed")
	// ErrIllegalState: ILLEGAL_SASL_STATE (34).
	ErrIllegalState = errors.New("sasl: illegal state")
)

// Error is a failed SASL step.
type Error struct {
	// Kind is ErrUnsupportedMechanism, ErrAuthenticationFailed or
	// ErrIllegalState.
	Kind error
	// Message is the error_message to send to the client. It never says
	// whether a user exists.
	Message string
	// Cause is the detail for the broker's log; never send it.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%v: %s (%v)", e.Kind, e.Message, e.Cause)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Message)
}

// Unwrap gives errors.Is access to Kind and Cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// failure is a mechanism's rejection before the session dresses it as an
// *Error. A failure with a visible message is Kafka's
// SaslAuthenticationException (the message goes to the client); one without
// is Kafka's SaslException (the client gets the generic message).
type failure struct {
	visible string
	cause   error
}

func (f *failure) Error() string {
	if f.visible != "" {
		return f.visible
	}
	return f.cause.Error()
}

// visibleFailure is sent to the client as is.
func visibleFailure(msg string) error { return &failure{visible: msg, cause: errors.New(msg)} }

// hiddenFailure is sent as the generic credentials message; msg is logged.
func hiddenFailure(format string, args ...any) error {
	return &failure{cause: fmt.Errorf(format, args...)}
}

// genericMessage is SaslServerAuthenticator's answer to a SaslException.
func genericMessage(mechanism string, reauth bool) string {
	what := "authentication"
	if reauth {
		what = "re-authentication"
	}
	return "Authentication failed during " + what + " due to invalid credentials with SASL mechanism " + mechanism
}
