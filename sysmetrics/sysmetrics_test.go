package sysmetrics_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/sysmetrics"
)

// TestMain fails the package if a monitor's goroutine outlives its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeWriter records the windows a monitor logs.
type fakeWriter struct {
	mu      sync.Mutex
	windows [][]entities.Metric
	status  entities.RunStatus
	latest  map[string]entities.Metric
	failLog error
	hang    chan struct{} // when set, RunStatus signals it and waits for ctx
}

func (w *fakeWriter) LogWindow(_ context.Context, ms []entities.Metric) sysmetrics.Pending {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.windows = append(w.windows, slices.Clone(ms))
	return done{w.failLog}
}

type done struct{ err error }

func (d done) Err() error { return d.err }

func (w *fakeWriter) RunStatus(ctx context.Context) (entities.RunStatus, error) {
	if w.hang != nil {
		select {
		case w.hang <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return 0, ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		return entities.StatusRunning, nil
	}
	return w.status, nil
}

func (w *fakeWriter) LatestMetrics(context.Context) (map[string]entities.Metric, error) {
	if w.latest == nil {
		return nil, errs.New(errs.ErrNotFound, "no run")
	}
	return w.latest, nil
}

func (w *fakeWriter) got() [][]entities.Metric {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.windows)
}

// noEnv is an empty environment, so the machine's variables do not leak
// into a test.
func noEnv(string) (string, bool) { return "", false }

func envOf(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

// counting is a source whose sample i reads i+1 for "a" (a mean) and
// 10*(i+1) for "b" (the last sample).
func counting() *sysmetrics.FakeSource {
	return &sysmetrics.FakeSource{Next: func(i int) []sysmetrics.FakeValue {
		return []sysmetrics.FakeValue{{Name: "a", V: float64(i + 1)}, {Name: "b", V: float64(10 * (i + 1)), Last: true}}
	}}
}

func waitWindows(t *testing.T, w *fakeWriter, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(w.got()) >= n }, 10*time.Second, time.Millisecond)
}

func TestMonitor_Start_StepsAndMeans(t *testing.T) {
	w := &fakeWriter{}
	o := &sysmetrics.Options{Interval: 2 * time.Millisecond, SamplesBeforeLogging: 3, Lookup: noEnv}
	sysmetrics.UseSources(o, counting())
	m, err := sysmetrics.Start(t.Context(), w, o)
	require.NoError(t, err)
	waitWindows(t, w, 3)
	m.Stop()
	got := w.got()
	for step, win := range got[:3] {
		require.Len(t, win, 2)
		// samples 3s+1, 3s+2, 3s+3: mean 3s+2; b is the last sample's
		require.Equal(t, "system/a", win[0].Key)
		require.Equal(t, float64(3*step+2), win[0].Value)
		require.Equal(t, "system/b", win[1].Key)
		require.Equal(t, float64(10*(3*step+3)), win[1].Value)
		require.Equal(t, int64(step), win[0].Step)
		require.Equal(t, win[0].Timestamp, win[1].Timestamp, "one time per window")
	}
}

// A run ended before its first window still gets one: a sample at Stop.
func TestMonitor_Stop_BeforeFirstWindow(t *testing.T) {
	w := &fakeWriter{}
	o := &sysmetrics.Options{Interval: time.Hour, Lookup: noEnv}
	sysmetrics.UseSources(o, counting())
	m, err := sysmetrics.Start(t.Context(), w, o)
	require.NoError(t, err)
	m.Stop()
	m.Stop() // again: nothing
	got := w.got()
	require.Len(t, got, 1)
	require.Equal(t, []entities.Metric{
		{Key: "system/a", Value: 1, Timestamp: got[0][0].Timestamp, Step: 0},
		{Key: "system/b", Value: 10, Timestamp: got[0][0].Timestamp, Step: 0},
	}, got[0])
}

