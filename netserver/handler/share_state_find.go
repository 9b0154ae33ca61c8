package handler

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/netserver/authz"
)

// findShareCoordinator is FindCoordinator's key type 2 (share), as
// Kafka's KafkaApis.getCoordinator: INVALID_REQUEST before v6, then
// CLUSTER_ACTION on the cluster, then the key validated as Kafka's
// SharePartitionKey (INVALID_REQUEST), then __share_group_state ensured
// (COORDINATOR_NOT_AVAILABLE while it cannot be made). It returns the
// key's partition of the topic, or the error and its message.
func (b *Broker) findShareCoordinator(v int16, ac access, key string) (int32, *kerr.Error, string) {
	if v < 6 {
		return 0, kerr.InvalidRequest, "share coordinator keys need FindCoordinator v6 or later"
	}
	if !ac.cluster(authz.OpClusterAction) {
		return 0, errClusterDenied, "not authorized to look up share coordinators (CLUSTER_ACTION on the cluster)"
	}
	k, err := sharestate.ParseKey(key)
	if err != nil {
		return 0, kerr.InvalidRequest, err.Error()
	}
	if err := b.ensureShareStateTopic(); err != nil {
		b.log.Warn("find coordinator: the share group state topic is not available", "err", err)
		return 0, kerr.CoordinatorNotAvailable, fmt.Sprintf("the share group state topic %s is not available: %v", ShareStateTopic, err)
	}
	return b.shareState.PartitionOf(k.String()), nil, ""
}
