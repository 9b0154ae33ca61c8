package handler

// DescribeCluster (key 60), v0-v2: this broker alone, as controller.
// EndpointType 2 (controllers, v1+) answers the same broker: it is its own
// controller.

import "github.com/twmb/franz-go/pkg/kmsg"

func (b *Broker) describeCluster(req *kmsg.DescribeClusterRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = b.cfg.ClusterID
	resp.EndpointType = req.EndpointType
	if resp.EndpointType == 0 {
		resp.EndpointType = 1
	}
	resp.ClusterAuthorizedOperations = -2147483648
	resp.ControllerID = b.cluster.ControllerID()
	host, port := b.Advertised()
	for _, cb := range b.cluster.Brokers() {
		br := kmsg.NewDescribeClusterResponseBroker()
		br.NodeID, br.Host, br.Port = cb.ID, cb.Host, cb.Port
		if cb.ID == b.cfg.NodeID {
			br.Host, br.Port = host, port
		}
		if cb.Rack != "" {
			br.Rack = kmsg.StringPtr(cb.Rack)
		}
		resp.Brokers = append(resp.Brokers, br)
	}
	return resp
}
