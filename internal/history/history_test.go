package history

import (
	"strings"
	"testing"
)

func TestCleanHistory(t *testing.T) {
	var h History
	for i, v := range []string{"a", "b", "c"} {
		h.Sent(Send{Seq: i, Value: v, Acked: true, Offset: int64(i)})
		h.Saw(Read{Offset: int64(i), Value: v})
	}
	h.Sent(Send{Seq: 3, Value: "d"}) // not acknowledged and not stored: fine
	if r := h.Check(); !r.OK() || r.Acked != 3 {
		t.Fatalf("clean history: %v", r)
	}
}

func TestAnomalies(t *testing.T) {
	var h History
	h.Sent(Send{Seq: 0, Value: "lost", Acked: true, Offset: 0})
	h.Sent(Send{Seq: 1, Value: "x", Acked: true, Offset: 5})
	h.Sent(Send{Seq: 2, Value: "y", Acked: true, Offset: 3})
	h.Saw(Read{Consumer: 1, Offset: 4, Value: "x"}) // acked at 5: wrong offset
	h.Saw(Read{Consumer: 1, Offset: 3, Value: "y"}) // backwards, and y before x: reordered
	h.Saw(Read{Consumer: 2, Offset: 3, Value: "z"}) // divergent
	h.Saw(Read{Consumer: 2, Offset: 7, Value: "x"}) // duplicate
	r := h.Check()
	for _, want := range []string{"lost:", "wrong offset:", "nonmonotonic:", "reordered:", "divergent:", "duplicate:"} {
		if !strings.Contains(r.String(), want) {
			t.Fatalf("missing %q in:\n%v", want, r)
		}
	}
}
