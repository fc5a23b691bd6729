// Package chart draws metric curves as MLflow users know them from the UI
// and from matplotlib: tab10 colours, a legend in the corner the curves
// leave free, round tick labels for steps, clock times or relative time,
// an optional log scale; to PNG, SVG or PDF (gonum/plot). It knows curves
// and axes, not runs or stores: the mlruns command loads and downsamples
// the points.
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Axis is what the horizontal axis shows.
type Axis int

const (
	Step         Axis = iota // the logged step
	Time                     // wall-clock time of each point, UTC (x in Unix seconds)
	RelativeTime             // time since the run started (x in seconds)
)

// Formats are the output formats, by file extension. The rest of what
// gonum can write (eps, jpg, tif, tex) is left out on purpose: a metric
// chart wants lossless pixels or vectors.
var Formats = []string{"png", "svg", "pdf"}

// Limits that keep a typo in a size or a resolution from asking for
// gigabytes.
const (
	MaxPixels = 16384         // per side of a PNG
	MaxLength = 100 * vg.Inch // per side of any chart (254 cm)
)

// XY is a point of a curve.
type XY struct{ X, Y float64 }

// Series is one curve: its legend label and its points, sorted by X.
type Series struct {
	Label  string
	Points []XY
}

// Options says how to draw a chart.
type Options struct {
	Title, YLabel string
	X             Axis
	LogY          bool      // a logarithmic value axis (every Y > 0)
	Width, Height vg.Length // of the page
	DPI           int       // pixels per inch of a PNG
	Format        string    // one of Formats
}

// Render draws the series (curves with no point take no colour) and
// returns the file in o.Format.
func Render(series []Series, o Options) ([]byte, error) {
	p, err := build(series, o)
	if err != nil {
		return nil, err
	}
	return render(p, o)
}

// Palette is matplotlib's "tab10", the colours an MLflow user knows
// from every notebook; past ten curves the lines are dashed.
var Palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

// markersUpTo is the longest curve drawn with a marker on every point:
// short histories (epochs, one value per fold) read better with the
// points visible, and a one-point curve is only a marker.
const markersUpTo = 60

func build(series []Series, o Options) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = o.Title
	p.Title.TextStyle.Font = chartFont(14)
	p.Title.Padding = vg.Points(10)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = chartFont(12)
		a.Tick.Label.Font = chartFont(10)
		a.Tick.LineStyle.Color = color.Gray{Y: 90}
		a.Tick.Length = vg.Points(5)
		a.LineStyle.Color = color.Gray{Y: 90}
		a.Padding = vg.Points(4)
	}
	p.Y.Label.Text = o.YLabel
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	grid.Vertical.Width = vg.Points(0.6)
	grid.Horizontal.Width = vg.Points(0.6)
	p.Add(grid)

	legend := &legend{font: chartFont(10)}
	i := -1 // colours go to the curves drawn, in order
	for _, sr := range series {
		xys := make(plotter.XYs, len(sr.Points))
		for i, pt := range sr.Points {
			xys[i] = plotter.XY{X: pt.X, Y: pt.Y}
		}
		if len(xys) == 0 {
			continue
		}
		i++
		col := Palette[i%len(Palette)]
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.Color = col
		line.Width = vg.Points(1.6)
		if i >= len(Palette) {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(2.5)}
		}
		p.Add(line)
		entry := legendEntry{name: sr.Label, thumbs: []plot.Thumbnailer{line}}
		if len(xys) <= markersUpTo {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			entry.thumbs = append(entry.thumbs, sc)
		}
		legend.entries = append(legend.entries, entry)
		legend.data = append(legend.data, xys)
	}
	if p.Y.Min == p.Y.Max {
		// Constant curves: a band around the value. gonum would widen the
		// range by ±1, below zero for a small value on a log scale (where
		// it panics) and far too wide for a learning rate.
		v := p.Y.Min
		switch {
		case o.LogY:
			p.Y.Min, p.Y.Max = v/2, v*2
		case v == 0:
			p.Y.Min, p.Y.Max = -1, 1
		default:
			p.Y.Min, p.Y.Max = v-math.Abs(v)/10, v+math.Abs(v)/10
		}
	}
	// About one labelled tick per 3 cm across and 2 cm up.
	xTicks := niceTicks{n: int(math.Round(float64(o.Width/vg.Centimeter) / 3))}
	p.Y.Tick.Marker = niceTicks{n: int(math.Round(float64(o.Height/vg.Centimeter) / 2))}
	setXAxis(p, o, xTicks)
	if o.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	p.Add(legend) // last: drawn over the curves, in the corner they leave free
	return p, nil
}

