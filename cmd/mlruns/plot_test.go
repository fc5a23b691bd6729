package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/mlruns-go/mlruns/downsample"
	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/chart"
)

// inkStats counts, inside r, the pixels that are not white and those in
// colour (curves are drawn in tab10 colours; background, grid, axes and
// text are grey). colour maps a palette index to how many of its pixels
// were seen.
type inkStats struct {
	nonWhite, colored int
	palette           map[int]int
}

func chartInk(img image.Image, r image.Rectangle) inkStats {
	st := inkStats{palette: map[int]int{}}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r16, g16, b16, _ := img.At(x, y).RGBA()
			r8, g8, b8 := int(r16>>8), int(g16>>8), int(b16>>8)
			if r8 >= 250 && g8 >= 250 && b8 >= 250 {
				continue
			}
			st.nonWhite++
			if max(r8, g8, b8)-min(r8, g8, b8) > 60 {
				st.colored++
			}
			for i, p := range chart.Palette {
				if absInt(r8-int(p.R)) < 12 && absInt(g8-int(p.G)) < 12 && absInt(b8-int(p.B)) < 12 {
					st.palette[i]++
				}
			}
		}
	}
	return st
}

func absInt(x int) int { return max(x, -x) }

// central is the middle half of an image in each direction: inside the
// data area of any chart, away from the title, ticks and the legend's
// corner.
func central(b image.Rectangle) image.Rectangle {
	w, h := b.Dx(), b.Dy()
	return image.Rect(b.Min.X+w/4, b.Min.Y+h/4, b.Min.X+3*w/4, b.Min.Y+3*h/4)
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// requireCurves checks that a chart is a chart: curves of the first n
// palette colours, with ink in the middle of the data area.
func requireCurves(t *testing.T, img image.Image, n int) {
	t.Helper()
	st := chartInk(img, central(img.Bounds()))
	require.Greater(t, st.colored, 150, "coloured curve pixels in the middle of the chart")
	whole := chartInk(img, img.Bounds())
	for i := range n {
		require.Greater(t, whole.palette[i], 40, "curve %d (palette colour %d) drawn", i, i)
	}
}

// small keeps the tests' charts quick to draw under the race detector.
var small = []string{"--width", "480px", "--height", "300px"}

// plot runs `metrics plot args --out <fresh folder>/chart<ext>`, requires
// it to succeed and returns the chart's path and what the command printed.
func (tr *metricsTree) plot(t *testing.T, ext string, args ...string) (out, stdout, stderr string) {
	t.Helper()
	out = filepath.Join(t.TempDir(), "chart"+ext)
	stdout, stderr, code := tr.cli(t, append([]string{"metrics", "plot", "--out", out}, args...)...)
	require.Equal(t, 0, code, stderr)
	return out, stdout, stderr
}

// plotSVG is plot to an SVG file, read back as svgCurves.
func (tr *metricsTree) plotSVG(t *testing.T, args ...string) (curves map[int]int, stderr string) {
	t.Helper()
	out, _, stderr := tr.plot(t, ".svg", args...)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	return svgCurves(t, data), stderr
}

func TestMetricsPlot_PNG(t *testing.T) {
	t.Parallel() // drawing pixels is the slow part under -race
	tr := newMetricsTree(t)
	base, tuned := tr.run["baseline"], tr.run["tuned"]
	cases := []struct {
		name   string
		args   []string
		w, h   int
		curves int
	}{
		{"default size", []string{base, "loss", "val/loss"}, 756, 454, 2}, // 20cm x 12cm at 96 dpi
		{"cm at 72 dpi", []string{base, "val/loss", "--width", "15cm", "--height", "10cm", "--dpi", "72"}, 425, 283, 1},
		{"two runs in pixels", append([]string{base, "loss", "--run", tuned}, small...), 480, 300, 2},
		{"constant", append([]string{base, "lr"}, small...), 480, 300, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stdout, stderr := tr.plot(t, ".png", c.args...)
			require.Empty(t, stderr)
			require.Equal(t, out+"\n", stdout, "prints the path written")
			img := decodePNG(t, out)
			require.Equal(t, image.Rect(0, 0, c.w, c.h), img.Bounds())
			requireCurves(t, img, c.curves)
		})
	}
}

