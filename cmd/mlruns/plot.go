package main

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg"

	"github.com/mlruns-go/mlruns/downsample"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/chart"
	"github.com/mlruns-go/mlruns/store"
)

func parsePlotAxis(s string) (chart.Axis, error) {
	switch strings.ToLower(s) {
	case "step":
		return chart.Step, nil
	case "time", "wall", "wall-time":
		return chart.Time, nil
	case "relative-time", "relative":
		return chart.RelativeTime, nil
	}
	return 0, usageError{fmt.Sprintf("--x must be step, time or relative-time, not %q", s)}
}

// plotCurve is one (run, key) curve, ready to draw.
type plotCurve struct {
	run       entities.RunInfo
	key       string
	xys       []chart.XY
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
	x          chart.Axis
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
		firstRunID: pos[0], keys: unique(pos[1:]), extraRuns: runs}
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
	if !slices.Contains(chart.Formats, o.format) {
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
			if px := float64(l/vg.Inch) * float64(o.dpi); px > chart.MaxPixels {
				return usageError{fmt.Sprintf("metrics plot: %.0f pixels a side is too large (at most %d); lower --width, --height or --dpi", px, chart.MaxPixels)}
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
	series := make([]chart.Series, len(curves))
	for i, c := range curves {
		series[i] = chart.Series{Label: c.label(), Points: c.xys}
	}
	data, err := chart.Render(series, chart.Options{Title: plotTitle(curves, o), YLabel: plotYLabel(o.keys),
		X: o.x, LogY: o.logY, Width: o.width, Height: o.height, DPI: o.dpi, Format: o.format})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	fmt.Fprintln(e.stdout, *out)
	return nil
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
	if err != nil || !(l > 0) || l > chart.MaxLength {
		return 0, usageError{fmt.Sprintf("%s must be a positive length such as 20cm, 6in or 800px (at most %.0fcm), not %q",
			flagName, float64(chart.MaxLength/vg.Centimeter), s)}
	}
	return l, nil
}

// loadCurves reads one curve per (run, key): runs in the order given
// (RUN_ID, then each --run), keys in the order given.
func loadCurves(e *env, s store.Store, o plotOptions) ([]*plotCurve, error) {
	var curves []*plotCurve
	var runs []entities.RunInfo
	for _, id := range unique(append([]string{o.firstRunID}, o.extraRuns...)) {
		info, err := s.GetRunInfo(e.ctx, id)
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
func loadCurve(e *env, s store.Store, run entities.RunInfo, key string, o plotOptions) (*plotCurve, error) {
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
		if o.x != chart.Step {
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
	if o.x == chart.RelativeTime && len(pts) > 0 && (origin <= 0 || pts[0].x < origin-24*3600*1000) {
		// Runs from before MLflow recorded a start time, or whose clock
		// disagrees wildly: count from the first point instead.
		origin = pts[0].x
	}
	c.xys = make([]chart.XY, 0, min(len(pts), max(o.maxPoints, 0)))
	for _, m := range plotDownsample(pts, o.method, o.maxPoints) {
		x := float64(m.Step)
		switch o.x {
		case chart.Time:
			x /= 1000
		case chart.RelativeTime:
			x = float64(m.Step-origin) / 1000
		}
		c.xys = append(c.xys, chart.XY{X: x, Y: m.Value})
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
