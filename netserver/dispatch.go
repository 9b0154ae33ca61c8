package netserver

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/netserver/wire"
)

// answer turns one request frame into its response frame appended to out.
// ok is false when the connection must close (err says why); a nil
// response (acks=0) appends nothing. Both transports use it.
func answer(ctx context.Context, broker *handler.Broker, frame, out []byte) ([]byte, error) {
	req, err := wire.Parse(frame)
	if err != nil {
		return out, err
	}
	var resp kmsg.Response
	switch {
	case req.Key == wire.ApiVersionsKey && (req.Msg == nil || !handler.Supports(req.Key, req.Version)):
		resp = handler.ApiVersionsFallback()
	case req.Msg == nil || !handler.Supports(req.Key, req.Version):
		return out, fmt.Errorf("unsupported request: api key %d (%s) version %d", req.Key, kmsg.NameForKey(req.Key), req.Version)
	default:
		resp = broker.Handle(ctx, req)
	}
	if resp == nil {
		return out, nil // acks=0 produce: Kafka sends nothing
	}
	return wire.AppendResponse(out, req.CorrelationID, resp), nil
}
