package logtest

import "testing"

func TestRecorderKeepsLines(t *testing.T) {
	log, rec := New(t)
	log.With("component", "log").Debug("recovery cut segment", "partition", "t-0", "bytes", 70)
	log.Warn("other")
	if got := rec.Containing(`msg="recovery cut segment"`, "partition=t-0", "bytes=70"); len(got) != 1 || got[0] != `level=DEBUG msg="recovery cut segment" component=log partition=t-0 bytes=70` {
		t.Fatalf("%q", rec.Lines())
	}
	if rec.Count("msg=other") != 1 || len(rec.Lines()) != 2 {
		t.Fatalf("%q", rec.Lines())
	}
}
