package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/listeners"
	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/replication/metadata"
)

func (c *brokerConfig) get(key, def string) string {
	if v, ok := c.props[key]; ok {
		return v
	}
	return def
}

func (c *brokerConfig) int64(key string, def int64) (int64, error) {
	v, ok := c.props[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("config %s: %q is not an integer", key, v)
	}
	return n, nil
}

// brokerToTopic maps broker-level defaults to the topic-level configs they
// set, as Kafka's LogConfig does.
var brokerToTopic = []struct{ broker, topic string }{
	{"log.segment.bytes", "segment.bytes"},
	{"log.roll.ms", "segment.ms"},
	{"log.index.interval.bytes", "index.interval.bytes"},
	{"log.index.size.max.bytes", "segment.index.bytes"},
	{"log.retention.ms", "retention.ms"},
	{"log.retention.bytes", "retention.bytes"},
	{"log.cleanup.policy", "cleanup.policy"},
	{"log.cleaner.delete.retention.ms", "delete.retention.ms"},
	{"log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms"},
	{"log.flush.interval.messages", "flush.messages"},
	{"log.flush.interval.ms", "flush.ms"},
	{"log.segment.delete.delay.ms", "file.delete.delay.ms"},
	{"message.max.bytes", "max.message.bytes"},
	{"compression.type", "compression.type"},
	{"compression.gzip.level", "compression.gzip.level"},
	{"compression.lz4.level", "compression.lz4.level"},
	{"compression.zstd.level", "compression.zstd.level"},
	{"log.message.timestamp.type", "message.timestamp.type"},
	{"min.insync.replicas", "min.insync.replicas"},
	{"unclean.leader.election.enable", "unclean.leader.election.enable"},
}

// logConfig returns the default topic config.
func (c *brokerConfig) logConfig() (log.Config, error) {
	lc := log.DefaultConfig()
	// Kafka's coarser-unit aliases; the ms forms win when both are set.
	if v, ok := c.props["log.retention.hours"]; ok {
		if err := setScaled(&lc, "retention.ms", v, 3600_000); err != nil {
			return lc, err
		}
	}
	if v, ok := c.props["log.retention.minutes"]; ok {
		if err := setScaled(&lc, "retention.ms", v, 60_000); err != nil {
			return lc, err
		}
	}
	if v, ok := c.props["log.roll.hours"]; ok {
		if err := setScaled(&lc, "segment.ms", v, 3600_000); err != nil {
			return lc, err
		}
	}
	for _, m := range brokerToTopic {
		if v, ok := c.props[m.broker]; ok {
			if err := lc.Set(m.topic, v); err != nil {
				return lc, fmt.Errorf("config %s: %w", m.broker, err)
			}
		}
	}
	return lc, nil
}

func setScaled(lc *log.Config, name, v string, unit int64) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("config %s: %q is not an integer", name, v)
	}
	if n > 0 {
		n *= unit
	}
	return lc.Set(name, strconv.FormatInt(n, 10))
}

// engineConfig builds the storage engine's config.
func (c *brokerConfig) engineConfig(dataDir string) (engine.Config, error) {
	ec := engine.DefaultConfig(dataDir)
	var err error
	if ec.Log, err = c.logConfig(); err != nil {
		return ec, err
	}
	ec.IOEngine = c.get("io_engine", "auto")
	for _, iv := range []struct {
		key string
		dst *int64
	}{
		{"log.retention.check.interval.ms", &ec.RetentionCheckIntervalMs},
		{"log.flush.offset.checkpoint.interval.ms", &ec.CheckpointIntervalMs},
		{"log.cleaner.backoff.ms", &ec.CleanerBackoffMs},
		{"log.flush.scheduler.interval.ms", &ec.FlushSchedulerIntervalMs},
	} {
		if *iv.dst, err = c.int64(iv.key, *iv.dst); err != nil {
			return ec, err
		}
	}
	openFiles, err := c.int64("log.open.files.max", 0)
	ec.OpenFilesMax = int(openFiles)
	if err != nil {
		return ec, err
	}
	indexMaps, err := c.int64("log.index.mapped.max", 0)
	ec.IndexMapsMax = int(indexMaps)
	return ec, err
}

