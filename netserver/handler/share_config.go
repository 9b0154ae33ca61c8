package handler

// The share-partition leader's settings: the broker's group.share.* keys
// (ShareConfig), a group's share.* overrides, and where a share partition
// without state starts (share.auto.offset.reset).

import (
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/sharepart"
	"github.com/rillmq/rill/internal/kafka"
)

// ShareConfig is the share-partition leader's part of the broker config,
// under Kafka's names; a zero field takes Kafka's default.
type ShareConfig struct {
	// RecordLockDuration is group.share.record.lock.duration.ms (30000):
	// how long a member holds records it acquired, unless its group sets
	// share.record.lock.duration.ms.
	RecordLockDuration time.Duration
	// DeliveryCountLimit is group.share.delivery.count.limit (5): the
	// deliveries after which a record is archived, unless its group sets
	// share.delivery.count.limit.
	DeliveryCountLimit int16
	// PartitionMaxRecordLocks is group.share.partition.max.record.locks
	// (2000): the most records in flight in one share partition, unless
	// its group sets share.partition.max.record.locks.
	PartitionMaxRecordLocks int64
	// MinRecordLockDuration and MaxRecordLockDuration are
	// group.share.min.record.lock.duration.ms (15000) and
	// group.share.max.record.lock.duration.ms (60000): the bounds of a
	// group's share.record.lock.duration.ms.
	MinRecordLockDuration, MaxRecordLockDuration time.Duration
	// MaxShareSessions is group.share.max.share.sessions (2000): the most
	// share sessions this broker keeps.
	MaxShareSessions int
}

func (c ShareConfig) maxSessions() int {
	if c.MaxShareSessions <= 0 {
		return 2000
	}
	return c.MaxShareSessions
}

// shareStartOffset is where a share partition without state starts, by
// its group's share.auto.offset.reset.
func (b *Broker) shareStartOffset(group string, tp kafka.TopicPartition, logStart int64) (int64, *kerr.Error) {
	reset := b.groupConfig(group)["share.auto.offset.reset"]
	rep, code := b.replicaOf(tp.Topic, tp.Partition)
	if code != nil {
		return 0, code
	}
	hw, err := rep.HighWatermark()
	if err != nil {
		return 0, toKerr(err)
	}
	switch {
	case reset == "earliest":
		return logStart, nil
	case strings.HasPrefix(reset, "by_duration:"):
		d, ok := parseISODuration(strings.TrimPrefix(reset, "by_duration:"))
		if !ok {
			return hw, nil
		}
		off, _, found, err := rep.Log().OffsetForTimestamp(b.now().Add(-d).UnixMilli())
		if err != nil {
			return 0, kerr.KafkaStorageError
		}
		if !found {
			return hw, nil
		}
		return min(max(off, logStart), hw), nil
	}
	return hw, nil
}

// parseISODuration reads the ISO-8601 durations Kafka's by_duration takes
// (PnDTnHnMn.nS; days, hours, minutes, seconds).
func parseISODuration(s string) (time.Duration, bool) {
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, false
	}
	s = s[1:]
	var d time.Duration
	inTime := false
	for len(s) > 0 {
		if s[0] == 'T' {
			inTime, s = true, s[1:]
			continue
		}
		i := strings.IndexAny(s, "DHMS")
		if i <= 0 {
			return 0, false
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 {
			return 0, false
		}
		unit := map[byte]time.Duration{'D': 24 * time.Hour, 'H': time.Hour, 'M': time.Minute, 'S': time.Second}[s[i]]
		if (s[i] == 'D') == inTime {
			return 0, false
		}
		d += time.Duration(n * float64(unit))
		s = s[i+1:]
	}
	return d, true
}

// sharePartConfig is the share partition settings of group: the
// group's overrides over the broker's group.share.* defaults.
func (b *Broker) sharePartConfig(group string) sharepart.Config {
	cfg := b.sharePartDefaults()
	over := b.groupConfig(group)
	if v, err := strconv.Atoi(over["share.record.lock.duration.ms"]); err == nil && v > 0 {
		cfg.LockDuration = time.Duration(v) * time.Millisecond
	}
	if v, err := strconv.Atoi(over["share.delivery.count.limit"]); err == nil && v > 0 {
		cfg.DeliveryLimit = int16(v)
	}
	if v, err := strconv.Atoi(over["share.partition.max.record.locks"]); err == nil && v > 0 {
		cfg.MaxInFlight = int64(v)
	}
	return cfg
}

// sharePartDefaults is the broker's group.share.* settings for share
// partitions, Kafka's defaults where unset.
func (b *Broker) sharePartDefaults() sharepart.Config {
	cfg := sharepart.Config{
		LockDuration:  b.cfg.Share.RecordLockDuration,
		DeliveryLimit: b.cfg.Share.DeliveryCountLimit,
		MaxInFlight:   b.cfg.Share.PartitionMaxRecordLocks,
	}
	if cfg.LockDuration <= 0 {
		cfg.LockDuration = 30 * time.Second
	}
	if cfg.DeliveryLimit <= 0 {
		cfg.DeliveryLimit = 5
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 2000
	}
	return cfg
}