// chartFont is the chart's typeface: Liberation Sans (metric-compatible
// with Arial), embedded in gonum, so charts look the same everywhere.
func chartFont(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// setXAxis labels the horizontal axis and, for wall-clock time, picks a
// tick format that fits the span; relative time is shown in the unit that
// keeps the numbers small.
func setXAxis(p *plot.Plot, o Options, ticks niceTicks) {
	switch o.X {
	case Step:
		p.X.Label.Text = "step"
		ticks.integer = true
		p.X.Tick.Marker = ticks
	case Time:
		lo := time.Unix(int64(math.Floor(p.X.Min)), 0).UTC()
		hi := time.Unix(int64(math.Ceil(p.X.Max)), 0).UTC()
		span := hi.Sub(lo)
		format, label := "15:04:05", "time (UTC, "+lo.Format("2006-01-02")+")"
		switch {
		case lo.YearDay() != hi.YearDay() || lo.Year() != hi.Year():
			format, label = "Jan 2 15:04", "time (UTC)"
			if span > 60*24*time.Hour {
				format = "2006-01-02"
			}
		case span > time.Hour:
			format = "15:04"
		}
		p.X.Label.Text = label
		p.X.Tick.Marker = timeTicks{n: ticks.n, format: format}
	case RelativeTime:
		unit, name := relativeUnit(p.X.Max - math.Min(p.X.Min, 0))
		p.X.Label.Text = "relative time (" + name + ")"
		p.X.Tick.Marker = scaledTicks{ticks, unit}
	}
}

// relativeUnit picks seconds, minutes, hours or days for a span in
// seconds.
func relativeUnit(span float64) (float64, string) {
	switch {
	case span >= 2*86400:
		return 86400, "days"
	case span >= 2*3600:
		return 3600, "hours"
	case span >= 120:
		return 60, "minutes"
	}
	return 1, "seconds"
}

// niceTicks labels an axis at about n round numbers (1, 2, 2.5 or 5
// times a power of ten), with minor ticks between; gonum's default asks
// for three labels, too few to read a curve off a chart.
type niceTicks struct {
	n       int
	integer bool // steps: no tick between two whole numbers
}

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	n := max(t.n, 3)
	step := niceStep((hi - lo) / float64(n-1))
	minor := step / 5
	if step/math.Pow(10, math.Floor(math.Log10(step))) == 2 {
		minor = step / 4
	}
	if t.integer {
		step, minor = math.Max(step, 1), math.Max(minor, 1)
		if step == 2.5 {
			step = 2
		}
	}
	prec := decimals(step)
	big := math.Max(math.Abs(lo), math.Abs(hi)) >= 1e7
	var ticks []plot.Tick
	for i := math.Ceil(lo / minor); i*minor <= hi+minor*1e-9; i++ {
		v := i * minor
		t := plot.Tick{Value: v}
		if r := math.Round(v / step); math.Abs(v/step-r) < 1e-6 {
			v = r * step
			t.Value = v
			switch {
			case v == 0:
				t.Label = "0"
			case big:
				t.Label = strconv.FormatFloat(v, 'g', 6, 64)
			default:
				t.Label = strconv.FormatFloat(v, 'f', prec, 64)
			}
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// niceStep is the round tick step (1, 2, 2.5 or 5 times a power of ten)
// nearest to raw on a log scale.
func niceStep(raw float64) float64 {
	base := math.Pow(10, math.Floor(math.Log10(raw)))
	best := base
	for _, m := range []float64{2, 2.5, 5, 10} {
		if math.Abs(math.Log(raw/(m*base))) < math.Abs(math.Log(raw/best)) {
			best = m * base
		}
	}
	return best
}

// decimals is how many decimals show every multiple of step exactly.
func decimals(step float64) int {
	for d := 0; d < 12; d++ {
		f := step * math.Pow(10, float64(d))
		if math.Abs(f-math.Round(f)) < 1e-6*f {
			return d
		}
	}
	return 12
}

// scaledTicks labels an axis whose values are seconds in a larger unit,
// with round numbers of that unit.
type scaledTicks struct {
	niceTicks
	unit float64
}

func (t scaledTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := t.niceTicks.Ticks(lo/t.unit, hi/t.unit)
	for i := range ticks {
		ticks[i].Value *= t.unit
	}
	return ticks
}

// timeTicks labels a wall-clock axis (Unix seconds) at round times: whole
// seconds, minutes, hours or days, formatted in UTC.
type timeTicks struct {
	n      int
	format string
}

// timeSteps are the tick spacings a clock reader expects, in seconds.
var timeSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
	3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}

func (t timeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	raw := (hi - lo) / float64(max(t.n, 3)-1)
	format := t.format
	if raw < 1 {
		// points logged within a second or two: fractions of a second
		format = "15:04:05.000"
	}
	step := timeSteps[0]
	for _, s := range timeSteps {
		if math.Abs(math.Log(raw/s)) < math.Abs(math.Log(raw/step)) {
			step = s
		}
	}
	switch {
	case raw < 1:
		step = niceStep(raw)
	case raw > 2*step:
		step = niceStep(raw/86400) * 86400
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi; i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: time.UnixMilli(int64(math.Round(v * 1000))).UTC().Format(format)})
	}
	return ticks
}

