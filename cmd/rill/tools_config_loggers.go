package main

// rill config describe|alter broker-logger ID: a broker's run-time log
// levels as BROKER_LOGGER config resources (kafka-configs.sh
// --entity-type broker-loggers), and rill config describe|alter group G:
// a group's configs as GROUP config resources (--entity-type groups).
// kadm has no helpers for these resource types, so these send
// DescribeConfigs and IncrementalAlterConfigs themselves; kgo routes a
// broker-logger resource to the broker it names, a group's to any broker.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawResourceType is the config resource type of a broker-logger or
// group target.
func rawResourceType(t configTarget) kmsg.ConfigResourceType {
	if t.kind == "group" {
		return kmsg.ConfigResourceTypeGroupConfig
	}
	return kmsg.ConfigResourceTypeBrokerLogger
}

// describeRawConfigs lists broker t.name's loggers and levels, or group
// t.name's configs: those set on it, or with all every one and its
// source.
func describeRawConfigs(ctx context.Context, cl *kgo.Client, t configTarget, all bool) ([]configEntry, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = rawResourceType(t), t.name
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("describe configs of %s: %w", t, err)
	}
	entries := []configEntry{}
	for _, rr := range resp.Resources {
		if err := kerr.ErrorForCode(rr.ErrorCode); err != nil {
			return nil, fmt.Errorf("describe configs of %s: %s", t, brokerError(err, deref(rr.ErrorMessage)))
		}
		for _, c := range rr.Configs {
			if t.kind == "group" && !all && !dynamicSource(c.Source) {
				continue
			}
			entries = append(entries, configEntry{Name: c.Name, Value: c.Value, Source: configSourceName(c.Source)})
		}
	}
	return entries, nil
}

// alterRawConfigs sets (--set logger=LEVEL) and resets (--delete logger)
// broker t.name's log levels, or sets and removes group t.name's configs.
func alterRawConfigs(ctx context.Context, cl *kgo.Client, t configTarget, sets, deletes []string, validateOnly bool) error {
	alters, err := configAlters(sets, deletes)
	if err != nil {
		return err
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = rawResourceType(t), t.name
	for _, a := range alters {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = a.Name, a.Value
		c.Op = kmsg.IncrementalAlterConfigOp(a.Op)
		r.Configs = append(r.Configs, c)
	}
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("alter configs of %s: %w", t, err)
	}
	for _, rr := range resp.Resources {
		if err := kerr.ErrorForCode(rr.ErrorCode); err != nil {
			return fmt.Errorf("alter configs of %s: %s", t, brokerError(err, deref(rr.ErrorMessage)))
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// loggerClient is a client and a context bounded by --timeout for the
// broker-logger requests; done releases both.
func (tf *toolFlags) loggerClient(parent context.Context) (*kgo.Client, context.Context, func(), error) {
	cl, err := tf.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(parent, tf.timeout)
	return cl, ctx, func() { cancel(); cl.Close() }, nil
}
