package handler

// Group configs: per-group overrides of the group coordinator's settings
// (KIP-848, KIP-932, KIP-1071), the GROUP (32) config resource of
// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs. The names,
// types and checks are Kafka's GroupConfig; an override is stored in the
// metadata log through the active controller (replication/controller
// groupconfigs.go), so it holds on every broker of the cluster and across
// restarts. Neither the group nor its coordinator need exist: Kafka lets a
// group be configured before its first member joins, and DeleteGroups
// leaves its configs in place (Kafka's DeleteGroups removes the group's
// offsets and state, not its config resource).
//
// Validation, as Kafka's GroupConfig.validate: an unknown name, a value
// that does not parse or is below the name's floor, an override outside
// the broker's bounds for it (group.consumer.min/max.*,
// group.share.min/max.*, group.streams.*), and a session timeout not
// above its heartbeat interval are INVALID_CONFIG with Kafka's message.
// Where Kafka checks the whole set, defaults included, Rill checks the
// overrides and, for the session/heartbeat pairs, the effective values
// (override, else the broker's default): a broker whose defaults are
// outside Kafka's bounds still accepts overrides of other names.
//
// The bounds and the share and streams defaults are Kafka 4.2's broker
// defaults (groupConfigLimits): the broker has no group.consumer.min/max.*,
// group.share.* or group.streams.* settings yet. The consumer defaults are
// the broker's group.consumer.session.timeout.ms and
// group.consumer.heartbeat.interval.ms.
//
// Beyond Kafka 4.2's GroupConfig, Rill knows share.delivery.count.limit
// and share.partition.max.record.locks (KIP-1240, Kafka 4.3) and
// share.acquire.mode (batch_optimized, record_limit), which the share
// partitions read.

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Group config names.
const (
	GroupConsumerSessionTimeout       = "consumer.session.timeout.ms"
	GroupConsumerHeartbeatInterval    = "consumer.heartbeat.interval.ms"
	GroupShareSessionTimeout          = "share.session.timeout.ms"
	GroupShareHeartbeatInterval       = "share.heartbeat.interval.ms"
	GroupShareRecordLockDuration      = "share.record.lock.duration.ms"
	GroupShareDeliveryCountLimit      = "share.delivery.count.limit"
	GroupSharePartitionMaxRecordLocks = "share.partition.max.record.locks"
	GroupShareAutoOffsetReset         = "share.auto.offset.reset"
	GroupShareIsolationLevel          = "share.isolation.level"
	GroupShareAcquireMode             = "share.acquire.mode"
	GroupStreamsSessionTimeout        = "streams.session.timeout.ms"
	GroupStreamsHeartbeatInterval     = "streams.heartbeat.interval.ms"
	GroupStreamsNumStandbyReplicas    = "streams.num.standby.replicas"
	GroupStreamsInitialRebalanceDelay = "streams.initial.rebalance.delay.ms"
)

// groupConfigLimits are the broker settings that give group configs
// their defaults and bounds, by the broker key Kafka names in its
// messages.
type groupConfigLimits struct {
	defaults map[string]string
	// bounds are [min, max] of an INT config, each the broker key that
	// sets it and its value.
	bounds map[string][2]groupBound
}

type groupBound struct {
	key   string
	value int64
}

