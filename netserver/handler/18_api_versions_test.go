package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions v5 (KIP-1242): a client that names this broker's cluster
// and node, or neither, gets the key list; naming another cluster or node
// is REBOOTSTRAP_REQUIRED, naming only one of the two INVALID_REQUEST,
// both with no keys. Below v5 the fields are not on the wire.
func TestApiVersionsClusterAndNode(t *testing.T) {
	requireServed(t, 18, 5)
	b, closeBroker, err := NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	cluster, node := b.cfg.ClusterID, b.cfg.NodeID
	for _, c := range []struct {
		version int16
		cluster *string
		node    int32
		code    int16
	}{
		{5, nil, -1, 0},
		{5, &cluster, node, 0},
		{5, kmsg.StringPtr("other"), node, kerr.RebootstrapRequired.Code},
		{5, &cluster, node + 1, kerr.RebootstrapRequired.Code},
		{5, kmsg.StringPtr(""), node, kerr.RebootstrapRequired.Code},
		{5, &cluster, -1, kerr.InvalidRequest.Code},
		{5, nil, node, kerr.InvalidRequest.Code},
		{4, kmsg.StringPtr("other"), node + 1, 0},
	} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1"
		req.ClusterID, req.NodeID = c.cluster, c.node
		resp := sendAs[*kmsg.ApiVersionsResponse](t, b, superUser, req, c.version)
		name := "<nil>"
		if c.cluster != nil {
			name = *c.cluster
		}
		if resp.ErrorCode != c.code {
			t.Errorf("v%d cluster %q node %d: code %d, want %d", c.version, name, c.node, resp.ErrorCode, c.code)
		}
		if wantKeys := c.code == 0; (len(resp.ApiKeys) > 0) != wantKeys {
			t.Errorf("v%d cluster %q node %d: %d keys", c.version, name, c.node, len(resp.ApiKeys))
		}
	}
}
