package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

func rill(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(rillBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("rill %v: %v\n%s%s", args, err, out, msg)
	}
	return string(out)
}

// The topic, produce and consume tools against a real broker.
func TestTools(t *testing.T) {
	b := startBroker(t, t.TempDir())
	bs := "--bootstrap=" + b.addr
	if out := rill(t, "", "topic", "create", bs, "--partitions", "3", "--config", "retention.ms=86400000", "tools"); !strings.Contains(out, "created tools (3 partitions") {
		t.Fatalf("create: %s", out)
	}
	if out := rill(t, "", "topic", "list", bs); !strings.Contains(out, "tools") {
		t.Fatalf("list: %s", out)
	}
	var in strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&in, "user%d:event-%03d\n", i%10, i)
	}
	rill(t, in.String(), "produce", bs, "--topic", "tools", "--key-separator", ":", "--partitioner", "murmur2", "--compression", "zstd", "--header", "src=test")
	out := rill(t, "", "consume", bs, "--topic", "tools", "--from", "earliest", "--count", "300", "--format", `%p %k %v %h\n`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 300 {
		t.Fatalf("consumed %d lines", len(lines))
	}
	partitionOf := map[string]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 4 || f[3] != "src=test" {
			t.Fatalf("line %q", l)
		}
		if p, ok := partitionOf[f[1]]; ok && p != f[0] {
			t.Fatalf("key %s in partitions %s and %s: murmur2 partitioning must be stable", f[1], p, f[0])
		}
		partitionOf[f[1]] = f[0]
	}
	desc := rill(t, "", "topic", "describe", bs, "tools")
	if !strings.Contains(desc, "PartitionCount: 3") || !strings.Contains(desc, "retention.ms=86400000") {
		t.Fatalf("describe:\n%s", desc)
	}
	rill(t, "", "topic", "alter", bs, "--config", "retention.ms=1000", "--partitions", "4", "tools")
	desc = rill(t, "", "topic", "describe", bs, "tools")
	if !strings.Contains(desc, "PartitionCount: 4") || !strings.Contains(desc, "retention.ms=1000\n") {
		t.Fatalf("describe after alter:\n%s", desc)
	}
	// One partition from an offset.
	one := rill(t, "", "consume", bs, "--topic", "tools", "--partition", partitionOf["user3"], "--from", "2", "--count", "1", "--format", `%o\n`)
	if strings.TrimSpace(one) != "2" {
		t.Fatalf("consume from offset 2: %q", one)
	}
	rill(t, "", "topic", "delete", bs, "tools")
	if out := rill(t, "", "topic", "list", bs); strings.Contains(out, "tools") {
		t.Fatalf("deleted topic listed: %s", out)
	}
	b.stop()
}
