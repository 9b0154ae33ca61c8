package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// rillJSON runs a tool with --format json and decodes its output into v.
func rillJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := rill(t, "", append(args, "--format", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("rill %v: %v\n%s", args, err, out)
	}
}

// The admin tools against one broker: config, cluster health, log-dirs,
// partition elect and reassignments, group delete-offsets, topic JSON,
// with the brokers taken from RILL_BROKERS.
func TestToolsAdmin(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	t.Setenv(brokersEnv, b.addr) // every command below finds the broker through it
	out := rill(t, "", "topic", "create", "--partitions", "2", "admin")
	if id := regexp.MustCompile(`id (\S+)\)`).FindStringSubmatch(out); id == nil || len(id[1]) != 22 || strings.ContainsAny(id[1], "+/=") {
		t.Fatalf("topic id not URL-safe base64 without padding (22 characters): %s", out)
	}
	rill(t, "a\nb\nc\nd\n", "produce", "--topic", "admin", "--partitioner", "round-robin")

	var desc struct {
		Topics []topicDescription `json:"topics"`
	}
	rillJSON(t, &desc, "topic", "describe", "admin")
	if len(desc.Topics) != 1 || len(desc.Topics[0].Partitions) != 2 || desc.Topics[0].Partitions[0].EndOffset == nil ||
		*desc.Topics[0].Partitions[0].EndOffset+*desc.Topics[0].Partitions[1].EndOffset != 4 {
		t.Fatalf("topic describe --format json: %+v", desc)
	}
	var list []topicSummary
	rillJSON(t, &list, "topic", "list")
	if len(list) != 1 || list[0].Name != "admin" || list[0].ID != desc.Topics[0].ID {
		t.Fatalf("topic list --format json: %+v", list)
	}

	// Topic configs: set, shown with their source, removed.
	rill(t, "", "config", "alter", "topic", "admin", "--set", "retention.ms=3600000")
	var cfgs []configEntry
	rillJSON(t, &cfgs, "config", "describe", "topic", "admin")
	if len(cfgs) != 1 || cfgs[0].Name != "retention.ms" || *cfgs[0].Value != "3600000" || cfgs[0].Source != "DYNAMIC_TOPIC_CONFIG" {
		t.Fatalf("config describe topic: %+v", cfgs)
	}
	if all := rill(t, "", "config", "describe", "topic", "admin", "--all"); !strings.Contains(all, "DEFAULT_CONFIG") || !strings.Contains(all, "retention.ms") {
		t.Fatalf("config describe --all:\n%s", all)
	}
	rill(t, "", "config", "alter", "topic", "admin", "--delete", "retention.ms")
	rillJSON(t, &cfgs, "config", "describe", "topic", "admin")
	if len(cfgs) != 0 {
		t.Fatalf("config after --delete: %+v", cfgs)
	}
	// Broker configs: every config with --all, each with a source.
	var brokerCfgs []configEntry
	rillJSON(t, &brokerCfgs, "config", "describe", "broker", "1", "--all")
	if len(brokerCfgs) == 0 {
		t.Fatal("config describe broker 1 --all: no configs")
	}
	for _, c := range brokerCfgs {
		if c.Source == "" || c.Source == "UNKNOWN" {
			t.Fatalf("broker config %s without a source", c.Name)
		}
	}

	var h health
	rillJSON(t, &h, "cluster", "health")
	if !h.Healthy || h.Controller < 0 || len(h.Nodes) != 1 || len(h.NodesDown) != 0 {
		t.Fatalf("cluster health: %+v", h)
	}
	rill(t, "", "cluster", "health", "--fail-unhealthy")

	var dirs struct {
		Dirs []logDirEntry `json:"dirs"`
	}
	rillJSON(t, &dirs, "log-dirs", "--topic", "admin")
	if len(dirs.Dirs) != 1 || len(dirs.Dirs[0].Partitions) != 2 || dirs.Dirs[0].Partitions[0].Size+dirs.Dirs[0].Partitions[1].Size == 0 {
		t.Fatalf("log-dirs: %+v", dirs)
	}

	// One replica: the preferred leader already leads.
	if out := rill(t, "", "partition", "elect", "admin"); strings.Count(out, "election not needed") != 2 {
		t.Fatalf("partition elect:\n%s", out)
	}
	var moving []reassignmentEntry
	rillJSON(t, &moving, "partition", "reassignments")
	if len(moving) != 0 {
		t.Fatalf("reassignments in progress on an idle broker: %+v", moving)
	}

	// A group's offsets, deleted for one partition.
	rill(t, "", "consume", "--topic", "admin", "--group", "g", "--count", "4")
	if out := rill(t, "", "group", "delete-offsets", "--group", "g", "--topic", "admin:0"); !strings.Contains(out, "deleted offset of admin-0") {
		t.Fatalf("group delete-offsets:\n%s", out)
	}
	var groups []groupDescription
	rillJSON(t, &groups, "group", "describe", "g")
	// Lag is shown for every partition of the topic; partition 0 has no
	// committed offset any more.
	if len(groups) != 1 || len(groups[0].Partitions) != 2 || groups[0].Partitions[0].CurrentOffset != nil || groups[0].Partitions[1].CurrentOffset == nil {
		t.Fatalf("group g after deleting the offset of partition 0: %+v", groups)
	}
	b.stop()
}

