// Package downsample reduces long metric histories to a few points for
// plotting: Largest-Triangle-Three-Buckets (LTTB), which keeps the visual
// shape, and min/max buckets, which keep every extreme. Both are pure
// functions over entities.Metric with the step as x and the value as y;
// they never read files (filestore feeds them). Apply takes a whole
// history; a Stream gives the same result fed one point at a time, for a
// history whose length was counted first, in memory bounded by the points
// kept.
//
// NaN and infinite values are part of a history MLflow stores; they are
// never chosen over a finite point by the area test of LTTB, and min/max
// buckets keep them only when a bucket has nothing else.
package downsample