// A run ended mid-window logs the samples so far and a last one, at the
// next step.
func TestMonitor_Stop_MidWindow(t *testing.T) {
	w := &fakeWriter{}
	src := counting()
	samples := make(chan int, 100)
	inner := src.Next
	src.Next = func(i int) []sysmetrics.FakeValue { samples <- i; return inner(i) }
	o := &sysmetrics.Options{Interval: 5 * time.Millisecond, SamplesBeforeLogging: 1000, Lookup: noEnv}
	sysmetrics.UseSources(o, src)
	m, err := sysmetrics.Start(t.Context(), w, o)
	require.NoError(t, err)
	<-samples
	<-samples
	m.Stop()
	got := w.got()
	require.Len(t, got, 1)
	n := len(samples) + 2 // samples taken, the one at Stop among them
	require.GreaterOrEqual(t, n, 2)
	require.Equal(t, "system/a", got[0][0].Key)
	require.Equal(t, sysmetrics.Round1(float64(n*(n+1)/2)/float64(n)), got[0][0].Value, "the mean of %d samples", n)
	require.Equal(t, float64(10*n), got[0][1].Value)
	require.Equal(t, int64(0), got[0][0].Step)
}

// A run no longer RUNNING (ended elsewhere) stops the monitor after the
// sample, without logging it, as Python's loop returns.
func TestMonitor_RunEndedElsewhere_StopsWithoutLogging(t *testing.T) {
	w := &fakeWriter{status: entities.StatusFinished}
	o := &sysmetrics.Options{Interval: time.Millisecond, Lookup: noEnv}
	sysmetrics.UseSources(o, counting())
	m, err := sysmetrics.Start(t.Context(), w, o)
	require.NoError(t, err)
	select {
	case <-m.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the monitor did not stop")
	}
	m.Stop()
	require.Empty(t, w.got())
}

// A failed write stops the monitor at the next window.
func TestMonitor_WriteFails_Stops(t *testing.T) {
	w := &fakeWriter{failLog: errors.New("disk full")}
	o := &sysmetrics.Options{Interval: time.Millisecond, Lookup: noEnv}
	sysmetrics.UseSources(o, counting())
	m, err := sysmetrics.Start(t.Context(), w, o)
	require.NoError(t, err)
	select {
	case <-m.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the monitor did not stop")
	}
	require.Len(t, w.got(), 1)
}

func TestMonitor_Start_Resume(t *testing.T) {
	cases := []struct {
		name   string
		latest map[string]entities.Metric
		want   int64
	}{
		{"no run", nil, 0},
		{"no system metrics", map[string]entities.Metric{"loss": {Step: 50}}, 0},
		{"largest system step of any node", map[string]entities.Metric{
			"system/cpu_utilization_percentage": {Step: 4}, "system/n1/disk_usage_megabytes": {Step: 7},
			"loss": {Step: 100}, "systemx": {Step: 200}}, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &fakeWriter{latest: c.latest}
			o := &sysmetrics.Options{Interval: time.Hour, Resume: true, Lookup: noEnv}
			sysmetrics.UseSources(o, counting())
			m, err := sysmetrics.Start(t.Context(), w, o)
			require.NoError(t, err)
			m.Stop()
			require.Equal(t, c.want, w.got()[0][0].Step)
		})
	}
}

