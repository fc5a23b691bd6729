package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/sysmetrics"
)

// What a person sees: the demo's tree, served by Python's `mlflow server`
// and opened in headless Chromium, shows the parent run with its name, its
// params, its latest metrics, a chart of its loss curve and, in the System
// metrics tab, the curves of its system metrics. Screenshots of the pages
// are kept in $MLRUNS_ARTIFACTS (else the test's temp dir).
func TestBrowser_DemoRunPage(t *testing.T) {
	interoptest.Python(t)
	interoptest.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	root := filepath.Join(t.TempDir(), "mlruns")
	var out, errOut bytes.Buffer
	// 20 epochs of 40 ms at a 0.2 s sampling interval: a few system
	// metrics steps, so their charts draw lines
	t.Setenv(sysmetrics.EnvSamplingInterval, "0.2")
	code := run(ctx, []string{"--root", root, "demo", "--epochs", "20", "--folds", "2", "--seed", "1", "--epoch-time", "40ms"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	s, err := filestore.Open(root, nil)
	require.NoError(t, err)
	exp, err := s.GetExperimentByName(ctx, demoExperiment)
	require.NoError(t, err)
	runs, _, err := s.ListRuns(ctx, exp.ExperimentID, entities.ViewActiveOnly)
	require.NoError(t, err)
	var parent entities.Run
	for _, r := range runs {
		if _, child := r.Data.Tags[entities.TagParentRunID]; !child {
			parent = r
		}
	}
	require.NotEmpty(t, parent.Info.RunID, "the demo logs a parent run")
	loss, ok := parent.Data.Metrics["train/loss"]
	require.True(t, ok)
	cpuHist, err := s.GetMetricHistory(ctx, parent.Info.RunID, "system/cpu_utilization_percentage")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cpuHist), 2, "the demo logs system metrics")

	srv := interoptest.StartServer(t, root)
	browser := interoptest.StartBrowser(t, 1400, 1000)
	page, err := browser.NewPage(ctx)
	require.NoError(t, err)
	dir := artifactsDir(t)

	// fail keeps a screenshot of what the page showed, the page's text and
	// its JavaScript exceptions, then stops the test.
	fail := func(err error) {
		t.Helper()
		if png, serr := page.Screenshot(context.Background()); serr == nil {
			path := filepath.Join(dir, "browser-failure.png")
			if os.WriteFile(path, png, 0o644) == nil {
				t.Logf("screenshot of the failure: %s", path)
			}
		}
		var text string
		_ = page.Eval(context.Background(), "document.body ? document.body.innerText : ''", &text)
		if len(text) > 3000 {
			text = text[:3000] + "..."
		}
		t.Fatalf("%v\npage text:\n%s\njavascript exceptions: %q", err, text, browser.Exceptions())
	}
	wait := func(what, cond string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := page.WaitFor(wctx, what, cond); err != nil {
			fail(err)
		}
	}

	// The run's overview: name in the header, learning_rate 0.001 in the
	// params table, train/loss with its latest value in the metrics table
	// (formatted by JavaScript's own String of the number).
	runURL := fmt.Sprintf("%s/#/experiments/%s/runs/%s", srv.URL, exp.ExperimentID, parent.Info.RunID)
	if err := page.Navigate(ctx, runURL); err != nil {
		fail(fmt.Errorf("open the run page: %w", err))
	}
	wait("the run name "+parent.Info.RunName+" in the header",
		fmt.Sprintf(`[...document.querySelectorAll('[data-testid="runs-header"]')].some(h => h.innerText.trim() === %s)`, jsString(parent.Info.RunName)))
	wait("the param learning_rate = 0.001", tableRow("learning_rate", `'0.001'`))
	wait("the metric train/loss with its latest value", tableRow("train/loss", fmt.Sprintf("String(%s)", jsNumber(loss.Value))))
	if err := page.Eval(ctx, `[...document.querySelectorAll('h4')].find(h => h.innerText.startsWith('Parameters')).scrollIntoView({block: 'center'})`, nil); err != nil {
		fail(fmt.Errorf("scroll to the params: %w", err))
	}
	saveScreenshot(t, ctx, page, filepath.Join(dir, "browser-run-overview.png"))

	// The model-metrics tab: the chart card titled train/loss holds a
	// plotly plot that has drawn its line.
	if err := page.Navigate(ctx, runURL+"/model-metrics"); err != nil {
		fail(fmt.Errorf("open the model metrics tab: %w", err))
	}
	const lossCard = `(() => {
		const h = document.querySelector('h4[title="train/loss"]');
		let card = h;
		while (card && !card.querySelector('.js-plotly-plot')) card = card.parentElement;
		return card;
	})()`
	wait("the train/loss chart card", lossCard+" !== null")
	if err := page.Eval(ctx, lossCard+".scrollIntoView({block: 'center'})", nil); err != nil {
		fail(fmt.Errorf("scroll to the chart: %w", err))
	}
	wait("the train/loss line drawn by plotly", lossCard+".querySelectorAll('.js-plotly-plot .scatterlayer path.js-line').length > 0")
	var legend string
	require.NoError(t, page.Eval(ctx, lossCard+".innerText", &legend))
	require.Contains(t, legend, parent.Info.RunName+" (train/loss)", "the chart's legend names the run and the metric")
	saveScreenshot(t, ctx, page, filepath.Join(dir, "browser-run-metrics.png"))

	// The system metrics tab: a chart card for CPU utilisation whose
	// plotly plot has drawn its line, and the cards beside it (in key
	// order; those further down are drawn as they scroll into view).
	if err := page.Navigate(ctx, runURL+"/system-metrics"); err != nil {
		fail(fmt.Errorf("open the system metrics tab: %w", err))
	}
	card := func(key string) string {
		return fmt.Sprintf(`(() => {
		const h = [...document.querySelectorAll('h4')].find(h => (h.getAttribute('title') || h.innerText).trim() === %s);
		let card = h;
		while (card && !card.querySelector('.js-plotly-plot')) card = card.parentElement;
		return card || null;
	})()`, jsString(key))
	}
	cpuCard := card("system/cpu_utilization_percentage")
	wait("the system/cpu_utilization_percentage chart card", cpuCard+" !== null")
	for _, k := range []string{"system/disk_available_megabytes", "system/disk_usage_percentage", "system/go_goroutines"} {
		wait("the "+k+" chart title", fmt.Sprintf(`[...document.querySelectorAll('h4')].some(h => h.getAttribute('title') === %s)`, jsString(k)))
	}
	if err := page.Eval(ctx, cpuCard+".scrollIntoView({block: 'center'})", nil); err != nil {
		fail(fmt.Errorf("scroll to the CPU chart: %w", err))
	}
	wait("the CPU line drawn by plotly", cpuCard+".querySelectorAll('.js-plotly-plot .scatterlayer path.js-line').length > 0")
	saveScreenshot(t, ctx, page, filepath.Join(dir, "browser-run-system-metrics.png"))
	require.Empty(t, browser.Exceptions(), "no uncaught JavaScript exceptions")
}

