package filestore

import (
	"container/list"
	"errors"
	"sync"

	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/internal/vfs"
)

// Appending a point used to cost an open, a same-file check and a close
// each time: most of LogMetric's time. The store now keeps recently used
// metric files open (at most maxHeldFiles; least recently used closed
// first) and appends through the held descriptor under flock, checking
// with one fstat that the file still has a name (st_nlink > 0): a metric
// file removed or replaced by rename is reopened by path, so no point is
// ever written into an unlinked file. Writes go through the descriptor,
// so a symlink planted after the open cannot redirect them; the path was
// confined when the file was opened. Store.Close closes them. Where an
// open file stops renames of its folder (Windows: sysfs.HoldOpen), nothing
// is held: add hands the file back unheld, closed on release.

const maxHeldFiles = 128

type heldFiles struct {
	mu     sync.Mutex
	m      map[string]*heldFile
	lru    list.List // of *heldFile, most recently used first
	closed bool
}

// heldFile is one open metric file.
type heldFile struct {
	// mu serialises this process's appends to the file: flock locks belong
	// to the open file description, so goroutines sharing the descriptor
	// would not exclude one another through it.
	mu   sync.Mutex
	path string
	f    vfs.File
	elem *list.Element
	refs int  // users right now; guarded by heldFiles.mu
	gone bool // no longer in the map; closed when refs drops to 0
}

// acquire returns the held file for path with a reference taken, or nil.
func (h *heldFiles) acquire(path string) *heldFile {
	h.mu.Lock()
	defer h.mu.Unlock()
	hf := h.m[path]
	if hf == nil {
		return nil
	}
	hf.refs++
	h.lru.MoveToFront(hf.elem)
	return hf
}

// add holds f for path and returns it with a reference taken. If another
// goroutine added the same path meanwhile, f is closed and theirs is
// returned. When the store is closed, f is returned unheld (closed on
// release).
func (h *heldFiles) add(path string, f vfs.File) *heldFile {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hf := h.m[path]; hf != nil {
		f.Close()
		hf.refs++
		h.lru.MoveToFront(hf.elem)
		return hf
	}
	hf := &heldFile{path: path, f: f, refs: 1}
	if h.closed || !sysfs.HoldOpen {
		hf.gone = true
		return hf
	}
	if h.m == nil {
		h.m = map[string]*heldFile{}
	}
	h.m[path] = hf
	hf.elem = h.lru.PushFront(hf)
	for h.lru.Len() > maxHeldFiles {
		h.removeLocked(h.lru.Back().Value.(*heldFile))
	}
	return hf
}

// release drops a reference, closing the file if it was removed from the
// set meanwhile (or never held) and this was the last user; the error is
// the close's.
func (h *heldFiles) release(hf *heldFile) error {
	h.mu.Lock()
	hf.refs--
	closeIt := hf.gone && hf.refs == 0
	h.mu.Unlock()
	if closeIt {
		return hf.f.Close()
	}
	return nil
}

// drop stops holding hf (its file was removed or replaced); it is closed
// when its last user releases it.
func (h *heldFiles) drop(hf *heldFile) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !hf.gone && h.m[hf.path] == hf {
		h.removeLocked(hf)
	}
}

// Requires: h.mu held.
func (h *heldFiles) removeLocked(hf *heldFile) {
	delete(h.m, hf.path)
	h.lru.Remove(hf.elem)
	hf.gone = true
	if hf.refs == 0 {
		hf.f.Close()
	}
}

// closeAll closes every held file not in use and makes later ones unheld.
func (h *heldFiles) closeAll() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	var errList []error
	for _, hf := range h.m {
		delete(h.m, hf.path)
		h.lru.Remove(hf.elem)
		hf.gone = true
		if hf.refs == 0 {
			if err := hf.f.Close(); err != nil {
				errList = append(errList, err)
			}
		}
	}
	return errors.Join(errList...)
}
