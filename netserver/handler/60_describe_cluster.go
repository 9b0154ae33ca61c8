package handler

// DescribeCluster (key 60), v0-v2: this broker alone, as controller.
// EndpointType 2 (controllers, v1+) answers the same broker: it is its own
// controller. Brokers are given at their address on the client's listener,
// and one without that listener is left out, as in Metadata.
//
// Authorization: never an error. IncludeClusterAuthorizedOperations
// answers, with an authorizer, the cluster's authorized operations if the
// principal may DESCRIBE the cluster, else 0; without one the schema's
// "unknown" value.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) describeCluster(ctx context.Context, req *kmsg.DescribeClusterRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = b.cfg.ClusterID
	resp.EndpointType = req.EndpointType
	if resp.EndpointType == 0 {
		resp.EndpointType = 1
	}
	resp.ClusterAuthorizedOperations = unknownAuthorizedOperations
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = b.access(ctx).clusterOperations()
	}
	resp.ControllerID = b.cluster.ControllerID()
	listener := ListenerOf(ctx)
	for _, cb := range b.cluster.Brokers() {
		host, port, ok := b.address(listener, cb)
		if !ok {
			continue
		}
		br := kmsg.NewDescribeClusterResponseBroker()
		br.NodeID, br.Host, br.Port = cb.ID, host, port
		if cb.Rack != "" {
			br.Rack = kmsg.StringPtr(cb.Rack)
		}
		resp.Brokers = append(resp.Brokers, br)
	}
	return resp
}
