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
	"github.com/rillmq/rill/engine":      {"github.com/rillmq/rill/replication", "github.com/rillmq/rill/netserver", "github.com/rillmq/rill/cmd"},
	"github.com/rillmq/rill/replication": {"github.com/rillmq/rill/netserver", "github.com/rillmq/rill/cmd"},
	"github.com/rillmq/rill/netserver":   {"github.com/rillmq/rill/cmd"},
	"github.com/rillmq/rill/engine/vfs":  {"github.com/rillmq/rill/engine/format", "github.com/rillmq/rill/engine/log", "github.com/rillmq/rill/engine/segment"},
	"github.com/rillmq/rill/engine/format": {
		"github.com/rillmq/rill/engine/vfs", "github.com/rillmq/rill/engine/log", "github.com/rillmq/rill/engine/segment"},
}

func TestImportLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "github.com/rillmq/rill/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
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
					if imp == b || strings.HasPrefix(imp, b+"/") {
						t.Errorf("%s imports %s, against the layering in DESIGN.md", p.ImportPath, imp)
					}
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("go list returned only %d packages", checked)
	}
}
