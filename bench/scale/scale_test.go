package main

import (
	"math"
	"slices"
	"testing"
)

func TestParseStatus(t *testing.T) {
	m := parseStatus("Name:\trill\nVmRSS:\t  375000 kB\nRssAnon:\t  300000 kB\nRssFile:\t 75000 kB\n")
	if m.RSS != 375000<<10 || m.Anon != 300000<<10 {
		t.Fatalf("%+v", m)
	}
}

func TestConnParts(t *testing.T) {
	// More partitions than connections: round-robin, every one once.
	parts := connParts(4, 10)
	var all []int32
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.Sort(all)
	if len(all) != 10 || all[0] != 0 || all[9] != 9 || len(parts[0]) != 3 || len(parts[3]) != 2 {
		t.Fatalf("%v", parts)
	}
	// Fewer: a partition each, in turn.
	if parts := connParts(5, 2); !slices.EqualFunc(parts, [][]int32{{0}, {1}, {0}, {1}, {0}}, slices.Equal) {
		t.Fatalf("%v", parts)
	}
}

func TestReportMedians(t *testing.T) {
	rate := func(v float64) *produceStats { return &produceStats{RecordsPerSec: v} }
	r := report{Points: []point{
		{Curve: "partitions", X: 4, Produce: rate(100)},
		{Curve: "partitions", X: 4, Produce: rate(300)},
		{Curve: "partitions", X: 4, Produce: rate(200)},
		{Curve: "partitions", X: 1000, Produce: rate(50)},
		{Curve: "partitions", X: 1000, Produce: rate(9999), Error: "failed"}, // left out
		{Curve: "groups", X: 10},
	}}
	if xs := r.xs("partitions"); !slices.Equal(xs, []int{4, 1000}) {
		t.Fatalf("xs %v", xs)
	}
	f := prod(func(s *produceStats) float64 { return s.RecordsPerSec })
	if v, n := r.med("partitions", 4, f); v != 200 || n != 3 {
		t.Fatalf("median %v of %d runs", v, n)
	}
	if v, n := r.med("groups", 10, f); !math.IsNaN(v) || n != 0 {
		t.Fatalf("no produce figures: %v of %d", v, n)
	}
	if ratio, ok := r.freshRatio(); !ok || ratio != 0.25 {
		t.Fatalf("fresh ratio %v %v", ratio, ok)
	}
}

func TestSpansDecades(t *testing.T) {
	for _, c := range []struct {
		ys   []float64
		want bool
	}{
		{[]float64{1, 2, 3}, false},
		{[]float64{1, math.NaN(), 300}, true},
		{[]float64{0, 1, 300}, false},
	} {
		if got := spansDecades(c.ys); got != c.want {
			t.Errorf("%v: %v", c.ys, got)
		}
	}
}
