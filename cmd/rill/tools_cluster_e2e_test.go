package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The placement tools on three nodes: partition reassign --wait moves a
// partition's replicas and prints progress, elect gives the leadership
// back to the preferred replica, and with one node killed cluster health
// names it down while topic describe still shows every partition.
func TestToolsCluster(t *testing.T) {
	c := startCluster(t, "--set", "broker.session.timeout.ms=2000", "--set", "broker.heartbeat.interval.ms=200")
	bs := "--bootstrap=" + strings.Join(c.addrs, ",")
	c.waitFor("three brokers registered", func() bool {
		m, err := c.admin(0).BrokerMetadata(context.Background())
		return err == nil && len(m.Brokers) == 3
	})
	rill(t, "", "topic", "create", bs, "--partitions", "1", "--replication-factor", "2", "moved")
	rill(t, "a\nb\nc\n", "produce", bs, "--topic", "moved")
	before := c.partitions(0, "moved")[0].Replicas
	// Move the partition to the two replicas it has not got plus one it
	// has, led by the new one.
	var target []int32
	for _, id := range []int32{1, 2, 3} {
		if !slices.Contains(before, id) {
			target = append(target, id)
		}
	}
	target = append(target, before[0])
	var ids []string
	for _, id := range target {
		ids = append(ids, strconv.Itoa(int(id)))
	}
	arg := "moved:0=" + strings.Join(ids, ",")
	out := rill(t, "", "partition", "reassign", bs, arg, "--wait", "--interval", "200ms")
	if !strings.Contains(out, "reassigning moved-0") || !strings.Contains(out, "reassignment complete") {
		t.Fatalf("partition reassign --wait:\n%s", out)
	}
	c.waitFor("the new replicas", func() bool {
		p := c.partitions(0, "moved")[0]
		return slices.Equal(p.Replicas, target) && len(p.ISR) == 2
	})
	// The new preferred replica may not lead yet; elect makes it.
	out = rill(t, "", "partition", "elect", bs, "moved:0")
	if !strings.Contains(out, "moved-0") {
		t.Fatalf("partition elect:\n%s", out)
	}
	c.waitFor("the preferred replica leading", func() bool {
		return c.partitions(0, "moved")[0].Leader == target[0]
	})
	if out := rill(t, "", "consume", bs, "--topic", "moved", "--count", "3"); strings.Fields(out)[2] != "c" {
		t.Fatalf("records after the move: %q", out)
	}

	// One node down: health says which; describe shows what it can.
	dead := int(target[0]) // the leader: its partition has to move
	// One partition on each node and no other replica: the dead node's
	// partition cannot be answered for.
	rill(t, "", "topic", "create", bs, "--partitions", "3", "--replication-factor", "1", "spread")
	c.waitFor("spread led on every node", func() bool {
		leaders := map[int32]bool{}
		for _, p := range c.partitions(0, "spread") {
			leaders[p.Leader] = true
		}
		return len(leaders) == 3 && !leaders[-1]
	})
	c.bs[dead-1].kill()
	// Right after the kill, before the cluster noticed: the live nodes'
	// partitions are shown, the dead one's with the error beside it,
	// within --timeout, and the command succeeds.
	start := time.Now()
	out, errOut, err := rillOutErr(t, "", "topic", "describe", bs, "--timeout", "5s", "spread")
	if err != nil || strings.Count(out, "Partition: ") != 3 || !strings.Contains(out, "End: 0") ||
		!strings.Contains(out, "Error: start offset: broker "+strconv.Itoa(dead)) || time.Since(start) > 15*time.Second {
		t.Fatalf("topic describe right after node %d died (%s): %v\n%s\n%s", dead, time.Since(start), err, out, errOut)
	}
	t.Logf("topic describe right after node %d died took %s:\n%s%s", dead, time.Since(start), out, errOut)
	// log-dirs and group list too: the live brokers' answers, the dead
	// one's failure on stderr.
	out, errOut, err = rillOutErr(t, "", "log-dirs", bs, "--timeout", "5s")
	if err != nil || strings.Count(out, "Broker: ") != 2 || !strings.Contains(errOut, "partial answer") {
		t.Fatalf("log-dirs with node %d down: %v\n%s\n%s", dead, err, out, errOut)
	}
	if _, errOut, err = rillOutErr(t, "", "group", "list", bs, "--timeout", "5s"); err != nil {
		t.Fatalf("group list with node %d down: %v\n%s", dead, err, errOut)
	}
	var h health
	c.waitFor("health to notice the dead node", func() bool {
		cmd := exec.Command(rillBin, "cluster", "health", bs, "--format", "json")
		o, _ := cmd.Output()
		return json.Unmarshal(o, &h) == nil && slices.Contains(h.NodesDown, int32(dead))
	})
	if h.Healthy {
		t.Fatalf("healthy with node %d down: %+v", dead, h)
	}
	if err := exec.Command(rillBin, "cluster", "health", bs, "--fail-unhealthy").Run(); err == nil {
		t.Fatal("cluster health --fail-unhealthy exited 0 with a node down")
	}
	start = time.Now()
	desc := rill(t, "", "topic", "describe", bs, "--timeout", "10s", "moved")
	if !strings.Contains(desc, "Partition: 0") {
		t.Fatalf("topic describe with node %d down:\n%s", dead, desc)
	}
	t.Logf("topic describe with node %d down took %s:\n%s", dead, time.Since(start), desc)
}
