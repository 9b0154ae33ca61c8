package main

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestConfigTargetGroup(t *testing.T) {
	tg, err := parseConfigTarget([]string{"group", "orders"})
	if err != nil || tg.kind != "group" || tg.name != "orders" || tg.String() != "group orders" || rawResourceType(tg) != kmsg.ConfigResourceTypeGroupConfig {
		t.Fatalf("group orders: %+v %v", tg, err)
	}
	for _, bad := range [][]string{{"group"}, {"group", ""}, {"groups", "a", "b"}} {
		if _, err := parseConfigTarget(bad); err == nil || !errors.As(err, new(usageError)) {
			t.Errorf("%q: %v, want a usage error", bad, err)
		}
	}
	if configSourceName(kmsg.ConfigSourceGroupConfig) != "DYNAMIC_GROUP_CONFIG" || configSourceName(kmsg.ConfigSourceDefaultConfig) != "DEFAULT_CONFIG" {
		t.Fatal("source names")
	}
}

func TestFormatAssignment(t *testing.T) {
	if got := formatAssignment(map[string][]int{"b": {1}, "a": {0, 2}}); got != "a:0,2;b:1" {
		t.Fatalf("got %q", got)
	}
	if got := formatAssignment(nil); got != "-" {
		t.Fatalf("empty: %q", got)
	}
}

func TestShareConsumeFlagsRefused(t *testing.T) {
	base := consumeFlags{topic: "t", shareGroup: "sg", partition: -1, from: "earliest", isolation: "read_uncommitted"}
	if _, err := consumeOpts(base); err != nil {
		t.Fatalf("plain share consume: %v", err)
	}
	for name, f := range map[string]consumeFlags{
		"--group":     func() consumeFlags { f := base; f.groupID = "g"; return f }(),
		"--partition": func() consumeFlags { f := base; f.partition = 0; return f }(),
		"--from":      func() consumeFlags { f := base; f.fromSet = true; return f }(),
		"--isolation": func() consumeFlags { f := base; f.isolationSet = true; return f }(),
	} {
		if _, err := consumeOpts(f); err == nil || !errors.As(err, new(usageError)) {
			t.Errorf("%s with --share-group: %v, want a usage error", name, err)
		}
	}
}