// tableRow is a JavaScript condition: a table row whose first cell is key
// and whose second cell is the string value evaluates to.
func tableRow(key, value string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('[role=row]')].some(r => {
		const c = [...r.querySelectorAll('[role=cell]')].map(c => c.innerText.trim());
		return c.length >= 2 && c[0] === %s && c[1] === %s;
	})`, jsString(key), value)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// jsNumber is a finite float as a JavaScript literal that reads back to the
// same double.
func jsNumber(f float64) string {
	b, err := json.Marshal(f)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// artifactsDir is $MLRUNS_ARTIFACTS (created if missing), else the test's
// temp dir.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MLRUNS_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(abs, 0o755))
	return abs
}

// saveScreenshot writes the page's PNG to path, logs where, and checks
// that it shows something: many colours and a good share of pixels that
// are not white.
func saveScreenshot(t *testing.T, ctx context.Context, page *interoptest.Page, path string) {
	t.Helper()
	b, err := page.Screenshot(ctx)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	t.Logf("screenshot: %s", path)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	colours, inked, total := pngStats(img)
	require.Equal(t, image.Rect(0, 0, 1400, 1000), img.Bounds(), "screenshot size")
	require.GreaterOrEqual(t, colours, 64, "distinct colours in %s", path)
	require.Greater(t, float64(inked)/float64(total), 0.03, "share of non-white pixels in %s", path)
}

// pngStats counts an image's distinct colours and its pixels that are not
// (nearly) white.
func pngStats(img image.Image) (colours, inked, total int) {
	seen := map[color.RGBA]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			if c.R < 235 || c.G < 235 || c.B < 235 {
				inked++
			}
			total++
		}
	}
	return len(seen), inked, total
}