// The pixel check above must tell a chart from a blank page or a chart
// with axes and grid but no curve.
func TestMetricsPlot_InkCheckRejectsEmptyCharts(t *testing.T) {
	axesOnly := plot.New()
	axesOnly.Title.Text = "no curves"
	axesOnly.X.Label.Text, axesOnly.Y.Label.Text = "step", "loss"
	axesOnly.X.Min, axesOnly.X.Max, axesOnly.Y.Min, axesOnly.Y.Max = 0, 10, 0, 1
	axesOnly.Add(plotter.NewGrid())
	blank := plot.New()
	blank.HideAxes()
	for name, p := range map[string]*plot.Plot{"axes only": axesOnly, "blank": blank} {
		t.Run(name, func(t *testing.T) {
			c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(5*vg.Inch, 3*vg.Inch), vgimg.UseDPI(96))}
			p.Draw(draw.New(c))
			var buf bytes.Buffer
			_, err := c.WriteTo(&buf)
			require.NoError(t, err)
			img, err := png.Decode(&buf)
			require.NoError(t, err)
			st := chartInk(img, central(img.Bounds()))
			require.Zero(t, st.colored)
			require.Less(t, st.colored, 150, "requireCurves would reject it")
		})
	}
}

// svgCurves maps each stroke colour of the palette found in an SVG to the
// most line segments one of its paths has: a drawn curve of n points has
// n-1.
func svgCurves(t *testing.T, data []byte) map[int]int {
	t.Helper()
	out := map[int]int{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		el, ok := tok.(xml.StartElement)
		if !ok || el.Name.Local != "path" {
			continue
		}
		var d, style string
		for _, a := range el.Attr {
			switch a.Name.Local {
			case "d":
				d = a.Value
			case "style":
				style = a.Value
			}
		}
		for i, p := range chart.Palette {
			if strings.Contains(style, fmt.Sprintf("stroke:#%02X%02X%02X", p.R, p.G, p.B)) {
				out[i] = max(out[i], strings.Count(d, "L"))
			}
		}
	}
}

// Every option draws its curves: checked on SVG output, which is quick to
// make, by the paths in the palette's colours.
func TestMetricsPlot_Options(t *testing.T) {
	tr := newMetricsTree(t)
	base, tuned := tr.run["baseline"], tr.run["tuned"]
	cases := []struct {
		name string
		args []string
		want map[int]int // palette colour -> segments of its longest path
	}{
		{"repeated run", []string{base, "loss", "--run", tuned, "--run", base}, map[int]int{0: 9, 1: 5}},
		{"wall time", []string{base, "loss", "val/loss", "--x", "time", "--title", "Loss over time"}, map[int]int{0: 9, 1: 9}},
		{"relative time", []string{base, "loss", "--run", tuned, "--x", "relative-time"}, map[int]int{0: 9, 1: 5}},
		{"log y", []string{base, "loss", "val/loss", "--log-y"}, map[int]int{0: 9, 1: 9}},
		{"lttb to 4 points", []string{base, "loss", "--max-points", "4"}, map[int]int{0: 3}},
		{"minmax to 4 points", []string{base, "loss", "--max-points", "4", "--method", "minmax"}, map[int]int{0: 3}},
		{"every point", []string{base, "loss", "--max-points", "0"}, map[int]int{0: 9}},
		{"constant", []string{base, "lr"}, map[int]int{0: 9}},
		{"constant on a log scale", []string{base, "lr", "--log-y"}, map[int]int{0: 9}},
		{"one point on a log scale", []string{base, "eval/acc", "--log-y"}, map[int]int{0: 1}}, // a zero-length segment, and its marker
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := tr.plotSVG(t, c.args...)
			for i, n := range c.want {
				require.Equal(t, n, got[i], "curve %d", i)
			}
			require.Len(t, got, len(c.want), "no other curve")
		})
	}
}

func TestMetricsPlot_SVGAndPDF(t *testing.T) {
	t.Parallel()
	tr := newMetricsTree(t)
	dir := t.TempDir()
	base, tuned := tr.run["baseline"], tr.run["tuned"]
	svg := filepath.Join(dir, "chart.SVG")
	_, stderr, code := tr.cli(t, "metrics", "plot", base, "loss", "val/loss", "--run", tuned, "--out", svg)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(svg)
	require.NoError(t, err)
	paths, texts := 0, ""
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "path" {
				paths++
			}
		case xml.CharData:
			texts += string(tok)
		}
	}
	require.Greater(t, paths, 20, "curves, markers, grid and axes are <path>s")
	// The legend names run and key of each curve.
	for _, label := range []string{"baseline · loss", "baseline · val/loss", "tuned · loss"} {
		require.Contains(t, texts, label)
	}
	require.Contains(t, texts, "step")

	pdf := filepath.Join(dir, "chart.pdf")
	_, stderr, code = tr.cli(t, "metrics", "plot", base, "loss", "--out", pdf)
	require.Equal(t, 0, code, stderr)
	data, err = os.ReadFile(pdf)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(data, []byte("%PDF-")))
	require.Greater(t, len(data), 2000)
}

