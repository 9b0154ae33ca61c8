package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Three `rill serve` processes with process.roles=broker,controller form a
// controller quorum: one becomes the active controller and every broker
// registers. SIGKILL the active controller: another takes over and fences
// the dead broker after its session; restart it: it replays its metadata
// log, rejoins and is unfenced.
func TestControllerQuorumFailover(t *testing.T) {
	ports := []string{freePort(t), freePort(t), freePort(t)}
	voters := fmt.Sprintf("1@%s,2@%s,3@%s", ports[0], ports[1], ports[2])
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	start := func(i int) *broker {
		return startBroker(t, dirs[i], "--set", "process.roles=broker,controller", "--set", fmt.Sprintf("node.id=%d", i+1),
			"--set", "controller.quorum.voters="+voters, "--set", "broker.session.timeout.ms=2000",
			"--set", "broker.heartbeat.interval.ms=200")
	}
	bs := []*broker{start(0), start(1), start(2)}
	waitLog := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				var logs strings.Builder
				for i, b := range bs {
					fmt.Fprintf(&logs, "--- node %d\n%s", i+1, b.log())
				}
				t.Fatalf("timed out waiting for %s\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	activeRe := regexp.MustCompile(`controller (\d): active`)
	active := func(skip int) int {
		for i, b := range bs {
			if i+1 == skip {
				continue
			}
			if m := activeRe.FindAllStringSubmatch(b.log(), -1); len(m) > 0 {
				var id int
				fmt.Sscan(m[len(m)-1][1], &id)
				if id == i+1 && !strings.Contains(b.log()[strings.LastIndex(b.log(), m[len(m)-1][0]):], "no longer active") {
					return id
				}
			}
		}
		return 0
	}
	allSay := func(s string, nodes ...int) func() bool {
		return func() bool {
			for _, i := range nodes {
				if !strings.Contains(bs[i].log(), s) {
					return false
				}
			}
			return true
		}
	}
	waitLog("an active controller", func() bool { return active(0) != 0 })
	for id := 1; id <= 3; id++ {
		waitLog(fmt.Sprintf("broker %d unfenced everywhere", id), allSay(fmt.Sprintf("metadata: broker %d unfenced", id), 0, 1, 2))
	}
	first := active(0)
	bs[first-1].kill()
	var survivors []int
	for i := range bs {
		if i != first-1 {
			survivors = append(survivors, i)
		}
	}
	waitLog("a new active controller", func() bool { return active(first) != 0 })
	waitLog(fmt.Sprintf("broker %d fenced", first), allSay(fmt.Sprintf("metadata: broker %d fenced", first), survivors...))
	// Restart it: same data, same voters.
	before := strings.Count(bs[survivors[0]].log(), fmt.Sprintf("metadata: broker %d unfenced", first))
	bs[first-1] = start(first - 1)
	waitLog(fmt.Sprintf("broker %d unfenced again", first), func() bool {
		return strings.Count(bs[survivors[0]].log(), fmt.Sprintf("metadata: broker %d unfenced", first)) > before
	})
	// Its replayed log agrees: it saw its own fencing.
	waitLog("the restarted node replaying its fencing", allSay(fmt.Sprintf("metadata: broker %d fenced", first), first-1))
	for _, b := range bs {
		b.stop()
	}
}
