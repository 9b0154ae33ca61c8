package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/brokerconf"
)

// notBrokerKeys are dotted literals of the config readers that are not
// broker keys, each with why.
var notBrokerKeys = map[string]string{
	"meta.properties": "the data directory's identity file",
	"rill.cluster":    "a meta.properties field",
}

// configReaders are the files that read broker keys (tools_*, main.go and
// segdump.go read client and CLI options, not broker keys).
func configReaders(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "tools_") || f == "main.go" || f == "segdump.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	if len(out) < 8 {
		t.Fatalf("found only %d config readers: the scan is broken", len(out))
	}
	return out
}

var (
	dottedLiteral = regexp.MustCompile(`"([a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+)"`)
	// A key read with a getter: .get("key", ...), .int64("key", ...),
	// listenerGet(l, "key", ...), listenerMillis(l, "key", ...).
	getterKey = regexp.MustCompile(`(?:\.get|\.int64|listenerGet\([^,]+,|listenerMillis\([^,]+,)\(?\s*"([a-z_.0-9-]+)"`)
	// Literal defaults: get("key", "def") and int64("key", 123).
	stringDefault = regexp.MustCompile(`\.get\("([a-z_.0-9-]+)", "([^"]*)"\)`)
	intDefault    = regexp.MustCompile(`\.int64\("([a-z_.0-9-]+)", (-?[0-9]+)\)`)
)

// TestEveryKeyReadIsInTheTable fails when a config reader names a key the
// table of package brokerconf does not know: the table and the code
// cannot drift apart.
func TestEveryKeyReadIsInTheTable(t *testing.T) {
	seen := 0
	for f, src := range configReaders(t) {
		reported := map[string]bool{}
		for _, re := range []*regexp.Regexp{dottedLiteral, getterKey} {
			for _, m := range re.FindAllStringSubmatch(src, -1) {
				name := m[1]
				if reported[name] {
					continue
				}
				reported[name] = true
				if _, ok := brokerconf.Lookup(name); ok {
					seen++
					continue
				}
				if slices.Contains(log.ConfigNames, name) || notBrokerKeys[name] != "" {
					continue
				}
				t.Errorf("%s reads %q, which is not in internal/brokerconf's table", f, name)
			}
		}
	}
	if seen < 60 {
		t.Errorf("only %d key reads found: the scan is broken", seen)
	}
}

// TestLiteralDefaultsMatchTheTable compares the defaults the readers
// write next to a key with the table's, which --print-config and
// DescribeConfigs report.
func TestLiteralDefaultsMatchTheTable(t *testing.T) {
	for f, src := range configReaders(t) {
		for _, re := range []*regexp.Regexp{stringDefault, intDefault} {
			for _, m := range re.FindAllStringSubmatch(src, -1) {
				k, ok := brokerconf.Lookup(m[1])
				if !ok {
					continue // TestEveryKeyReadIsInTheTable reports it
				}
				if k.Default != m[2] && !(k.NoDefault && m[2] == "") {
					t.Errorf("%s reads %s with default %q; the table says %q", f, m[1], m[2], k.Default)
				}
			}
		}
	}
}

// TestTLSKeysAreInTheTable: package tlsconf reads every ssl.* key of a
// listener; each it names must be a table key a listener may set.
func TestTLSKeysAreInTheTable(t *testing.T) {
	b, err := os.ReadFile("../../internal/tlsconf/keys.go")
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`= "(ssl\.[a-z.]+)"`).FindAllStringSubmatch(string(b), -1)
	if len(keys) < 15 {
		t.Fatalf("found %d ssl keys: the scan is broken", len(keys))
	}
	for _, m := range keys {
		if k, ok := brokerconf.Lookup("listener.name.ssl." + m[1]); !ok || k.Name != m[1] {
			t.Errorf("tlsconf reads %s, which is not a per-listener table key", m[1])
		}
	}
}
