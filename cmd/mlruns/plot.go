package main

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/mlruns-go/mlruns/downsample"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
)

// plotAxis is what --x puts on the horizontal axis.
type plotAxis int

const (
	axisStep         plotAxis = iota // the logged step
	axisTime                         // wall-clock time of each point, UTC
	axisRelativeTime                 // time since the run started
)

func parsePlotAxis(s string) (plotAxis, error) {
	switch strings.ToLower(s) {
	case "step":
		return axisStep, nil
	case "time", "wall", "wall-time":
		return axisTime, nil
	case "relative-time", "relative":
		return axisRelativeTime, nil
	}
	return 0, usageError{fmt.Sprintf("--x must be step, time or relative-time, not %q", s)}
}

// plotFormats are the output formats by file extension. The rest of what
// gonum can write (eps, jpg, tif, tex) is left out on purpose: a metric
// chart wants lossless pixels or vectors.
var plotFormats = []string{"png", "svg", "pdf"}

// Limits that keep a typo in --width or --dpi from asking for gigabytes.
const (
	plotMaxPixels = 16384         // per side of a PNG
	plotMaxLength = 100 * vg.Inch // per side of any chart (254 cm)
)

// plotCurve is one (run, key) curve, ready to draw.
type plotCurve struct {
	run       entities.RunInfo
	key       string
	xys       plotter.XYs
	points    int // finite points before downsampling
	nonFinite int // NaN and ±Inf, never drawn
	nonPos    int // values <= 0 left out of a log-scale chart
	missing   bool
}

func (c *plotCurve) label() string { return plotRunLabel(c.run) + " · " + c.key }

// plotRunLabel is a run's name, or the start of its id for runs logged without
// one (before MLflow 1.30).
func plotRunLabel(r entities.RunInfo) string {
	if r.RunName != "" {
		return r.RunName
	}
	return r.RunID[:min(8, len(r.RunID))]
}

type plotOptions struct {
	x          plotAxis
	maxPoints  int
	method     downsample.Method
	title      string
	logY       bool
	width      vg.Length
	height     vg.Length
	dpi        int
	format     string
	extraRuns  []string
	firstRunID string
	keys       []string
}

func cmdMetricsPlot(e *env, args []string) error {
	fs := newFlagSet(e, "metrics plot",
		"metrics plot RUN_ID KEY... [--run RUN_ID]... [--x step|time|relative-time] [--max-points N] [--method lttb|minmax] "+
			"[--title T] [--log-y] [--width 20cm] [--height 12cm] [--dpi 96] --out FILE.png|svg|pdf")
	var runs multiFlag
	fs.Var(&runs, "run", "another run whose KEYs to draw too (repeatable)")
	xName := fs.String("x", "step", "horizontal axis: step, time (wall clock, UTC) or relative-time (since the run started)")
	maxPoints := fs.Int("max-points", 2000, "downsample each curve to at most N points (0: draw every point)")
	methodName := fs.String("method", "lttb", "downsampling: lttb (keeps the shape) or minmax (keeps every extreme)")
	title := fs.String("title", "", "chart title (default: the run's name, or the keys and the number of runs)")
	logY := fs.Bool("log-y", false, "logarithmic value axis (values <= 0 are left out)")
	width := fs.String("width", "20cm", "chart width: a number with mm, cm, in, pt or px (px uses --dpi)")
	height := fs.String("height", "12cm", "chart height, as --width")
	dpi := fs.Int("dpi", 96, "pixels per inch of a PNG")
	out := fs.String("out", "", "file to write; its extension picks the format: .png, .svg or .pdf")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usageError{fmt.Sprintf("metrics plot: want RUN_ID and at least one KEY, got %d argument(s) (usage: mlruns %s)", len(pos), fs.usageLine)}
	}
	o := plotOptions{maxPoints: *maxPoints, title: *title, logY: *logY, dpi: *dpi,
		firstRunID: pos[0], keys: plotUnique(pos[1:]), extraRuns: runs}
	if o.x, err = parsePlotAxis(*xName); err != nil {
		return err
	}
	if o.method, err = parseMethod(*methodName); err != nil {
		return err
	}
	if o.maxPoints < 0 {
		return usageError{fmt.Sprintf("--max-points must be 0 (every point) or more, not %d", o.maxPoints)}
	}
	if o.dpi < 1 || o.dpi > 1200 {
		return usageError{fmt.Sprintf("--dpi must be between 1 and 1200, not %d", o.dpi)}
	}
	if *out == "" {
		return usageError{"metrics plot: --out FILE is required (.png, .svg or .pdf)"}
	}
	o.format = strings.ToLower(strings.TrimPrefix(filepath.Ext(*out), "."))
	if !slices.Contains(plotFormats, o.format) {
		return usageError{fmt.Sprintf("metrics plot: cannot tell the format of %q: name it .png, .svg or .pdf", *out)}
	}
	if o.width, err = parsePlotLength("--width", *width, o.dpi); err != nil {
		return err
	}
	if o.height, err = parsePlotLength("--height", *height, o.dpi); err != nil {
		return err
	}
	if o.format == "png" {
		for _, l := range []vg.Length{o.width, o.height} {
			if px := float64(l/vg.Inch) * float64(o.dpi); px > plotMaxPixels {
				return usageError{fmt.Sprintf("metrics plot: %.0f pixels a side is too large (at most %d); lower --width, --height or --dpi", px, plotMaxPixels)}
			}
		}
	}
	s, err := e.open()
	if err != nil {
		return err
	}
	curves, err := loadCurves(e, s, o)
	if err != nil {
		return err
	}
	p, err := buildPlot(curves, o)
	if err != nil {
		return err
	}
	data, err := renderPlot(p, o)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	fmt.Fprintln(e.stdout, *out)
	return nil
}