// groupConfigLimits are this broker's: the consumer defaults from its
// group coordinator settings, the rest Kafka 4.2's broker defaults.
func (b *Broker) groupConfigLimits() groupConfigLimits {
	sc := b.sharePartDefaults()
	ms := func(d int64) string { return strconv.FormatInt(d, 10) }
	consumerSession, consumerHeartbeat := b.cfg.Groups.ConsumerSessionTimeout.Milliseconds(), b.cfg.Groups.ConsumerHeartbeatInterval.Milliseconds()
	if consumerSession <= 0 {
		consumerSession = 45000
	}
	if consumerHeartbeat <= 0 {
		consumerHeartbeat = 5000
	}
	bound := func(minKey string, lo int64, maxKey string, hi int64) [2]groupBound {
		return [2]groupBound{{minKey, lo}, {maxKey, hi}}
	}
	return groupConfigLimits{
		defaults: map[string]string{
			GroupConsumerSessionTimeout:       ms(consumerSession),
			GroupConsumerHeartbeatInterval:    ms(consumerHeartbeat),
			GroupShareSessionTimeout:          ms(orMillis(b.cfg.Groups.ShareSessionTimeout, 45000)),
			GroupShareHeartbeatInterval:       ms(orMillis(b.cfg.Groups.ShareHeartbeatInterval, 5000)),
			GroupShareRecordLockDuration:      ms(sc.LockDuration.Milliseconds()),
			GroupShareDeliveryCountLimit:      ms(int64(sc.DeliveryLimit)),
			GroupSharePartitionMaxRecordLocks: ms(sc.MaxInFlight),
			GroupShareAutoOffsetReset:         "latest",
			GroupShareIsolationLevel:          "read_uncommitted",
			GroupShareAcquireMode:             "batch_optimized",
			GroupStreamsSessionTimeout:        "45000",
			GroupStreamsHeartbeatInterval:     "5000",
			GroupStreamsNumStandbyReplicas:    "0",
			GroupStreamsInitialRebalanceDelay: "3000",
		},
		bounds: map[string][2]groupBound{
			GroupConsumerSessionTimeout:       bound("group.consumer.min.session.timeout.ms", 45000, "group.consumer.max.session.timeout.ms", 60000),
			GroupConsumerHeartbeatInterval:    bound("group.consumer.min.heartbeat.interval.ms", 5000, "group.consumer.max.heartbeat.interval.ms", 15000),
			GroupShareSessionTimeout:          bound("group.share.min.session.timeout.ms", orMillis(b.cfg.Groups.ShareMinSessionTimeout, 45000), "group.share.max.session.timeout.ms", orMillis(b.cfg.Groups.ShareMaxSessionTimeout, 60000)),
			GroupShareHeartbeatInterval:       bound("group.share.min.heartbeat.interval.ms", orMillis(b.cfg.Groups.ShareMinHeartbeatInterval, 5000), "group.share.max.heartbeat.interval.ms", orMillis(b.cfg.Groups.ShareMaxHeartbeatInterval, 15000)),
			GroupShareRecordLockDuration:      bound("group.share.min.record.lock.duration.ms", orMillis(b.cfg.Share.MinRecordLockDuration, 15000), "group.share.max.record.lock.duration.ms", orMillis(b.cfg.Share.MaxRecordLockDuration, 60000)),
			GroupShareDeliveryCountLimit:      bound("group.share.min.delivery.count.limit", 2, "group.share.max.delivery.count.limit", 10),
			GroupSharePartitionMaxRecordLocks: bound("group.share.min.partition.max.record.locks", 100, "group.share.max.partition.max.record.locks", 10000),
			GroupStreamsSessionTimeout:        bound("group.streams.min.session.timeout.ms", 45000, "group.streams.max.session.timeout.ms", 60000),
			GroupStreamsHeartbeatInterval:     bound("group.streams.min.heartbeat.interval.ms", 5000, "group.streams.max.heartbeat.interval.ms", 15000),
			GroupStreamsNumStandbyReplicas:    bound("", 0, "group.streams.max.standby.replicas", 2),
		},
	}
}

// groupConfigDef is one group config: its type, the least value an INT
// may have whatever the broker's bounds (Kafka's ConfigDef validator), or
// the check of a STRING.
type groupConfigDef struct {
	typ   kmsg.ConfigType
	floor int64
	check func(string) error
	doc   string
}

