package handler

// ApiVersions (key 18), v0-v4.
//
// Answers the version ranges of the API table (api_table.go), capped by
// what kmsg can decode.
// A request at a version we do not know is answered as Kafka does (KIP-511):
// a v0 response with UNSUPPORTED_VERSION and the key list, so the client can
// retry at a version both sides speak; the server builds that answer
// (ApiVersionsFallback) because such a request cannot be decoded.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiKeys is the advertised list: the API table (api_table.go) as
// ApiVersions answers it, built by the table's init.
var apiKeys []kmsg.ApiVersionsResponseApiKey

func (b *Broker) apiVersions(req *kmsg.ApiVersionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = append(resp.ApiKeys, apiKeys...)
	return resp
}

// ApiVersionsFallback is the v0 answer to an ApiVersions request at a
// version we do not support.
func ApiVersionsFallback() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = append(resp.ApiKeys, apiKeys...)
	return resp
}
