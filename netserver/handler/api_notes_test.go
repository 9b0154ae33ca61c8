package handler

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated API table of docs/protocol.md")

const (
	protocolDocPath  = "../../docs/protocol.md"
	protocolDocBegin = "<!-- BEGIN GENERATED: go test ./netserver/handler -run TestProtocolDoc -update -->\n"
	protocolDocEnd   = "<!-- END GENERATED -->"
)

// TestProtocolDoc keeps docs/protocol.md's API table the API table's
// rendering (versions from apis, notes from apiNotes, the left-out list):
// it fails when they differ, and -update rewrites it.
func TestProtocolDoc(t *testing.T) {
	for _, a := range apis {
		if apiNotes[a.key] == "" {
			t.Errorf("key %d has no note in apiNotes", a.key)
		}
	}
	for key := range apiNotes {
		if findAPI(key) == nil {
			t.Errorf("apiNotes has key %d, which the API table does not serve", key)
		}
	}
	b, err := os.ReadFile(protocolDocPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, protocolDocBegin), strings.Index(doc, protocolDocEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated section (%q ... %q)", protocolDocPath, protocolDocBegin, protocolDocEnd)
	}
	want := doc[:i+len(protocolDocBegin)] + protocolMarkdown() + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(protocolDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's API table differs from the API table: run go test ./netserver/handler -run TestProtocolDoc -update", protocolDocPath)
}
