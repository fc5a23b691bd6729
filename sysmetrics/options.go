package sysmetrics

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/mlenv"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// The environment variables Python MLflow reads for system metrics, read
// here with Python's rules (package internal/mlenv).
const (
	// EnvEnable turns system metrics on for runs started without an
	// explicit choice (a boolean: true, false, 1, 0 in any case).
	EnvEnable = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"
	// EnvSamplingInterval is the seconds between samples (a float).
	EnvSamplingInterval = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"
	// EnvSamplesBeforeLogging is the samples averaged into one logged
	// window (an int).
	EnvSamplesBeforeLogging = "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"
	// EnvNodeID names the machine: keys become system/<node_id>/<name>.
	EnvNodeID = "MLFLOW_SYSTEM_METRICS_NODE_ID"
)

// Prefix starts every system metric key, as in MLflow; the UI shows
// these keys in its System metrics tab.
const Prefix = "system/"

// GoRuntimePrefix starts the names of the Go runtime's figures
// (Options.GoRuntime). No MLflow monitor has a name with it, so the keys
// cannot collide with MLflow's under any node id.
const GoRuntimePrefix = "go_"

// Defaults of SystemMetricsMonitor.
const (
	DefaultInterval             = 10 * time.Second
	DefaultSamplesBeforeLogging = 1
)

// Options configure a Monitor. The zero value (or nil) is Python's
// defaults. As in SystemMetricsMonitor, the environment variables win over
// Interval, SamplesBeforeLogging and NodeID when set to a value Python
// counts as given (not 0, not empty).
type Options struct {
	// Interval between samples. Zero: EnvSamplingInterval, else 10 s.
	Interval time.Duration
	// SamplesBeforeLogging is how many samples one logged window averages.
	// Zero: EnvSamplesBeforeLogging, else 1.
	SamplesBeforeLogging int
	// NodeID puts the keys under system/<NodeID>/. Empty:
	// EnvNodeID, else none.
	NodeID string
	// Resume starts the steps after the largest step of the run's
	// system/ metrics, as Python's resume_logging (a resumed run);
	// otherwise the first window is step 0.
	Resume bool
	// GoRuntime adds the Go runtime's figures (see GoRuntimePrefix).
	GoRuntime bool
	// Logger receives the monitor's debug and warning messages (no GPU,
	// a failed sample or write). Nil discards.
	Logger *slog.Logger
	// Lookup reads the environment; nil is os.LookupEnv. For tests and
	// for programs with injected settings.
	Lookup mlenv.Lookup

	// sources replaces the machine's collectors (tests, through
	// export_test.go).
	sources []collector
}

// config is Options resolved against the environment.
type config struct {
	interval time.Duration
	samples  int
	prefix   string
	resume   bool
	goRT     bool
	log      *slog.Logger
}

// maxInterval keeps a sampling interval a time.Duration can hold with
// room to spare (Python's wait overflows past time_t).
const maxInterval = 100 * 365 * 24 * time.Hour

// Check reads the environment variables as Start will and reports the
// first one Python refuses, with Python's message, or a value Python
// accepts but cannot run with (a negative, NaN or endless interval makes
// its monitor spin or die; a negative sample count logs empty windows).
// The fluent layer calls it before creating a run, so a bad setting fails
// StartRun instead of a half-started run.
func Check(opts *Options) error {
	_, err := resolve(opts)
	return err
}

func resolve(opts *Options) (config, error) {
	if opts == nil {
		opts = &Options{}
	}
	lookup := opts.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := config{resume: opts.Resume, goRT: opts.GoRuntime, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// Python: MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL.get() or sampling_interval
	secs, err := mlenv.FloatFrom(lookup, EnvSamplingInterval, 0)
	if err != nil {
		return config{}, err
	}
	switch {
	case secs != 0:
		if !(secs > 0) || secs*float64(time.Second) > float64(maxInterval) {
			return config{}, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
				"%s must be a positive number of seconds of at most %d, got %s",
				EnvSamplingInterval, int64(maxInterval/time.Second), pynum.FormatFloat(secs)))
		}
		c.interval = time.Duration(math.Round(secs * float64(time.Second)))
		if c.interval <= 0 {
			c.interval = 1 // below a nanosecond: as short as a timer goes
		}
	case opts.Interval > 0:
		c.interval = opts.Interval
	case opts.Interval < 0:
		return config{}, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"sysmetrics: Options.Interval must be positive, got %v", opts.Interval))
	default:
		c.interval = DefaultInterval
	}
	n, err := mlenv.IntFrom(lookup, EnvSamplesBeforeLogging, 0)
	if err != nil {
		return config{}, err
	}
	switch {
	case n < 0:
		return config{}, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"%s must be a positive number of samples, got %d", EnvSamplesBeforeLogging, n))
	case n > 0:
		c.samples = n
	case opts.SamplesBeforeLogging < 0:
		return config{}, errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"sysmetrics: Options.SamplesBeforeLogging must be positive, got %d", opts.SamplesBeforeLogging))
	case opts.SamplesBeforeLogging > 0:
		c.samples = opts.SamplesBeforeLogging
	default:
		c.samples = DefaultSamplesBeforeLogging
	}
	node := mlenv.StringFrom(lookup, EnvNodeID, "")
	if node == "" {
		node = opts.NodeID
	}
	c.prefix = Prefix
	if node != "" {
		c.prefix += node + "/"
	}
	return c, nil
}

// Enabled reports whether runs started without an explicit choice log
// system metrics: EnvEnable as Python reads it (default false).
func Enabled(lookup mlenv.Lookup) (bool, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return mlenv.BoolFrom(lookup, EnvEnable, false)
}
