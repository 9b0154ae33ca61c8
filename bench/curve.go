package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"
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
	// LogY spaces Y on a log scale (every measured Y must be positive).
	LogY bool
}

// Curve chart geometry, in pixels.
const (
	curveWidth       = 720
	curvePanelHeight = 170
	curveTop         = 50
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
	title, sub, _ := strings.Cut(c.Title, " (")
	label(img, 8, 16, title, color.Black)
	if sub != "" {
		label(img, 8, 32, "("+sub, color.Black)
	}
	left, right := curveLeft, w-curveRight
	xs := CurveXPositions(c.X, c.LogX, left+10, right-10)
	grey := color.RGBA{200, 200, 200, 255}
	for i, p := range c.Panels {
		top := curveTop + i*(curvePanelHeight+curveGap) + 12
		bottom := top + curvePanelHeight - 12
		maxY, minY := 0.0, math.Inf(1)
		for _, y := range p.Y {
			if !math.IsNaN(y) {
				maxY, minY = math.Max(maxY, y), math.Min(minY, y)
			}
		}
		if maxY == 0 {
			maxY = 1
		}
		logY := p.LogY && minY > 0 && maxY > minY
		// height is a value's height above bottom, as a share of the
		// panel's: from 0 to maxY, or on a log scale from minY to maxY.
		height := func(y float64) float64 { return y / maxY }
		lowLabel := "0"
		if logY {
			lo, hi := math.Log10(minY), math.Log10(maxY)
			height = func(y float64) float64 { return 0.05 + 0.95*(math.Log10(y)-lo)/(hi-lo) }
			lowLabel = Short(minY)
		}
		line(img, left, bottom, right, bottom, color.Black)
		line(img, left, top, left, bottom, color.Black)
		line(img, left, top, left+4, top, color.Black)
		plabel := p.Label
		if logY {
			plabel += ", log scale"
		}
		label(img, left, top-8, plabel, color.Black)
		label(img, 4, top+5, Short(maxY), color.Black)
		if !logY {
			label(img, 4, (top+bottom)/2+5, Short(maxY/2), grey)
		}
		label(img, 4, bottom-2, lowLabel, color.Black)
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
			yy := bottom - int(float64(bottom-top)*height(y))
			dot(img, x, yy, col)
			v := Short(y)
			lx := x + 6
			if lx+7*len(v) > right {
				lx = x - 6 - 7*len(v)
			}
			ly := yy - 6 // above the point, or below it at the top
			if ly < top+10 {
				ly = yy + 16
			}
			label(img, lx, ly, v, col)
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

// Short writes a figure in at most 3 significant digits with k or M for
// thousands and millions: 488378 as 488k, 0.0123 as 0.0123.
func Short(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	case a >= 1000:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
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
