package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/validate"
)

// LogInputs records datasets and logged models a run used. A dataset is
// stored once per experiment (first writer wins); logging the same input to
// the same run again changes nothing, as in MLflow.
func (s *Store) LogInputs(ctx context.Context, runID string, datasets []entities.DatasetInput, models []entities.ModelInput) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ids := make([]string, len(models))
	for i, m := range models {
		ids[i] = m.ModelID
	}
	for i, d := range datasets {
		if err := checkDatasetUTF8(fmt.Sprintf("datasets[%d]", i), d); err != nil {
			return err
		}
	}
	dir, err := s.runForModelIO(runID, ids)
	if err != nil {
		return err
	}
	expDir := filepath.Dir(dir)
	// On an error every input and dataset folder this call created is
	// removed again.
	u := &undoLog{}
	for _, d := range datasets {
		if err := ctx.Err(); err != nil {
			return u.rollback(err)
		}
		dsID := layout.DatasetID(d.Dataset.Name, d.Dataset.Digest)
		dsDir := filepath.Join(expDir, layout.DatasetsDir, dsID)
		if err := s.writeOnce(u, expDir, dsDir, layout.EncodeDatasetMeta(d.Dataset)); err != nil {
			return u.rollback(err)
		}
		inDir := filepath.Join(dir, layout.InputsDir, layout.InputID(dsID, runID))
		meta := layout.EncodeInputMeta(layout.InputMeta{SourceType: layout.VertexDataset, SourceID: dsID, Tags: d.Tags})
		if err := s.writeOnce(u, dir, inDir, meta); err != nil {
			return u.rollback(err)
		}
	}
	for _, m := range models {
		inDir := filepath.Join(dir, layout.InputsDir, layout.InputID(m.ModelID, runID))
		meta := layout.EncodeInputMeta(layout.InputMeta{SourceType: layout.VertexModel, SourceID: m.ModelID})
		if err := s.writeOnce(u, dir, inDir, meta); err != nil {
			return u.rollback(err)
		}
	}
	return nil
}

// LogOutputs records logged models a run produced.
func (s *Store) LogOutputs(ctx context.Context, runID string, models []entities.ModelOutput) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ids := make([]string, len(models))
	for i, m := range models {
		ids[i] = m.ModelID
	}
	dir, err := s.runForModelIO(runID, ids)
	if err != nil {
		return err
	}
	u := &undoLog{}
	for _, m := range models {
		outDir := filepath.Join(dir, layout.OutputsDir, m.ModelID)
		if err := s.writeOnce(u, dir, outDir, layout.EncodeOutputMeta(m)); err != nil {
			return u.rollback(err)
		}
	}
	return nil
}

// checkDatasetUTF8 refuses a dataset input with a string that is not valid
// UTF-8 (validate.UTF8).
func checkDatasetUTF8(path string, d entities.DatasetInput) error {
	ds := d.Dataset
	fv := []string{path + ".dataset.name", ds.Name, path + ".dataset.digest", ds.Digest,
		path + ".dataset.source_type", ds.SourceType, path + ".dataset.source", ds.Source}
	if ds.Schema != nil {
		fv = append(fv, path+".dataset.schema", *ds.Schema)
	}
	if ds.Profile != nil {
		fv = append(fv, path+".dataset.profile", *ds.Profile)
	}
	for j, t := range d.Tags {
		fv = append(fv, fmt.Sprintf("%s.tags[%d].key", path, j), t.Key, fmt.Sprintf("%s.tags[%d].value", path, j), t.Value)
	}
	return checkUTF8(fv...)
}

// runForModelIO checks the run id and the model ids (each must be a single
// path element), then finds the active run's folder.
func (s *Store) runForModelIO(runID string, modelIDs []string) (string, error) {
	if err := validate.RunID(runID); err != nil {
		return "", err
	}
	for _, id := range modelIDs {
		if err := checkID("model_id", id); err != nil {
			return "", err
		}
	}
	dir, _, err := s.activeRunDir(runID)
	return dir, err
}

// writeOnce creates folder dir with meta.yaml holding meta unless dir
// already exists (Python's "if not os.path.exists(dir)" rule). The meta is
// written atomically so a reader never sees it half-written.
func (s *Store) writeOnce(u *undoLog, tmpDir, dir string, meta []byte) error {
	if exists(dir) {
		return nil
	}
	if err := s.createDir(u, dir); err != nil {
		return err
	}
	return s.writeFileAtomic(tmpDir, filepath.Join(dir, layout.MetaFile), meta)
}

// eachMeta calls fn with the path and bytes of <root>/<entry>/meta.yaml for
// every entry of root, in folder-name order; a missing root has none.
func eachMeta(root, what string, fn func(path string, data []byte) error) error {
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("filestore: read %s: %w", what, err)
	}
	for _, de := range ents {
		p := filepath.Join(root, de.Name(), layout.MetaFile)
		data, err := readRegular(p)
		if err != nil {
			return fmt.Errorf("filestore: read %s: %w", what, err)
		}
		if err := fn(p, data); err != nil {
			return err
		}
	}
	return nil
}

// readInputs reads a run's dataset and model inputs, in folder-name order.
func (s *Store) readInputs(runDir string) (entities.RunInputs, error) {
	var in entities.RunInputs
	dsRoot := filepath.Join(filepath.Dir(runDir), layout.DatasetsDir)
	err := eachMeta(filepath.Join(runDir, layout.InputsDir), "inputs", func(p string, data []byte) error {
		meta, err := layout.DecodeInputMeta(data)
		if err != nil {
			return withPath(err, p)
		}
		switch meta.SourceType {
		case layout.VertexDataset:
			dp := filepath.Join(dsRoot, meta.SourceID, layout.MetaFile)
			dd, err := readRegular(dp)
			if errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("mlruns: dataset of a run input is missing; skipping", "dataset", meta.SourceID, "run", filepath.Base(runDir))
				return nil
			}
			if err != nil {
				return fmt.Errorf("filestore: read dataset: %w", err)
			}
			ds, err := layout.DecodeDatasetMeta(dd)
			if err != nil {
				return withPath(err, dp)
			}
			in.DatasetInputs = append(in.DatasetInputs, entities.DatasetInput{Dataset: ds, Tags: meta.Tags})
		case layout.VertexModel:
			in.ModelInputs = append(in.ModelInputs, entities.ModelInput{ModelID: meta.SourceID})
		}
		return nil
	})
	return in, err
}

// readOutputs reads a run's model outputs, in folder-name order.
func (s *Store) readOutputs(runDir string) (entities.RunOutputs, error) {
	var out entities.RunOutputs
	err := eachMeta(filepath.Join(runDir, layout.OutputsDir), "outputs", func(p string, data []byte) error {
		o, err := layout.DecodeOutputMeta(data)
		if err != nil {
			return withPath(err, p)
		}
		out.ModelOutputs = append(out.ModelOutputs, o)
		return nil
	})
	return out, err
}
