package brokerconf

import "sort"

// Keys is every known broker key, sorted by name: the keys Rill acts on
// (here) and the Kafka keys it accepts and ignores (table_ignored.go).
// Defaults are Kafka's except where Rill's differ (said in the doc);
// ranges are Kafka's ConfigDef validators.
var Keys = func() []Key {
	all := append(append(append([]Key{}, serverKeys...), securityKeys...), ignoredKeys...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}()

var byName = func() map[string]Key {
	m := make(map[string]Key, len(Keys))
	for _, k := range Keys {
		if _, dup := m[k.Name]; dup {
			panic("brokerconf: key " + k.Name + " is in the table twice")
		}
		m[k.Name] = k
	}
	return m
}()

// serverKeys are the broker, storage and coordinator keys Rill acts on.
var serverKeys = []Key{
	// Identity and roles.
	key("node.id", Int, "1", "This node's id in the cluster (Rill's default is 1; Kafka requires it).", atLeast(0), synonyms("broker.id")),
	key("broker.id", Int, "", "Kafka's older name for node.id: used when node.id is unset; both set must agree.", null(), atLeast(0)),
	key("process.roles", List, "broker", "The roles of this process: broker, or broker,controller (a controller-only node is refused).", oneOf("broker", "controller")),
	key("controller.quorum.voters", List, "", "The controller quorum, id@host:port,...; empty: this process is a cluster of one."),
	key("controller.listener.names", List, "", "The listeners the controller serves on (the first is the one voters dial)."),
	key("cluster.id", String, "rill-single-node", "The cluster id reported to clients.", rill()),
	key("broker.rack", String, "", "The rack of this broker, for rack-aware replica placement.", null()),

	// Listeners.
	key("listeners", List, "PLAINTEXT://127.0.0.1:9092", "The listeners, NAME://host:port,...; Rill's default listens on loopback only (Kafka's on every interface)."),
	key("advertised.listeners", List, "", "The addresses clients are told, per listener; empty: the listeners' own."),
	key("advertised.host", String, "", "The host advertised for listeners bound to a wildcard address.", rill()),
	key("listener.security.protocol.map", String, "", "NAME:PROTOCOL,... mapping listener names to security protocols; empty: Kafka's default (each protocol name maps to itself)."),
	key("inter.broker.listener.name", String, "", "The listener brokers use to reach each other; empty: from security.inter.broker.protocol.", null()),
	key("security.inter.broker.protocol", String, "", "The security protocol between brokers when inter.broker.listener.name is unset (PLAINTEXT).", oneOf("", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")),
	key("admin.listeners", String, "127.0.0.1:9644", "The admin HTTP listener (health, metrics), host:port; empty turns it off.", rill()),

	// Network.
	key("net.transport", String, "netconn", "The connection transport: netconn (goroutine per connection) or gnet (event loops; TLS and SASL listeners use netconn).", rill(), oneOf("netconn", "gnet")),
	key("net.sendfile", Bool, "false", "Serve fetches with sendfile(2) instead of a copy (measured slower on loopback, so off).", rill()),
	key("socket.request.max.bytes", Int, "104857600", "The largest request a connection may send.", atLeast(1)),
	key("max.connections", Int, "2147483647", "The most connections the broker accepts at once.", atLeast(0)),
	key("connections.max.idle.ms", Long, "600000", "Close connections idle this long."),

	// Logging.
	key("log.format", String, "text", "The broker's log format.", rill(), oneOf("text", "json")),
	key("log.index.mapped.max", Int, "0", "The most offset and time index files kept memory-mapped: the least recently used are unmapped (their writes stay in the page cache and the next flush fsyncs them) and mapped again on demand, so that a broker with many partitions stays under the kernel's per-process mapping limit. Kafka maps every index and asks for a larger vm.max_map_count instead. 0: half of /proc/sys/vm/max_map_count (32,765 at the default 65,530).", rill(), atLeast(0)),
	key("log.level", String, "info", "The broker's log level.", rill(), oneOf("debug", "info", "warn", "error")),

	// Storage.
	key("log.dirs", String, "", "The data directory; one only (JBOD is not supported). Unset: log.dir.", null(), synonyms("log.dir")),
	key("log.dir", String, "./data", "The data directory when log.dirs is unset (Rill's default is ./data)."),
	key("io_engine", String, "auto", "The write engine: uring (io_uring), pwrite, or auto (uring where the kernel allows).", rill(), oneOf("auto", "uring", "pwrite")),
	key("log.segment.bytes", Int, "1073741824", "Roll to a new segment file when the active one would grow past this size.", atLeast(14)),
	key("log.roll.ms", Long, "", "Roll to a new segment when the active one spans more than this much time; unset: log.roll.hours.", null(), atLeast(1), synonyms("log.roll.hours")),
	key("log.roll.hours", Int, "168", "log.roll.ms in hours.", atLeast(1)),
	key("log.index.interval.bytes", Int, "4096", "Log bytes between two offset index entries.", atLeast(0)),
	key("log.index.size.max.bytes", Int, "10485760", "Preallocated size of each segment's offset and time index.", atLeast(4)),
	key("log.retention.ms", Long, "", "Delete segments older than this; -1 keeps them forever. Unset: log.retention.minutes, then log.retention.hours.", null(), atLeast(-1), synonyms("log.retention.minutes", "log.retention.hours")),
	key("log.retention.minutes", Int, "", "log.retention.ms in minutes.", null()),
	key("log.retention.hours", Int, "168", "log.retention.ms in hours."),
	key("log.retention.bytes", Long, "-1", "Delete the oldest segments while a partition is larger than this; -1: no limit.", atLeast(-1)),
	key("log.retention.check.interval.ms", Long, "300000", "How often retention is applied.", atLeast(1)),
	key("log.cleanup.policy", List, "delete", "The default cleanup policy: delete, compact, or both.", oneOf("delete", "compact")),
	key("log.cleaner.delete.retention.ms", Long, "86400000", "How long tombstones of compacted topics are kept.", atLeast(0)),
	key("log.cleaner.min.compaction.lag.ms", Long, "0", "Records younger than this are never compacted.", atLeast(0)),
	key("log.cleaner.backoff.ms", Long, "15000", "How long the cleaner sleeps when there is nothing to clean.", atLeast(0)),
	key("log.flush.interval.messages", Long, "9223372036854775807", "fsync after this many records; 1 fsyncs every append before it is acknowledged.", atLeast(1)),
	key("log.flush.interval.ms", Long, "", "fsync data older than this; unset: log.flush.scheduler.interval.ms.", null(), atLeast(0)),
	key("log.flush.scheduler.interval.ms", Long, "9223372036854775807", "How often the flusher checks which logs need an fsync."),
	key("log.flush.offset.checkpoint.interval.ms", Int, "60000", "How often the recovery point checkpoints are written.", atLeast(0)),
	key("log.segment.delete.delay.ms", Long, "60000", "How long a deleted segment file stays before it is removed.", atLeast(0)),
	key("log.open.files.max", Int, "0", "The most segment log file descriptors kept open: idle ones are closed (fsynced first when they hold unsynced data) and reopened on demand, so a broker can hold more partitions than its open-file limit. 0: no cap (Kafka keeps every segment open).", rill(), atLeast(0)),
	key("log.message.timestamp.type", String, "CreateTime", "CreateTime keeps producers' timestamps; LogAppendTime stamps batches with the broker's clock.", oneOf("CreateTime", "LogAppendTime")),
	key("compression.type", String, "producer", "The default codec partition leaders store batches in: producer keeps each producer's codec; uncompressed, gzip, snappy, lz4 or zstd recompress batches in another codec before they are written (control batches never). Topics override it with compression.type.", oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
	key("compression.gzip.level", Int, "-1", "The gzip level when compression.type is gzip: 1..9, or -1 for the library's default.", between(-1, 9)),
	key("compression.lz4.level", Int, "9", "The lz4 level when compression.type is lz4: 1..17 (Rill's encoder compresses levels above 9 at 9).", between(1, 17)),
	key("compression.zstd.level", Int, "3", "The zstd level when compression.type is zstd: -131072..22 (Rill's encoder has four speeds: below 3, 3..5, 6..9 and 10 up).", between(-131072, 22)),
	key("message.max.bytes", Int, "1048588", "The largest record batch a topic accepts.", atLeast(0)),
	key("min.insync.replicas", Int, "1", "With acks=all, the fewest in-sync replicas a leader accepts a write with.", atLeast(1)),
	key("unclean.leader.election.enable", Bool, "false", "Whether a replica outside the ISR may become leader when the whole ISR is dead."),

	// Topics.
	key("num.partitions", Int, "1", "Partitions of an automatically created topic, or one created without a count.", atLeast(1)),
	key("default.replication.factor", Int, "1", "Replication factor of automatically created topics, or those created without one.", atLeast(1)),
	key("auto.create.topics.enable", Bool, "true", "Create a topic when a client asks for its metadata or produces to it."),

	// Replication and the cluster runtime.
	key("broker.heartbeat.interval.ms", Int, "2000", "How often a broker heartbeats to the controller.", atLeast(1)),
	key("broker.session.timeout.ms", Int, "9000", "A broker without a heartbeat this long is fenced.", atLeast(1)),
	key("replica.lag.time.max.ms", Long, "30000", "A follower that has not caught up for this long leaves the ISR.", atLeast(1)),
	key("replica.fetch.wait.max.ms", Int, "500", "The longest a follower's fetch waits for data.", atLeast(0)),
	key("replica.fetch.max.bytes", Int, "1048576", "Bytes a follower fetches per partition.", atLeast(0)),
	key("replica.high.watermark.checkpoint.interval.ms", Long, "5000", "How often high watermarks are checkpointed.", atLeast(1)),
	key("auto.leader.rebalance.enable", Bool, "true", "Move leadership back to preferred replicas periodically."),
	key("leader.imbalance.check.interval.seconds", Long, "300", "How often leadership balance is checked.", atLeast(1)),
	key("metadata.snapshot.interval.entries", Long, "1000", "Snapshot the metadata log every this many records.", rill(), atLeast(1)),

	// Consumer groups.
	key("offsets.topic.num.partitions", Int, "50", "Partitions of __consumer_offsets.", between(1, 65536)),
	key("offsets.topic.replication.factor", Short, "3", "Replication factor of __consumer_offsets (capped at the live brokers).", atLeast(1)),
	key("offsets.retention.minutes", Int, "10080", "How long committed offsets of empty groups are kept.", atLeast(1)),
	key("offsets.retention.check.interval.ms", Long, "600000", "How often stale offsets are removed.", atLeast(1)),
	key("offset.metadata.max.bytes", Int, "4096", "The largest metadata string an offset commit may carry."),
	key("group.initial.rebalance.delay.ms", Int, "3000", "How long a new classic group waits for more members before its first rebalance.", atLeast(0)),
	key("group.min.session.timeout.ms", Int, "6000", "The shortest session timeout a classic group member may ask for.", atLeast(0)),
	key("group.max.session.timeout.ms", Int, "1800000", "The longest session timeout a classic group member may ask for.", atLeast(0)),
	key("group.max.size", Int, "2147483647", "The most members a group may have.", atLeast(1)),
	key("group.consumer.session.timeout.ms", Int, "45000", "Session timeout of consumer-protocol (KIP-848) group members.", atLeast(1)),
	key("group.consumer.heartbeat.interval.ms", Int, "5000", "Heartbeat interval of consumer-protocol (KIP-848) group members.", atLeast(1)),
	key("group.consumer.migration.policy", String, "bidirectional", "Online migration between classic and consumer-protocol (KIP-848) groups: a classic group with members becomes a consumer group when a consumer-protocol member joins it (upgrade, bidirectional), and a consumer group whose last consumer-protocol member leaves becomes classic again (downgrade, bidirectional).", oneOf("disabled", "upgrade", "downgrade", "bidirectional")),
	key("group.share.session.timeout.ms", Int, "45000", "Session timeout of share group (KIP-932) members; a group's share.session.timeout.ms overrides it.", atLeast(1)),
	key("group.share.min.session.timeout.ms", Int, "45000", "The shortest share.session.timeout.ms a share group may set.", atLeast(1)),
	key("group.share.max.session.timeout.ms", Int, "60000", "The longest share.session.timeout.ms a share group may set.", atLeast(1)),
	key("group.share.heartbeat.interval.ms", Int, "5000", "Heartbeat interval of share group (KIP-932) members; a group's share.heartbeat.interval.ms overrides it.", atLeast(1)),
	key("group.share.min.heartbeat.interval.ms", Int, "5000", "The shortest share.heartbeat.interval.ms a share group may set.", atLeast(1)),
	key("group.share.max.heartbeat.interval.ms", Int, "15000", "The longest share.heartbeat.interval.ms a share group may set.", atLeast(1)),
	key("group.share.max.size", Short, "200", "The most members a share group may have.", between(1, 1000)),
	key("group.share.record.lock.duration.ms", Int, "30000", "How long a share group member holds records it acquired before they go back to the others; a group's share.record.lock.duration.ms overrides it.", atLeast(1)),
	key("group.share.min.record.lock.duration.ms", Int, "15000", "The shortest share.record.lock.duration.ms a share group may set.", atLeast(1)),
	key("group.share.max.record.lock.duration.ms", Int, "60000", "The longest share.record.lock.duration.ms a share group may set.", atLeast(1)),
	key("group.share.delivery.count.limit", Int, "5", "Deliveries of a record to share group members after which it is archived instead of offered again; a group's share.delivery.count.limit overrides it.", between(2, 10)),
	key("group.share.partition.max.record.locks", Int, "2000", "The most records in flight (acquired, or released and not yet redelivered) in one share partition; a group's share.partition.max.record.locks overrides it.", between(100, 10000)),
	key("group.share.max.share.sessions", Int, "2000", "The most share sessions (ShareFetch sessions of share group members) one broker keeps.", atLeast(1)),

	// Transactions.
	key("transaction.state.log.num.partitions", Int, "50", "Partitions of __transaction_state.", between(1, 65536)),
	key("transaction.state.log.replication.factor", Short, "3", "Replication factor of __transaction_state (capped at the live brokers).", atLeast(1)),
	key("transaction.state.log.min.isr", Int, "2", "min.insync.replicas of __transaction_state.", between(1, 32767)),
	key("transaction.max.timeout.ms", Int, "900000", "The longest transaction timeout a producer may ask for.", atLeast(1)),
	key("transactional.id.expiration.ms", Int, "604800000", "A transactional id unused this long is forgotten.", atLeast(1)),
	key("transaction.abort.timed.out.transaction.cleanup.interval.ms", Int, "10000", "How often timed-out transactions are aborted.", atLeast(1)),
	key("transaction.remove.expired.transaction.cleanup.interval.ms", Int, "3600000", "How often expired transactional ids are removed.", atLeast(1)),
	key("transaction.version", Short, "2", "The level a new cluster finalizes Kafka's transaction.version feature at: 0, 1 or 2 (KIP-890); the metadata log keeps it from then on, and UpdateFeatures (kafka-features.sh) changes it.", rill(), between(0, 2)),

	// The share coordinator (KIP-932).
	key("share.coordinator.state.topic.num.partitions", Int, "50", "Partitions of __share_group_state.", between(1, 65536)),
	key("share.coordinator.state.topic.replication.factor", Short, "3", "Replication factor of __share_group_state (capped at the live brokers).", atLeast(1)),
	key("share.coordinator.state.topic.min.isr", Short, "2", "min.insync.replicas of __share_group_state.", between(1, 32767)),

	key("max.request.partition.size.limit", Int, "2000", "The most partitions one DescribeTopicPartitions answer holds (KIP-966); clients page through the rest.", atLeast(1)),

	// Fetch sessions (KIP-227).
	key("max.incremental.fetch.session.cache.slots", Int, "1000", "Incremental fetch sessions cached (0: every fetch is answered sessionless).", atLeast(0)),
	key("min.incremental.fetch.session.eviction.ms", Int, "120000", "How long a fetch session is safe from eviction after its creation and its last use.", atLeast(0)),

	// Quotas.
	key("quota.window.num", Int, "11", "Samples kept for client quotas.", between(1, 65536)),
	key("quota.window.size.seconds", Int, "1", "The span of one client quota sample.", between(1, 3600)),
	key("controller.quota.window.num", Int, "11", "Samples kept for controller mutation quotas.", between(1, 65536)),
	key("controller.quota.window.size.seconds", Int, "1", "The span of one controller mutation quota sample.", between(1, 3600)),

	// Authorization.
	key("authorizer.class.name", String, "", "The authorizer: empty (none) or org.apache.kafka.metadata.authorizer.StandardAuthorizer."),
	key("super.users", String, "", "Principals allowed everything, User:a;User:b."),
	key("allow.everyone.if.no.acl.found", Bool, "false", "Allow access to resources no ACL names."),
}
