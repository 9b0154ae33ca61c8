package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// Finalized features live in the metadata log (KIP-584): a new cluster
// finalizes transaction.version at its configured level; UpdateFeatures
// (kafka-features.sh) changes it, ApiVersions shows the new level with a
// newer epoch at once, a restart keeps it whatever the config says, and
// transactions work at each level.
func TestUpdateFeaturesTransactionVersion(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	finalized := func(b *broker) (int16, int64) {
		t.Helper()
		av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, client(t, b.addr))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range av.FinalizedFeatures {
			if f.Name == "transaction.version" {
				return f.MaxVersionLevel, av.FinalizedFeaturesEpoch
			}
		}
		return 0, av.FinalizedFeaturesEpoch
	}
	update := func(b *broker, version int16, u kmsg.UpdateFeaturesRequestFeatureUpdate) *kmsg.UpdateFeaturesResponse {
		t.Helper()
		req := kmsg.NewPtrUpdateFeaturesRequest()
		req.Version, req.FeatureUpdates = version, []kmsg.UpdateFeaturesRequestFeatureUpdate{u}
		resp, err := req.RequestWith(ctx, client(t, b.addr, kgo.MaxVersions(maxVersion(kmsg.UpdateFeatures, version))))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	transact := func(b *broker, topic string) {
		t.Helper()
		if _, err := kadm.NewClient(client(t, b.addr)).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		p := client(t, b.addr, kgo.TransactionalID("tx-"+topic), kgo.DefaultProduceTopic(topic))
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte(topic)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		p.Close()
		c := client(t, b.addr, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		fs := c.PollRecords(ctx, 1)
		if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != topic {
			t.Fatalf("read_committed after a committed transaction at %s: %v %v", topic, recs, fs.Errors())
		}
	}

	// The controller finalizes it in its first metadata batch, which a
	// request may come before (epoch 0).
	tv, epoch := finalized(b)
	for deadline := time.Now().Add(10 * time.Second); epoch <= 0 && time.Now().Before(deadline); tv, epoch = finalized(b) {
		time.Sleep(20 * time.Millisecond)
	}
	if tv != 2 || epoch <= 0 {
		t.Fatalf("a new cluster: transaction.version %d at epoch %d, want 2", tv, epoch)
	}
	transact(b, "tv-2")

	// v0 without AllowDowngrade cannot lower it; v1 safe downgrade can.
	if resp := update(b, 0, kmsg.UpdateFeaturesRequestFeatureUpdate{Feature: "transaction.version", MaxVersionLevel: 1}); resp.ErrorCode != kerr.InvalidUpdateVersion.Code {
		t.Fatalf("downgrade without AllowDowngrade: %+v", resp)
	}
	resp := update(b, 1, kmsg.UpdateFeaturesRequestFeatureUpdate{Feature: "transaction.version", MaxVersionLevel: 0, UpgradeType: 2})
	if resp.ErrorCode != 0 || len(resp.Results) != 1 || resp.Results[0].ErrorCode != 0 {
		t.Fatalf("safe downgrade to 0: %+v", resp)
	}
	if tv, e := finalized(b); tv != 0 || e <= epoch {
		t.Fatalf("after the downgrade: transaction.version %d at epoch %d (was %d)", tv, e, epoch)
	}
	transact(b, "tv-0")

	// The config only bootstraps: a restart keeps the log's level.
	b.stop()
	b = startBroker(t, dir)
	if tv, _ := finalized(b); tv != 0 {
		t.Fatalf("after a restart: transaction.version %d, want the 0 the log holds", tv)
	}
	if resp := update(b, 2, kmsg.UpdateFeaturesRequestFeatureUpdate{Feature: "transaction.version", MaxVersionLevel: 3, UpgradeType: 1}); resp.ErrorCode != kerr.InvalidUpdateVersion.Code || resp.ErrorMessage == nil {
		t.Fatalf("upgrade past the supported range: %+v", resp)
	}
	if resp := update(b, 2, kmsg.UpdateFeaturesRequestFeatureUpdate{Feature: "transaction.version", MaxVersionLevel: 2, UpgradeType: 1}); resp.ErrorCode != 0 {
		t.Fatalf("upgrade to 2: %+v", resp)
	}
	if tv, _ := finalized(b); tv != 2 {
		t.Fatalf("after the upgrade: transaction.version %d", tv)
	}
	transact(b, "tv-2-again")
	b.stop()
}

// maxVersion caps one request key at version (the rest as kgo's stable).
func maxVersion(key kmsg.Key, version int16) *kversion.Versions {
	v := kversion.Stable()
	v.SetMaxKeyVersion(int16(key), version)
	return v
}
