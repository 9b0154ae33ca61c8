package main

// The -load report: medians, ratios to Rill, shares of the loopback limit.

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/rillmq/rill/bench"
)

func med(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func loadMedian(rs []bench.LoadResult, f func(bench.LoadResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return med(v)
}

// loadReport prints medians, each system's ratio to Rill, and the
// fraction of the loopback limit (the higher of one connection's and the
// loader's number of connections').
func loadReport(w io.Writer, lc bench.LoadConfig, runs int, limits []bench.Limit, outcomes []loadOutcome) {
	fmt.Fprintf(w, "broker-bound load: %d B records, %d per batch, %d partitions, %d connections x %d in flight, acks=%d, %s produce; medians of %d runs\n",
		lc.RecordSize, lc.RecordsPerBatch, lc.Partitions, lc.Connections, lc.InFlight, lc.Acks, lc.Duration, runs)
	loop := 0.0
	for _, l := range limits {
		fmt.Fprintf(w, "limit: %-40s %.2f GB/s\n", l.Name, l.MBPerSec/1e3)
		if strings.HasPrefix(l.Name, "loopback") {
			loop = max(loop, l.MBPerSec/1e3) // the higher of one and many connections
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tproduce GB/s\tvs rill\tof loopback\tp99 ms\tbroker CPU s/GB\tloader CPU s/GB\tconsume GB/s\tvs rill\tof loopback\tbroker CPU s/GB\tloader CPU s/GB\t")
	gbps := func(r bench.LoadResult) float64 { return r.GBPerSec }
	var rillP, rillC float64
	for _, o := range outcomes {
		if o.System == "rill" {
			rillP, rillC = loadMedian(o.Produce, gbps), loadMedian(o.Consume, gbps)
		}
	}
	ratio := func(a, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	for _, o := range outcomes {
		if o.System == "jetstream" {
			var p, c []float64
			for i := range o.JSProduce {
				p, c = append(p, o.JSProduce[i].MBPerSec/1e3), append(c, o.JSConsume[i].MBPerSec/1e3)
			}
			js := make([]float64, 0, len(o.JSProduce))
			for _, r := range o.JSProduce {
				if r.Latency != nil {
					js = append(js, r.Latency.P99)
				}
			}
			name := "jetstream (own client)"
			if len(o.JSFailed) > 0 {
				name = fmt.Sprintf("jetstream (own client; %d runs failed)", len(o.JSFailed))
			}
			fmt.Fprintf(tw, "%s\t%.3f\t%s\t%.0f%%\t%.1f\t%.3f (with client)\t-\t%.3f\t%s\t%.0f%%\t-\t-\t\n", name,
				med(p), ratio(med(p), rillP), 100*med(p)/loop, med(js), med(o.JSCPU), med(c), ratio(med(c), rillC), 100*med(c)/loop)
			continue
		}
		p, c := loadMedian(o.Produce, gbps), loadMedian(o.Consume, gbps)
		p99 := loadMedian(o.Produce, func(r bench.LoadResult) float64 {
			if r.Latency == nil {
				return 0
			}
			return r.Latency.P99
		})
		fmt.Fprintf(tw, "%s\t%.3f\t%s\t%.0f%%\t%.1f\t%.3f\t%.3f\t%.3f\t%s\t%.0f%%\t%.3f\t%.3f\t\n", o.System,
			p, ratio(p, rillP), 100*p/loop, p99,
			loadMedian(o.Produce, func(r bench.LoadResult) float64 { return r.BrokerCPUPerGB }),
			loadMedian(o.Produce, func(r bench.LoadResult) float64 { return r.LoaderCPUPerGB }),
			c, ratio(c, rillC), 100*c/loop,
			loadMedian(o.Consume, func(r bench.LoadResult) float64 { return r.BrokerCPUPerGB }),
			loadMedian(o.Consume, func(r bench.LoadResult) float64 { return r.LoaderCPUPerGB }))
	}
	tw.Flush()
}