// `rill consume --group --idle` against a broker with the default
// initial rebalance delay (3 s): the idle clock starts once the member has
// its partitions, so the records are printed, and the consumer leaves and
// exits within the delay, the idle time and a small bound.
func TestConsumeGroupIdle(t *testing.T) {
	b := startBroker(t, t.TempDir())
	bs := "--bootstrap=" + b.addr
	rill(t, "", "topic", "create", bs, "--partitions", "2", "idle")
	rill(t, "1\n2\n3\n", "produce", bs, "--topic", "idle")
	start := time.Now()
	out := rill(t, "", "consume", bs, "--topic", "idle", "--group", "idlers", "--idle", "2s")
	took := time.Since(start)
	if got := strings.Fields(out); len(got) != 3 {
		t.Fatalf("consumed %q, want the 3 records", out)
	}
	// 3 s delay + 2 s idle; the bound covers the join and the leave.
	if took > 12*time.Second {
		t.Fatalf("consume --group --idle 2s took %s", took)
	}
	adm := kadm.NewClient(client(t, b.addr))
	d, err := adm.DescribeGroups(context.Background(), "idlers")
	if err != nil || len(d["idlers"].Members) != 0 {
		t.Fatalf("the idle consumer is still a member: %+v %v", d, err)
	}
	b.stop()
}

// A group consumer stopped with Ctrl-C leaves its group on the way out:
// the group has no members right after the process exits, not after the
// session timeout (30 s here).
func TestConsumeGroupInterrupt(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	rill(t, "", "topic", "create", "--bootstrap", b.addr, "sigint")
	cmd := exec.Command(rillBin, "consume", "--bootstrap", b.addr, "--topic", "sigint", "--group", "interrupted", "--session-timeout", "30s")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(client(t, b.addr))
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := adm.DescribeGroups(ctx, "interrupted")
		if err == nil && d["interrupted"].State == "Stable" && len(d["interrupted"].Members) == 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the consumer never joined: %+v %v\n%s", d, err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("consume after Ctrl-C: %v\n%s", err, stderr.String())
		}
	case <-time.After(leaveTimeout + 5*time.Second):
		cmd.Process.Kill()
		t.Fatalf("consume did not exit after Ctrl-C\n%s", stderr.String())
	}
	d, err := adm.DescribeGroups(ctx, "interrupted")
	if err != nil || len(d["interrupted"].Members) != 0 || d["interrupted"].State != "Empty" {
		t.Fatalf("after Ctrl-C the group is %+v %v, want Empty", d["interrupted"], err)
	}
	b.stop()
}

// Ctrl-C on `rill produce` whose stdin stays open (a terminal): the tool
// stops waiting on the read and exits 130 with "interrupted". (Before
// signal handling it died at once; with a handler that only cancelled a
// context it would have hung in the blocked read.)
func TestProduceInterrupt(t *testing.T) {
	b := startBroker(t, t.TempDir())
	rill(t, "", "topic", "create", "--bootstrap", b.addr, "--partitions", "1", "ctrlc")
	cmd := exec.Command(rillBin, "produce", "--bootstrap", b.addr, "--topic", "ctrlc")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdin.Write([]byte("one\ntwo\n"))
	// The lines are produced; then Ctrl-C while the read blocks.
	adm := kadm.NewClient(client(t, b.addr))
	deadline := time.Now().Add(10 * time.Second)
	for {
		ends, err := adm.ListEndOffsets(context.Background(), "ctrlc")
		if o, ok := ends.Lookup("ctrlc", 0); err == nil && ok && o.Offset == 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the two lines were never produced\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("produce did not exit after Ctrl-C\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("produce after Ctrl-C: exit %d, stderr %q; want %d and 'interrupted'", code, stderr.String(), exitInterrupted)
	}
	b.stop()
}
