package downsample

import (
	"iter"

	"github.com/mlruns-go/mlruns/entities"
)

// Read returns at most maxPoints points of the history open yields, chosen
// by the method; a history that fits is returned whole (maxPoints <= 0:
// all of it). It reads the history twice, counting and then choosing
// (Stream), so memory stays bounded by maxPoints and one or two buckets of
// points however long the history, whatever the store behind open. A
// history that shrank between the passes (a repaired torn tail) is read
// again; after three tries the whole history is held and Apply chooses.
func Read(open func() iter.Seq2[entities.Metric, error], m Method, maxPoints int) ([]entities.Metric, error) {
	for range 3 {
		total := 0
		for _, err := range open() {
			if err != nil {
				return nil, err
			}
			total++
		}
		ds := NewStream(m, total, maxPoints)
		for p, err := range open() {
			if err != nil {
				return nil, err
			}
			if !ds.Add(p) {
				break // points appended since the count are not in this read
			}
		}
		if out, ok := ds.Result(); ok {
			return out, nil
		}
	}
	var h []entities.Metric
	for p, err := range open() {
		if err != nil {
			return nil, err
		}
		h = append(h, p)
	}
	return Apply(m, h, maxPoints), nil
}
