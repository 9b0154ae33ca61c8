package main

import (
	"fmt"
	"time"

	"github.com/rillmq/rill/netserver/handler"
)

// shareLeaderConfig reads the share-partition leader's settings (KIP-932)
// into hc: acquisition locks, the delivery-count limit, in-flight records
// per share partition and share sessions per broker, under Kafka's names.
// As Kafka's ShareGroupConfig, the lock duration must lie within its
// bounds.
func (c *brokerConfig) shareLeaderConfig(hc *handler.Config) error {
	var sc handler.ShareConfig
	for _, d := range []struct {
		key string
		dst *time.Duration
		def int64
	}{
		{"group.share.record.lock.duration.ms", &sc.RecordLockDuration, 30000},
		{"group.share.min.record.lock.duration.ms", &sc.MinRecordLockDuration, 15000},
		{"group.share.max.record.lock.duration.ms", &sc.MaxRecordLockDuration, 60000},
	} {
		v, err := c.int64(d.key, d.def)
		if err != nil {
			return err
		}
		*d.dst = time.Duration(v) * time.Millisecond
	}
	if sc.RecordLockDuration < sc.MinRecordLockDuration || sc.RecordLockDuration > sc.MaxRecordLockDuration {
		return fmt.Errorf("config group.share.record.lock.duration.ms: %d is outside its min and max [%d, %d]",
			sc.RecordLockDuration.Milliseconds(), sc.MinRecordLockDuration.Milliseconds(), sc.MaxRecordLockDuration.Milliseconds())
	}
	limit, err := c.int64("group.share.delivery.count.limit", 5)
	if err != nil {
		return err
	}
	locks, err := c.int64("group.share.partition.max.record.locks", 2000)
	if err != nil {
		return err
	}
	sessions, err := c.int64("group.share.max.share.sessions", 2000)
	if err != nil {
		return err
	}
	sc.DeliveryCountLimit, sc.PartitionMaxRecordLocks, sc.MaxShareSessions = int16(limit), locks, int(sessions)
	hc.Share = sc
	return nil
}