// groupConfigDefs are the group configs, by name.
var groupConfigDefs = map[string]groupConfigDef{
	GroupConsumerSessionTimeout:    {typ: kmsg.ConfigTypeInt, floor: 1, doc: "The timeout to detect client failures when using the consumer group protocol."},
	GroupConsumerHeartbeatInterval: {typ: kmsg.ConfigTypeInt, floor: 1, doc: "The heartbeat interval given to the members of a consumer group."},
	GroupShareSessionTimeout:       {typ: kmsg.ConfigTypeInt, floor: 1, doc: "The timeout to detect client failures when using the share group protocol."},
	GroupShareHeartbeatInterval:    {typ: kmsg.ConfigTypeInt, floor: 1, doc: "The heartbeat interval given to the members of a share group."},
	GroupShareRecordLockDuration:   {typ: kmsg.ConfigTypeInt, floor: 1000, doc: "The record acquisition lock duration in milliseconds for share groups."},
	GroupShareDeliveryCountLimit:   {typ: kmsg.ConfigTypeInt, floor: 2, doc: "The maximum number of delivery attempts for a record delivered to a share group."},
	GroupSharePartitionMaxRecordLocks: {typ: kmsg.ConfigTypeInt, floor: 100,
		doc: "The maximum number of records that can be acquired (in flight) at once in one share-partition of the group."},
	GroupShareAutoOffsetReset: {typ: kmsg.ConfigTypeString, check: checkShareAutoOffsetReset,
		doc: "The strategy to initialize the share-partition start offset: earliest, latest, or by_duration:<ISO-8601 duration, PnDTnHnMn.nS, not negative> (the offset of the first record at least that old)."},
	GroupShareIsolationLevel: {typ: kmsg.ConfigTypeString, check: oneOfGroupValues(GroupShareIsolationLevel, "read_committed", "read_uncommitted"),
		doc: "Controls how to read records written transactionally: read_committed delivers only committed transactional records, read_uncommitted all records."},
	GroupShareAcquireMode: {typ: kmsg.ConfigTypeString, check: oneOfGroupValues(GroupShareAcquireMode, "batch_optimized", "record_limit"),
		doc: "How records are acquired for the group's members: batch_optimized acquires whole batches, record_limit at most the records a fetch asks for."},
	GroupStreamsSessionTimeout:        {typ: kmsg.ConfigTypeInt, floor: 1, doc: "The timeout to detect client failures when using the streams group protocol."},
	GroupStreamsHeartbeatInterval:     {typ: kmsg.ConfigTypeInt, floor: 1, doc: "The heartbeat interval given to the members of a streams group."},
	GroupStreamsNumStandbyReplicas:    {typ: kmsg.ConfigTypeInt, floor: 0, doc: "The number of standby replicas for each task."},
	GroupStreamsInitialRebalanceDelay: {typ: kmsg.ConfigTypeInt, floor: 0, doc: "The amount of time the group coordinator will wait for more streams clients to join a new group before performing the first rebalance."},
}

// groupConfigNames are the group config names in order.
var groupConfigNames = slices.Sorted(maps.Keys(groupConfigDefs))

// groupSessionPairs are the session timeouts that must exceed their
// heartbeat intervals.
var groupSessionPairs = [][2]string{
	{GroupConsumerSessionTimeout, GroupConsumerHeartbeatInterval},
	{GroupShareSessionTimeout, GroupShareHeartbeatInterval},
	{GroupStreamsSessionTimeout, GroupStreamsHeartbeatInterval},
}

func oneOfGroupValues(name string, values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("Invalid value %s for configuration %s: String must be one of: %s", v, name, strings.Join(values, ", "))
		}
		return nil
	}
}

// isoDuration is java.time.Duration's text form (case-insensitive):
// days, hours, minutes and seconds with up to nine decimals, each signed.
var isoDuration = regexp.MustCompile(`(?i)^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$`)