func TestMetricsPlot_NonFiniteAndEmpty(t *testing.T) {
	tr := newMetricsTree(t)
	base := tr.run["baseline"]
	cases := []struct {
		name   string
		args   []string
		notes  []string
		curves map[int]int
	}{
		// NaN and ±inf are left out, and said so; the rest is drawn.
		{"odd values", []string{base, "odd"}, []string{"baseline · odd: left out 3 NaN or infinite value(s)"}, map[int]int{0: 3}},
		// A curve with nothing to draw beside one that has points.
		{"all NaN beside a curve", []string{base, "nan_only", "loss"}, []string{
			"baseline · nan_only: left out 1 NaN or infinite value(s)", "baseline · nan_only: nothing to draw"}, map[int]int{0: 9}},
		// A key one of the runs lacks: the other curves, with a note.
		{"key one run lacks", []string{base, "loss", "val/loss", "--run", tr.run["tuned"]}, []string{
			"tuned · val/loss: run " + tr.run["tuned"] + " has no such metric; left out"}, map[int]int{0: 9, 1: 9, 2: 5}},
		// --log-y leaves out values <= 0 and says so.
		{"log scale", []string{base, "odd", "--log-y"}, []string{"baseline · odd: left out 3 NaN or infinite value(s)",
			"baseline · odd: left out 1 value(s) <= 0 that a log scale cannot show"}, map[int]int{0: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			curves, stderr := tr.plotSVG(t, c.args...)
			for _, n := range c.notes {
				require.Contains(t, stderr, "mlruns: "+n+"\n")
			}
			require.Equal(t, len(c.notes), strings.Count(stderr, "\n"), stderr)
			require.Equal(t, c.curves, curves)
		})
	}
}

func TestMetricsPlot_Errors(t *testing.T) {
	tr := newMetricsTree(t)
	dir := t.TempDir()
	base := tr.run["baseline"]
	png := filepath.Join(dir, "x.png")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing key", []string{base, "loss", "nope", "--out", png}, 1, `has no values of metric "nope"; its metrics: eval/acc, loss`},
		{"key no run has", []string{base, "nope", "--run", tr.run["tuned"], "--out", png}, 1, `none of the 2 runs has values of metric "nope"`},
		{"all NaN", []string{base, "nan_only", "--out", png}, 1, "nothing to plot"},
		{"unknown run", []string{base, "loss", "--run", "0123456789abcdef0123456789abcdef", "--out", png}, 1, "RESOURCE_DOES_NOT_EXIST"},
		{"missing folder", []string{base, "loss", "--width", "100px", "--height", "100px", "--out", filepath.Join(dir, "no", "x.png")}, 1, "write chart"},
		{"no key", []string{base, "--out", png}, 2, "want RUN_ID and at least one KEY"},
		{"no out", []string{base, "loss"}, 2, "--out FILE is required"},
		{"unknown extension", []string{base, "loss", "--out", filepath.Join(dir, "x.gif")}, 2, "name it .png, .svg or .pdf"},
		{"no extension", []string{base, "loss", "--out", filepath.Join(dir, "x")}, 2, "name it .png, .svg or .pdf"},
		{"bad x", []string{base, "loss", "--x", "epoch", "--out", png}, 2, "--x must be step, time or relative-time"},
		{"bad width", []string{base, "loss", "--width", "wide", "--out", png}, 2, "--width must be a positive length"},
		{"zero height", []string{base, "loss", "--height", "0cm", "--out", png}, 2, "--height must be a positive length"},
		{"huge png", []string{base, "loss", "--width", "100in", "--dpi", "600", "--out", png}, 2, "too large"},
		{"bad method", []string{base, "loss", "--method", "avg", "--out", png}, 2, "--method must be"},
		{"negative max points", []string{base, "loss", "--max-points", "-5", "--out", png}, 2, "--max-points must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := tr.cli(t, append([]string{"metrics", "plot"}, c.args...)...)
			require.Equal(t, c.code, code, stderr)
			require.Contains(t, stderr, c.msg)
			require.Empty(t, stdout)
			if c.code == 1 {
				// notes about left-out values may come first; the error is one line
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				require.Contains(t, lines[len(lines)-1], c.msg)
				for _, l := range lines[:len(lines)-1] {
					require.Regexp(t, `: (left out|nothing to draw)`, l)
				}
			}
			_, err := os.Stat(png)
			require.ErrorIs(t, err, os.ErrNotExist, "no chart written on error")
		})
	}
}

