package mlsync

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/sysfs"
	"github.com/mlruns-go/mlruns/layout"
	"github.com/mlruns-go/mlruns/store"
)

// journalVersion is the format of the journal file; a journal of another
// version is refused rather than misread.
const journalVersion = 1

// Names of the files at the tree's root. Part of the on-disk format.
const (
	filePrefix    = ".mlruns-sync-"
	journalSuffix = ".json"
	lockSuffix    = ".lock"
)

// journal is what has been pushed to one destination, by local id.
type journal struct {
	Version int    `json:"version"`
	Target  string `json:"target"` // the destination's URI as given
	Source  string `json:"source"` // the TagSource value of this tree
	// StoreType is the destination's tracking store as the server said
	// ("SqlStore", "FileStore"; "" unknown), for status, which works offline.
	StoreType   string                 `json:"store_type,omitempty"`
	Experiments map[string]*expEntry   `json:"experiments"`
	Runs        map[string]*runEntry   `json:"runs"`
	Models      map[string]*modelEntry `json:"models,omitempty"`
}

// expEntry is one pushed experiment.
type expEntry struct {
	Remote  string            `json:"remote"`
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags,omitempty"` // key -> digest of the value sent
	Deleted bool              `json:"deleted,omitempty"`
}

// runEntry is one pushed run.
type runEntry struct {
	Remote     string `json:"remote"`
	Experiment string `json:"experiment"` // local experiment id
	// Verify: the destination may hold more of this run than the
	// watermarks say (the run was adopted from the server, or a push to a
	// server that keeps duplicate points was cut while writing it): every
	// metric is compared with the destination's history before sending.
	Verify  bool                  `json:"verify,omitempty"`
	Info    *infoEntry            `json:"info,omitempty"` // what UpdateRun last set
	Deleted bool                  `json:"deleted,omitempty"`
	Params  map[string]string     `json:"params,omitempty"` // key -> digest
	Tags    map[string]string     `json:"tags,omitempty"`   // key -> digest
	Metrics map[string]*watermark `json:"metrics,omitempty"`
	Inputs  string                `json:"inputs,omitempty"` // digest of the dataset inputs sent
	Models  string                `json:"models,omitempty"` // digest of the model inputs/outputs sent (or counted as lost)
	Lossy   map[LossKind]int64    `json:"lossy,omitempty"`  // totals over every push
	// Artifacts is the run's artifact files as sent, by slash path.
	Artifacts map[string]*artEntry `json:"artifacts,omitempty"`
	// Pulled is the fingerprint of the remote run as a pull last copied
	// it (remoteFP): a run listed unchanged is not read again.
	Pulled string `json:"pulled,omitempty"`
}

// infoEntry is a run's info as last sent with UpdateRun.
type infoEntry struct {
	Status  string `json:"status"`
	EndTime *int64 `json:"end_time,omitempty"`
	Name    string `json:"name"`
}

// watermark says the first N points of a local history are on the
// destination; FP is the fingerprint of those N points.
type watermark struct {
	N  int64  `json:"n"`
	FP string `json:"fp"`
	// Stamp is the metric file's stamp taken before the N points were
	// read, when the whole file was read: a file that still has it holds
	// nothing new and is not read (zero: unknown, read).
	Stamp *store.MetricStamp `json:"stamp,omitempty"`
}

func newJournal(target, source string) *journal {
	return &journal{Version: journalVersion, Target: target, Source: source,
		Experiments: map[string]*expEntry{}, Runs: map[string]*runEntry{}, Models: map[string]*modelEntry{}}
}

// targetHash names a destination in file names: trailing slashes and the
// case of the scheme and host do not make another destination.
func targetHash(target string) string {
	t := strings.TrimRight(target, "/")
	if u, err := url.Parse(t); err == nil && u.Scheme != "" && u.Host != "" {
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		t = u.String()
	}
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])[:12]
}

// JournalPath is the journal file of a destination in the tree at root.
func JournalPath(root, target string) string {
	return filepath.Join(root, filePrefix+targetHash(target)+journalSuffix)
}

func lockPath(root, target string) string {
	return filepath.Join(root, filePrefix+targetHash(target)+lockSuffix)
}

// CorruptJournalError is a journal file that cannot be read. Deleting it
// is safe: the next push finds the runs on the server by their tags.
type CorruptJournalError struct {
	Path string
	Err  error
}

func (e *CorruptJournalError) Error() string {
	return fmt.Sprintf("mlruns: sync journal %s is unreadable (remove it: the next push finds pushed runs by their tags): %v", e.Path, e.Err)
}

func (e *CorruptJournalError) Unwrap() []error { return []error{e.Err, errs.ErrCorrupt} }

// loadJournal reads the journal of target, or a new one when there is none.
func loadJournal(root, target, source string) (*journal, error) {
	p := JournalPath(root, target)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return newJournal(target, source), nil
	}
	if err != nil {
		return nil, fmt.Errorf("mlruns: sync journal: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &CorruptJournalError{Path: p, Err: errors.New("not a regular file")}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("mlruns: sync journal: %w", err)
	}
	j := &journal{}
	if err := json.Unmarshal(data, j); err != nil {
		return nil, &CorruptJournalError{Path: p, Err: err}
	}
	if j.Version != journalVersion {
		return nil, &CorruptJournalError{Path: p, Err: fmt.Errorf("version %d, want %d", j.Version, journalVersion)}
	}
	if j.Experiments == nil {
		j.Experiments = map[string]*expEntry{}
	}
	if j.Runs == nil {
		j.Runs = map[string]*runEntry{}
	}
	if j.Models == nil {
		j.Models = map[string]*modelEntry{}
	}
	for id, m := range j.Models {
		if m == nil {
			delete(j.Models, id)
		}
	}
	for id, r := range j.Runs {
		if r == nil {
			delete(j.Runs, id)
		}
	}
	for id, x := range j.Experiments {
		if x == nil {
			delete(j.Experiments, id)
		}
	}
	if source != "" {
		j.Source = source
	}
	return j, nil
}

// save replaces the journal file atomically: a reader (status, a crash
// afterwards) sees the old journal or the new one, never half. The
// temporary file has the store's temporary prefix, so `mlruns fsck`
// reports one left by a crash and --repair removes it.
func (j *journal) save(root string) error {
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("mlruns: sync journal: %w", err)
	}
	p := JournalPath(root, j.Target)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := filepath.Join(root, layout.TempPrefix+hex.EncodeToString(b[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return fmt.Errorf("mlruns: sync journal: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mlruns: sync journal: %w", err)
	}
	syncDir(root)
	return nil
}

// syncDir makes a rename in dir durable where folders can be synced.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// lockTarget takes the push lock of target in the tree, waiting while
// another push of the same tree to the same destination holds it (polled
// every 50 ms until ctx is done). The lock is internal/sysfs's whole-file
// lock (flock(2), LockFileEx on Windows) of the lock file, held open until
// unlock; a process that dies releases it with its descriptor.
func lockTarget(ctx context.Context, root, target string) (unlock func(), err error) {
	path := lockPath(root, target)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("mlruns: sync: lock %s: %w", path, err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := sysfs.TryLock(f.Fd(), sysfs.Exclusive)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("mlruns: sync: lock %s: %w", path, err)
		}
		if ok {
			return func() {
				_ = sysfs.Unlock(f.Fd())
				f.Close()
			}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("mlruns: sync: lock %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// digest is what the journal keeps of a param or tag value.
func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}
