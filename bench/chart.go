package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// palette colours one line per result.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255},
	{214, 39, 40, 255}, {148, 103, 189, 255}, {140, 86, 75, 255},
}

// WriteChart draws the results' timelines as a PNG: MB/s per second on
// top, p99 latency per second (when measured) below, one colour per result
// with its label.
func WriteChart(path string, results []Result, labels []string) error {
	const w, h, pad = 900, 620, 60
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	panels := []struct {
		title string
		value func(Sample) float64
		top   int
	}{
		{"throughput (MB/s)", func(s Sample) float64 { return s.MBPerSec }, 30},
		{"p99 latency per second (ms)", func(s Sample) float64 { return s.P99Millis }, 330},
	}
	maxSec := 1
	for _, r := range results {
		maxSec = max(maxSec, len(r.Timeline))
	}
	for _, p := range panels {
		top, bottom, left, right := p.top, p.top+240, pad, w-20
		maxV := 0.0
		for _, r := range results {
			for _, s := range r.Timeline {
				maxV = math.Max(maxV, p.value(s))
			}
		}
		if maxV == 0 {
			maxV = 1
		}
		line(img, left, bottom, right, bottom, color.Black)
		line(img, left, top, left, bottom, color.Black)
		label(img, left, top-8, p.title, color.Black)
		label(img, 4, top+10, fmt.Sprintf("%.4g", maxV), color.Black)
		label(img, 4, bottom, "0", color.Black)
		label(img, right-60, bottom+16, fmt.Sprintf("%d s", maxSec), color.Black)
		for i, r := range results {
			c := palette[i%len(palette)]
			px, py := -1, -1
			for j, s := range r.Timeline {
				x := left + (right-left)*(j+1)/maxSec
				y := bottom - int(float64(bottom-top)*p.value(s)/maxV)
				if px >= 0 {
					line(img, px, py, x, y, c)
				}
				px, py = x, y
			}
		}
	}
	for i, l := range labels {
		label(img, pad+10+i*200, h-10, l, palette[i%len(palette)])
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

func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// line draws with Bresenham's algorithm, two pixels thick.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		img.Set(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
