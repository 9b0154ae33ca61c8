package handler

import (
	"testing"

	"github.com/rillmq/rill/internal/logging/logtest"
)

// A fault a client retries (a full disk answers every produce) is logged
// once per partition per interval, not once per retry.
func TestStorageFaultLogsAreRateLimited(t *testing.T) {
	var f storageFaults
	log, rec := logtest.New(t)
	for range 100 {
		f.log(log, "produce t-0", "produce refused by storage", "partition", "t-0", "err", "no space left on device")
		f.log(log, "produce t-1", "produce refused by storage", "partition", "t-1", "err", "no space left on device")
	}
	if lines := rec.Lines(); len(lines) != 2 || rec.Count("level=ERROR", "partition=t-0", "logged_once_per=30s") != 1 {
		t.Fatalf("%d lines for 200 faults on two partitions: %q", len(lines), lines)
	}
}
