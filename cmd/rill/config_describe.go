package main

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/brokerconf"
	"github.com/rillmq/rill/netserver/handler"
)

// describeEntries are the broker's keys as DescribeConfigs reports them:
// every table key and every pattern key set, with Kafka's sources (a key
// set by the file, the environment or --set is STATIC_BROKER_CONFIG).
func (c *brokerConfig) describeEntries() []handler.BrokerConfig {
	var out []handler.BrokerConfig
	for _, s := range c.settings.Effective() {
		k, _ := brokerconf.Lookup(s.Name)
		e := handler.BrokerConfig{
			Name: s.Name, Source: wireSource(s.Source), Sensitive: k.Sensitive(),
			Type: kmsg.ConfigType(k.Type), Doc: k.Doc,
		}
		if s.Source != brokerconf.FromDefault || !k.NoDefault {
			e.Value = c.wireValue(k, s.Value)
		}
		// The key itself (set, then its default), then the keys it
		// overrides, in Kafka's order of precedence.
		for _, name := range append([]string{s.Name}, k.Synonyms...) {
			if set, ok := c.settings.Lookup(name); ok {
				e.Synonyms = append(e.Synonyms, handler.BrokerConfigSynonym{Name: name, Value: c.wireValue(k, set.Value), Source: kmsg.ConfigSourceStaticBrokerConfig})
			}
			if sk, ok := brokerconf.Lookup(name); ok && !sk.NoDefault && sk.Name == name {
				e.Synonyms = append(e.Synonyms, handler.BrokerConfigSynonym{Name: name, Value: c.wireValue(sk, sk.Default), Source: kmsg.ConfigSourceDefaultConfig})
			}
		}
		out = append(out, e)
	}
	return out
}

func wireSource(s brokerconf.Source) kmsg.ConfigSource {
	if s == brokerconf.FromDefault {
		return kmsg.ConfigSourceDefaultConfig
	}
	return kmsg.ConfigSourceStaticBrokerConfig
}

// wireValue is nil for a sensitive key, as Kafka answers.
func (c *brokerConfig) wireValue(k brokerconf.Key, v string) *string {
	if k.Sensitive() {
		return nil
	}
	return kmsg.StringPtr(v)
}
