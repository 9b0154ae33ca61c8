package main

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// ListConfigResources (KIP-1142) against rill serve: v1 lists topics,
// brokers, broker loggers and the groups with config overrides, by type
// or all; v0 (client metrics only) lists nothing here; a type outside
// the version's set is UNSUPPORTED_VERSION.
func TestListConfigResources(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	ctx := context.Background()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "listed"); err != nil {
		t.Fatal(err)
	}
	shareSetGroupConfigs(t, cl, "configured", "share.auto.offset.reset", "earliest")
	list := func(version int16, types ...int8) (map[int8][]string, error) {
		t.Helper()
		// A client that speaks the version at most, so it is the one sent.
		vs := kversion.V4_2_0()
		vs.SetMaxKeyVersion(74, version)
		req := kmsg.NewPtrListConfigResourcesRequest()
		req.ResourceTypes = types
		resp, err := req.RequestWith(ctx, client(t, b.addr, kgo.MaxVersions(vs)))
		if err != nil {
			t.Fatal(err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return nil, err
		}
		out := map[int8][]string{}
		for _, r := range resp.ConfigResources {
			out[r.Type] = append(out[r.Type], r.Name)
		}
		return out, nil
	}
	all, err := list(1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(all[2], "listed") || !slices.Equal(all[32], []string{"configured"}) ||
		!slices.Equal(all[4], []string{"1"}) || !slices.Equal(all[8], []string{"1"}) || len(all[16]) != 0 {
		t.Fatalf("every type: %v", all)
	}
	groups, err := list(1, 32)
	if err != nil || len(groups) != 1 || !slices.Equal(groups[32], []string{"configured"}) {
		t.Fatalf("groups only: %v %v", groups, err)
	}
	if v0, err := list(0); err != nil || len(v0) != 0 {
		t.Fatalf("v0 (client metrics): %v %v", v0, err)
	}
	if _, err := list(1, 2, 7); err != kerr.UnsupportedVersion {
		t.Fatalf("an unknown resource type: %v, want UNSUPPORTED_VERSION", err)
	}
}
