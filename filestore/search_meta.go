package filestore

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
)

// runInfo is readRunInfo for scans over many runs, through the fast
// readers and the read cache (layout.DecodeRunMeta reads MLflow's flat
// shape without the YAML decoder). Anything else - an unreadable or
// undecodable file, ids that do not match the folders - goes to
// readRunInfo, so the result and the error are always the ones it gives.
func (r *fastReader) runInfo(ref runRef) (entities.RunInfo, error) {
	e, _, err := r.cachedFile(ref.base, ref.name+"/"+layout.MetaFile, ref.dir+"/"+layout.MetaFile, kindInfo, false,
		func(data []byte) *cached {
			info, err := layout.DecodeRunMeta(data)
			if err != nil || info.ExperimentID != ref.expName || info.RunID != ref.name {
				return nil
			}
			return &cached{info: &info}
		})
	if errors.Is(err, fs.ErrNotExist) {
		return entities.RunInfo{}, errs.New(errs.ErrNotFound, fmt.Sprintf("Run folder %s has no meta.yaml", ref.dir))
	}
	if err != nil {
		return readRunInfo(ref.dir) // a symlink, a pipe, a read error: the path reader decides
	}
	if e == nil {
		return readRunInfo(ref.dir)
	}
	info := *e.info // the entry's pointers are not handed out
	if info.EndTime != nil {
		info.EndTime = new(*info.EndTime)
	}
	if info.DeletedTime != nil {
		info.DeletedTime = new(*info.DeletedTime)
	}
	return info, nil
}
