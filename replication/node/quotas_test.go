package node

import (
	"context"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/quorum"
)

func quotaEntry(user *string, ops ...kmsg.AlterClientQuotasRequestEntryOp) kmsg.AlterClientQuotasRequestEntry {
	e := kmsg.NewAlterClientQuotasRequestEntry()
	e.Entity = []kmsg.AlterClientQuotasRequestEntryEntity{{Type: controller.QuotaUser, Name: user}}
	e.Ops = ops
	return e
}

func quotaOp(key string, v float64, remove bool) kmsg.AlterClientQuotasRequestEntryOp {
	return kmsg.AlterClientQuotasRequestEntryOp{Key: key, Value: v, Remove: remove}
}

// AlterClientQuotas as a broker forwards it: per-entity outcomes with
// Kafka's messages, the metadata offset that holds them, and validate
// only committing nothing.
func TestClientQuotasRPC(t *testing.T) {
	n := startSingle(t)
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.Entries = []kmsg.AlterClientQuotasRequestEntry{
		quotaEntry(kmsg.StringPtr("alice"), quotaOp(controller.QuotaProducerByteRate, 1024, false)),
		quotaEntry(nil, quotaOp(controller.QuotaConsumerByteRate, 2048, false)),
		quotaEntry(kmsg.StringPtr("bob"), quotaOp("bogus", 1, false)),
	}
	resp, err := rpc[*kmsg.AlterClientQuotasResponse](t, n, req)
	wantCode(t, "AlterClientQuotas", err, nil)
	if len(resp.Entries) != 3 || resp.Entries[0].ErrorCode != 0 || resp.Entries[1].ErrorCode != 0 ||
		resp.Entries[2].ErrorCode != kerr.InvalidRequest.Code || *resp.Entries[2].ErrorMessage != "Invalid configuration key bogus" {
		t.Fatalf("entries %+v", resp.Entries)
	}
	if e := resp.Entries[1].Entity; len(e) != 1 || e[0].Type != "user" || e[0].Name != nil {
		t.Fatalf("default entity answered as %+v", e)
	}
	offset, ok := MetadataOffset(resp)
	if !ok || offset < 1 || offset > n.Applied() {
		t.Fatalf("metadata offset %d %v (applied %d)", offset, ok, n.Applied())
	}
	var quotas map[controller.QuotaEntity]map[string]float64
	n.View(func(im *controller.Image) { quotas = im.Clone().ClientQuotas })
	want := map[controller.QuotaEntity]map[string]float64{
		{User: controller.Named("alice")}: {controller.QuotaProducerByteRate: 1024},
		{User: controller.DefaultName}:    {controller.QuotaConsumerByteRate: 2048},
	}
	if !reflect.DeepEqual(quotas, want) {
		t.Fatalf("image %v", quotas)
	}
	applied := n.Applied()
	req.ValidateOnly = true
	req.Entries = []kmsg.AlterClientQuotasRequestEntry{quotaEntry(kmsg.StringPtr("carol"), quotaOp(controller.QuotaProducerByteRate, 1, false))}
	resp, err = rpc[*kmsg.AlterClientQuotasResponse](t, n, req)
	wantCode(t, "validate only", err, nil)
	if resp.Entries[0].ErrorCode != 0 || n.Applied() != applied {
		t.Fatalf("validate only: %+v, applied %d → %d", resp.Entries, applied, n.Applied())
	}
}

// Client quotas survive a restart from a snapshot and the entries after it.
func TestClientQuotasSurviveSnapshotAndReplay(t *testing.T) {
	fs := vfs.NewMemFS()
	fs.MkdirAll("/m", 0o755)
	start := func() (*Node, *quorum.WAL) { return startSnapshotting(t, fs) }
	n, w := start()
	ctx := context.Background()
	for i, user := range []string{"a", "b", "c", "d", "e"} {
		alt := controller.QuotaAlteration{Entity: []controller.QuotaEntityPart{{Type: controller.QuotaUser, Name: &user}},
			Ops: []controller.QuotaOp{{Key: controller.QuotaProducerByteRate, Value: float64(1000 * (i + 1))}}}
		if res, err := n.AlterClientQuotas(ctx, []controller.QuotaAlteration{alt}, false); err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
	}
	c := "c"
	gone := controller.QuotaAlteration{Entity: []controller.QuotaEntityPart{{Type: controller.QuotaUser, Name: &c}},
		Ops: []controller.QuotaOp{{Key: controller.QuotaProducerByteRate, Remove: true}}}
	if res, err := n.AlterClientQuotas(ctx, []controller.QuotaAlteration{gone}, false); err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	var before, after map[controller.QuotaEntity]map[string]float64
	n.View(func(im *controller.Image) { before = im.Clone().ClientQuotas })
	n.Stop()
	w.Close()
	n, w = start()
	defer func() { n.Stop(); w.Close() }()
	n.View(func(im *controller.Image) { after = im.Clone().ClientQuotas })
	if len(before) != 4 || !reflect.DeepEqual(before, after) {
		t.Fatalf("before the restart %v; after %v", before, after)
	}
}