// logTicks labels a log axis at powers of ten, and at 2 and 5 times them
// when the data spans less than two decades (gonum's logTicks would leave
// a 0.16-2.3 loss curve with a single label).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= 0 || !(hi > lo) {
		return nil
	}
	dense := math.Log10(hi/lo) < 2
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m < 10; m++ {
			v := float64(m) * base
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (dense && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// render draws the chart in its format, at --dpi for PNG.
func render(p *plot.Plot, o Options) ([]byte, error) {
	var c vg.CanvasWriterTo
	switch o.Format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(o.Width, o.Height), vgimg.UseDPI(o.DPI))}
	case "svg":
		c = vgsvg.New(o.Width, o.Height)
	case "pdf":
		c = vgpdf.New(o.Width, o.Height)
	default:
		return nil, fmt.Errorf("unsupported chart format %q", o.Format)
	}
	// A white page with a small margin, so the last point and the tick
	// labels at the edges are not cut by the image border.
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	p.Draw(draw.Crop(dc, vg.Points(4), -vg.Points(14), vg.Points(4), -vg.Points(6)))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	return buf.Bytes(), nil
}

type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// legend is the chart's legend, drawn as the last plotter: a framed,
// nearly opaque box in the corner of the data area that the curves cross
// least. gonum's own legend has no background and a fixed corner, so it
// ends up on top of a loss curve.
type legend struct {
	entries []legendEntry
	data    []plotter.XYs
	font    font.Font
}

// Plot implements plot.Plotter.
func (l *legend) Plot(c draw.Canvas, p *plot.Plot) {
	if len(l.entries) == 0 {
		return
	}
	sty := p.Legend.TextStyle
	sty.Font = l.font
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	const thumbW = 22
	pad, gap, margin := vg.Points(5), vg.Points(6), vg.Points(6)
	rowH := sty.FontExtents().Height * 1.25
	textW := vg.Length(0)
	for _, e := range l.entries {
		textW = max(textW, sty.Width(e.name))
	}
	w := pad + vg.Points(thumbW) + gap + textW + pad
	h := pad*2 + rowH*vg.Length(len(l.entries))
	box := l.corner(c, p, w, h, margin)
	c.SetColor(color.NRGBA{R: 255, G: 255, B: 255, A: 225})
	c.Fill(box.Path())
	c.SetLineStyle(draw.LineStyle{Color: color.Gray{Y: 190}, Width: vg.Points(0.6)})
	c.Stroke(box.Path())
	for i, e := range l.entries {
		top := box.Max.Y - pad - rowH*vg.Length(i)
		thumb := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: box.Min.X + pad, Y: top - rowH},
			Max: vg.Point{X: box.Min.X + pad + vg.Points(thumbW), Y: top},
		}}
		for _, t := range e.thumbs {
			t.Thumbnail(&thumb)
		}
		c.FillText(sty, vg.Point{X: thumb.Max.X + gap, Y: top - rowH/2}, e.name)
	}
}

// corner returns the legend's rectangle: of the four corners of the data
// area, the one whose rectangle the fewest curve segments cross (top
// right first on a tie, where a falling loss curve leaves room).
func (l *legend) corner(c draw.Canvas, p *plot.Plot, w, h, margin vg.Length) vg.Rectangle {
	w = min(w, c.Max.X-c.Min.X)
	h = min(h, c.Max.Y-c.Min.Y)
	x0, x1 := c.Min.X+margin, c.Max.X-margin-w
	y0, y1 := c.Min.Y+margin, c.Max.Y-margin-h
	candidates := []vg.Point{{X: x1, Y: y1}, {X: x0, Y: y1}, {X: x1, Y: y0}, {X: x0, Y: y0}}
	trX, trY := p.Transforms(&c)
	best, bestHits := vg.Rectangle{}, -1
	for _, at := range candidates {
		r := vg.Rectangle{Min: at, Max: vg.Point{X: at.X + w, Y: at.Y + h}}
		hits := 0
		for _, xys := range l.data {
			prev := vg.Point{X: trX(xys[0].X), Y: trY(xys[0].Y)}
			if len(xys) == 1 && rectContains(r, prev) {
				hits++
			}
			for _, xy := range xys[1:] {
				pt := vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
				if segmentHitsRect(r, prev, pt) {
					hits++
				}
				prev = pt
			}
		}
		if bestHits < 0 || hits < bestHits {
			best, bestHits = r, hits
		}
	}
	return best
}

func rectContains(r vg.Rectangle, p vg.Point) bool {
	return p.X >= r.Min.X && p.X <= r.Max.X && p.Y >= r.Min.Y && p.Y <= r.Max.Y
}

// segmentHitsRect reports whether the segment a-b passes through r
// (Liang-Barsky clipping).
func segmentHitsRect(r vg.Rectangle, a, b vg.Point) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := float64(b.X-a.X), float64(b.Y-a.Y)
	clip := func(p, q float64) bool {
		if p == 0 {
			return q >= 0
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return false
			}
			t0 = max(t0, t)
		} else {
			if t < t0 {
				return false
			}
			t1 = min(t1, t)
		}
		return true
	}
	return clip(-dx, float64(a.X-r.Min.X)) && clip(dx, float64(r.Max.X-a.X)) &&
		clip(-dy, float64(a.Y-r.Min.Y)) && clip(dy, float64(r.Max.Y-a.Y))
}
