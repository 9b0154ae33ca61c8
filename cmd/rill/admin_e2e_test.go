package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The admin APIs through kadm against a real broker.
func TestAdminAPIs(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	ctx := context.Background()

	// CreateTopics with configs; validation failures.
	ret := "3600000"
	res, err := adm.CreateTopic(ctx, 2, -1, map[string]*string{"retention.ms": &ret}, "adm")
	if err != nil || res.Err != nil || res.ID == [16]byte{} {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, nil, "adm"); r.Err != kerr.TopicAlreadyExists {
		t.Fatalf("duplicate create: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 3, nil, "rf3"); r.Err != kerr.InvalidReplicationFactor {
		t.Fatalf("rf 3 on one broker: %v", r.Err)
	}
	bad := "nope"
	if r, _ := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &bad}, "badcfg"); r.Err != kerr.InvalidConfig {
		t.Fatalf("bad config: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, nil, "bad/name"); r.Err != kerr.InvalidTopicException {
		t.Fatalf("bad name: %v", r.Err)
	}

	// DescribeConfigs shows the override as a dynamic topic config.
	rcs, err := adm.DescribeTopicConfigs(ctx, "adm")
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := rcs.On("adm", nil)
	found := false
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" {
			found = c.MaybeValue() == "3600000" && c.Source == 1
		}
	}
	if !found {
		t.Fatalf("retention.ms override not described: %+v", rc.Configs)
	}

	// IncrementalAlterConfigs: append compact to cleanup.policy.
	ar, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")}}, "adm")
	if err != nil || ar[0].Err != nil {
		t.Fatalf("alter: %v %v", err, ar)
	}
	rcs, _ = adm.DescribeTopicConfigs(ctx, "adm")
	rc, _ = rcs.On("adm", nil)
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.MaybeValue() != "delete,compact" {
			t.Fatalf("cleanup.policy after append: %q", c.MaybeValue())
		}
	}

	// CreatePartitions 2 → 4.
	if cr, err := adm.CreatePartitions(ctx, 2, "adm"); err != nil || cr["adm"].Err != nil {
		t.Fatalf("create partitions: %v %v", err, cr)
	}
	md, _ := adm.Metadata(ctx, "adm")
	if n := len(md.Topics["adm"].Partitions); n != 4 {
		t.Fatalf("partitions after CreatePartitions: %d", n)
	}

	// Produce with timestamps, then ListOffsets start/end/by time.
	p := client(t, b.addr, kgo.DefaultProduceTopic("adm"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := 0; i < 100; i++ {
		r := &kgo.Record{Partition: 1, Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	ends, _ := adm.ListEndOffsets(ctx, "adm")
	if o, _ := ends.Lookup("adm", 1); o.Offset != 100 {
		t.Fatalf("end offset %d", o.Offset)
	}
	after, _ := adm.ListOffsetsAfterMilli(ctx, base.Add(42*time.Second).UnixMilli(), "adm")
	if o, _ := after.Lookup("adm", 1); o.Offset != 42 {
		t.Fatalf("offset after time: %+v", o)
	}

	// DeleteRecords moves the start.
	dr, err := adm.DeleteRecords(ctx, kadm.Offsets{"adm": {1: {At: 60}}})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := dr.Lookup("adm", 1); d.Err != nil || d.LowWatermark != 60 {
		t.Fatalf("delete records: %+v", d)
	}
	starts, _ := adm.ListStartOffsets(ctx, "adm")
	if o, _ := starts.Lookup("adm", 1); o.Offset != 60 {
		t.Fatalf("start offset %d", o.Offset)
	}

	// DescribeLogDirs sees the partition's bytes; DescribeCluster one broker.
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(0)
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if p.Topic == "adm" && p.Partition == 1 {
				size = p.Size
			}
		})
	})
	if size <= 0 {
		t.Fatal("log dir does not describe adm-1")
	}
	if bm, err := adm.BrokerMetadata(ctx); err != nil || len(bm.Brokers) != 1 {
		t.Fatalf("cluster: %v %+v", err, bm)
	}

	// DeleteTopics.
	if dt, err := adm.DeleteTopics(ctx, "adm"); err != nil || dt["adm"].Err != nil {
		t.Fatalf("delete: %v %+v", err, dt)
	}
	// A direct request: kadm.Metadata may answer from the client's cache.
	mreq := kmsg.NewPtrMetadataRequest()
	mreq.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("adm")}}
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil || len(mresp.Topics) != 1 || mresp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("deleted topic still described: %v %+v", err, mresp)
	}
	b.stop()
}
