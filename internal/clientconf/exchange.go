package clientconf

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
)

// Authenticate runs the client side of a SASL exchange over call, which
// sends one Kafka request frame (header and body, no size prefix) and
// returns its answer (correlation id, header, body): SaslHandshake v1,
// then SaslAuthenticate v1 until mech is done. It is how a broker
// authenticates on a secured controller listener, whose transport is not a
// Kafka connection (replication/transport.Security.Dial); host is the
// server's host, for mechanisms that use it.
func Authenticate(ctx context.Context, mech sasl.Mechanism, host string, call func(req []byte) ([]byte, error)) error {
	if mech == nil {
		return errors.New("clientconf: no SASL mechanism")
	}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Mechanism = mech.Name()
	hresp := kmsg.NewPtrSASLHandshakeResponse()
	if err := frameExchange(call, hs, 1, hresp); err != nil {
		return err
	}
	if err := kerr.ErrorForCode(hresp.ErrorCode); err != nil {
		return fmt.Errorf("SaslHandshake %s: %w (server mechanisms %v)", mech.Name(), err, hresp.SupportedMechanisms)
	}
	session, msg, err := mech.Authenticate(ctx, host)
	if err != nil {
		return err
	}
	for corr := int32(2); ; corr++ {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.SASLAuthBytes = msg
		resp := kmsg.NewPtrSASLAuthenticateResponse()
		if err := frameExchange(call, req, corr, resp); err != nil {
			return err
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			if resp.ErrorMessage != nil {
				return fmt.Errorf("SaslAuthenticate: %w: %s", err, *resp.ErrorMessage)
			}
			return fmt.Errorf("SaslAuthenticate: %w", err)
		}
		done, next, err := session.Challenge(resp.SASLAuthBytes)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		msg = next
	}
}

// frameExchange sends req at version with correlation id corr and decodes the
// answer into resp (a non-flexible version: no header tags).
func frameExchange(call func([]byte) ([]byte, error), req kmsg.Request, corr int32, resp kmsg.Response) error {
	req.SetVersion(1)
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("rill")).AppendRequest(nil, req, corr)
	answer, err := call(frame[4:])
	if err != nil {
		return err
	}
	if len(answer) < 4 {
		return fmt.Errorf("%s: %d-byte answer", kmsg.NameForKey(req.Key()), len(answer))
	}
	resp.SetVersion(1)
	return resp.ReadFrom(answer[4:])
}
