package main

// The broker's fetch session cache (KIP-227), with Kafka's names:
//
//	max.incremental.fetch.session.cache.slots  1000    sessions cached (0: none)
//	min.incremental.fetch.session.eviction.ms  120000  protection of a new or used session

import (
	"time"

	"github.com/rillmq/rill/netserver/fetchsession"
)

// fetchSessionConfig sizes the fetch session cache from the config (the
// table has checked both keys are at least 0).
func (c *brokerConfig) fetchSessionConfig() (*fetchsession.Config, error) {
	slots, err := c.int64("max.incremental.fetch.session.cache.slots", fetchsession.DefaultSlots)
	if err != nil {
		return nil, err
	}
	evictMs, err := c.int64("min.incremental.fetch.session.eviction.ms", fetchsession.DefaultEvictionAfter.Milliseconds())
	if err != nil {
		return nil, err
	}
	return &fetchsession.Config{Slots: int(slots), EvictionAfter: time.Duration(evictMs) * time.Millisecond}, nil
}
