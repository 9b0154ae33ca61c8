package handler

// The notes column of docs/protocol.md's API table, one per row of the
// API table (api_table.go), and the keys Kafka 4.2 serves that Rill does
// not. protocolMarkdown renders both; TestProtocolDoc keeps the document
// equal to it (go test ./netserver/handler -run TestProtocolDoc -update).

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiNotes is each served key's behaviour in a line.
var apiNotes = map[int16]string{
	0:  "one RecordBatch v2 per partition, below v7 not zstd-compressed (UNSUPPORTED_COMPRESSION_TYPE, KIP-110, as Kafka's ProduceRequest.validateRecords); acks 0/1/-1 (in a cluster -1 waits for the ISR, `min.insync.replicas`: NOT_ENOUGH_REPLICAS); idempotent dedupe (last 5 batches per producer); LogAppendTime; transactional batches, the first of a transaction verified with the coordinator (KIP-890 part 1: INVALID_TXN_STATE), or from v12 under transaction version 2 added to the transaction by the leader (KIP-890 part 2); v13 topics by id (KIP-516: UNKNOWN_TOPIC_ID)",
	1:  "long poll (MaxWait/MinBytes), MaxBytes and PartitionMaxBytes, KIP-74 first batch; incremental fetch sessions (KIP-227, below); topic IDs v13+; consumers read below the high watermark (read_committed: below the last stable offset, with the aborted transactions of the range); follower fetches (replica id, v15 ReplicaState) with DivergingEpoch (v12+); v17-v18 only add KRaft voters' tagged fields, ignored as by Kafka's brokers; batches as stored, zstd at every version: Kafka 4 dropped 2.1-3.9's UNSUPPORTED_COMPRESSION_TYPE below v10 for `compression.type=zstd` topics (KAFKA-18269)",
	2:  "earliest (-2), latest (-1, the high watermark; the last stable offset for read_committed), max timestamp (-3), earliest local (-4), by timestamp; no tiered storage: latest tiered (-5, v9+) and earliest pending upload (-6, v11+) answer -1 as Kafka without remote storage; a timestamp below its version UNSUPPORTED_VERSION, a duplicated partition INVALID_REQUEST; leader epochs checked in a cluster",
	3:  "real topic IDs; auto topic creation (`auto.create.topics.enable`, `num.partitions`), asynchronous as Kafka: LEADER_NOT_AVAILABLE with no partitions until the topic exists; brokers at their advertised address on the client's listener, those without it left out",
	8:  "appended to `__consumer_offsets` and fsynced (in a cluster on every ISR member) before the answer; generation -1 for groups without members; v10 topic IDs",
	9:  "unknown group/partition: -1 and no error; all offsets with null topics; RequireStable (v7+: UNSTABLE_OFFSET_COMMIT while transactional offsets are pending); v8 batched groups; v9 member epochs (KIP-848); v10 topic IDs",
	10: "the leader of the group's `__consumer_offsets` partition, the transactional id's `__transaction_state` partition or (key type 2, v6, CLUSTER_ACTION) the share partition's `__share_group_state` partition; creates the internal topic on first use; v4 batched keys; the address on the client's listener (COORDINATOR_NOT_AVAILABLE if the coordinator lacks it)",
	11: "blocks until the rebalance completes; MEMBER_ID_REQUIRED (v4+); static membership (v5+); initial rebalance delay; SkipAssignment (v9)",
	12: "REBALANCE_IN_PROGRESS asks members to rejoin",
	13: "v3+ batch leave by member or instance id",
	14: "the leader's assignment is persisted before members are answered",
	15: "unknown groups are Dead (v6: GROUP_ID_NOT_FOUND); KIP-848 groups shown with their assignments in consumer-protocol encoding; share groups are Dead (v6: GROUP_ID_NOT_FOUND) as Kafka",
	16: "state filter (v4), type filter classic/consumer/share (v5)",
	17: "on SASL listeners, per connection (`docs/security.md`): the enabled mechanisms, UNSUPPORTED_SASL_MECHANISM then close; v0 raw tokens; after authentication starts a KIP-368 re-authentication; elsewhere ILLEGAL_SASL_STATE",
	18: "KIP-511 v0 fallback for versions we do not know; features: `transaction.version` supported 0-2 and `share.version` 0-1 (0 leaves the share-group APIs out, and they answer UNSUPPORTED_VERSION), finalized as the metadata log has it (a new cluster at the `transaction.version` config, 2), epoch = metadata offset; answered once the broker has applied the metadata, as every request; v5 (KIP-1242, Kafka 4.4): a client naming another cluster or node REBOOTSTRAP_REQUIRED, naming only one INVALID_REQUEST",
	19: "-1 defaults, validate-only, config validation, v5+ configs in the answer",
	20: "by name or topic ID; through the controller in a cluster",
	21: "moves the log start offset",
	22: "idempotent producers (IDs from controller-allocated blocks; KIP-360 epoch bump); transactional IDs: the coordinator bumps the epoch, fencing older producers and aborting their open transaction (PRODUCER_FENCED from v4)",
	23: "answered from the partition's leader epochs (`leader-epoch-checkpoint`); FENCED/UNKNOWN_LEADER_EPOCH checks against the current epoch",
	24: "v4+ batched transactions and verify-only (sent by partition leaders, KIP-890)",
	25: "the group's `__consumer_offsets` partition joins the transaction",
	26: "PrepareCommit/PrepareAbort written, then markers to every partition, answered once complete; v5 (transaction version 2): the epoch bumps at every end",
	27: "coordinator → partition leader; COMMIT/ABORT control batches with acks=all; applies transactional offsets on `__consumer_offsets`; v2 (KIP-1228) TransactionVersion per marker: a TV2 marker whose epoch is not above the producer's is INVALID_PRODUCER_EPOCH, except at that epoch with no transaction open (a resent marker: answered as written, not written again, as Kafka since KAFKA-19999); Rill's coordinator sends each transaction's version",
	28: "pending until the transaction's marker; KIP-447 member/generation checks; v5 under transaction version 2 adds the group's partition to the transaction; v6 (KIP-1319, Kafka 4.4) topics by id (UNKNOWN_TOPIC_ID)",
	29: "MATCH and ANY filters; DESCRIBE on the cluster; SECURITY_DISABLED without `authorizer.class.name`",
	30: "stored in the metadata log through the controller (duplicates skipped); ALTER on the cluster",
	31: "filters matched at the controller; ALTER on the cluster",
	32: "topics: sources (dynamic topic, static broker, default), synonyms, types, docs; brokers: every key of the config table with its source; broker loggers: the run-time log levels; groups: every group config with its override (DYNAMIC_GROUP_CONFIG) or default",
	33: "topic and group resources",
	35: "partition sizes, total/usable bytes; v5 (KIP-1066, Kafka 4.3) IsCordoned always false: no cordoned directories",
	36: "PLAIN, SCRAM-SHA-256/512, OAUTHBEARER; SASL_AUTHENTICATION_FAILED then close (after `connection.failed.authentication.delay.ms`); v1+ session lifetime (`connections.max.reauth.ms`, token expiry)",
	37: "through the controller in a cluster",
	42: "empty groups only, with their offsets",
	43: "preferred and unclean elections through the controller",
	44: "topics: SET, DELETE, APPEND, SUBTRACT; groups: SET, DELETE; broker loggers: SET, DELETE (log levels); broker configs are static (INVALID_REQUEST)",
	45: "through the controller; cancel with null replicas",
	46: "from the broker's copy of the metadata",
	47: "not for topics a live consumer group subscribes to",
	48: "exact, default and any filters, strict; DESCRIBE_CONFIGS on the cluster",
	49: "forwarded to the active controller (Kafka's validation and messages), validate_only; ALTER_CONFIGS on the cluster",
	50: "mechanisms and iterations per user (never salts or keys); any client without an authorizer, else DESCRIBE on the cluster",
	51: "salted passwords (4096-16384 iterations) stored as StoredKey/ServerKey in the metadata log; Kafka's per-user errors",
	55: "forwarded to the active controller: leader, epoch, high watermark (metadata offsets), voters with match index and last fetch/caught-up times, brokers as observers at their last heartbeat; v2 controller listeners",
	57: "forwarded to the active controller: `transaction.version` finalized in the metadata log, all or nothing with Kafka's upgrade types and INVALID_UPDATE_VERSION reasons",
	60: "brokers at their address on the client's listener",
	61: "a partition leader's producers: epoch, last sequence, coordinator epoch, open transaction's first offset",
	65: "from the transactional id's coordinator",
	66: "state, producer id, (v1) duration and (v2, KIP-1152) transactional id pattern filters (whole-id match; INVALID_REGULAR_EXPRESSION), per broker",
	68: "KIP-848 groups: server-side `uniform` and `range` assignors, revoke-before-reassign",
	69: "epochs, current and target assignment per member",
	76: "share groups (KIP-932): client-named members, server-side `simple` assignor (a partition shared by several members when they outnumber its topic's partitions), no revocation step; on while the `share.version` feature is 1",
	77: "group and assignment epochs, members with their subscriptions and assignments; all-or-nothing topic DESCRIBE as Kafka",
	74: "v1 (KIP-1142): topics, brokers, broker loggers and groups with config overrides by type; no client-metrics resources (no telemetry receiver); a type outside the version's set UNSUPPORTED_VERSION",
	75: "KIP-966 paging (`ResponsePartitionLimit`, cursor; `max.request.partition.size.limit`), no eligible leader replicas",
	78: "share sessions per member and connection (epoch 0 opens, -1 closes; a closed connection releases the member's records); acknowledgements first, written to the share coordinator before the answer; batch-optimized or record-limit acquisition (v2, KIP-1206), BatchSize pieces; IsRenewAck (v2, KIP-1222); long poll woken by produce, release and lock expiry; `docs/design/share-groups.md`",
	79: "accept/release/reject/gap, renew with IsRenewAck (v2); written to the share coordinator before the answer; the share session's epoch advances as with ShareFetch",
	83: "share coordinator (`__share_group_state`, one whole-state record per share partition, compacted); a new state epoch replaces the state; FENCED_STATE_EPOCH; CLUSTER_ACTION",
	84: "FENCED_LEADER_EPOCH below the recorded leader epoch, a higher one recorded before the answer; never initialized: INVALID_REQUEST (Kafka 4.2); CLUSTER_ACTION",
	85: "batches merged as Kafka's combiner (higher delivery count, then state, wins per offset; below the start offset dropped); FENCED_LEADER_EPOCH / FENCED_STATE_EPOCH; v1 delivery-complete count (KIP-1226); CLUSTER_ACTION",
	86: "a tombstone per share partition; absent ones succeed; CLUSTER_ACTION",
	87: "state and leader epochs, start offset, v1 delivery-complete count (KIP-1226); never initialized: start offset -1; CLUSTER_ACTION",
	90: "start offset per share partition and (v1, KIP-1226) lag: records below the high watermark not yet acknowledged or archived; null topics: every topic the group has state for",
	91: "empty share groups only (NON_EMPTY_GROUP); the share partition's state is initialized again at the offset under the next state epoch, fencing its leader",
	92: "empty share groups only; deletes the state of every partition of the topics",
}

