package netserver

import (
	"context"
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/netserver/wire"
)

// respond turns one request frame into its response: nil when none is sent
// (acks=0). An error means the connection must close. Both transports use
// it. ctx is the connection's: it ends when the connection closes.
// clientHost is the peer's host, for group membership. Supports is the API
// table's (handler/api_table.go), so a request it lets through always has a
// handler; any other closes the connection.
func respond(ctx context.Context, broker *handler.Broker, frame []byte, clientHost string) (kmsg.Response, int32, error) {
	req, err := wire.Parse(frame)
	if err != nil {
		return nil, 0, err
	}
	req.ClientHost = clientHost
	switch {
	case req.Key == wire.ApiVersionsKey && (req.Msg == nil || !handler.Supports(req.Key, req.Version)):
		return handler.ApiVersionsFallback(), req.CorrelationID, nil
	case req.Msg == nil || !handler.Supports(req.Key, req.Version):
		return nil, 0, fmt.Errorf("unsupported request: api key %d (%s) version %d", req.Key, kmsg.NameForKey(req.Key), req.Version)
	}
	resp := broker.Handle(ctx, req)
	if p, ok := req.Msg.(*kmsg.ProduceRequest); resp == nil && (!ok || p.Acks != 0) {
		// A handler that answers nothing would leave the client waiting
		// for good: close instead.
		return nil, 0, fmt.Errorf("%s v%d: the handler gave no answer", kmsg.NameForKey(req.Key), req.Version)
	}
	return resp, req.CorrelationID, nil
}

// appendResponse encodes resp as a whole frame, reading any file ranges of
// a Fetch answer into it first.
func appendResponse(out []byte, correlationID int32, resp kmsg.Response) ([]byte, error) {
	if fr, ok := resp.(*handler.FetchResponse); ok {
		if err := fr.Materialize(); err != nil {
			return out, err
		}
		resp = fr.FetchResponse
	}
	return wire.AppendResponse(out, correlationID, resp), nil
}

// clientHost renders a peer address the way Kafka reports a member's host.
func clientHost(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "/" + addr.String()
	}
	return "/" + host
}
