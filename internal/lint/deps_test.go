// Package lint holds repository-wide checks that run as tests.
package lint

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// forbidden is the layering policy (DESIGN.md): dependencies point down.
// A package whose path starts with the key must not import any package
// whose path starts with one of the values.
var forbidden = map[string][]string{
	"github.com/rillmq/rill/engine":      {"github.com/rillmq/rill/replication", "github.com/rillmq/rill/coordinator", "github.com/rillmq/rill/netserver", "github.com/rillmq/rill/cmd"},
	"github.com/rillmq/rill/replication": {"github.com/rillmq/rill/coordinator", "github.com/rillmq/rill/netserver", "github.com/rillmq/rill/cmd"},
	"github.com/rillmq/rill/coordinator": {"github.com/rillmq/rill/netserver", "github.com/rillmq/rill/cmd"},
	// The coordinator runtime knows no coordinator.
	"github.com/rillmq/rill/coordinator/shard": {"github.com/rillmq/rill/coordinator/group"},
	"github.com/rillmq/rill/netserver":         {"github.com/rillmq/rill/cmd"},
	"github.com/rillmq/rill/engine/vfs":        {"github.com/rillmq/rill/engine/format", "github.com/rillmq/rill/engine/log", "github.com/rillmq/rill/engine/segment"},
	"github.com/rillmq/rill/engine/format": {
		"github.com/rillmq/rill/engine/vfs", "github.com/rillmq/rill/engine/log", "github.com/rillmq/rill/engine/segment"},
}

// exempt are imports against the policy that are allowed for now, each
// with why; an exemption no import uses any more fails the test, so it is
// removed with the import.
var exempt = map[string]string{}

func TestImportLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "github.com/rillmq/rill/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	used := map[string]bool{}
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		checked++
		for prefix, bad := range forbidden {
			if p.ImportPath != prefix && !strings.HasPrefix(p.ImportPath, prefix+"/") {
				continue
			}
			for _, imp := range p.Imports {
				for _, b := range bad {
					if imp != b && !strings.HasPrefix(imp, b+"/") {
						continue
					}
					if edge := p.ImportPath + " -> " + imp; exempt[edge] != "" {
						used[edge] = true
						continue
					}
					t.Errorf("%s imports %s, against the layering in DESIGN.md", p.ImportPath, imp)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("go list returned only %d packages", checked)
	}
	for edge, why := range exempt {
		if !used[edge] {
			t.Errorf("the exemption %q (%s) is no longer used: remove it", edge, why)
		}
	}
}