// plotUnique drops repeated names, keeping the first of each in order.
func plotUnique(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// parsePlotLength reads a length such as 20cm, 4.5in, 300pt or 800px; a
// bare number is points, as in gonum.
func parsePlotLength(flagName, s string, dpi int) (vg.Length, error) {
	var l vg.Length
	var err error
	if px, ok := strings.CutSuffix(strings.TrimSpace(s), "px"); ok {
		var f float64
		f, err = strconv.ParseFloat(px, 64)
		l = vg.Length(f/float64(dpi)) * vg.Inch
	} else {
		l, err = vg.ParseLength(strings.TrimSpace(s))
	}
	if err != nil || !(l > 0) || l > plotMaxLength {
		return 0, usageError{fmt.Sprintf("%s must be a positive length such as 20cm, 6in or 800px (at most %.0fcm), not %q",
			flagName, float64(plotMaxLength/vg.Centimeter), s)}
	}
	return l, nil
}

// loadCurves reads one curve per (run, key): runs in the order given
// (RUN_ID, then each --run), keys in the order given.
func loadCurves(e *env, s *filestore.Store, o plotOptions) ([]*plotCurve, error) {
	var curves []*plotCurve
	var runs []entities.RunInfo
	for _, id := range plotUnique(append([]string{o.firstRunID}, o.extraRuns...)) {
		info, err := s.GetRunInfo(id)
		if err != nil {
			return nil, err
		}
		runs = append(runs, info)
		for _, key := range o.keys {
			c, err := loadCurve(e, s, info, key, o)
			if err != nil {
				return nil, err
			}
			curves = append(curves, c)
		}
	}
	// A key no run has is a typo: an error. A key some runs lack (a parent
	// and its children log different metrics) is left out with a note.
	for _, key := range o.keys {
		found := false
		for _, c := range curves {
			found = found || (c.key == key && !c.missing)
		}
		if found {
			continue
		}
		if len(runs) == 1 {
			return nil, noMetricError(e, s, runs[0].RunID, key)
		}
		return nil, errs.New(errs.ErrNotFound, fmt.Sprintf("none of the %d runs has values of metric %q", len(runs), key))
	}
	drawn := 0
	for _, c := range curves {
		if c.missing {
			fmt.Fprintf(e.stderr, "mlruns: %s: run %s has no such metric; left out\n", c.label(), c.run.RunID)
			continue
		}
		if c.nonFinite > 0 {
			fmt.Fprintf(e.stderr, "mlruns: %s: left out %d NaN or infinite value(s)\n", c.label(), c.nonFinite)
		}
		if c.nonPos > 0 {
			fmt.Fprintf(e.stderr, "mlruns: %s: left out %d value(s) <= 0 that a log scale cannot show\n", c.label(), c.nonPos)
		}
		if len(c.xys) == 0 {
			fmt.Fprintf(e.stderr, "mlruns: %s: nothing to draw\n", c.label())
			continue
		}
		drawn++
	}
	if drawn == 0 {
		msg := "nothing to plot: every value of the curves is NaN or infinite"
		if o.logY {
			msg = "nothing to plot: no curve has a finite value above 0 for a log scale; drop --log-y"
		}
		return nil, errs.New(errs.ErrInvalidParameter, msg)
	}
	return curves, nil
}

// loadCurve streams a history, keeps the drawable points with the x
// value of the chosen axis, sorts them by x (a history is in logging
// order, which asynchronous loggers do not keep) and downsamples them.
func loadCurve(e *env, s *filestore.Store, run entities.RunInfo, key string, o plotOptions) (*plotCurve, error) {
	c := &plotCurve{run: run, key: key}
	var pts []plotPoint
	total := 0
	for m, err := range s.MetricHistoryIter(e.ctx, run.RunID, key) {
		if err != nil {
			return nil, err
		}
		total++
		switch {
		case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
			c.nonFinite++
			continue
		case o.logY && m.Value <= 0:
			c.nonPos++
			continue
		}
		x := m.Step
		if o.x != axisStep {
			x = m.Timestamp
		}
		pts = append(pts, plotPoint{x, m.Value})
	}
	if total == 0 {
		c.missing = true
		return c, nil
	}
	slices.SortStableFunc(pts, func(a, b plotPoint) int { return cmp.Compare(a.x, b.x) })
	c.points = len(pts)
	origin := run.StartTime
	if o.x == axisRelativeTime && len(pts) > 0 && (origin <= 0 || pts[0].x < origin-24*3600*1000) {
		// Runs from before MLflow recorded a start time, or whose clock
		// disagrees wildly: count from the first point instead.
		origin = pts[0].x
	}
	c.xys = make(plotter.XYs, 0, min(len(pts), max(o.maxPoints, 0)))
	for _, m := range plotDownsample(pts, o.method, o.maxPoints) {
		x := float64(m.Step)
		switch o.x {
		case axisTime:
			x /= 1000
		case axisRelativeTime:
			x = float64(m.Step-origin) / 1000
		}
		c.xys = append(c.xys, plotter.XY{X: x, Y: m.Value})
	}
	return c, nil
}

// plotPoint is a drawable point: x is the step, or the timestamp in ms
// for both time axes. 16 bytes, where an entities.Metric is 104: a curve
// of 10M points is held in 160 MB.
type plotPoint struct {
	x int64
	v float64
}

// plotPreselect is how many points per output point the min/max
// preselection keeps before the chosen method runs (MinMaxLTTB, Van Der
// Donckt et al. 2023, find 4 enough for LTTB to pick the same shape).
const plotPreselect = 4

// plotDownsample reduces sorted points to at most n with the method (n <=
// 0: all of them). The downsampler reads x from Step. A long curve is
// first cut to plotPreselect*n points by the minimum and maximum of equal
// buckets, so only those are ever widened to entities.Metric.
func plotDownsample(pts []plotPoint, m downsample.Method, n int) []entities.Metric {
	var idx []int
	if n <= 0 || len(pts) <= plotPreselect*n {
		idx = make([]int, len(pts))
		for i := range pts {
			idx[i] = i
		}
	} else {
		idx = []int{0} // the ends stay, as LTTB keeps them
		for _, j := range downsample.MinMaxIndices(len(pts), plotPreselect*n/2, func(i int) float64 { return pts[i].v }) {
			if j > idx[len(idx)-1] {
				idx = append(idx, j)
			}
		}
		if last := len(pts) - 1; idx[len(idx)-1] != last {
			idx = append(idx, last)
		}
	}
	h := make([]entities.Metric, len(idx))
	for i, j := range idx {
		h[i] = entities.Metric{Step: pts[j].x, Value: pts[j].v}
	}
	return downsample.Apply(m, h, n)
}

// plotPalette is matplotlib's "tab10", the colours an MLflow user knows
// from every notebook; past ten curves the lines are dashed.
var plotPalette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

// plotMarkersUpTo is the longest curve drawn with a marker on every point:
// short histories (epochs, one value per fold) read better with the
// points visible, and a one-point curve is only a marker.
const plotMarkersUpTo = 60

func buildPlot(curves []*plotCurve, o plotOptions) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = plotTitle(curves, o)
	p.Title.TextStyle.Font = plotFont(14)
	p.Title.Padding = vg.Points(10)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = plotFont(12)
		a.Tick.Label.Font = plotFont(10)
		a.Tick.LineStyle.Color = color.Gray{Y: 90}
		a.Tick.Length = vg.Points(5)
		a.LineStyle.Color = color.Gray{Y: 90}
		a.Padding = vg.Points(4)
	}
	p.Y.Label.Text = plotYLabel(o.keys)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	grid.Vertical.Width = vg.Points(0.6)
	grid.Horizontal.Width = vg.Points(0.6)
	p.Add(grid)

	legend := &plotLegend{font: plotFont(10)}
	i := -1 // colours go to the curves drawn, in order
	for _, c := range curves {
		if len(c.xys) == 0 {
			continue
		}
		i++
		col := plotPalette[i%len(plotPalette)]
		line, err := plotter.NewLine(c.xys)
		if err != nil {
			return nil, err
		}
		line.Color = col
		line.Width = vg.Points(1.6)
		if i >= len(plotPalette) {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(2.5)}
		}
		p.Add(line)
		entry := plotLegendEntry{name: c.label(), thumbs: []plot.Thumbnailer{line}}
		if len(c.xys) <= plotMarkersUpTo {
			sc, err := plotter.NewScatter(c.xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			entry.thumbs = append(entry.thumbs, sc)
		}
		legend.entries = append(legend.entries, entry)
		legend.data = append(legend.data, c.xys)
	}
	if p.Y.Min == p.Y.Max {
		// Constant curves: a band around the value. gonum would widen the
		// range by ±1, below zero for a small value on a log scale (where
		// it panics) and far too wide for a learning rate.
		v := p.Y.Min
		switch {
		case o.logY:
			p.Y.Min, p.Y.Max = v/2, v*2
		case v == 0:
			p.Y.Min, p.Y.Max = -1, 1
		default:
			p.Y.Min, p.Y.Max = v-math.Abs(v)/10, v+math.Abs(v)/10
		}
	}
	// About one labelled tick per 3 cm across and 2 cm up.
	xTicks := plotNiceTicks{n: int(math.Round(float64(o.width/vg.Centimeter) / 3))}
	p.Y.Tick.Marker = plotNiceTicks{n: int(math.Round(float64(o.height/vg.Centimeter) / 2))}
	plotSetXAxis(p, o, xTicks)
	if o.logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plotLogTicks{}
	}
	p.Add(legend) // last: drawn over the curves, in the corner they leave free
	return p, nil
}

