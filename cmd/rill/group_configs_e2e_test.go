package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kadm v1.19 has no helpers for GROUP config resources: these send the
// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs a Kafka admin
// client sends, to one broker (pinned, so a cluster test reads from
// another broker than it wrote through).

// pinned is a request sender to the broker at addr alone.
func pinned(t *testing.T, addr string) *kgo.Broker {
	t.Helper()
	return client(t, addr).SeedBrokers()[0]
}

// groupConfigs are a group's configs as one broker describes them: value
// and source by name.
type groupConfigEntry struct {
	value  string
	source kmsg.ConfigSource
}

func describeGroupConfigsAt(t *testing.T, br *kgo.Broker, group string) (map[string]groupConfigEntry, error) {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	req.Resources = []kmsg.DescribeConfigsRequestResource{r}
	resp, err := br.Request(context.Background(), req)
	if err != nil {
		return nil, err
	}
	res := resp.(*kmsg.DescribeConfigsResponse).Resources
	if len(res) != 1 {
		return nil, fmt.Errorf("%d resources answered", len(res))
	}
	if err := kerr.ErrorForCode(res[0].ErrorCode); err != nil {
		return nil, err
	}
	out := map[string]groupConfigEntry{}
	for _, c := range res[0].Configs {
		v := ""
		if c.Value != nil {
			v = *c.Value
		}
		out[c.Name] = groupConfigEntry{v, c.Source}
	}
	return out, nil
}

