package bench

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWriteCurveChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "curve.png")
	c := Curve{Title: "partitions", XLabel: "partitions", LogX: true, X: []float64{4, 100, 1000, 10000, 100000},
		Panels: []CurvePanel{
			{Label: "records/s", Y: []float64{5e5, 4e5, 3e5, 1e5, 2e4}},
			{Label: "p99 (ms)", Y: []float64{10, 12, math.NaN(), 40, 200}, LogY: true},
			{Label: "broker CPU (s/GB)", Y: []float64{0, 0, 0, 0, 0}},
		}}
	if err := WriteCurveChart(path, c); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	w, h := CurveSize(3)
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("size %v, want %dx%d", b, w, h)
	}

	c.Panels[0].Y = c.Panels[0].Y[:2]
	if err := WriteCurveChart(path, c); err == nil {
		t.Fatal("a panel with fewer values than x was drawn")
	}
}

func TestCurveXPositions(t *testing.T) {
	xs := []float64{4, 100, 1000, 10000, 100000}
	pos := CurveXPositions(xs, true, 100, 600)
	if !slices.IsSorted(pos) || pos[0] != 100 || pos[len(pos)-1] != 600 {
		t.Fatalf("log positions %v: want ordered from 100 to 600", pos)
	}
	// Log scale: a decade is the same width wherever it is.
	if d1, d2 := pos[3]-pos[2], pos[4]-pos[3]; abs(d1-d2) > 1 {
		t.Fatalf("decades %d and %d pixels wide", d1, d2)
	}
	lin := CurveXPositions([]float64{0, 50, 100}, false, 0, 200)
	if !slices.Equal(lin, []int{0, 100, 200}) {
		t.Fatalf("linear positions %v", lin)
	}
}

func TestShort(t *testing.T) {
	for v, want := range map[float64]string{488378: "488k", 2442: "2442", 1.234e7: "12.3M", 0.0123: "0.0123", 0: "0", 72.14: "72.1"} {
		if got := Short(v); got != want {
			t.Errorf("Short(%v) = %q, want %q", v, got, want)
		}
	}
}
