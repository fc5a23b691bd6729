package mlsync

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/store"
)

// artEntry is one artifact file as last sent: its size and modification
// time (ns) in the tree, and the SHA-256 of what was sent.
type artEntry struct {
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime"`
	Hash  string `json:"sha256"`
}

// ArtifactsReport is what a push did with the artifacts of one run or
// logged model.
type ArtifactsReport struct {
	Files     int   `json:"files,omitempty"`     // files sent
	Bytes     int64 `json:"bytes,omitempty"`     // bytes sent
	Unchanged int   `json:"unchanged,omitempty"` // files already on the destination
	// Error says why the artifacts were not (all) pushed: the destination
	// cannot take them (a server run with --no-serve-artifacts whose
	// folders are not reachable from here), or a file failed.
	Error string `json:"error,omitempty"`
}

// localFile is one artifact file of the tree.
type localFile struct {
	path  string
	size  int64
	mtime int64
}

// walkArtifacts lists every file of a repository, depth first.
func (p *pusher) walkArtifacts(a store.Artifacts) ([]localFile, error) {
	var out []localFile
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := a.List(p.ctx, dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir {
				if err := walk(e.Path); err != nil {
					return err
				}
				continue
			}
			out = append(out, localFile{path: e.Path, size: e.FileSize, mtime: e.ModTime.UnixNano()})
		}
		return nil
	}
	return out, walk("")
}

// pushArtifacts sends the files of src the destination lacks, by the
// journal's entries (known: path -> entry): a file whose size and time
// are those of its entry is not read; one whose time alone moved is hashed
// and sent only when its content changed; the others are streamed to the
// destination, hashed on the way. open gives the destination's repository,
// asked only when a file is to be sent. A destination that cannot take
// artifacts is reported in rep.Error, not as an error: the rest of the run
// is pushed. The entries of files gone from the tree are dropped (the
// destination keeps them: the REST API cannot delete artifacts) and
// counted as LossStaleArtifact.
func (p *pusher) pushArtifacts(src store.Artifacts, open func() (store.Artifacts, error), known map[string]*artEntry,
	rep *ArtifactsReport, changed func(), lose func(LossKind, int64)) error {
	files, err := p.walkArtifacts(src)
	if err != nil {
		return fmt.Errorf("listing the artifacts: %w", err)
	}
	var dst store.Artifacts
	have := map[string]bool{}
	for _, f := range files {
		have[f.path] = true
		e := known[f.path]
		if e != nil && e.Size == f.size && e.MTime == f.mtime {
			rep.Unchanged++
			continue
		}
		if p.dry {
			changed()
			rep.Files++
			rep.Bytes += f.size
			p.sentArtifact(f.size)
			continue
		}
		if e != nil && e.Size == f.size {
			sum, err := p.hashArtifact(src, f.path)
			if err != nil {
				return err
			}
			if sum == e.Hash {
				e.MTime = f.mtime // touched, not changed
				rep.Unchanged++
				continue
			}
		}
		if dst == nil {
			if dst, err = open(); err != nil {
				if errors.Is(err, errs.ErrNotSupported) {
					rep.Error = errText(err)
					return nil
				}
				return err
			}
		}
		sum, n, err := p.sendArtifact(src, dst, f.path)
		if errors.Is(err, errs.ErrNotSupported) {
			rep.Error = errText(err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("artifact %s: %w", f.path, err)
		}
		changed()
		rep.Files++
		rep.Bytes += n
		p.sentArtifact(n)
		known[f.path] = &artEntry{Size: n, MTime: f.mtime, Hash: sum}
		if n != f.size {
			// The file grew or shrank while it was read: sent as read,
			// and sent again next time (its size no longer matches).
			known[f.path].MTime = 0
		}
		p.save(false)
	}
	var gone int64
	for _, k := range slices.Sorted(maps.Keys(known)) {
		if !have[k] {
			gone++
			if !p.dry {
				delete(known, k)
			}
		}
	}
	if gone > 0 {
		lose(LossStaleArtifact, gone)
	}
	return nil
}

// sentArtifact counts a file of n bytes sent (or, dry, to send) in the
// progress.
func (p *pusher) sentArtifact(n int64) {
	p.prog.ArtifactFiles++
	p.prog.ArtifactBytes += n
	p.progress()
}

// hashArtifact is the SHA-256 of a file of src, streamed.
func (p *pusher) hashArtifact(src store.Artifacts, name string) (string, error) {
	r, err := src.Open(p.ctx, name)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sendArtifact streams one file from src to dst and returns the SHA-256
// and the length of what was sent.
func (p *pusher) sendArtifact(src, dst store.Artifacts, name string) (string, int64, error) {
	r, err := src.Open(p.ctx, name)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	hr := &hashingReader{r: r, h: sha256.New()}
	if rs, ok := r.(io.ReadSeeker); ok {
		// A seekable body lets the destination re-send it on a retry.
		if err := dst.Put(p.ctx, name, &hashingSeeker{hr, rs}); err != nil {
			return "", 0, err
		}
	} else if err := dst.Put(p.ctx, name, hr); err != nil {
		return "", 0, err
	}
	p.rep.Requests++
	if hr.broken {
		sum, err := p.hashArtifact(src, name)
		return sum, hr.n, err
	}
	return hex.EncodeToString(hr.h.Sum(nil)), hr.n, nil
}

// hashingReader hashes and counts what is read through it.
type hashingReader struct {
	r      io.Reader
	h      hash.Hash
	n      int64
	broken bool // sought elsewhere than the start: the hash is not of the file
}

func (h *hashingReader) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	h.h.Write(b[:n])
	h.n += int64(n)
	return n, err
}

// hashingSeeker is a hashingReader whose file can be sought: back to the
// start (a retried upload), the hash starts again.
type hashingSeeker struct {
	*hashingReader
	s io.Seeker
}

func (h *hashingSeeker) Seek(off int64, whence int) (int64, error) {
	pos, err := h.s.Seek(off, whence)
	if err != nil {
		return pos, err
	}
	switch {
	case pos == 0:
		h.h.Reset()
		h.n, h.broken = 0, false
	case pos != h.n:
		h.n, h.broken = pos, true
	}
	return pos, nil
}

// pushRunArtifacts pushes the run's artifacts.
func (p *pusher) pushRunArtifacts(r *entities.Run, jr *runEntry, rr *RunReport) error {
	if p.o.NoArtifacts || p.expDeleted(r.Info.ExperimentID) {
		return nil
	}
	src, err := p.src.RunArtifacts(p.ctx, r.Info.RunID)
	if err != nil {
		return fmt.Errorf("the run's artifacts: %w", err)
	}
	if jr.Artifacts == nil {
		jr.Artifacts = map[string]*artEntry{}
	}
	open := func() (store.Artifacts, error) { return p.dst.RunArtifacts(p.ctx, jr.Remote) }
	return p.pushArtifacts(src, open, jr.Artifacts, &rr.Artifacts, func() { p.changed(rr) },
		func(k LossKind, n int64) { p.lose(rr, jr, k, n) })
}

// expDeleted reports a locally deleted experiment. Its runs' and models'
// artifacts are not pushed: the folder moved to .trash with the
// experiment, away from where their artifact URIs say (Python's FileStore
// lists none for them either), and asking the store for them would make
// a folder at the old place.
func (p *pusher) expDeleted(id string) bool {
	for _, x := range p.exps {
		if x.ExperimentID == id {
			return x.LifecycleStage == entities.StageDeleted
		}
	}
	return false
}
