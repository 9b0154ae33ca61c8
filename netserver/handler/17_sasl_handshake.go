package handler

// SaslHandshake (key 17), v0-v1, and SaslAuthenticate (key 36), v0-v2, as
// the API table answers them: on a connection that does not authenticate
// with SASL (a PLAINTEXT or SSL listener) or that has already
// authenticated. A SASL listener's connections answer both keys
// themselves (package netserver, sasl.go), before and during
// authentication and for re-authentication (KIP-368), since the exchange
// is the connection's state, not the broker's. Kafka answers these the
// same way: ILLEGAL_SASL_STATE.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) saslHandshake(req *kmsg.SASLHandshakeRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.ErrorCode = kerr.IllegalSaslState.Code
	return resp
}

func (b *Broker) saslAuthenticate(req *kmsg.SASLAuthenticateRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	resp.ErrorCode = kerr.IllegalSaslState.Code
	msg := "SaslAuthenticate request received after successful authentication or on a listener without SASL"
	resp.ErrorMessage = &msg
	return resp
}