// A long history is downsampled to at most --max-points per curve, sorted
// by x even when logged out of order, and every point is counted.
func TestMetricsPlot_DownsamplesLongHistory(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	r, err := s.CreateRun(ctx, filestore.CreateRunOptions{StartTime: 1000, RunName: "long"})
	require.NoError(t, err)
	const n = 12000
	batch := make([]entities.Metric, 0, 1000)
	for i := range n {
		step := int64(i)
		if i%1000 == 999 {
			step = int64(i - 500) // out of order, as an async logger may write
		}
		batch = append(batch, entities.Metric{Key: "loss", Value: math.Exp(-float64(i)/n) + 0.1*math.Sin(float64(i)), Timestamp: 1000 + int64(i), Step: step})
		if len(batch) == cap(batch) {
			require.NoError(t, s.LogBatch(ctx, r.Info.RunID, batch, nil, nil))
			batch = batch[:0]
		}
	}
	e := &env{ctx: ctx, root: root, stdout: io.Discard, stderr: io.Discard}
	for _, m := range []downsample.Method{downsample.LTTB, downsample.MinMax} {
		for _, x := range []chart.Axis{chart.Step, chart.RelativeTime} {
			c, err := loadCurve(e, s, r.Info, "loss", plotOptions{maxPoints: 1000, method: m, x: x})
			require.NoError(t, err)
			require.Equal(t, n, c.points)
			require.LessOrEqual(t, len(c.xys), 1000)
			require.Greater(t, len(c.xys), 500)
			for i := 1; i < len(c.xys); i++ {
				require.LessOrEqual(t, c.xys[i-1].X, c.xys[i].X, "sorted by x")
			}
			if x == chart.RelativeTime {
				// seconds since the run's start; LTTB keeps both ends
				require.InDelta(t, 0, c.xys[0].X, 0.1)
				require.InDelta(t, float64(n-1)/1000, c.xys[len(c.xys)-1].X, 0.1)
			}
		}
	}
	out := filepath.Join(t.TempDir(), "long.svg")
	var stdout, stderr bytes.Buffer
	args := []string{"--root", root, "metrics", "plot", r.Info.RunID, "loss", "--out", out}
	require.Equal(t, 0, run(ctx, args, &stdout, &stderr), stderr.String())
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, map[int]int{0: 1999}, svgCurves(t, data), "the default --max-points is 2000")
}

func TestPlotYLabel(t *testing.T) {
	cases := []struct {
		keys []string
		want string
	}{
		{[]string{"val/accuracy"}, "val/accuracy"},
		{[]string{"train/loss", "val/loss"}, "loss"},
		{[]string{"loss", "eval/loss"}, "loss"},
		{[]string{"train/loss", "val/accuracy"}, "value"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, plotYLabel(c.keys), c.keys)
	}
}

// Long curves are preselected by min/max buckets before the method runs:
// at most n points come out, the ends and every spike survive, and a
// curve that fits is handed to the method whole.
func TestPlotDownsample(t *testing.T) {
	const n = 200
	pts := make([]plotPoint, 100000)
	for i := range pts {
		pts[i] = plotPoint{int64(i), math.Sin(float64(i) / 1000)}
	}
	pts[31337].v, pts[77777].v = 50, -50 // spikes
	for _, m := range []downsample.Method{downsample.LTTB, downsample.MinMax} {
		got := plotDownsample(pts, m, n)
		require.LessOrEqual(t, len(got), n)
		require.Greater(t, len(got), n/2)
		steps := map[int64]bool{}
		for i, p := range got {
			steps[p.Step] = true
			if i > 0 {
				require.Less(t, got[i-1].Step, p.Step)
			}
		}
		require.True(t, steps[31337] && steps[77777], "spikes kept (method %d)", m)
		if m == downsample.LTTB {
			require.True(t, steps[0] && steps[99999], "ends kept")
		}
	}
	short := pts[:3*n]
	h := make([]entities.Metric, len(short))
	for i, p := range short {
		h[i] = entities.Metric{Step: p.x, Value: p.v}
	}
	require.Equal(t, downsample.Lttb(h, n), plotDownsample(short, downsample.LTTB, n))
	require.Len(t, plotDownsample(pts, downsample.LTTB, 0), len(pts), "0 keeps every point")
}
