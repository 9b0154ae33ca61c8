package handler

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describeGroupConfigs answers DescribeConfigs (v4) for one group.
func describeGroupConfigs(t *testing.T, b *Broker, group string, names []string) kmsg.DescribeConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeGroupConfig, group, names
	req.Resources, req.IncludeSynonyms, req.IncludeDocumentation = []kmsg.DescribeConfigsRequestResource{r}, true, true
	resp := sendAs[*kmsg.DescribeConfigsResponse](t, b, superUser, req, 4)
	if len(resp.Resources) != 1 {
		t.Fatalf("%d resources", len(resp.Resources))
	}
	return resp.Resources[0]
}

func incrementalGroup(t *testing.T, b *Broker, group string, validateOnly bool, ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) (int16, string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.Configs = kmsg.ConfigResourceTypeGroupConfig, group, ops
	req.Resources, req.ValidateOnly = []kmsg.IncrementalAlterConfigsRequestResource{r}, validateOnly
	resp := sendAs[*kmsg.IncrementalAlterConfigsResponse](t, b, superUser, req, 1)
	rr := resp.Resources[0]
	msg := ""
	if rr.ErrorMessage != nil {
		msg = *rr.ErrorMessage
	}
	return rr.ErrorCode, msg
}

func setOp(name, value string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value, c.Op = name, kmsg.StringPtr(value), kmsg.IncrementalAlterConfigOpSet
	return c
}

func deleteOp(name string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Op = name, kmsg.IncrementalAlterConfigOpDelete
	return c
}

// Group configs through the three APIs on a single node: every name
// listed with its default until overridden, overrides with
// DYNAMIC_GROUP_CONFIG, incremental SET and DELETE, AlterConfigs
// replacing the whole set, ValidateOnly changing nothing, and the
// overrides readable through groupConfig.
func TestGroupConfigsThroughRequests(t *testing.T) {
	b, closeAll, err := NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()

	res := describeGroupConfigs(t, b, "g", nil)
	if res.ErrorCode != 0 || len(res.Configs) != len(groupConfigDefs) {
		t.Fatalf("describe before any override: code %d, %d configs, want %d", res.ErrorCode, len(res.Configs), len(groupConfigDefs))
	}
	for _, c := range res.Configs {
		if c.Source != kmsg.ConfigSourceDefaultConfig || !c.IsDefault || c.Value == nil || c.Documentation == nil || c.ReadOnly {
			t.Errorf("default entry %+v", c)
		}
	}
	if b.groupConfig("g") != nil {
		t.Fatal("overrides before any were set")
	}

	if code, msg := incrementalGroup(t, b, "g", true, setOp(GroupShareRecordLockDuration, "20000")); code != 0 {
		t.Fatalf("validate only: %d %s", code, msg)
	}
	if b.groupConfig("g") != nil {
		t.Fatal("ValidateOnly changed the group's configs")
	}

	if code, msg := incrementalGroup(t, b, "g", false, setOp(GroupShareRecordLockDuration, "20000"), setOp(GroupShareAutoOffsetReset, "by_duration:PT1H30M")); code != 0 {
		t.Fatalf("set: %d %s", code, msg)
	}
	want := map[string]string{GroupShareRecordLockDuration: "20000", GroupShareAutoOffsetReset: "by_duration:PT1H30M"}
	if got := b.groupConfig("g"); !maps.Equal(got, want) {
		t.Fatalf("overrides %v, want %v", got, want)
	}
	res = describeGroupConfigs(t, b, "g", []string{GroupShareRecordLockDuration, GroupShareSessionTimeout, "no.such.config"})
	if len(res.Configs) != 2 {
		t.Fatalf("named describe: %+v", res.Configs)
	}
	lock, session := res.Configs[0], res.Configs[1]
	if *lock.Value != "20000" || lock.Source != kmsg.ConfigSourceGroupConfig || lock.IsDefault || lock.ConfigType != kmsg.ConfigTypeInt ||
		len(lock.ConfigSynonyms) != 2 || lock.ConfigSynonyms[0].Source != kmsg.ConfigSourceGroupConfig {
		t.Errorf("override entry %+v", lock)
	}
	if *session.Value != "45000" || session.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("default entry %+v", session)
	}

	if code, msg := incrementalGroup(t, b, "g", false, deleteOp(GroupShareAutoOffsetReset)); code != 0 {
		t.Fatalf("delete: %d %s", code, msg)
	}
	if got := b.groupConfig("g"); !maps.Equal(got, map[string]string{GroupShareRecordLockDuration: "20000"}) {
		t.Fatalf("after delete: %v", got)
	}

	// AlterConfigs replaces the whole set.
	req := kmsg.NewPtrAlterConfigsRequest()
	r := kmsg.NewAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeGroupConfig, "g"
	r.Configs = []kmsg.AlterConfigsRequestResourceConfig{{Name: GroupConsumerSessionTimeout, Value: kmsg.StringPtr("50000")}}
	req.Resources = []kmsg.AlterConfigsRequestResource{r}
	if resp := sendAs[*kmsg.AlterConfigsResponse](t, b, superUser, req, 2); resp.Resources[0].ErrorCode != 0 {
		t.Fatalf("alter: %+v", resp.Resources[0])
	}
	if got := b.groupConfig("g"); !maps.Equal(got, map[string]string{GroupConsumerSessionTimeout: "50000"}) {
		t.Fatalf("after AlterConfigs: %v", got)
	}

	// Removing the last override removes the group's entry.
	if code, msg := incrementalGroup(t, b, "g", false, deleteOp(GroupConsumerSessionTimeout)); code != 0 {
		t.Fatalf("delete last: %d %s", code, msg)
	}
	if got := b.groupConfig("g"); got != nil {
		t.Fatalf("after deleting the last override: %v", got)
	}

	if res := describeGroupConfigs(t, b, "", nil); res.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("empty group id: %+v", res)
	}
	if code, _ := incrementalGroup(t, b, "", false, setOp(GroupShareRecordLockDuration, "20000")); code != kerr.InvalidRequest.Code {
		t.Fatalf("alter of an empty group id: %d", code)
	}
}

