package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/rillmq/rill/bench"
)

// report is an invocation: every run of every point.
type report struct {
	Started         string  `json:"started"`
	Quick           bool    `json:"quick"`
	DurationSeconds float64 `json:"load_seconds_per_point"`
	WallSeconds     float64 `json:"wall_seconds"`
	Points          []point `json:"points"`
}

// xs are the curve's x values in the order first measured.
func (r report) xs(curve string) []int {
	var out []int
	seen := map[int]bool{}
	for _, p := range r.Points {
		if p.Curve == curve && !seen[p.X] {
			seen[p.X] = true
			out = append(out, p.X)
		}
	}
	return out
}

// med is the median of f over the runs of (curve, x) that ended without
// an error and have the figure (f's ok), with how many runs that was; NaN
// for none.
func (r report) med(curve string, x int, f func(point) (float64, bool)) (float64, int) {
	var v []float64
	for _, p := range r.Points {
		if p.Curve != curve || p.X != x || p.Error != "" {
			continue
		}
		if y, ok := f(p); ok {
			v = append(v, y)
		}
	}
	if len(v) == 0 {
		return math.NaN(), 0
	}
	return median(v), len(v)
}

// figure is one column of a curve's table, and maybe a panel of its chart.
type figure struct {
	head   string
	chart  string // the panel's label; empty: table only
	format string
	f      func(point) (float64, bool)
}

func prod(f func(*produceStats) float64) func(point) (float64, bool) {
	return func(p point) (float64, bool) {
		if p.Produce == nil {
			return 0, false
		}
		return f(p.Produce), true
	}
}

func grp(f func(*groupStats) float64) func(point) (float64, bool) {
	return func(p point) (float64, bool) {
		if p.Groups == nil {
			return 0, false
		}
		return f(p.Groups), true
	}
}

func mem(f func(point) *memory, anon bool) func(point) (float64, bool) {
	return func(p point) (float64, bool) {
		m := f(p)
		if m == nil || m.RSS == 0 {
			return 0, false
		}
		if anon {
			return mib(m.Anon), true
		}
		return mib(m.RSS), true
	}
}

var produceFigures = []figure{
	{"records/s", "throughput (records/s)", "%.0f", prod(func(s *produceStats) float64 { return s.RecordsPerSec })},
	{"MB/s", "", "%.1f", prod(func(s *produceStats) float64 { return s.MBPerSec })},
	{"p99 (ms)", "produce p99, acks=all (ms)", "%.1f", prod(func(s *produceStats) float64 { return s.P99Millis })},
	{"broker CPU s/GB", "broker CPU (s per GB produced)", "%.2f", prod(func(s *produceStats) float64 { return s.BrokerCPUPerGB })},
}

// curves are the tables and charts, by curve name.
var curves = []struct {
	name, title, xHead string
	logX               bool
	figures            []figure
}{
	{"partitions", "Produce to a fresh topic of P partitions (4 conns x 4 in flight, 256 KiB requests, 1 KiB records)", "partitions", true,
		append(append([]figure(nil), produceFigures...),
			figure{"partitions written", "", "%.0f", prod(func(s *produceStats) float64 { return float64(s.Written) })},
			figure{"create (s)", "", "%.2f", func(p point) (float64, bool) { return p.CreateSeconds, p.Metadata != nil }},
			figure{"Metadata all topics (ms)", "", "%.2f", func(p point) (float64, bool) {
				if p.Metadata == nil {
					return 0, false
				}
				return p.Metadata.Median, true
			}},
			figure{"Metadata answer (KB)", "", "%.0f", func(p point) (float64, bool) {
				if p.Metadata == nil {
					return 0, false
				}
				return float64(p.Metadata.Bytes) / 1e3, true
			}},
			figure{"RSS created (MiB)", "", "%.0f", mem(func(p point) *memory { return p.MemoryCreated }, false)},
			figure{"RssAnon created (MiB)", "", "%.0f", mem(func(p point) *memory { return p.MemoryCreated }, true)},
			figure{"RSS after load (MiB)", "", "%.0f", mem(func(p point) *memory { return &p.MemoryAfter }, false)},
			figure{"RSS restarted (MiB)", "", "%.0f", mem(func(p point) *memory { return p.MemoryRestarted }, false)},
			figure{"fresh start (s)", "", "%.2f", func(p point) (float64, bool) { return p.StartSeconds, p.Metadata != nil }},
			figure{"shutdown (s)", "", "%.2f", func(p point) (float64, bool) { return p.ShutdownSeconds, p.MemoryRestarted != nil }},
			figure{"restart (s)", "", "%.2f", func(p point) (float64, bool) { return p.RestartSeconds, p.MemoryRestarted != nil }},
		)},
	{"connections", "N producer connections, 1 request in flight each (10 x 1 KiB records, acks=all, 16 partitions)", "connections", true,
		append(append([]figure(nil), produceFigures...),
			figure{"RSS after load (MiB)", "", "%.0f", mem(func(p point) *memory { return &p.MemoryAfter }, false)})},
	{"groups", "G consumer groups (KIP-848, 1 member each): heartbeat + OffsetCommit, 4 conns x 16 in flight", "groups", true, []figure{
		{"requests/s", "throughput (requests/s)", "%.0f", grp(func(s *groupStats) float64 { return s.OpsPerSec })},
		{"p99 (ms)", "request p99 (ms)", "%.1f", grp(func(s *groupStats) float64 { return s.P99Millis })},
		{"heartbeat p99 (ms)", "", "%.1f", grp(func(s *groupStats) float64 { return s.HeartbeatP99Millis })},
		{"commit p99 (ms)", "", "%.1f", grp(func(s *groupStats) float64 { return s.CommitP99Millis })},
		{"broker CPU µs/request", "broker CPU (us per request)", "%.1f", grp(func(s *groupStats) float64 { return s.BrokerCPUPerOp })},
		{"join all (s)", "", "%.2f", grp(func(s *groupStats) float64 { return s.JoinSeconds })},
		{"errors", "", "%.0f", grp(func(s *groupStats) float64 { return float64(s.Errors) })},
		{"RSS after load (MiB)", "", "%.0f", mem(func(p point) *memory { return &p.MemoryAfter }, false)},
	}},
	{"record-size", "Record size at 4 partitions (4 conns x 4 in flight, 256 KiB batches)", "record size (B)", true, produceFigures},
}

