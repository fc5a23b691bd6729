package reststore

import (
	"context"
	"fmt"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
)

// RunArtifacts is the artifact repository of a run on the server. Uploads
// and downloads through the server's artifact proxy are not built yet:
// the error says so (ErrNotSupported), as Python says for a repository it
// lacks.
func (s *Store) RunArtifacts(ctx context.Context, runID string) (store.Artifacts, error) {
	return nil, errs.New(errs.ErrNotSupported, fmt.Sprintf(
		"artifacts of run %s: artifact transfer through a tracking server (%s) is not supported yet", runID, s.base))
}

// ModelArtifacts is RunArtifacts for a logged model.
func (s *Store) ModelArtifacts(ctx context.Context, modelID string) (store.Artifacts, error) {
	return nil, errs.New(errs.ErrNotSupported, fmt.Sprintf(
		"artifacts of model %s: artifact transfer through a tracking server (%s) is not supported yet", modelID, s.base))
}