// kafkaNames are Kafka's names where kmsg's differ (its initialisms).
var kafkaNames = map[int16]string{
	17: "SaslHandshake", 22: "InitProducerId", 29: "DescribeAcls", 30: "CreateAcls", 31: "DeleteAcls",
	36: "SaslAuthenticate", 45: "AlterPartitionReassignments", 50: "DescribeUserScramCredentials", 51: "AlterUserScramCredentials",
}

// leftOut is every key (or version range) Kafka 4.2's brokers advertise
// that Rill does not, and why. Kafka 4.2's list is franz-go's
// kversion.V4_2_0 (each bump cites its Kafka commit and KIP).
var leftOut = []struct {
	keys, what, why string
}{
	{"34", "AlterReplicaLogDirs", "one log directory per broker (JBOD is not supported: `log.dirs` takes one), so there is no other directory to move a replica to"},
	{"38-41", "Create/Renew/Expire/DescribeDelegationToken", "no delegation tokens: SASL authenticates with PLAIN, SCRAM or OAUTHBEARER only"},
	{"64", "UnregisterBroker", "not yet: a broker's registration stays in the metadata until it registers again; removing a dead broker (Kafka takes it out of every ISR and its registration out of the image, kafka-cluster.sh unregister) is not built"},
	{"71, 72", "GetTelemetrySubscriptions, PushTelemetry", "no client telemetry receiver (KIP-714); Kafka also leaves both out of ApiVersions when no receiver is configured (ApiVersionsResponse `clientTelemetryEnabled`)"},
	{"80, 81", "AddRaftVoter, RemoveRaftVoter", "the controller quorum is static (`controller.quorum.voters`; KIP-853's dynamic quorum is not supported, `docs/design/replication.md`)"},
	{"88, 89", "StreamsGroupHeartbeat, StreamsGroupDescribe", "not yet: no streams groups (KIP-1071)"},
}

// protocolMarkdown is the API table and the left-out list of
// docs/protocol.md.
func protocolMarkdown() string {
	var b strings.Builder
	b.WriteString("| key | API | versions | notes |\n|---|---|---|---|\n")
	for _, a := range apis {
		versions := fmt.Sprintf("%d-%d", a.min, a.max)
		if a.min == a.max {
			versions = fmt.Sprint(a.min)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", a.key, cmp.Or(kafkaNames[a.key], kmsg.NameForKey(a.key)), versions, escapeCell(apiNotes[a.key]))
	}
	b.WriteString("\n### Left out\n\nKeys and versions Kafka 4.2's brokers advertise that Rill does not serve:\n\n")
	b.WriteString("| keys | API | why |\n|---|---|---|\n")
	for _, l := range leftOut {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", l.keys, l.what, escapeCell(l.why))
	}
	return b.String()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
