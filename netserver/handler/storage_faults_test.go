package handler

import (
	"fmt"
	"testing"
)

// A fault a client retries (a full disk answers every produce) is logged
// once per partition per interval, not once per retry.
func TestStorageFaultLogsAreRateLimited(t *testing.T) {
	var f storageFaults
	var lines []string
	logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	for range 100 {
		f.logf(logf, "produce t-0", "produce t-0: %v", "no space left on device")
		f.logf(logf, "produce t-1", "produce t-1: %v", "no space left on device")
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines for 200 faults on two partitions: %q", len(lines), lines)
	}
}