// handlerConfig builds the protocol handlers' config: the listeners'
// advertised addresses (lc), the inter-broker one as Host and Port.
func (c *brokerConfig) handlerConfig(lc *listeners.Config) (handler.Config, error) {
	hc := handler.Config{BrokerConfigs: c.describeEntries()}
	for _, l := range lc.Brokers() {
		hc.Listeners = append(hc.Listeners, metadata.Endpoint{Name: l.Name, Host: l.AdvertisedHost, Port: l.AdvertisedPort})
	}
	hc.Host, hc.Port = hc.Listeners[0].Host, hc.Listeners[0].Port
	nodeID, err := c.int64("node.id", 1)
	if err != nil {
		return hc, err
	}
	inter, err := c.interBrokerClient(lc)
	if err != nil {
		return hc, err
	}
	if inter != nil {
		hc.PeerClientOpts = inter.KgoOpts()
	}
	parts, err := c.int64("num.partitions", 1)
	if err != nil {
		return hc, err
	}
	rf, err := c.int64("default.replication.factor", 1)
	if err != nil {
		return hc, err
	}
	offsetsRF, err := c.int64("offsets.topic.replication.factor", 3)
	if err != nil {
		return hc, err
	}
	hc.NodeID, hc.NumPartitions, hc.DefaultReplicationFactor = int32(nodeID), int32(parts), int16(rf)
	hc.OffsetsReplicationFactor = int16(max(offsetsRF, 1))
	hc.AutoCreateTopics = c.get("auto.create.topics.enable", "true") == "true"
	hc.ClusterID = c.get("cluster.id", "rill-single-node")
	if hc.LogDefaults, err = c.logConfig(); err != nil {
		return hc, err
	}
	if hc.Groups, err = c.groupConfig(); err != nil {
		return hc, err
	}
	if hc.Txn, err = c.txnConfig(hc.Groups.OffsetsPartitions); err != nil {
		return hc, err
	}
	if hc.FetchSessions, err = c.fetchSessionConfig(); err != nil {
		return hc, err
	}
	partitionLimit, err := c.int64("max.request.partition.size.limit", handler.DefaultPartitionSizeLimit)
	if err != nil {
		return hc, err
	}
	hc.PartitionSizeLimit = int32(min(partitionLimit, 1<<31-1))
	txnRF, err := c.int64("transaction.state.log.replication.factor", 3)
	if err != nil {
		return hc, err
	}
	txnISR, err := c.int64("transaction.state.log.min.isr", 2)
	if err != nil {
		return hc, err
	}
	if txnRF < 1 || txnRF > 1<<15-1 || txnISR < 1 || txnISR > 1<<15-1 {
		return hc, fmt.Errorf("config transaction.state.log.replication.factor %d / min.isr %d: must be in [1, 32767]", txnRF, txnISR)
	}
	hc.TxnStateReplicationFactor, hc.TxnStateMinISR = int16(txnRF), int16(txnISR)
	if err := c.shareStateConfig(&hc); err != nil { // share_config.go
		return hc, err
	}
	if err := c.shareLeaderConfig(&hc); err != nil { // share_leader_config.go
		return hc, err
	}
	tv, err := c.int64("transaction.version", 2)
	if err != nil {
		return hc, err
	}
	if tv < 0 || tv > 2 {
		return hc, fmt.Errorf("config transaction.version: %d is not 0, 1 or 2", tv)
	}
	hc.TransactionVersion = int16(tv)
	hc.Txn.LogVersion = txn.Version(tv)
	if hc.Quotas, err = c.quotaManager(); err != nil { // client quotas (quota_config.go)
		return hc, err
	}
	return hc, nil
}

// txnConfig builds the transaction coordinator's config from Kafka's
// names.
func (c *brokerConfig) txnConfig(offsetsPartitions int32) (txn.Config, error) {
	tc := txn.DefaultConfig()
	tc.OffsetsPartitions = offsetsPartitions
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{
		{"transaction.max.timeout.ms", &tc.MaxTimeout},
		{"transactional.id.expiration.ms", &tc.IDExpiration},
		{"transaction.abort.timed.out.transaction.cleanup.interval.ms", &tc.AbortInterval},
		{"transaction.remove.expired.transaction.cleanup.interval.ms", &tc.ExpireInterval},
	} {
		n, err := c.int64(d.key, d.dst.Milliseconds())
		if err != nil {
			return tc, err
		}
		if n < 1 {
			return tc, fmt.Errorf("config %s: %d is not positive", d.key, n)
		}
		*d.dst = time.Duration(n) * time.Millisecond
	}
	parts, err := c.int64("transaction.state.log.num.partitions", int64(tc.StatePartitions))
	if err != nil {
		return tc, err
	}
	if parts < 1 || parts > 1<<16 {
		return tc, fmt.Errorf("config transaction.state.log.num.partitions: %d is outside [1, 65536]", parts)
	}
	tc.StatePartitions = int32(parts)
	return tc, nil
}

