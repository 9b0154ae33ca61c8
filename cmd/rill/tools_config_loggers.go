package main

// rill config describe|alter broker-logger ID: a broker's run-time log
// levels as BROKER_LOGGER config resources (kafka-configs.sh
// --entity-type broker-loggers). kadm has no helpers for the resource
// type, so these send DescribeConfigs and IncrementalAlterConfigs
// themselves; kgo routes them to the broker the resource names.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describeBrokerLoggers lists broker t.name's loggers and levels.
func describeBrokerLoggers(ctx context.Context, cl *kgo.Client, t configTarget) ([]configEntry, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, t.name
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
			entries = append(entries, configEntry{Name: c.Name, Value: c.Value, Source: c.Source.String()})
		}
	}
	return entries, nil
}

// alterBrokerLoggers sets (--set logger=LEVEL) and resets (--delete
// logger) broker t.name's log levels.
func alterBrokerLoggers(ctx context.Context, cl *kgo.Client, t configTarget, sets, deletes []string, validateOnly bool) error {
	alters, err := configAlters(sets, deletes)
	if err != nil {
		return err
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, t.name
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
