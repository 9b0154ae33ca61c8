package history

import (
	"strings"
	"testing"
)

func TestCheckExactlyOnce(t *testing.T) {
	in := []string{"a", "b", "c"}
	ok := []Read{{Value: "b", Offset: 0}, {Value: "a", Offset: 1}, {Value: "c", Offset: 2}}
	if rep := CheckExactlyOnce(in, ok); !rep.OK() {
		t.Fatal(rep)
	}
	bad := []Read{{Value: "a", Offset: 0}, {Value: "a", Offset: 3}, {Value: "x", Offset: 4}}
	rep := CheckExactlyOnce(in, bad)
	got := strings.Join(rep.Anomalies, "\n")
	for _, want := range []string{`duplicate: "a"`, `stranger: "x"`, `lost: input "b"`, `lost: input "c"`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