func incrementalGroupConfigsAt(t *testing.T, br *kgo.Broker, group string, configs map[string]*string) (int16, string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	for k, v := range configs {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value, c.Op = k, v, kmsg.IncrementalAlterConfigOpSet
		if v == nil {
			c.Op = kmsg.IncrementalAlterConfigOpDelete
		}
		r.Configs = append(r.Configs, c)
	}
	req.Resources = []kmsg.IncrementalAlterConfigsRequestResource{r}
	resp, err := br.Request(context.Background(), req)
	if err != nil {
		t.Fatalf("IncrementalAlterConfigs: %v", err)
	}
	rr := resp.(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
	msg := ""
	if rr.ErrorMessage != nil {
		msg = *rr.ErrorMessage
	}
	return rr.ErrorCode, msg
}

// A group's configs set with the CLI and the Kafka requests on one node:
// listed with their sources, validated as Kafka's GroupConfig, replaced
// whole by AlterConfigs, and still there after the broker restarts (they
// are in the metadata log).
func TestGroupConfigSingleNodeRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	bs := "--bootstrap=" + b.addr

	if out := rill(t, "", "config", "describe", "group", "g1", bs); strings.Count(out, "\n") != 1 {
		t.Fatalf("describe before any override lists some:\n%s", out)
	}
	all := rill(t, "", "config", "describe", "group", "g1", "--all", bs)
	for _, want := range []string{`share\.record\.lock\.duration\.ms\s+30000\s+DEFAULT_CONFIG`, `share\.auto\.offset\.reset\s+latest\s+DEFAULT_CONFIG`,
		`consumer\.session\.timeout\.ms\s+45000\s+DEFAULT_CONFIG`, `streams\.num\.standby\.replicas\s+0\s+DEFAULT_CONFIG`} {
		if !regexp.MustCompile(want).MatchString(all) {
			t.Fatalf("describe --all does not match %s:\n%s", want, all)
		}
	}

	if out := rill(t, "", "config", "alter", "group", "g1", bs, "--set", "share.record.lock.duration.ms=20000",
		"--set", "share.auto.offset.reset=earliest", "--set", "consumer.session.timeout.ms=50000"); !strings.Contains(out, "altered configs of group g1") {
		t.Fatalf("alter: %s", out)
	}
	described := rill(t, "", "config", "describe", "group", "g1", bs)
	for _, want := range []string{`share\.record\.lock\.duration\.ms\s+20000\s+DYNAMIC_GROUP_CONFIG`, `share\.auto\.offset\.reset\s+earliest\s+DYNAMIC_GROUP_CONFIG`,
		`consumer\.session\.timeout\.ms\s+50000\s+DYNAMIC_GROUP_CONFIG`} {
		if !regexp.MustCompile(want).MatchString(described) {
			t.Fatalf("describe does not match %s:\n%s", want, described)
		}
	}

	// Refusals: INVALID_CONFIG with Kafka's message, nothing changed.
	br := pinned(t, b.addr)
	for name, value := range map[string]string{"no.such.config": "1", "share.record.lock.duration.ms": "999", "share.isolation.level": "dirty",
		"share.auto.offset.reset": "by_duration:-PT1H", "consumer.heartbeat.interval.ms": "16000"} {
		if code, msg := incrementalGroupConfigsAt(t, br, "g1", map[string]*string{name: &value}); code != kerr.InvalidConfig.Code || msg == "" {
			t.Errorf("%s=%s: code %d %q, want INVALID_CONFIG with a message", name, value, code, msg)
		}
	}
	if _, errOut, err := rillOutErr(t, "", "config", "alter", "group", "g1", bs, "--set", "share.delivery.count.limit=1"); err == nil || !strings.Contains(errOut, "INVALID_CONFIG") {
		t.Fatalf("CLI with a bad value: %v\n%s", err, errOut)
	}

	// AlterConfigs replaces the whole set.
	req := kmsg.NewPtrAlterConfigsRequest()
	r := kmsg.NewAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeGroupConfig, "g1"
	r.Configs = []kmsg.AlterConfigsRequestResourceConfig{{Name: "share.isolation.level", Value: kmsg.StringPtr("read_committed")},
		{Name: "share.record.lock.duration.ms", Value: kmsg.StringPtr("25000")}}
	req.Resources = []kmsg.AlterConfigsRequestResource{r}
	resp, err := br.Request(context.Background(), req)
	if err != nil || resp.(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode != 0 {
		t.Fatalf("AlterConfigs: %v %+v", err, resp)
	}
	want := map[string]string{"share.isolation.level": "read_committed", "share.record.lock.duration.ms": "25000"}
	check := func(br *kgo.Broker, when string) {
		t.Helper()
		got, err := describeGroupConfigsAt(t, br, "g1")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		for name, e := range got {
			if v, ok := want[name]; ok != (e.source == kmsg.ConfigSourceGroupConfig) || ok && e.value != v {
				t.Fatalf("%s: %s = %q (source %v), want override %v %q", when, name, e.value, e.source, ok, v)
			}
		}
	}
	check(br, "after AlterConfigs")

	b.stop()
	b = startBroker(t, dir)
	check(pinned(t, b.addr), "after a restart")

	rill(t, "", "config", "alter", "group", "g1", "--bootstrap="+b.addr, "--delete", "share.isolation.level", "--delete", "share.record.lock.duration.ms")
	if out := rill(t, "", "config", "describe", "group", "g1", "--bootstrap="+b.addr); strings.Count(out, "\n") != 1 {
		t.Fatalf("describe after deleting every override:\n%s", out)
	}
	b.stop()
}

// On three nodes a group config set through one broker is read from the
// others, and survives the restart of every node.
func TestGroupConfigCluster(t *testing.T) {
	c := startCluster(t, "--set", "broker.heartbeat.interval.ms=200")
	c.waitFor("three registered brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(context.Background())
		return err == nil && len(m.Brokers) == 3
	})
	v := "by_duration:P1DT2H"
	lock := "40000"
	c.waitFor("the config set through node 1", func() bool {
		code, _ := incrementalGroupConfigsAt(t, pinned(t, c.addrs[0]), "shared", map[string]*string{"share.auto.offset.reset": &v, "share.record.lock.duration.ms": &lock})
		return code == 0
	})
	readAll := func(what string) {
		t.Helper()
		for i := range c.addrs {
			c.waitFor(fmt.Sprintf("%s on node %d", what, i+1), func() bool {
				got, err := describeGroupConfigsAt(t, pinned(t, c.addrs[i]), "shared")
				return err == nil && got["share.auto.offset.reset"] == groupConfigEntry{v, kmsg.ConfigSourceGroupConfig} &&
					got["share.record.lock.duration.ms"] == groupConfigEntry{lock, kmsg.ConfigSourceGroupConfig} &&
					got["share.session.timeout.ms"] == groupConfigEntry{"45000", kmsg.ConfigSourceDefaultConfig}
			})
		}
	}
	readAll("the config")
	// The CLI through node 3 sees it too.
	if out := rill(t, "", "config", "describe", "group", "shared", "--bootstrap="+c.addrs[2]); !strings.Contains(out, "by_duration:P1DT2H") {
		t.Fatalf("describe through node 3:\n%s", out)
	}
	for i := range c.bs {
		c.bs[i].stop()
	}
	for i := range c.bs {
		c.start(i)
	}
	readAll("the config after every node restarted")
}
