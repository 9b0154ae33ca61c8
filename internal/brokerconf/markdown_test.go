package brokerconf

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated key table of docs/configuration.md")

const (
	docPath  = "../../docs/configuration.md"
	docBegin = "<!-- BEGIN GENERATED: go test ./internal/brokerconf -run TestConfigDoc -update -->\n"
	docEnd   = "<!-- END GENERATED -->"
)

// TestConfigDoc keeps the key table of docs/configuration.md the table's
// rendering: it fails when they differ, and -update rewrites it.
func TestConfigDoc(t *testing.T) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated section (%q ... %q)", docPath, docBegin, docEnd)
	}
	want := doc[:i+len(docBegin)] + Markdown() + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's key table differs from the brokerconf table: run go test ./internal/brokerconf -run TestConfigDoc -update", docPath)
}
