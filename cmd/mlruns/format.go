package main

// How listings show times, durations and numbers, shared by every command
// that prints runs or experiments.

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mlruns-go/mlruns/internal/pynum"
)

// tableTime is how tables show a time: UTC, to the second.
const tableTime = "2006-01-02 15:04:05"

// csvTime keeps the milliseconds and says UTC, for programs.
const csvTime = "2006-01-02T15:04:05.000Z07:00"

// formatTime is a time for a table; "-" when unset (0).
func formatTime(ms int64) string { return timeText(ms, tableTime, "-") }

// formatTimePtr is formatTime of an optional time (end_time).
func formatTimePtr(ms *int64) string { return formatTime(orZero(ms)) }

// csvTimeOf is a time for CSV; empty when unset.
func csvTimeOf(ms int64) string { return timeText(ms, csvTime, "") }

// csvTimePtr is csvTimeOf of an optional time.
func csvTimePtr(ms *int64) string { return csvTimeOf(orZero(ms)) }

// timeText formats epoch milliseconds in UTC; 0 is MLflow's "not set".
func timeText(ms int64, layout, unset string) string {
	if ms == 0 {
		return unset
	}
	return time.UnixMilli(ms).UTC().Format(layout)
}

func orZero(ms *int64) int64 {
	if ms == nil {
		return 0
	}
	return *ms
}

// formatDuration is a run's wall time, short: 850ms, 12.5s, 3m07s, 2h05m,
// 3d04h; "-" while the run has no end time.
func formatDuration(start int64, end *int64) string {
	if end == nil || *end == 0 || start == 0 || *end < start {
		return "-"
	}
	d := time.Duration(*end-start) * time.Millisecond
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", math.Floor(d.Seconds()*10)/10)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// fullFloat is a value as Python MLflow prints it (repr): what show,
// compare and CSV use, so nothing is lost.
func fullFloat(v float64) string { return pynum.FormatFloat(v) }

// shortFloat fits a value in a listing column: Python's repr when short,
// else six significant digits (0.30800000000000005 -> 0.308).
func shortFloat(v float64) string {
	if s := pynum.FormatFloat(v); len(s) <= 10 {
		return s
	}
	return fmt.Sprintf("%.6g", v)
}

func appendKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func sortedUnique(keys []string) []string {
	slices.Sort(keys)
	return slices.Compact(keys)
}

// unique drops repeated strings, keeping the first of each in order
// (`runs delete A A` acts once; a key named twice is drawn once).
func unique(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
