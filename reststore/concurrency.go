package reststore

import (
	"context"

	"github.com/mlruns-go/mlruns/store"
)

// ConcurrentBatches reports whether metric-only LogBatch calls for one run
// may be sent at once (store.ConcurrentBatches): yes for a SQL-backed
// server, which orders a history by timestamp, step and value, not by
// arrival; no for a FileStore-backed one.
func (s *Store) ConcurrentBatches() bool {
	// Not on a FileStore-backed server, which appends points in arrival
	// order (its history is that order). The first call asks the server
	// (ServerInfo, at most 3 s); a server that does not say is SQL-backed
	// as far as this goes, as before.
	info, err := s.serverInfo(context.Background(), true)
	return err != nil || !info.FileStoreBacked()
}

var _ store.ConcurrentBatches = (*Store)(nil)
