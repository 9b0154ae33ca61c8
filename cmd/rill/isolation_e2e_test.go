package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// A leader cut off from the controller quorum stops acting as leader once
// its session timeout passed with no heartbeat answered, so clients go to
// the leaders the majority elects instead of writing to it (issue 11, item
// 4). Here the other two nodes are frozen (SIGSTOP), which on loopback
// cuts the survivor off from every controller while clients still reach
// it; the network-namespace tests cut real links. Thawed, the cluster
// elects leaders again and no acknowledged record is lost.
func TestIsolatedLeaderStepsDown(t *testing.T) {
	const session = 2 * time.Second
	c := startCluster(t, "--set", "broker.session.timeout.ms=2000", "--set", "broker.heartbeat.interval.ms=200",
		"--set", "replica.lag.time.max.ms=2000")
	ctx := context.Background()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	const topic, parts = "isolated", 3
	res, err := c.admin(0).CreateTopic(ctx, parts, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.waitFor("every partition with a full ISR", func() bool { return c.fullISR(topic, parts, 0) })
	w := startWriter(t, c, topic)
	w.waitAcked(300)

	survivor := int(c.partitions(0, topic)[0].Leader)
	if survivor < 1 {
		t.Fatalf("no leader for partition 0:\n%s", c.logs())
	}
	var frozen []*broker
	for i, b := range c.bs {
		if i+1 != survivor {
			frozen = append(frozen, b)
			b.cmd.Process.Signal(syscall.SIGSTOP)
		}
	}
	thaw := func() {
		for _, b := range frozen {
			b.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw) // so a failing test's processes can be killed and waited for
	cut := time.Now()
	t.Logf("froze every node but %d, the leader of partition 0, at %d acknowledged", survivor, w.acked.Load())

	// Its own Metadata answers stop naming it leader within the session
	// timeout (plus a heartbeat's slack on a loaded, race-built host).
	var steppedDown time.Duration
	for {
		led := 0
		for _, p := range c.partitions(survivor-1, topic) {
			if int(p.Leader) == survivor {
				led++
			}
		}
		if led == 0 {
			steppedDown = time.Since(cut)
			break
		}
		if time.Since(cut) > session+3*time.Second {
			t.Fatalf("node %d still answers as leader of %d partitions %v after losing the controller quorum\n%s",
				survivor, led, time.Since(cut), c.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("node %d stopped acting as leader %v after it was cut off (session timeout %v)", survivor, steppedDown, session)
	if !strings.Contains(c.bs[survivor-1].log(), "stepping down as leader") {
		t.Errorf("no log line for the step-down:\n%s", c.bs[survivor-1].log())
	}

	thaw()
	c.waitFor("every partition led again with a full ISR", func() bool { return c.fullISR(topic, parts, 0) })
	w.waitAcked(w.acked.Load() + 300)
	t.Logf("%v", w.finish())
}
