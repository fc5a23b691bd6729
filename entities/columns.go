package entities

// MetricColumns is one metric's history held in columns: entry i of
// Timestamps, Values and Steps is the i-th value logged, in file order.
// It is what plotting and analysis want, and it costs 24 bytes a point
// in three pointer-free arrays, against 104 bytes a point for []Metric,
// which the garbage collector must also scan.
//
// The rare points logged against a dataset or a model are kept in Refs,
// so the columns hold everything a history does but the key's repetition
// (RunID is not part of a run's history; see Metric).
type MetricColumns struct {
	Key        string
	Timestamps []int64 // ms since epoch
	Values     []float64
	Steps      []int64
	// Refs are the ranges of consecutive points logged against the same
	// dataset and model, in order and not overlapping; a point outside
	// every range has neither. Most histories have no range at all; a run
	// metric file never holds a model id (a tracking server's history
	// can).
	Refs []RefRange
}

// RefRange says that points [Start, End) of a MetricColumns were logged
// against the dataset DatasetName with digest DatasetDigest and the model
// ModelID (each may be empty).
type RefRange struct {
	Start, End                          int
	DatasetName, DatasetDigest, ModelID string
}

// Len is the number of points.
func (c *MetricColumns) Len() int { return len(c.Timestamps) }

// At returns point i as a Metric, equal to entry i of the same history
// read as a []Metric.
func (c *MetricColumns) At(i int) Metric {
	m := Metric{Key: c.Key, Timestamp: c.Timestamps[i], Value: c.Values[i], Step: c.Steps[i]}
	r := c.RefAt(i)
	m.DatasetName, m.DatasetDigest, m.ModelID = r.DatasetName, r.DatasetDigest, r.ModelID
	return m
}

// RefAt returns the range of Refs that holds point i, or a zero RefRange.
func (c *MetricColumns) RefAt(i int) RefRange {
	lo, hi := 0, len(c.Refs)
	for lo < hi { // the first range ending after i
		mid := int(uint(lo+hi) >> 1)
		if c.Refs[mid].End <= i {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(c.Refs) && c.Refs[lo].Start <= i {
		return c.Refs[lo]
	}
	return RefRange{}
}

// Metrics returns the history as a []Metric (never nil).
func (c *MetricColumns) Metrics() []Metric {
	out := make([]Metric, c.Len())
	for i := range out {
		out[i] = Metric{Key: c.Key, Timestamp: c.Timestamps[i], Value: c.Values[i], Step: c.Steps[i]}
	}
	for _, r := range c.Refs {
		for i := r.Start; i < r.End; i++ {
			out[i].DatasetName, out[i].DatasetDigest, out[i].ModelID = r.DatasetName, r.DatasetDigest, r.ModelID
		}
	}
	return out
}

// Append adds m as the next point (its Key and RunID are not kept: a
// history has one key and belongs to one run). Its dataset and model are
// recorded when any of them is set (a file line can hold an empty dataset
// name).
func (c *MetricColumns) Append(m Metric) {
	i := len(c.Timestamps)
	c.Timestamps = append(c.Timestamps, m.Timestamp)
	c.Values = append(c.Values, m.Value)
	c.Steps = append(c.Steps, m.Step)
	if m.DatasetName != "" || m.DatasetDigest != "" || m.ModelID != "" {
		c.AddRefs(RefRange{Start: i, End: i + 1, DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest, ModelID: m.ModelID})
	}
}

// AddRefs records that points [r.Start, r.End), which must come after
// every point already in a range, were logged against r's dataset and
// model: the last range grows when it ends at r.Start with the same ones,
// so equal neighbours are one range however they were added.
func (c *MetricColumns) AddRefs(r RefRange) {
	if n := len(c.Refs); n > 0 {
		if d := &c.Refs[n-1]; d.End == r.Start && d.DatasetName == r.DatasetName &&
			d.DatasetDigest == r.DatasetDigest && d.ModelID == r.ModelID {
			d.End = r.End
			return
		}
	}
	c.Refs = append(c.Refs, r)
}