// groupConfig builds the group coordinator's config from Kafka's names.
func (c *brokerConfig) groupConfig() (group.Config, error) {
	gc := group.DefaultConfig()
	ms := func(key string, dst *time.Duration, unit time.Duration) error {
		n, err := c.int64(key, int64(*dst/unit))
		if err != nil {
			return err
		}
		if n < 0 {
			return fmt.Errorf("config %s: %d is negative", key, n)
		}
		*dst = time.Duration(n) * unit
		return nil
	}
	for _, d := range []struct {
		key  string
		dst  *time.Duration
		unit time.Duration
	}{
		{"group.initial.rebalance.delay.ms", &gc.InitialRebalanceDelay, time.Millisecond},
		{"group.min.session.timeout.ms", &gc.MinSessionTimeout, time.Millisecond},
		{"group.max.session.timeout.ms", &gc.MaxSessionTimeout, time.Millisecond},
		{"offsets.retention.minutes", &gc.OffsetsRetention, time.Minute},
		{"offsets.retention.check.interval.ms", &gc.RetentionCheckInterval, time.Millisecond},
		{"group.consumer.session.timeout.ms", &gc.ConsumerSessionTimeout, time.Millisecond},
		{"group.consumer.heartbeat.interval.ms", &gc.ConsumerHeartbeatInterval, time.Millisecond},
		{"group.share.session.timeout.ms", &gc.ShareSessionTimeout, time.Millisecond},
		{"group.share.min.session.timeout.ms", &gc.ShareMinSessionTimeout, time.Millisecond},
		{"group.share.max.session.timeout.ms", &gc.ShareMaxSessionTimeout, time.Millisecond},
		{"group.share.heartbeat.interval.ms", &gc.ShareHeartbeatInterval, time.Millisecond},
		{"group.share.min.heartbeat.interval.ms", &gc.ShareMinHeartbeatInterval, time.Millisecond},
		{"group.share.max.heartbeat.interval.ms", &gc.ShareMaxHeartbeatInterval, time.Millisecond},
	} {
		if err := ms(d.key, d.dst, d.unit); err != nil {
			return gc, err
		}
	}
	parts, err := c.int64("offsets.topic.num.partitions", int64(gc.OffsetsPartitions))
	if err != nil {
		return gc, err
	}
	if parts < 1 || parts > 1<<16 {
		return gc, fmt.Errorf("config offsets.topic.num.partitions: %d is outside [1, 65536]", parts)
	}
	gc.OffsetsPartitions = int32(parts)
	size, err := c.int64("group.max.size", math.MaxInt32)
	if err != nil {
		return gc, err
	}
	gc.MaxGroupSize = int(size)
	shareSize, err := c.int64("group.share.max.size", int64(gc.ShareMaxGroupSize))
	if err != nil {
		return gc, err
	}
	gc.ShareMaxGroupSize = int(shareSize)
	// Kafka's GroupCoordinatorConfig requires the defaults within their
	// bounds and the interval below the session timeout.
	for _, r := range []struct {
		name        string
		v, min, max time.Duration
	}{
		{"group.share.session.timeout.ms", gc.ShareSessionTimeout, gc.ShareMinSessionTimeout, gc.ShareMaxSessionTimeout},
		{"group.share.heartbeat.interval.ms", gc.ShareHeartbeatInterval, gc.ShareMinHeartbeatInterval, gc.ShareMaxHeartbeatInterval},
	} {
		if r.v < r.min || r.v > r.max {
			return gc, fmt.Errorf("config %s: %d is outside its min and max [%d, %d]", r.name, r.v.Milliseconds(), r.min.Milliseconds(), r.max.Milliseconds())
		}
	}
	if gc.ShareHeartbeatInterval >= gc.ShareSessionTimeout {
		return gc, fmt.Errorf("config group.share.heartbeat.interval.ms: %d must be below group.share.session.timeout.ms (%d)", gc.ShareHeartbeatInterval.Milliseconds(), gc.ShareSessionTimeout.Milliseconds())
	}
	mb, err := c.int64("offset.metadata.max.bytes", int64(gc.MetadataMaxBytes))
	if err != nil {
		return gc, err
	}
	gc.MetadataMaxBytes = int(mb)
	policy := group.MigrationPolicy(strings.ToLower(c.get("group.consumer.migration.policy", string(gc.MigrationPolicy))))
	switch policy {
	case group.MigrationDisabled, group.MigrationUpgrade, group.MigrationDowngrade, group.MigrationBidirectional:
		gc.MigrationPolicy = policy
	default:
		return gc, fmt.Errorf("config group.consumer.migration.policy: %q is not one of disabled, upgrade, downgrade, bidirectional", policy)
	}
	return gc, nil
}
