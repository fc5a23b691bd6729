package mlflow

import (
	"os"
	"strconv"
	"time"

	"github.com/mlruns-go/mlruns/internal/pynum"
	"github.com/mlruns-go/mlruns/sysmetrics"
	"github.com/mlruns-go/mlruns/tracking"
)

// The process-wide switches of system metrics are environment variables,
// as in Python (mlflow.enable_system_metrics_logging and friends set them),
// so child processes inherit them.

// EnableSystemMetricsLogging makes runs started without LogSystemMetrics
// log system metrics, as Python's enable_system_metrics_logging: it sets
// MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING to True.
func EnableSystemMetricsLogging() { os.Setenv(sysmetrics.EnvEnable, "True") }

// DisableSystemMetricsLogging turns that off again (False), as Python's
// disable_system_metrics_logging; LogSystemMetrics(true) still opts a run
// in.
func DisableSystemMetricsLogging() { os.Setenv(sysmetrics.EnvEnable, "False") }

// SetSystemMetricsSamplingInterval sets the time between samples for
// monitors started later (MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL, in
// seconds, as Python's set_system_metrics_sampling_interval); zero unsets
// it (10 s).
func SetSystemMetricsSamplingInterval(d time.Duration) {
	if d == 0 {
		os.Unsetenv(sysmetrics.EnvSamplingInterval)
		return
	}
	os.Setenv(sysmetrics.EnvSamplingInterval, pynum.FormatFloat(d.Seconds()))
}

// SetSystemMetricsSamplesBeforeLogging sets how many samples one logged
// step averages (MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING); zero unsets
// it (1).
func SetSystemMetricsSamplesBeforeLogging(n int) {
	if n == 0 {
		os.Unsetenv(sysmetrics.EnvSamplesBeforeLogging)
		return
	}
	os.Setenv(sysmetrics.EnvSamplesBeforeLogging, strconv.Itoa(n))
}

// SetSystemMetricsNodeID names this machine in the keys, system/<id>/...
// (MLFLOW_SYSTEM_METRICS_NODE_ID), for runs that several machines log
// to; empty unsets it.
func SetSystemMetricsNodeID(id string) {
	if id == "" {
		os.Unsetenv(sysmetrics.EnvNodeID)
		return
	}
	os.Setenv(sysmetrics.EnvNodeID, id)
}

// LogSystemMetrics says whether the run logs system metrics, as Python's
// start_run(log_system_metrics=...); without it,
// MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING decides (default off).
func LogSystemMetrics(on bool) RunOption {
	return func(o *runOptions) { o.sysMetrics = &on }
}

// SystemMetrics makes the run log system metrics with these options (the
// Go runtime's figures, an interval, a node id; see package sysmetrics).
func SystemMetrics(opts tracking.SystemMetricsOptions) RunOption {
	return func(o *runOptions) {
		on := true
		o.sysMetrics, o.sysOpts = &on, &opts
	}
}

// systemMetricsFor is the monitor options of a run to start, nil when it
// logs none; an unreadable switch or setting is an error before any run is
// created.
func systemMetricsFor(o runOptions) (*tracking.SystemMetricsOptions, error) {
	on := false
	if o.sysMetrics != nil {
		on = *o.sysMetrics
	} else {
		var err error
		if on, err = sysmetrics.Enabled(nil); err != nil {
			return nil, err
		}
	}
	if !on {
		return nil, nil
	}
	opts := &tracking.SystemMetricsOptions{}
	if o.sysOpts != nil {
		*opts = *o.sysOpts
	}
	if err := sysmetrics.Check(opts); err != nil {
		return nil, err
	}
	return opts, nil
}
