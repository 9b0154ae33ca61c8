package main

import (
	"fmt"

	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/netserver/handler"
)

// shareStateConfig reads the share coordinator's settings (KIP-932) into
// hc: __share_group_state's partitions, replication factor and
// min.insync.replicas, under Kafka's names.
func (c *brokerConfig) shareStateConfig(hc *handler.Config) error {
	parts, err := c.int64("share.coordinator.state.topic.num.partitions", int64(sharestate.DefaultConfig().StatePartitions))
	if err != nil {
		return err
	}
	if parts < 1 || parts > 1<<16 {
		return fmt.Errorf("config share.coordinator.state.topic.num.partitions: %d is outside [1, 65536]", parts)
	}
	rf, err := c.int64("share.coordinator.state.topic.replication.factor", 3)
	if err != nil {
		return err
	}
	isr, err := c.int64("share.coordinator.state.topic.min.isr", 2)
	if err != nil {
		return err
	}
	if rf < 1 || rf > 1<<15-1 || isr < 1 || isr > 1<<15-1 {
		return fmt.Errorf("config share.coordinator.state.topic.replication.factor %d / min.isr %d: must be in [1, 32767]", rf, isr)
	}
	hc.ShareState = sharestate.Config{StatePartitions: int32(parts)}
	hc.ShareStateReplicationFactor, hc.ShareStateMinISR = int16(rf), int16(isr)
	return nil
}