// Bad names and values are INVALID_CONFIG with Kafka's messages, and
// change nothing.
func TestGroupConfigsValidation(t *testing.T) {
	b, closeAll, err := NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	appendOp := setOp(GroupShareIsolationLevel, "read_committed")
	appendOp.Op = kmsg.IncrementalAlterConfigOpAppend
	for _, c := range []struct {
		ops  []kmsg.IncrementalAlterConfigsRequestResourceConfig
		want string
	}{
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp("retention.ms", "1")}, "Unknown group config name: retention.ms"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupConsumerSessionTimeout, "abc")}, "Not a number of type INT"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupConsumerSessionTimeout, "0")}, "Value must be at least 1"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupConsumerSessionTimeout, "44999")}, "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupConsumerHeartbeatInterval, "15001")}, "consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareRecordLockDuration, "999")}, "Value must be at least 1000"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareRecordLockDuration, "14999")}, "group.share.min.record.lock.duration.ms"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareDeliveryCountLimit, "11")}, "group.share.max.delivery.count.limit"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupSharePartitionMaxRecordLocks, "10001")}, "group.share.max.partition.max.record.locks"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupStreamsNumStandbyReplicas, "3")}, "group.streams.max.standby.replicas"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupStreamsNumStandbyReplicas, "-1")}, "Value must be at least 0"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareIsolationLevel, "serializable")}, "String must be one of"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareAcquireMode, "greedy")}, "String must be one of"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareAutoOffsetReset, "none")}, "share.auto.offset.reset"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareAutoOffsetReset, "by_duration:1h")}, "ISO-8601"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareAutoOffsetReset, "by_duration:-PT1H")}, "Negative duration"},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{setOp(GroupShareSessionTimeout, "50000"), setOp(GroupShareHeartbeatInterval, "5000"),
			setOp(GroupStreamsSessionTimeout, "45000"), setOp(GroupStreamsHeartbeatInterval, "15000")}, ""},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{appendOp}, "append or subtract is not allowed"},
	} {
		code, msg := incrementalGroup(t, b, "g", false, c.ops...)
		if c.want == "" {
			if code != 0 {
				t.Errorf("%v: %d %s, want success", c.ops, code, msg)
			}
			continue
		}
		if code != kerr.InvalidConfig.Code || !strings.Contains(msg, c.want) {
			t.Errorf("%s=%v: code %d %q, want INVALID_CONFIG with %q", c.ops[0].Name, *c.ops[0].Value, code, msg, c.want)
		}
	}
	if got := b.groupConfig("g"); len(got) != 4 {
		t.Fatalf("refusals changed the group's configs: %v", got)
	}
}

// The session/heartbeat cross-check uses effective values: a heartbeat
// interval raised to the session timeout is refused.
func TestGroupConfigsSessionAboveHeartbeat(t *testing.T) {
	b := &Broker{}
	b.cfg.Groups.ConsumerSessionTimeout = 45 * time.Second
	b.cfg.Groups.ConsumerHeartbeatInterval = 5 * time.Second
	err := b.validateGroupConfigs(map[string]string{GroupStreamsSessionTimeout: "45000", GroupStreamsHeartbeatInterval: "15000"})
	if err != nil {
		t.Fatal(err)
	}
	// Kafka's bounds keep heartbeats at most 15 s and sessions at least
	// 45 s, so only a broker default can break the pair: here, the
	// consumer session default set to the heartbeat interval.
	b.cfg.Groups.ConsumerSessionTimeout = 15 * time.Second
	err = b.validateGroupConfigs(map[string]string{GroupConsumerHeartbeatInterval: "15000"})
	if err == nil || err.Error() != "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms" {
		t.Fatalf("session not above heartbeat: %v", err)
	}
}

func TestShareAutoOffsetResetValues(t *testing.T) {
	for v, ok := range map[string]bool{
		"earliest": true, "LATEST": true, "by_duration:P1D": true, "by_duration:PT0S": true, "by_duration:pt1.5s": true,
		"by_duration:P1DT2H3M4.000000001S": true, "by_duration:PT-1H": false, "by_duration:-P1D": false, "by_duration:P": false,
		"by_duration:PT": false, "by_duration:P1D-": false, "by_duration:": false, "by_duration:-PT-1H": true, "none": false,
	} {
		if err := checkShareAutoOffsetReset(v); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", v, err, ok)
		}
	}
}