// plotYLabel names the value axis: the key, or the last part the keys
// share (train/loss and val/loss are a "loss"), else "value".
func plotYLabel(keys []string) string {
	if len(keys) == 1 {
		return keys[0]
	}
	last := func(k string) string { return k[strings.LastIndex(k, "/")+1:] }
	for _, k := range keys[1:] {
		if last(k) != last(keys[0]) {
			return "value"
		}
	}
	return last(keys[0])
}

// plotFont is the chart's typeface: Liberation Sans (metric-compatible
// with Arial), embedded in gonum, so charts look the same everywhere.
func plotFont(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// plotTitle is --title, else the run's name for one run, else the keys
// and how many runs.
func plotTitle(curves []*plotCurve, o plotOptions) string {
	if o.title != "" {
		return o.title
	}
	runs := map[string]bool{}
	for _, c := range curves {
		runs[c.run.RunID] = true
	}
	if len(runs) == 1 {
		return plotRunLabel(curves[0].run)
	}
	return fmt.Sprintf("%s (%d runs)", strings.Join(o.keys, ", "), len(runs))
}

// plotSetXAxis labels the horizontal axis and, for wall-clock time, picks a
// tick format that fits the span; relative time is shown in the unit that
// keeps the numbers small.
func plotSetXAxis(p *plot.Plot, o plotOptions, ticks plotNiceTicks) {
	switch o.x {
	case axisStep:
		p.X.Label.Text = "step"
		ticks.integer = true
		p.X.Tick.Marker = ticks
	case axisTime:
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
		p.X.Tick.Marker = plotTimeTicks{n: ticks.n, format: format}
	case axisRelativeTime:
		unit, name := plotRelativeUnit(p.X.Max - math.Min(p.X.Min, 0))
		p.X.Label.Text = "relative time (" + name + ")"
		p.X.Tick.Marker = plotScaledTicks{ticks, unit}
	}
}

// plotRelativeUnit picks seconds, minutes, hours or days for a span in
// seconds.
func plotRelativeUnit(span float64) (float64, string) {
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

// plotNiceTicks labels an axis at about n round numbers (1, 2, 2.5 or 5
// times a power of ten), with minor ticks between; gonum's default asks
// for three labels, too few to read a curve off a chart.
type plotNiceTicks struct {
	n       int
	integer bool // steps: no tick between two whole numbers
}

func (t plotNiceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	n := max(t.n, 3)
	step := plotNiceStep((hi - lo) / float64(n-1))
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
	prec := plotDecimals(step)
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

// plotNiceStep is the round tick step (1, 2, 2.5 or 5 times a power of ten)
// nearest to raw on a log scale.
func plotNiceStep(raw float64) float64 {
	base := math.Pow(10, math.Floor(math.Log10(raw)))
	best := base
	for _, m := range []float64{2, 2.5, 5, 10} {
		if math.Abs(math.Log(raw/(m*base))) < math.Abs(math.Log(raw/best)) {
			best = m * base
		}
	}
	return best
}

// plotDecimals is how many decimals show every multiple of step exactly.
func plotDecimals(step float64) int {
	for d := 0; d < 12; d++ {
		f := step * math.Pow(10, float64(d))
		if math.Abs(f-math.Round(f)) < 1e-6*f {
			return d
		}
	}
	return 12
}

// plotScaledTicks labels an axis whose values are seconds in a larger unit,
// with round numbers of that unit.
type plotScaledTicks struct {
	plotNiceTicks
	unit float64
}

func (t plotScaledTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := t.plotNiceTicks.Ticks(lo/t.unit, hi/t.unit)
	for i := range ticks {
		ticks[i].Value *= t.unit
	}
	return ticks
}

// plotTimeTicks labels a wall-clock axis (Unix seconds) at round times: whole
// seconds, minutes, hours or days, formatted in UTC.
type plotTimeTicks struct {
	n      int
	format string
}

// plotTimeSteps are the tick spacings a clock reader expects, in seconds.
var plotTimeSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
	3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}

func (t plotTimeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	raw := (hi - lo) / float64(max(t.n, 3)-1)
	format := t.format
	if raw < 1 {
		// points logged within a second or two: fractions of a second
		format = "15:04:05.000"
	}
	step := plotTimeSteps[0]
	for _, s := range plotTimeSteps {
		if math.Abs(math.Log(raw/s)) < math.Abs(math.Log(raw/step)) {
			step = s
		}
	}
	switch {
	case raw < 1:
		step = plotNiceStep(raw)
	case raw > 2*step:
		step = plotNiceStep(raw/86400) * 86400
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi; i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: time.UnixMilli(int64(math.Round(v * 1000))).UTC().Format(format)})
	}
	return ticks
}

