package handler

// DescribeQuorum (key 55), v0-v2: the metadata quorum (kafka-metadata-quorum.sh
// describe --status / --replication), forwarded to the active controller as
// Kafka's brokers forward it (replication/node's describe_quorum.go says
// what each field holds in Rill). The topic is __cluster_metadata,
// partition 0. Needs DESCRIBE on the cluster, else
// CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) describeQuorum(ctx context.Context, req *kmsg.DescribeQuorumRequest) kmsg.Response {
	fail := func(e *kerr.Error) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
		resp.ErrorCode = e.Code
		return resp
	}
	if !b.access(ctx).cluster(authz.OpDescribe) {
		return fail(kerr.ClusterAuthorizationFailed)
	}
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	resp, err := b.cluster.DescribeQuorum(cctx, req)
	if err != nil {
		return fail(toKerr(err))
	}
	return resp
}
