package filestore

import "github.com/mlruns-go/mlruns/store"

// The file store is one backend of the store interface.
var _ store.Store = (*Store)(nil)
