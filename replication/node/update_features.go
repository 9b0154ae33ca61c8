package node

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/replication/controller"
)

// updateFeatures answers UpdateFeatures as Kafka's controller does: all
// or nothing; an error is the top-level code and message with no results,
// success a NONE result per feature (v0-v1; v2 has no results). Brokers
// ask at v2 (they turn a client's v0 AllowDowngrade into an upgrade type).
// A feature named twice is INVALID_REQUEST.
func (n *Node) updateFeatures(ctx context.Context, r *kmsg.UpdateFeaturesRequest, refused error) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.UpdateFeaturesResponse)
	var updates []controller.FeatureUpdate
	seen := map[string]bool{}
	err := refused
	for _, u := range r.FeatureUpdates {
		typ := u.UpgradeType
		if seen[u.Feature] && err == nil {
			err = kerr.InvalidRequest
		}
		seen[u.Feature] = true
		updates = append(updates, controller.FeatureUpdate{Name: u.Feature, Level: u.MaxVersionLevel, UpgradeType: typ})
	}
	if err == nil {
		err = n.UpdateFeatures(ctx, updates, r.ValidateOnly)
	}
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = code(err), message(err)
		return resp
	}
	if r.Version <= 1 {
		for _, u := range r.FeatureUpdates {
			res := kmsg.NewUpdateFeaturesResponseResult()
			res.Feature = u.Feature
			resp.Results = append(resp.Results, res)
		}
	}
	return resp
}
