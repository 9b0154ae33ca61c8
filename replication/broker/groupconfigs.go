package broker

// Group configs (KIP-848, KIP-932 GROUP config resources) as this broker
// applies them: read straight from the metadata image, changed through
// the active controller with the AlterConfigs request a Kafka broker
// forwards, returning once this broker's image has the change.

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

// GroupConfig is a group's config overrides in the image this broker has
// applied (nil: none). It is one map lookup under the image's read lock,
// cheap enough for every request; the map is the image's and must not be
// changed (the image replaces it on a change, so it may be kept).
func (r *Runtime) GroupConfig(group string) map[string]string {
	var out map[string]string
	r.source.View(func(im *controller.Image) { out = im.GroupConfig(group) })
	return out
}

// GroupConfigGroups are the groups with config overrides in the image this
// broker has applied, sorted.
func (r *Runtime) GroupConfigGroups() []string {
	var out []string
	r.source.View(func(im *controller.Image) {
		out = slices.Sorted(maps.Keys(im.GroupConfigs))
	})
	return out
}

// AlterGroupConfigs replaces a group's config overrides (none: removes
// them) through the active controller and returns once this broker has
// applied the change (or ctx ends: the change is committed either way).
func (r *Runtime) AlterGroupConfigs(ctx context.Context, group string, configs map[string]string) error {
	res := kmsg.NewAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, kmsg.StringPtr(configs[k])
		res.Configs = append(res.Configs, c)
	}
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Resources = []kmsg.AlterConfigsRequestResource{res}
	resp, err := r.ask(ctx, req)
	if err != nil {
		return err
	}
	r.awaitImage(ctx, resp)
	return nil
}

// awaitImage waits until this broker's image is at the metadata offset a
// controller answered resp with (none: no wait), or ctx ends.
func (r *Runtime) awaitImage(ctx context.Context, resp kmsg.Response) {
	offset, ok := node.MetadataOffset(resp)
	if !ok {
		return
	}
	for {
		ch := r.source.Changed()
		if r.source.Applied() >= offset {
			return
		}
		select {
		case <-ctx.Done():
			r.cfg.Logger.Warn("committed metadata not applied here before the request's deadline", "offset", offset)
			return
		case <-ch:
		}
	}
}
