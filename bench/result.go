package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Result is one run.
type Result struct {
	Workload       string  `json:"workload"`
	Target         string  `json:"target,omitempty"`
	Config         Config  `json:"config"`
	Records        int64   `json:"records"`
	Bytes          int64   `json:"bytes"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	RecordsPerSec  float64 `json:"records_per_sec"`
	MBPerSec       float64 `json:"mb_per_sec"`
	// Transactions committed (transactional produce only).
	Transactions int64        `json:"transactions,omitempty"`
	Latency      *Percentiles `json:"latency,omitempty"`
	Timeline     []Sample     `json:"timeline"`
}

// Summary is the one-line form of a result.
func (r Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d records, %.1f MB in %.2fs: %.0f rec/s, %.1f MB/s", r.Workload, r.Records, float64(r.Bytes)/1e6,
		r.ElapsedSeconds, r.RecordsPerSec, r.MBPerSec)
	if r.Transactions > 0 {
		fmt.Fprintf(&b, "; %d transactions (%.0f/s)", r.Transactions, float64(r.Transactions)/r.ElapsedSeconds)
	}
	if r.Latency != nil {
		fmt.Fprintf(&b, "; latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms", r.Latency.P50, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	}
	return b.String()
}

// WriteJSON saves results as indented JSON.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