// The variables win over Options, as in SystemMetricsMonitor; what Python
// refuses is refused with its message; what Python accepts but cannot run
// with is refused.
func TestOptions_Env(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		opts    sysmetrics.Options
		key     string
		samples int // windows' size, checked by the step of a known sample count
		err     string
	}{
		{"defaults", nil, sysmetrics.Options{}, "system/a", 1, ""},
		{"node id from options", nil, sysmetrics.Options{NodeID: "n1"}, "system/n1/a", 1, ""},
		{"node id from env wins", map[string]string{sysmetrics.EnvNodeID: "env"}, sysmetrics.Options{NodeID: "n1"}, "system/env/a", 1, ""},
		{"empty node id is none", map[string]string{sysmetrics.EnvNodeID: ""}, sysmetrics.Options{NodeID: "n1"}, "system/n1/a", 1, ""},
		{"bad interval", map[string]string{sysmetrics.EnvSamplingInterval: "fast"}, sysmetrics.Options{}, "", 0,
			"mlruns: Failed to convert 'fast' for MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL: could not convert string to float: 'fast'"},
		{"bad samples", map[string]string{sysmetrics.EnvSamplesBeforeLogging: "2.5"}, sysmetrics.Options{}, "", 0,
			"mlruns: Failed to convert '2.5' for MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING: invalid literal for int() with base 10: '2.5'"},
		{"negative interval", map[string]string{sysmetrics.EnvSamplingInterval: "-1"}, sysmetrics.Options{}, "", 0,
			"mlruns: MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL must be a positive number of seconds of at most 3153600000, got -1.0"},
		{"nan interval", map[string]string{sysmetrics.EnvSamplingInterval: "nan"}, sysmetrics.Options{}, "", 0,
			"mlruns: MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL must be a positive number of seconds of at most 3153600000, got nan"},
		{"endless interval", map[string]string{sysmetrics.EnvSamplingInterval: "inf"}, sysmetrics.Options{}, "", 0,
			"mlruns: MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL must be a positive number of seconds of at most 3153600000, got inf"},
		{"negative samples", map[string]string{sysmetrics.EnvSamplesBeforeLogging: "-2"}, sysmetrics.Options{}, "", 0,
			"mlruns: MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING must be a positive number of samples, got -2"},
		{"zero samples is the option", map[string]string{sysmetrics.EnvSamplesBeforeLogging: "0"}, sysmetrics.Options{SamplesBeforeLogging: 2}, "system/a", 2, ""},
		{"samples from env win", map[string]string{sysmetrics.EnvSamplesBeforeLogging: "3"}, sysmetrics.Options{SamplesBeforeLogging: 2}, "system/a", 3, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.opts
			o.Lookup = envOf(c.env)
			if o.Interval == 0 {
				o.Interval = time.Millisecond
			}
			err := sysmetrics.Check(&o)
			if c.err != "" {
				require.ErrorIs(t, err, errs.ErrInvalidParameter)
				require.Equal(t, c.err, err.Error())
				_, err := sysmetrics.Start(t.Context(), &fakeWriter{}, &o)
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			w := &fakeWriter{}
			sysmetrics.UseSources(&o, counting())
			m, err := sysmetrics.Start(t.Context(), w, &o)
			require.NoError(t, err)
			waitWindows(t, w, 2)
			m.Stop()
			win := w.got()[1]
			require.Equal(t, c.key, win[0].Key)
			// window 1 holds samples s+1..2s: b is the last, 20s
			require.Equal(t, float64(10*2*c.samples), win[1].Value)
		})
	}
}

func TestEnabled_Env(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "1": true, "TRUE": true, "false": false, "0": false} {
		got, err := sysmetrics.Enabled(envOf(map[string]string{sysmetrics.EnvEnable: v}))
		require.NoError(t, err)
		require.Equal(t, want, got, v)
	}
	got, err := sysmetrics.Enabled(noEnv)
	require.NoError(t, err)
	require.False(t, got, "off by default")
	_, err = sysmetrics.Enabled(envOf(map[string]string{sysmetrics.EnvEnable: "yes"}))
	require.ErrorIs(t, err, errs.ErrInvalidParameter)
	require.Equal(t, "mlruns: MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got yes", err.Error())
}

// Python's round(x, 1) of each (values from Python 3.11).
func TestRound1_AsPython(t *testing.T) {
	cases := map[float64]float64{
		0.25: 0.2, 0.35: 0.3, 2.675: 2.7, 0.05: 0.1, 0.15: 0.1, -0.25: -0.2, 12345.65: 12345.6,
		99.95: 100.0, 33.333333: 33.3, 1e300: 1e300, 0: 0,
	}
	for in, want := range cases {
		require.Equal(t, want, sysmetrics.Round1(in), "round(%v, 1)", in)
	}
}

// psutil's cpu_percent of two cpu_times (Linux: guest is in user).
func TestCPUPercent_AsPsutil(t *testing.T) {
	t1 := cpu.TimesStat{User: 10, System: 5, Idle: 80, Iowait: 5, Guest: 3}
	cases := []struct {
		name string
		t2   cpu.TimesStat
		want float64
	}{
		{"no time passed", t1, 0},
		{"all busy", cpu.TimesStat{User: 20, System: 5, Idle: 80, Iowait: 5, Guest: 3}, 100},
		{"a third busy", cpu.TimesStat{User: 11, System: 6, Idle: 83, Iowait: 6, Guest: 3}, 33.3},
		{"counter went back", cpu.TimesStat{User: 9, System: 5, Idle: 81, Iowait: 5, Guest: 3}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, sysmetrics.CPUPercent(t1, c.t2))
		})
	}
}