// write saves scale.json, scale.md and a PNG per curve measured.
func (r report) write(dir string) error {
	if err := bench.WriteJSON(filepath.Join(dir, "scale.json"), r); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "Started %s, %.0f s in all, %.0f s of load per point", r.Started, r.WallSeconds, r.DurationSeconds)
	if r.Quick {
		md.WriteString(" (-quick)")
	}
	md.WriteString(". Medians over the runs shown; every run is in scale.json.\n")
	for _, c := range curves {
		xs := r.xs(c.name)
		if len(xs) == 0 {
			continue
		}
		fmt.Fprintf(&md, "\n### %s\n\n![%s](%s.png)\n\n| %s | runs |", c.title, c.name, c.name, c.xHead)
		for _, f := range c.figures {
			fmt.Fprintf(&md, " %s |", f.head)
		}
		md.WriteString("\n|---|---|" + strings.Repeat("---|", len(c.figures)) + "\n")
		chart := bench.Curve{Title: c.title, XLabel: c.xHead, LogX: c.logX}
		panels := map[string]int{}
		for _, f := range c.figures {
			if f.chart != "" {
				panels[f.head] = len(chart.Panels)
				chart.Panels = append(chart.Panels, bench.CurvePanel{Label: f.chart})
			}
		}
		for _, x := range xs {
			_, n := r.med(c.name, x, func(point) (float64, bool) { return 0, true })
			fmt.Fprintf(&md, "| %d | %d |", x, n)
			chart.X = append(chart.X, float64(x))
			for _, f := range c.figures {
				v, _ := r.med(c.name, x, f.f)
				if math.IsNaN(v) {
					md.WriteString(" |")
				} else {
					fmt.Fprintf(&md, " "+f.format+" |", v)
				}
				if i, ok := panels[f.head]; ok {
					chart.Panels[i].Y = append(chart.Panels[i].Y, v)
				}
			}
			md.WriteString("\n")
		}
		for _, p := range r.Points {
			if p.Curve == c.name && p.Error != "" {
				fmt.Fprintf(&md, "\n%s=%d run %d failed: %s\n", c.name, p.X, p.Run, p.Error)
			}
		}
		if c.name == "partitions" {
			if ratio, ok := r.freshRatio(); ok {
				fmt.Fprintf(&md, "\nProduce to a fresh 1,000-partition topic: %.2f of the 4-partition records/s (target ≥ 0.50).\n", ratio)
			}
		}
		for i := range chart.Panels {
			chart.Panels[i].LogY = spansDecades(chart.Panels[i].Y)
		}
		if err := bench.WriteCurveChart(filepath.Join(dir, c.name+".png"), chart); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "scale.md"), []byte(md.String()), 0o644)
}

// freshRatio is the median records/s at 1,000 partitions over the median
// at 4.
func (r report) freshRatio() (float64, bool) {
	rate := prod(func(s *produceStats) float64 { return s.RecordsPerSec })
	a, n1 := r.med("partitions", 1000, rate)
	b, n2 := r.med("partitions", 4, rate)
	if n1 == 0 || n2 == 0 || b == 0 {
		return 0, false
	}
	return a / b, true
}

// spansDecades says whether the measured values are all positive and the
// largest is over 30 times the smallest: such a panel is drawn on a log
// scale.
func spansDecades(ys []float64) bool {
	lo, hi := math.Inf(1), 0.0
	for _, y := range ys {
		if math.IsNaN(y) {
			continue
		}
		if y <= 0 {
			return false
		}
		lo, hi = math.Min(lo, y), math.Max(hi, y)
	}
	return hi > 30*lo
}