// checkShareAutoOffsetReset accepts earliest, latest and
// by_duration:<non-negative ISO-8601 duration>, as Kafka's
// ShareGroupAutoOffsetResetStrategy (case-insensitive, as it is).
func checkShareAutoOffsetReset(v string) error {
	lower := strings.ToLower(v)
	if lower == "earliest" || lower == "latest" {
		return nil
	}
	if d, ok := strings.CutPrefix(lower, "by_duration:"); ok {
		neg, err := parseISODurationSign(strings.TrimSpace(d))
		if err != nil {
			return fmt.Errorf("Invalid value %s for configuration %s: %v", v, GroupShareAutoOffsetReset, err)
		}
		if neg {
			return fmt.Errorf("Invalid value %s for configuration %s: Negative duration is not supported.", v, GroupShareAutoOffsetReset)
		}
		return nil
	}
	return fmt.Errorf("Invalid value %s for configuration %s: the valid values are earliest, latest and by_duration:PnDTnHnMn.nS", v, GroupShareAutoOffsetReset)
}

// parseISODurationSign parses an ISO-8601 duration as java.time.Duration
// does and reports whether it is negative.
func parseISODurationSign(s string) (negative bool, err error) {
	m := isoDuration.FindStringSubmatch(s)
	// At least one section, and a T followed by one.
	if m == nil || (m[2] == "" && m[3] == "") || (m[3] != "" && m[4] == "" && m[5] == "" && m[6] == "") {
		return false, fmt.Errorf("Unable to parse %s as an ISO-8601 duration", s)
	}
	var nanos, secs float64
	for i, unit := range map[int]float64{2: 86400, 4: 3600, 5: 60, 6: 1} {
		if m[i] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i], 10, 64)
		if err != nil {
			return false, fmt.Errorf("Unable to parse %s as an ISO-8601 duration", s)
		}
		secs += float64(n) * unit
	}
	if m[7] != "" {
		frac, _ := strconv.ParseFloat("0."+m[7], 64)
		nanos = frac
		if strings.HasPrefix(m[6], "-") {
			nanos = -nanos
		}
	}
	total := secs + nanos
	if m[1] == "-" {
		total = -total
	}
	return total < 0, nil
}

// groupConfig is a group's config overrides (nil: none): one map lookup
// in this broker's metadata image, cheap to call on every request. The
// map is shared and must not be changed.
func (b *Broker) groupConfig(group string) map[string]string {
	if b.cluster == nil {
		return nil
	}
	return b.cluster.GroupConfig(group)
}

// groupConfigValue is a group config's effective value: its override,
// else the broker's default.
func (b *Broker) groupConfigValue(group, name string) string {
	if v, ok := b.groupConfig(group)[name]; ok {
		return v
	}
	return b.groupConfigLimits().defaults[name]
}

// validateGroupConfigs checks a group's whole new override set; the error
// is Kafka's InvalidConfigurationException message.
func (b *Broker) validateGroupConfigs(overrides map[string]string) error {
	limits := b.groupConfigLimits()
	effective := maps.Clone(limits.defaults)
	// In name order, so that of several bad values the same one is named
	// every time.
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		v := overrides[name]
		def, ok := groupConfigDefs[name]
		if !ok {
			return fmt.Errorf("Unknown group config name: %s", name)
		}
		if def.typ == kmsg.ConfigTypeString {
			if err := def.check(v); err != nil {
				return err
			}
			effective[name] = v
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return fmt.Errorf("Invalid value %s for configuration %s: Not a number of type INT", v, name)
		}
		if n < def.floor {
			return fmt.Errorf("Invalid value %d for configuration %s: Value must be at least %d", n, name, def.floor)
		}
		if bd, ok := limits.bounds[name]; ok {
			if bd[0].key != "" && n < bd[0].value {
				return fmt.Errorf("%s must be greater than or equal to %s", name, bd[0].key)
			}
			if n > bd[1].value {
				return fmt.Errorf("%s must be less than or equal to %s", name, bd[1].key)
			}
		}
		effective[name] = strconv.FormatInt(n, 10)
	}
	for _, p := range groupSessionPairs {
		session, _ := strconv.ParseInt(effective[p[0]], 10, 64)
		heartbeat, _ := strconv.ParseInt(effective[p[1]], 10, 64)
		if session <= heartbeat {
			return fmt.Errorf("%s must be greater than %s", p[0], p[1])
		}
	}
	return nil
}

