package reststore

import "github.com/mlruns-go/mlruns/store"

// ConcurrentBatches reports that metric-only LogBatch calls for one run may
// be sent at once (store.ConcurrentBatches): the server orders a history
// by timestamp, step and value, not by arrival.
func (s *Store) ConcurrentBatches() bool { return true }

var _ store.ConcurrentBatches = (*Store)(nil)