// The machine's collectors give MLflow's keys with sane values, and the Go
// runtime's under their prefix when asked.
func TestMonitor_Start_MachineMetrics(t *testing.T) {
	for _, goRT := range []bool{false, true} {
		w := &fakeWriter{}
		m, err := sysmetrics.Start(t.Context(), w, &sysmetrics.Options{Interval: 20 * time.Millisecond, GoRuntime: goRT, Lookup: noEnv})
		require.NoError(t, err)
		waitWindows(t, w, 2)
		m.Stop()
		win := map[string]float64{}
		for _, mt := range w.got()[1] {
			win[mt.Key] = mt.Value
			require.Equal(t, int64(1), mt.Step)
		}
		want := []string{"system/cpu_utilization_percentage", "system/disk_available_megabytes",
			"system/disk_usage_megabytes", "system/disk_usage_percentage", "system/network_receive_megabytes",
			"system/network_transmit_megabytes", "system/system_memory_usage_megabytes", "system/system_memory_usage_percentage"}
		if goRT {
			want = append(want, "system/go_gc_pause_milliseconds", "system/go_goroutines", "system/go_heap_inuse_megabytes")
			slices.Sort(want)
			require.GreaterOrEqual(t, win["system/go_goroutines"], 2.0)
			require.Greater(t, win["system/go_heap_inuse_megabytes"], 0.0)
		}
		require.Equal(t, want, slices.Sorted(maps.Keys(win)))
		for _, k := range []string{"system/cpu_utilization_percentage", "system/disk_usage_percentage", "system/system_memory_usage_percentage"} {
			require.GreaterOrEqual(t, win[k], 0.0, k)
			require.LessOrEqual(t, win[k], 100.0, k)
		}
		require.Greater(t, win["system/system_memory_usage_megabytes"], 0.0)
		require.Greater(t, win["system/disk_usage_megabytes"], 0.0)
		require.GreaterOrEqual(t, win["system/network_receive_megabytes"], 0.0)
	}
}

// Monitors started and stopped, by Stop or by themselves, leave no
// goroutine behind (the package's TestMain checks again at the end).
func TestMonitor_StartStop_NoLeak(t *testing.T) {
	for i := range 40 {
		w := &fakeWriter{}
		if i%4 == 3 {
			w.status = entities.StatusKilled // stops by itself after a sample
		}
		o := &sysmetrics.Options{Interval: time.Duration(1+i%3) * time.Millisecond, SamplesBeforeLogging: 1 + i%2, GoRuntime: i%2 == 0, Lookup: noEnv}
		m, err := sysmetrics.Start(t.Context(), w, o)
		require.NoError(t, err)
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		m.Stop()
	}
	goleak.VerifyNone(t)
}

// recorder keeps the log records a monitor emits.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// Without NVIDIA's library (or a GPU) there are no GPU metrics, one debug
// message saying why, and no warning or error.
func TestMonitor_Start_NoGPU_OneDebugMessage(t *testing.T) {
	rec := &recorder{}
	w := &fakeWriter{}
	m, err := sysmetrics.Start(t.Context(), w, &sysmetrics.Options{Interval: time.Hour, Lookup: noEnv, Logger: slog.New(rec)})
	require.NoError(t, err)
	m.Stop()
	for _, mt := range w.got()[0] {
		if strings.Contains(mt.Key, "gpu_") {
			t.Skip("this machine has an NVIDIA GPU")
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var debug []string
	for _, r := range rec.recs {
		require.Less(t, r.Level, slog.LevelWarn, "%s", r.Message)
		if r.Level == slog.LevelDebug && strings.Contains(r.Message, "NVML") {
			debug = append(debug, r.Message)
		}
	}
	require.Len(t, debug, 1, "one debug message about the GPU")
}

// Stop cuts short a status call that hangs (a server that does not
// answer) and still writes the window.
func TestMonitor_Stop_StatusHangs(t *testing.T) {
	w := &fakeWriter{hang: make(chan struct{}, 1)}
	o := &sysmetrics.Options{Interval: time.Millisecond, Lookup: noEnv}
	sysmetrics.UseSources(o, counting())
	m, err := sysmetrics.Start(t.Context(), w, o)
	require.NoError(t, err)
	<-w.hang
	stopped := make(chan struct{})
	go func() { m.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop waited for the status call")
	}
	got := w.got()
	require.Len(t, got, 1)
	require.Equal(t, int64(0), got[0][0].Step)
}