// applyGroupConfigs validates a group's new override set and records it
// through the active controller, returning once this broker has it. A
// refusal comes with its message for the client.
func (b *Broker) applyGroupConfigs(group string, validateOnly bool, edit func(map[string]string) error) (*kerr.Error, string) {
	if group == "" {
		return kerr.InvalidRequest, "Group name must not be empty"
	}
	overrides := maps.Clone(b.groupConfig(group))
	if overrides == nil {
		overrides = map[string]string{}
	}
	if err := edit(overrides); err != nil {
		return kerr.InvalidConfig, err.Error()
	}
	if err := b.validateGroupConfigs(overrides); err != nil {
		return kerr.InvalidConfig, err.Error()
	}
	if validateOnly {
		return nil, ""
	}
	if b.cluster == nil {
		return kerr.CoordinatorNotAvailable, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := b.cluster.AlterGroupConfigs(ctx, group, overrides); err != nil {
		return toKerr(err), ""
	}
	b.log.Info("group configs set", "group", group, "configs", overrides)
	return nil, ""
}

// applyGroupIncremental applies IncrementalAlterConfigs' operations to a
// group's overrides: SET and DELETE; no group config is a list, so APPEND
// and SUBTRACT are refused as Kafka refuses them on a non-list config.
func applyGroupIncremental(m map[string]string, configs []kmsg.IncrementalAlterConfigsRequestResourceConfig) error {
	for _, c := range configs {
		if _, known := groupConfigDefs[c.Name]; !known {
			return fmt.Errorf("Unknown group config name: %s", c.Name)
		}
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if c.Value == nil {
				return fmt.Errorf("%s: SET without a value", c.Name)
			}
			m[c.Name] = *c.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(m, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			return fmt.Errorf("Config value append or subtract is not allowed for config key: %s", c.Name)
		default:
			return fmt.Errorf("%s: unknown operation %d", c.Name, c.Op)
		}
	}
	return nil
}

// groupConfigEntries lists a group's configs (all, or names; unknown
// names are left out): an override as DYNAMIC_GROUP_CONFIG (8), the rest
// as DEFAULT_CONFIG with the broker's default, as Kafka's ConfigHelper.
func (b *Broker) groupConfigEntries(group string, names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	overrides := b.groupConfig(group)
	defaults := b.groupConfigLimits().defaults
	if names == nil {
		names = groupConfigNames
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range names {
		def, ok := groupConfigDefs[name]
		if !ok {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.ConfigType = name, kmsg.StringPtr(defaults[name]), def.typ
		c.Source, c.IsDefault = kmsg.ConfigSourceDefaultConfig, true
		if v, ok := overrides[name]; ok {
			c.Value = kmsg.StringPtr(v)
			c.Source, c.IsDefault = kmsg.ConfigSourceGroupConfig, false
			if synonyms {
				s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				s.Name, s.Value, s.Source = name, kmsg.StringPtr(v), kmsg.ConfigSourceGroupConfig
				c.ConfigSynonyms = append(c.ConfigSynonyms, s)
			}
		}
		if synonyms {
			s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			s.Name, s.Value, s.Source = name, kmsg.StringPtr(defaults[name]), kmsg.ConfigSourceDefaultConfig
			c.ConfigSynonyms = append(c.ConfigSynonyms, s)
		}
		if docs {
			c.Documentation = kmsg.StringPtr(def.doc)
		}
		out = append(out, c)
	}
	return out
}

// orMillis is d in milliseconds, or def when d is not set.
func orMillis(d time.Duration, def int64) int64 {
	if d <= 0 {
		return def
	}
	return d.Milliseconds()
}