// plotLogTicks labels a log axis at powers of ten, and at 2 and 5 times them
// when the data spans less than two decades (gonum's LogTicks would leave
// a 0.16-2.3 loss curve with a single label).
type plotLogTicks struct{}

func (plotLogTicks) Ticks(lo, hi float64) []plot.Tick {
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

// renderPlot draws the chart in its format, at --dpi for PNG.
func renderPlot(p *plot.Plot, o plotOptions) ([]byte, error) {
	var c vg.CanvasWriterTo
	switch o.format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(o.width, o.height), vgimg.UseDPI(o.dpi))}
	case "svg":
		c = vgsvg.New(o.width, o.height)
	case "pdf":
		c = vgpdf.New(o.width, o.height)
	default:
		return nil, fmt.Errorf("unsupported chart format %q", o.format)
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

type plotLegendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// plotLegend is the chart's legend, drawn as the last plotter: a framed,
// nearly opaque box in the corner of the data area that the curves cross
// least. gonum's own legend has no background and a fixed corner, so it
// ends up on top of a loss curve.
type plotLegend struct {
	entries []plotLegendEntry
	data    []plotter.XYs
	font    font.Font
}

// Plot implements plot.Plotter.
func (l *plotLegend) Plot(c draw.Canvas, p *plot.Plot) {
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
func (l *plotLegend) corner(c draw.Canvas, p *plot.Plot, w, h, margin vg.Length) vg.Rectangle {
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
			if len(xys) == 1 && plotRectContains(r, prev) {
				hits++
			}
			for _, xy := range xys[1:] {
				pt := vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
				if plotSegmentHitsRect(r, prev, pt) {
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

func plotRectContains(r vg.Rectangle, p vg.Point) bool {
	return p.X >= r.Min.X && p.X <= r.Max.X && p.Y >= r.Min.Y && p.Y <= r.Max.Y
}

// plotSegmentHitsRect reports whether the segment a-b passes through r
// (Liang-Barsky clipping).
func plotSegmentHitsRect(r vg.Rectangle, a, b vg.Point) bool {
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
