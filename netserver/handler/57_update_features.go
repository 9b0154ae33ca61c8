package handler

// UpdateFeatures (key 57), v0-v2 (KIP-584; kafka-features.sh upgrade /
// downgrade): forwarded to the active controller, which finalizes the
// levels all or nothing as Kafka's does (replication/controller's
// features.go: INVALID_UPDATE_VERSION with Kafka's reasons); the answer
// comes once this broker has applied them, so its next ApiVersions shows
// them. v0's AllowDowngrade is a safe downgrade. An error is the
// top-level code with no results; success has a NONE result per feature
// (v0-v1; v2 has none). Needs ALTER on the cluster, else
// CLUSTER_AUTHORIZATION_FAILED. Rill's one feature is transaction.version
// (0-2).

import (
	"context"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/controller"
)

func (b *Broker) updateFeatures(ctx context.Context, req *kmsg.UpdateFeaturesRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.UpdateFeaturesResponse)
	fail := func(err error) kmsg.Response {
		e := toKerr(err)
		resp.ErrorCode = e.Code
		if msg := err.Error(); msg != e.Error() {
			// The reason, without the Go error chain's prefix: Kafka
			// says "Invalid update version 3 for feature ...".
			if msg = strings.TrimPrefix(msg, controller.ErrInvalidFeatureUpdate.Error()+": "); msg != "" {
				msg = strings.ToUpper(msg[:1]) + msg[1:]
			}
			resp.ErrorMessage = kmsg.StringPtr(msg)
		}
		return resp
	}
	if !b.access(ctx).cluster(authz.OpAlter) {
		return fail(kerr.ClusterAuthorizationFailed)
	}
	var updates []controller.FeatureUpdate
	for _, u := range req.FeatureUpdates {
		typ := u.UpgradeType
		if req.Version == 0 {
			typ = controller.FeatureUpgrade
			if u.AllowDowngrade {
				typ = controller.FeatureSafeDowngrade
			}
		}
		updates = append(updates, controller.FeatureUpdate{Name: u.Feature, Level: u.MaxVersionLevel, UpgradeType: typ})
	}
	timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
	if timeout <= 0 || timeout > adminTimeout {
		timeout = adminTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := b.cluster.UpdateFeatures(cctx, updates, req.ValidateOnly); err != nil {
		return fail(err)
	}
	if req.Version <= 1 {
		for _, u := range req.FeatureUpdates {
			res := kmsg.NewUpdateFeaturesResponseResult()
			res.Feature = u.Feature
			resp.Results = append(resp.Results, res)
		}
	}
	return resp
}
