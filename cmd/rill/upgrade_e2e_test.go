package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// untar extracts a .tar.gz into dir.
func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.Clean(h.Name))
		if !strings.HasPrefix(path, filepath.Clean(dir)+string(os.PathSeparator)) {
			t.Fatalf("archive entry %q leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
	}
}

// A data directory written by the single-node broker before the metadata
// log existed (testdata/single-node-catalog.tar.gz, made by `rill serve`
// at be6258b: topics legacy (3 partitions, 90 records) and kept (1
// partition, 5 records, two config overrides), group g1 with committed
// offsets in a 2-partition offsets topic, producer ids handed out up to 1) opens as a cluster of one: the
// catalog is imported into the metadata log once, and every topic id,
// config, record and committed offset is still there, on the first start
// and after a restart.
func TestSingleNodeCatalogImport(t *testing.T) {
	root := t.TempDir()
	untar(t, "testdata/single-node-catalog.tar.gz", root)
	dir := filepath.Join(root, "data")
	wantIDs := map[string]string{"legacy": "R8t8sFwSzWO16xgPf68dlg==", "kept": "MCrk3oCfAxa0j7QUgBRauA==",
		"__consumer_offsets": "wHlNNL5TCNuT+SlisB3Raw=="}
	wantEnds := map[string]map[int32]int64{"legacy": {0: 24, 1: 35, 2: 31}, "kept": {0: 5}}
	wantCommitted := map[int32]int64{0: 24, 1: 35, 2: 1}

	check := func(b *broker) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cl := client(t, b.addr)
		adm := kadm.NewClient(cl)
		topics, err := adm.ListTopicsWithInternal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for name, id := range wantIDs {
			td, ok := topics[name]
			if !ok || td.ID.String() != id {
				t.Fatalf("topic %s: id %v (present %v), want %s\n%s", name, td.ID, ok, id, b.log())
			}
		}
		ends, err := adm.ListEndOffsets(ctx, "legacy", "kept")
		if err != nil {
			t.Fatal(err)
		}
		for topic, parts := range wantEnds {
			for p, want := range parts {
				if got, _ := ends.Lookup(topic, p); got.Offset != want {
					t.Fatalf("%s-%d ends at %d, want %d\n%s", topic, p, got.Offset, want, b.log())
				}
			}
		}
		cfgs, err := adm.DescribeTopicConfigs(ctx, "kept")
		if err != nil {
			t.Fatal(err)
		}
		rc, err := cfgs.On("kept", nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range rc.Configs {
			if c.Source == kmsg.ConfigSourceDynamicTopicConfig {
				got[c.Key] = c.MaybeValue()
			}
		}
		if got["retention.ms"] != "86400000" || got["cleanup.policy"] != "compact" {
			t.Fatalf("kept's overrides: %v", got)
		}
		offsets, err := adm.FetchOffsets(ctx, "g1")
		if err != nil {
			t.Fatalf("fetching g1's offsets: %v\n%s", err, b.log())
		}
		for p, want := range wantCommitted {
			if o, ok := offsets.Lookup("legacy", p); !ok || o.At != want {
				t.Fatalf("g1 committed %v on legacy-%d, want %d\n%s", o, p, want, b.log())
			}
		}
		// Every record reads back.
		cons := client(t, b.addr, kgo.ConsumeTopics("legacy", "kept"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		n := 0
		for n < 95 {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of 95 records", n)
			}
			n += fs.NumRecords()
		}
		// Producer ids handed out before are not handed out again.
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionTimeoutMillis = 60000
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 || resp.ProducerID < 2 {
			t.Fatalf("new producer id %v (error %v): ids up to 1 were handed out before", resp, err)
		}
	}
	// The old broker ran with offsets.topic.num.partitions=2; this one
	// keeps the default (50): as in Kafka, groups follow the topic's own
	// partition count.
	var settings []string
	b := startBroker(t, dir, settings...)
	check(b)
	if !strings.Contains(b.log(), `msg="imported this broker's topic catalog into the metadata log" component=broker topics=3`) {
		t.Fatalf("no import logged:\n%s", b.log())
	}
	b.stop()
	b = startBroker(t, dir, settings...)
	check(b)
	if strings.Contains(b.log(), "imported") {
		t.Fatalf("the catalog was imported again:\n%s", b.log())
	}
	b.stop()
}

// refusedServe runs `rill serve` expecting it to refuse the data directory:
// it must exit non-zero, quickly, saying why.
func refusedServe(t *testing.T, dir string, want string, extra ...string) {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, rillBin, args...).CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("rill serve %v did not refuse the data directory (err %v):\n%s", extra, err, out)
	}
	if !strings.Contains(string(out), want) {
		t.Fatalf("refusal does not say %q:\n%s", want, out)
	}
}

// A data directory whose logs belong to another node or cluster is refused
// before anything in it is opened: the broker deletes logs its metadata
// does not assign to it. A single node's old directory joined to a
// cluster, a node started under another node.id, and a node of one
// cluster started in another are refused; the directory stays intact.
func TestDataDirectoryIdentity(t *testing.T) {
	root := t.TempDir()
	untar(t, "testdata/single-node-catalog.tar.gz", root)
	dir := filepath.Join(root, "data")
	voters := "controller.quorum.voters=1@127.0.0.1:1"
	refusedServe(t, dir, "written by a single-node broker", "--set", "process.roles=broker,controller", "--set", voters)

	b := startBroker(t, dir)
	b.stop()
	refusedServe(t, dir, "belongs to node.id 1", "--set", "node.id=2")
	refusedServe(t, dir, `cluster "single"`, "--set", "process.roles=broker,controller", "--set", voters)
	b = startBroker(t, dir)
	ends, err := kadm.NewClient(client(t, b.addr)).ListEndOffsets(context.Background(), "legacy")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("legacy", 1); o.Offset != 35 {
		t.Fatalf("legacy-1 ends at %d after the refusals, want 35", o.Offset)
	}
	b.stop()
}
