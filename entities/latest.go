package entities

// IsNewerMetric reports whether cand replaces cur as a key's latest value.
//
// MLflow takes max(history, key=lambda m: (m.step, m.timestamp, m.value)):
// Python's max keeps the first maximal element and replaces it only when a
// later key compares strictly greater. Tuple comparison decides on the first
// differing element; with a NaN value the values never compare equal and
// NaN > x and x > NaN are both false, so on a (step, timestamp) tie a NaN
// never wins and is never displaced. -0.0 and 0.0 are equal: first wins.
func IsNewerMetric(cand, cur Metric) bool {
	if cand.Step != cur.Step {
		return cand.Step > cur.Step
	}
	if cand.Timestamp != cur.Timestamp {
		return cand.Timestamp > cur.Timestamp
	}
	return cand.Value > cur.Value
}

// LatestMetric returns the latest value of one key's history (in file
// order) by MLflow's rule; ok is false for an empty history, which MLflow
// reports as a malformed metric ("No data found").
func LatestMetric(history []Metric) (latest Metric, ok bool) {
	if len(history) == 0 {
		return Metric{}, false
	}
	latest = history[0]
	for _, m := range history[1:] {
		if IsNewerMetric(m, latest) {
			latest = m
		}
	}
	return latest, true
}

// LatestMetricsByDataset is the logged-model variant: MLflow groups a model
// metric file's lines by (dataset_name, dataset_digest) and takes the
// latest of each group; groups come out in order of first appearance (a
// Python dict). Go cannot tell a missing dataset (None) from empty strings,
// so both fall in one group.
func LatestMetricsByDataset(history []Metric) []Metric {
	type ds struct{ name, digest string }
	idx := make(map[ds]int)
	var out []Metric
	for _, m := range history {
		k := ds{m.DatasetName, m.DatasetDigest}
		i, seen := idx[k]
		switch {
		case !seen:
			idx[k] = len(out)
			out = append(out, m)
		case IsNewerMetric(m, out[i]):
			out[i] = m
		}
	}
	return out
}
