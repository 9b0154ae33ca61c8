package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// requireTool skips when a third-party client is missing on a developer's
// machine, but fails under CI, whose .ci/run installs it.
func requireTool(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath(path); err == nil {
		return
	}
	if _, err := os.Stat(path); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing; .ci/run installs it", path)
	}
	t.Skipf("%s not installed (make test-clients installs it)", path)
}

// toolCommand runs a third-party client with a deadline, so a client that
// hangs fails the test instead of the whole run.
func toolCommand(t *testing.T, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return exec.CommandContext(ctx, name, args...)
}

// kcat (librdkafka) produces keyed lines and reads them back.
func TestKcat(t *testing.T) {
	requireTool(t, "kcat")
	b := startBroker(t, t.TempDir(), "--set", "num.partitions=3")
	var in bytes.Buffer
	const n = 2000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "key%d:value-%05d\n", i%7, i)
	}
	produce := toolCommand(t, "kcat", "-P", "-b", b.addr, "-t", "kcat", "-K:", "-z", "lz4", "-X", "topic.request.required.acks=-1")
	produce.Stdin = &in
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s\n%s", err, out, b.log())
	}
	out, err := toolCommand(t, "kcat", "-C", "-b", b.addr, "-t", "kcat", "-o", "beginning", "-e", "-q", "-f", "%p %o %k %s\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat consume: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != n {
		t.Fatalf("kcat read %d lines, want %d:\n%s", len(lines), n, out)
	}
	var vals []string
	lastByKey := map[string]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 4 {
			t.Fatalf("line %q", l)
		}
		if prev := lastByKey[f[2]]; prev >= f[3] {
			t.Fatalf("key %s out of order: %s after %s", f[2], f[3], prev)
		}
		lastByKey[f[2]] = f[3]
		vals = append(vals, f[3])
	}
	sort.Strings(vals)
	for i, v := range vals {
		if v != fmt.Sprintf("value-%05d", i) {
			t.Fatalf("records differ at %d: %s", i, v)
		}
	}
	meta, err := toolCommand(t, "kcat", "-L", "-b", b.addr, "-t", "kcat").CombinedOutput()
	if err != nil || !strings.Contains(string(meta), "3 partitions") {
		t.Fatalf("kcat -L: %v\n%s", err, meta)
	}
	b.stop()
}

// kafkajs creates a topic, produces idempotently, lists offsets; kgo
// reads every record back.
func TestKafkaJS(t *testing.T) {
	script, _ := filepath.Abs("../../test/clients/kafkajs_roundtrip.js")
	requireTool(t, "node")
	requireTool(t, filepath.Join(filepath.Dir(script), "node_modules", "kafkajs"))
	b := startBroker(t, t.TempDir())
	const n = 3000
	out, err := toolCommand(t, "node", script, b.addr, "kjs", fmt.Sprint(n)).CombinedOutput()
	if err != nil {
		t.Fatalf("kafkajs: %v\n%s\n%s", err, out, b.log())
	}
	got := consumeAll(t, b.addr, "kjs", n)
	seen := map[string]bool{}
	for _, r := range got {
		seen[r.val] = true
	}
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprintf("v%d", i)] {
			t.Fatalf("record v%d missing", i)
		}
	}
	b.stop()
}
