package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/validate"
)

// Problem is one inconsistency found by Check.
type Problem struct {
	Path string // the file or folder at fault
	Err  error  // what is wrong; unwraps to an errs sentinel where one fits
}

func (p Problem) String() string { return p.Path + ": " + p.Err.Error() }

// Check reads the whole tree the way Python MLflow and this store read it
// and reports everything that would make a read fail or that a crash left
// behind: unreadable or inconsistent meta.yaml files, metric files that do
// not parse (a torn last line included), our leftover temporary files, and
// experiment folders whose name is not an experiment id. It changes
// nothing. Every store test ends with it (bbolt's habit).
func (s *Store) Check(ctx context.Context) ([]Problem, error) {
	var probs []Problem
	add := func(path string, err error) { probs = append(probs, Problem{Path: path, Err: err}) }
	for _, parent := range []string{s.root, s.trash} {
		ents, err := os.ReadDir(parent)
		if err != nil {
			return nil, fmt.Errorf("filestore: check: %w", err)
		}
		for _, de := range ents {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			name := de.Name()
			p := filepath.Join(parent, name)
			if layout.IsTempName(name) {
				add(p, errors.New("leftover temporary file"))
				continue
			}
			if !de.IsDir() || (parent == s.root && (strings.HasSuffix(name, layout.TrashDir) || name == layout.RegistryDir)) {
				continue
			}
			if err := validate.ExperimentID(name); err != nil {
				add(p, err)
				continue
			}
			if _, err := s.readExperiment(p, name, parent == s.trash); err != nil {
				add(p, err)
				continue
			}
			s.checkExperiment(ctx, p, name, add)
		}
	}
	return probs, nil
}

func (s *Store) checkExperiment(ctx context.Context, expDir, expID string, add func(string, error)) {
	ents, err := os.ReadDir(expDir)
	if err != nil {
		add(expDir, err)
		return
	}
	for _, de := range ents {
		name := de.Name()
		p := filepath.Join(expDir, name)
		if layout.IsTempName(name) {
			add(p, errors.New("leftover temporary file"))
			continue
		}
		if !de.IsDir() || layout.IsReservedExperimentDir(name) {
			continue
		}
		info, err := readRunInfo(p)
		if err != nil {
			if !exists(filepath.Join(p, layout.MetaFile)) {
				continue // not a run (artifacts may live here)
			}
			add(p, err)
			continue
		}
		s.checkRun(p, info, add)
	}
}

func (s *Store) checkRun(runDir string, info entities.RunInfo, add func(string, error)) {
	ents, err := os.ReadDir(runDir)
	if err == nil {
		for _, de := range ents {
			if layout.IsTempName(de.Name()) {
				add(filepath.Join(runDir, de.Name()), errors.New("leftover temporary file"))
			}
		}
	}
	root := filepath.Join(runDir, layout.MetricsDir)
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if !(errors.Is(err, fs.ErrNotExist) && p == root) {
				add(p, err)
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			add(p, err)
			return nil
		}
		if _, err := layout.DecodeMetricHistory(filepath.ToSlash(rel), data); err != nil {
			add(p, withMetricPath(err, p, info.ExperimentID))
		}
		return nil
	})
	for _, sub := range []string{layout.ParamsDir, layout.TagsDir} {
		if _, err := readKeyFiles(filepath.Join(runDir, sub)); err != nil {
			add(filepath.Join(runDir, sub), err)
		}
	}
	if _, err := s.readInputs(runDir); err != nil {
		add(filepath.Join(runDir, layout.InputsDir), err)
	}
	if _, err := s.readOutputs(runDir); err != nil {
		add(filepath.Join(runDir, layout.OutputsDir), err)
	}
}
