package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
)

// Curve is one scaling curve: a measured figure per panel against one
// parameter, a value per X.
type Curve struct {
	Title  string
	XLabel string // with its unit
	// LogX spaces X on a log scale (when it spans decades).
	LogX   bool
	X      []float64
	Panels []CurvePanel
}

// CurvePanel is one figure of a curve: Y[i] was measured at X[i] (NaN:
// not measured, left out).
type CurvePanel struct {
	Label string // with its unit
	Y     []float64
}

// Curve chart geometry, in pixels.
const (
	curveWidth       = 720
	curvePanelHeight = 170
	curveTop         = 40
	curveLeft        = 80
	curveRight       = 30
	curveGap         = 45
)

// CurveSize is the size of a curve chart with n panels.
func CurveSize(n int) (w, h int) { return curveWidth, curveTop + n*(curvePanelHeight+curveGap) + 20 }

// CurveXPositions are the pixel columns of xs between left and right:
// linear, or by log10 with logX (xs must then be positive).
func CurveXPositions(xs []float64, logX bool, left, right int) []int {
	f := func(v float64) float64 {
		if logX {
			return math.Log10(v)
		}
		return v
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, f(x)), math.Max(hi, f(x))
	}
	out := make([]int, len(xs))
	for i, x := range xs {
		if hi > lo {
			out[i] = left + int(math.Round(float64(right-left)*(f(x)-lo)/(hi-lo)))
		} else {
			out[i] = (left + right) / 2
		}
	}
	return out
}

// WriteCurveChart draws c as a PNG: one panel per figure, stacked, each
// with its y axis from 0 to its largest value, a point per X joined by a
// line, and X's values written under every panel.
func WriteCurveChart(path string, c Curve) error {
	for _, p := range c.Panels {
		if len(p.Y) != len(c.X) {
			return fmt.Errorf("bench: curve %q panel %q: %d values for %d x", c.Title, p.Label, len(p.Y), len(c.X))
		}
	}
	if c.LogX {
		for _, x := range c.X {
			if x <= 0 {
				return fmt.Errorf("bench: curve %q: x %v on a log scale", c.Title, x)
			}
		}
	}
	w, h := CurveSize(len(c.Panels))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	label(img, curveLeft, 18, c.Title, color.Black)
	left, right := curveLeft, w-curveRight
	xs := CurveXPositions(c.X, c.LogX, left+10, right-10)
	grey := color.RGBA{200, 200, 200, 255}
	for i, p := range c.Panels {
		top := curveTop + i*(curvePanelHeight+curveGap) + 12
		bottom := top + curvePanelHeight - 12
		maxY := 0.0
		for _, y := range p.Y {
			if !math.IsNaN(y) {
				maxY = math.Max(maxY, y)
			}
		}
		if maxY == 0 {
			maxY = 1
		}
		line(img, left, bottom, right, bottom, color.Black)
		line(img, left, top, left, bottom, color.Black)
		line(img, left, top, left+4, top, color.Black)
		label(img, left, top-6, p.Label, color.Black)
		label(img, 4, top+5, fmt.Sprintf("%.4g", maxY), color.Black)
		label(img, 4, (top+bottom)/2+5, fmt.Sprintf("%.4g", maxY/2), grey)
		label(img, 4, bottom, "0", color.Black)
		scale := c.XLabel
		if c.LogX {
			scale += " (log scale)"
		}
		label(img, right-7*len(scale), bottom+30, scale, color.Black)
		col := palette[i%len(palette)]
		px, py := -1, -1
		for j, y := range p.Y {
			x := xs[j]
			line(img, x, bottom, x, bottom+4, color.Black)
			label(img, x-3*len(xLabel(c.X[j])), bottom+16, xLabel(c.X[j]), color.Black)
			if math.IsNaN(y) {
				px = -1
				continue
			}
			yy := bottom - int(float64(bottom-top)*y/maxY)
			dot(img, x, yy, col)
			label(img, x+5, yy-4, fmt.Sprintf("%.3g", y), col)
			if px >= 0 {
				line(img, px, py, x, yy, col)
			}
			px, py = x, yy
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// xLabel writes an x value short: 100000 as 100k, 16384 as 16384.
func xLabel(v float64) string {
	switch {
	case v >= 1000 && math.Mod(v, 1000) == 0:
		return fmt.Sprintf("%gk", v/1000)
	default:
		return fmt.Sprintf("%g", v)
	}
}

func dot(img *image.RGBA, x, y int, c color.Color) {
	for dx := -2; dx <= 2; dx++ {
		for dy := -2; dy <= 2; dy++ {
			img.Set(x+dx, y+dy, c)
		}
	}
}
