package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// skipUnlessShareGroups skips the test when a broker of the cluster at
// addr does not serve ShareGroupHeartbeat (76) v1: its ApiVersions answer
// lacks the key, so a share consumer's heartbeat would get
// UNSUPPORTED_VERSION. Brokers that gate share groups on the share.version
// feature (as Kafka 4.2's do) get it finalized first, best effort.
func skipUnlessShareGroups(t *testing.T, addr string) {
	t.Helper()
	adm := kadm.NewClient(client(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = adm.UpdateFeatures(ctx, false, kadm.FeatureUpdate{Feature: "share.version", MaxVersionLevel: 1, UpgradeType: 1})
	versions, err := kadm.NewClient(client(t, addr)).ApiVersions(ctx)
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	versions.Each(func(v kadm.BrokerApiVersions) {
		if v.Err != nil {
			t.Fatalf("ApiVersions of broker %d: %v", v.NodeID, v.Err)
		}
		if maxV, ok := v.KeyMaxVersion(int16(kmsg.ShareGroupHeartbeat)); !ok || maxV < 1 {
			t.Skip("needs share groups on the broker")
		}
	})
}

// shareConsumer is a `rill consume --share-group` process whose printed
// values are collected.
type shareConsumer struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	seen   []string
	stderr *strings.Builder
	done   chan struct{}
}

func startShareConsumer(t *testing.T, args ...string) *shareConsumer {
	t.Helper()
	cmd := exec.Command(rillBin, append([]string{"consume"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	c := &shareConsumer{cmd: cmd, stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.mu.Lock()
			c.seen = append(c.seen, sc.Text())
			c.mu.Unlock()
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
	})
	return c
}

func (c *shareConsumer) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

// The share-group CLI against a real broker: consume --share-group
// (records delivered once, each acknowledged ACCEPT, so a second member
// gets none of them again), group list's TYPE column, and group describe
// of a share group with a member and its assignment, and its share offsets
// once every record is acknowledged. The flags a share consumer cannot
// honour are refused whatever the broker serves.
func TestShareCLI(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	bs := "--bootstrap=" + b.addr

	for _, bad := range [][]string{
		{"--share-group", "sg", "--topic", "queue", "--from", "latest"},
		{"--share-group", "sg", "--topic", "queue", "--isolation", "read_committed"},
		{"--share-group", "sg", "--topic", "queue", "--group", "g"},
		{"--share-group", "sg", "--topic", "queue", "--partition", "0"},
	} {
		_, errOut, err := rillOutErr(t, "", append([]string{"consume", bs}, bad...)...)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(errOut, "--share-group") {
			t.Errorf("consume %v: %v\n%s", bad, err, errOut)
		}
	}

	skipUnlessShareGroups(t, b.addr)

	rill(t, "", "topic", "create", bs, "--partitions", "2", "queue")
	var in strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&in, "r%02d\n", i)
	}
	rill(t, in.String(), "produce", bs, "--topic", "queue", "--partitioner", "round-robin")
	// Without it a new share group starts at the log end and would see
	// none of the records above.
	rill(t, "", "config", "alter", "group", "sg", bs, "--set", "share.auto.offset.reset=earliest")

	out := rill(t, "", "consume", bs, "--share-group", "sg", "--topic", "queue", "--count", "20", "--idle", "60s")
	got := strings.Fields(out)
	sort.Strings(got)
	if len(got) != 20 || got[0] != "r00" || got[19] != "r19" || len(dedupe(got)) != 20 {
		t.Fatalf("share consume printed %d records:\n%s", len(got), out)
	}
	// Every record was accepted: a later member gets none again.
	if again := rill(t, "", "consume", bs, "--share-group", "sg", "--topic", "queue", "--idle", "5s"); strings.TrimSpace(again) != "" {
		t.Fatalf("accepted records delivered again:\n%s", again)
	}

	if out := rill(t, "", "group", "list", bs); !regexp.MustCompile(`(?m)^sg\s+\S+\s+\S+\s+share\s*$`).MatchString(out) {
		t.Fatalf("group list has no share group sg with TYPE share:\n%s", out)
	}
	var listed []groupSummary
	rillJSON(t, &listed, "group", "list", bs)
	found := false
	for _, g := range listed {
		found = found || g.Group == "sg" && g.Type == "share"
	}
	if !found {
		t.Fatalf("group list --format json: %+v", listed)
	}

	// The share offsets: every record acknowledged, so the start offsets
	// are the log ends (10 records on each partition) and nothing lags.
	startRow := regexp.MustCompile(`(?m)^queue\s+(\d)\s+(\d+)\s+(\S+)`)
	waitUntil(t, 30*time.Second, "share offsets at the log end", func() bool {
		out := rill(t, "", "group", "describe", bs, "sg")
		if !strings.Contains(out, "Type: share") {
			t.Fatalf("group describe of a share group:\n%s", out)
		}
		sum := 0
		for _, m := range startRow.FindAllStringSubmatch(out, -1) {
			n, _ := strconv.Atoi(m[2])
			sum += n
		}
		return sum == 20
	})

	// A running member shows in describe with its assignment.
	member := startShareConsumer(t, bs, "--share-group", "sg2", "--topic", "queue", "--format", `%v\n`)
	waitUntil(t, 30*time.Second, "the member in group describe", func() bool {
		// Until the member's first heartbeat the group does not exist.
		out, _, err := rillOutErr(t, "", "group", "describe", bs, "sg2")
		return err == nil && strings.Contains(out, "Members: 1") && regexp.MustCompile(`queue:0,1`).MatchString(out)
	})
	var described []shareGroupDescription
	rillJSON(t, &described, "group", "describe", bs, "sg2")
	if len(described) != 1 || described[0].Type != "share" || len(described[0].Members) != 1 || len(described[0].Members[0].Assignment["queue"]) != 2 {
		t.Fatalf("group describe --format json: %+v", described)
	}
	member.cmd.Process.Signal(os.Interrupt)
	select {
	case <-member.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("share consumer did not stop on an interrupt:\n%s", member.stderr.String())
	}
	member.cmd.Wait()
	if len(member.lines()) != 0 {
		t.Fatalf("a member of a new share group (latest) printed records produced before it joined: %v", member.lines())
	}
	b.stop()
}

func dedupe(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}
