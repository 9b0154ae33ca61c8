package controller

// Group configs (KIP-848, KIP-932): per-group overrides of the group
// coordinator's settings, such as consumer.session.timeout.ms or
// share.record.lock.duration.ms, set with AlterConfigs and
// IncrementalAlterConfigs on a GROUP (32) config resource. Kafka keeps
// them as ConfigRecords in the metadata log; here one record carries a
// group's whole override set, as TopicConfigs does a topic's, so a
// replayed log rebuilds the same map whatever order the keys were set in.
//
// Brokers validate names and values against Kafka's GroupConfig before
// they ask (they know the broker settings that bound them); the
// controller only refuses what no broker would send. Group configs do not
// depend on the group existing (Kafka's neither: they may be set before
// the group's first member joins) and outlive its deletion.

import (
	"fmt"
	"maps"
)

// GroupConfigs replaces a group's config overrides; no configs removes
// the group's entry.
type GroupConfigs struct {
	Group   string
	Configs map[string]string `json:",omitempty"`
}

// AlterGroupConfigs replaces a group's config overrides (AlterConfigs,
// IncrementalAlterConfigs on a GROUP resource); the caller has validated
// them. An empty group id or config name is ErrInvalidGroupConfig.
func (c *Controller) AlterGroupConfigs(group string, configs map[string]string) ([]Record, error) {
	if err := checkGroupConfigs(group, configs); err != nil {
		return nil, err
	}
	return []Record{{GroupConfigs: &GroupConfigs{Group: group, Configs: maps.Clone(configs)}}}, nil
}

func checkGroupConfigs(group string, configs map[string]string) error {
	if group == "" {
		return fmt.Errorf("%w: empty group id", ErrInvalidGroupConfig)
	}
	for k := range configs {
		if k == "" {
			return fmt.Errorf("%w: empty config name for group %s", ErrInvalidGroupConfig, group)
		}
	}
	return nil
}

// applyGroupConfigs replaces the group's overrides with a fresh map, so a
// map handed out before (the brokers' GroupConfigs) never changes under
// its reader.
func (im *Image) applyGroupConfigs(r *GroupConfigs) error {
	if err := checkGroupConfigs(r.Group, r.Configs); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidRecord, err)
	}
	if len(r.Configs) == 0 {
		delete(im.GroupConfigs, r.Group)
		return nil
	}
	if im.GroupConfigs == nil {
		im.GroupConfigs = map[string]map[string]string{}
	}
	im.GroupConfigs[r.Group] = maps.Clone(r.Configs)
	return nil
}

// GroupConfig is a group's config overrides (nil: none). The map is the
// image's and must not be changed; Apply replaces it rather than changing
// it, so it may be kept.
func (im *Image) GroupConfig(group string) map[string]string {
	return im.GroupConfigs[group]
}

func (im *Image) cloneGroupConfigs(c *Image) {
	if im.GroupConfigs == nil {
		return
	}
	c.GroupConfigs = make(map[string]map[string]string, len(im.GroupConfigs))
	for g, m := range im.GroupConfigs {
		c.GroupConfigs[g] = maps.Clone(m)
	}
}
