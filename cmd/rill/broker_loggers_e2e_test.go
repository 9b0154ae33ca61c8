package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BROKER_LOGGER config resources are the broker's run-time log levels, as
// kafka-configs.sh --entity-type broker-loggers sees log4j's: described
// with Kafka's level names, changed by IncrementalAlterConfigs (the change
// takes effect at once), refused with Kafka's errors; `rill config`
// drives them too.
func TestBrokerLoggerConfigs(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	describe := func() map[string]string {
		t.Helper()
		req := kmsg.NewPtrDescribeConfigsRequest()
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, "1"
		req.Resources = append(req.Resources, r)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range resp.Resources[0].Configs {
			if c.Source != kmsg.ConfigSourceDynamicBrokerLoggerConfig || c.ReadOnly || c.Value == nil {
				t.Fatalf("logger %s: source %v read-only %v value %v", c.Name, c.Source, c.ReadOnly, c.Value)
			}
			out[c.Name] = *c.Value
		}
		return out
	}
	alter := func(broker string, validateOnly bool, ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) (int16, string) {
		t.Helper()
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.ValidateOnly = validateOnly
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName, r.Configs = kmsg.ConfigResourceTypeBrokerLogger, broker, ops
		req.Resources = append(req.Resources, r)
		// To broker 1 whatever the resource names (kgo would route a
		// request for broker 7 to broker 7).
		kresp, err := cl.Broker(1).Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		resp := kresp.(*kmsg.IncrementalAlterConfigsResponse)
		return resp.Resources[0].ErrorCode, deref(resp.Resources[0].ErrorMessage)
	}
	op := func(o kmsg.IncrementalAlterConfigOp, name, value string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Op, c.Name = o, name
		if value != "" {
			c.Value = kmsg.StringPtr(value)
		}
		return c
	}
	set := kmsg.IncrementalAlterConfigOpSet

	levels := describe()
	if levels["root"] != "INFO" || levels["handler"] != "INFO" || levels["replica"] != "INFO" {
		t.Fatalf("default levels: %v", levels)
	}
	// Refusals, all before anything applies.
	for _, c := range []struct {
		broker string
		ops    []kmsg.IncrementalAlterConfigsRequestResourceConfig
		want   *kerr.Error
	}{
		{"7", []kmsg.IncrementalAlterConfigsRequestResourceConfig{op(set, "handler", "WARN")}, kerr.InvalidRequest},
		{"1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{op(set, "handler", "WARN"), op(set, "kafka.server.ReplicaManager", "DEBUG")}, kerr.InvalidConfig},
		{"1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{op(set, "handler", "LOUD")}, kerr.InvalidConfig},
		{"1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{op(kmsg.IncrementalAlterConfigOpDelete, "root", "")}, kerr.InvalidRequest},
		{"1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{op(kmsg.IncrementalAlterConfigOpAppend, "handler", "WARN")}, kerr.InvalidRequest},
	} {
		if code, msg := alter(c.broker, false, c.ops...); code != c.want.Code {
			t.Errorf("broker %s ops %v: code %d (%s), want %s", c.broker, c.ops, code, msg, c.want.Message)
		}
	}
	if code, msg := alter("1", true, op(set, "handler", "WARN")); code != 0 {
		t.Fatalf("validate-only: %d %s", code, msg)
	}
	if got := describe()["handler"]; got != "INFO" {
		t.Fatalf("after refusals and a validate-only change handler is %s, want INFO", got)
	}

	// With the handler at WARN a topic's creation is not logged; after
	// DELETE it follows root (INFO) again and is.
	if code, msg := alter("1", false, op(set, "handler", "WARN")); code != 0 {
		t.Fatalf("set handler WARN: %d %s", code, msg)
	}
	if got := describe()["handler"]; got != "WARN" {
		t.Fatalf("handler is %s after SET WARN", got)
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "quiet"); err != nil {
		t.Fatal(err)
	}
	if code, msg := alter("1", false, op(kmsg.IncrementalAlterConfigOpDelete, "handler", "")); code != 0 {
		t.Fatalf("delete handler: %d %s", code, msg)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "loud"); err != nil {
		t.Fatal(err)
	}
	created := func(topic string) string { return `msg="topic created" component=handler topic=` + topic + " " }
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.log(), created("loud")) {
		if time.Now().After(deadline) {
			t.Fatalf("topic loud's creation not logged:\n%s", b.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(b.log(), created("quiet")) {
		t.Fatalf("topic quiet's creation logged with the handler at WARN:\n%s", b.log())
	}

	// The same through rill config.
	rill(t, "", "config", "alter", "broker-logger", "1", "--bootstrap", b.addr, "--set", "replica=DEBUG")
	out := rill(t, "", "config", "describe", "broker-logger", "1", "--bootstrap", b.addr, "--format", "json")
	var entries []configEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	found := false
	for _, e := range entries {
		found = found || e.Name == "replica" && e.Value != nil && *e.Value == "DEBUG" && e.Source == "DYNAMIC_BROKER_LOGGER_CONFIG"
	}
	if !found {
		t.Fatalf("replica not DEBUG in %s", out)
	}
}
