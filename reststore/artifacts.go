package reststore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/validate"
)

// artifactsRoot is the path of MLflow's artifact service
// (http_artifact_repo._ARTIFACTS_SERVICE_ROOT).
const artifactsRoot = "/api/2.0/mlflow-artifacts/artifacts"

// listSplit is where http_artifact_repo.list_artifacts splits an artifact
// URL into the server and the root under the service.
const listSplit = "/mlflow-artifacts/artifacts"

// The artifact service's calls. Python sends them through http_request with
// its default policy (every method retried, read errors included), which is
// the safe class here.
var (
	epUploadArtifact   = endpoint{rpc: "UploadArtifact", method: http.MethodPut, class: retrySafe}
	epDownloadArtifact = endpoint{rpc: "DownloadArtifact", method: http.MethodGet, class: retrySafe}
	epListArtifacts    = endpoint{rpc: "ListArtifacts", method: http.MethodGet, path: listSplit, class: retrySafe}
)

// RunArtifacts is the artifact repository of a run, found from the run's
// artifact_uri as Python's get_artifact_repository finds it:
//
//   - mlflow-artifacts:/<p> (a server that serves artifacts): the server's
//     artifact proxy at <tracking URI>/api/2.0/mlflow-artifacts/artifacts/<p>,
//     on the URI's own host when it names one (MlflowArtifactsRepository
//     .resolve_uri);
//   - http(s)://... : that URL as the proxy (HttpArtifactRepository);
//   - a file: URI or a plain path (a server run with --no-serve-artifacts,
//     whose clients write the artifact folder themselves): that local
//     folder, when it or the experiment's artifact location exists on this
//     machine (else ErrNotSupported: the artifacts live on the server's
//     filesystem); Python writes such a path wherever it is, creating it;
//   - any other scheme (s3, gs, ...): ErrNotSupported naming the repository
//     Python would use.
//
// Through the proxy, Put is one streamed PUT of the body with the
// Content-Type Python guesses, retried as Python retries it (408, 429 and
// 5xx, Retry-After, transport errors) only when it can be sent again: the
// reader is an io.Seeker (it is sought back to where it started, as urllib3
// rewinds a file), or nothing of it was read yet. Open is a streamed GET
// (retried until the answer's headers arrive; a failure while reading the
// body is the reader's error), List one GET of the listing. MkdirAll does
// nothing: folders exist through their files. Each wait without progress is
// bounded by MLFLOW_HTTP_REQUEST_TIMEOUT, the whole transfer by ctx. A
// server without artifact serving answers 503 "Artifact serving is
// disabled": ErrNotSupported at once (Python retries that 503 as any
// other); when its server-info already says so (artifact_serving_enabled
// false), an mlflow-artifacts: URI on the tracking server is
// ErrNotSupported here, before any transfer.
func (s *Store) RunArtifacts(ctx context.Context, runID string) (store.Artifacts, error) {
	r, err := s.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	return s.artifactsAt(ctx, r.Info.ArtifactURI, r.Info.ExperimentID, "run "+runID)
}

// ModelArtifacts is RunArtifacts for a logged model, from its
// artifact_location.
func (s *Store) ModelArtifacts(ctx context.Context, modelID string) (store.Artifacts, error) {
	m, err := s.GetLoggedModel(ctx, modelID)
	if err != nil {
		return nil, err
	}
	return s.artifactsAt(ctx, m.ArtifactLocation, m.ExperimentID, "model "+modelID)
}

// pythonRepos names the artifact repository Python registers per scheme
// (artifact_repository_registry), for the errors of those we lack.
var pythonRepos = map[string]string{
	"s3": "S3ArtifactRepository", "r2": "R2ArtifactRepository", "b2": "B2ArtifactRepository",
	"gs": "GCSArtifactRepository", "wasbs": "AzureBlobArtifactRepository",
	"abfss": "AzureDataLakeArtifactRepository", "ftp": "FTPArtifactRepository",
	"sftp": "SFTPArtifactRepository", "dbfs": "DbfsRestArtifactRepository",
	"hdfs": "HdfsArtifactRepository", "viewfs": "HdfsArtifactRepository",
	"runs": "RunsArtifactRepository", "models": "ModelsArtifactRepository",
}

// uriScheme is mlflow.utils.uri.get_uri_scheme (urlparse's scheme,
// lowercased); a Windows path with a drive letter is a local path.
var uriScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

func (s *Store) artifactsAt(ctx context.Context, uri, experimentID, what string) (store.Artifacts, error) {
	scheme := ""
	if m := uriScheme.FindStringSubmatch(uri); m != nil && !filepath.IsAbs(uri) {
		scheme = strings.ToLower(m[1])
	}
	switch scheme {
	case "mlflow-artifacts":
		base, err := resolveArtifactsURI(uri, s.base)
		if err != nil {
			return nil, err
		}
		if err := s.checkArtifactServing(ctx, uri, what); err != nil {
			return nil, err
		}
		return &proxyArtifacts{s: s, base: base, what: what}, nil
	case "http", "https":
		return &proxyArtifacts{s: s, base: strings.TrimSuffix(uri, "/"), what: what}, nil
	case "", "file":
		return s.localArtifacts(ctx, uri, experimentID, what)
	}
	msg := fmt.Sprintf("artifacts of %s are at %s: Python MLflow reads them with its %s, which this client does not have; "+
		"a server that proxies artifacts (mlflow server --serve-artifacts, mlflow-artifacts: URIs) serves them", what, uri, pythonRepos[scheme])
	if pythonRepos[scheme] == "" {
		msg = fmt.Sprintf("artifacts of %s are at %s: no artifact repository is registered for the scheme %q", what, uri, scheme)
	}
	return nil, errs.New(errs.ErrNotSupported, msg)
}

// resolveArtifactsURI is MlflowArtifactsRepository.resolve_uri: the URL of
// an mlflow-artifacts: URI under the tracking URI's artifact service.
func resolveArtifactsURI(uri, tracking string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf("artifact URI %q: %v", uri, err))
	}
	t, err := url.Parse(tracking)
	if err != nil {
		return "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf("tracking URI %q: %v", tracking, err))
	}
	if h := u.Hostname(); h != "" && u.Port() == "" && isNumeric(h) {
		return "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf(
			"The mlflow-artifacts uri was supplied with a port number: %s, but no host was defined.", h))
	}
	p := u.EscapedPath()
	if u.Opaque != "" {
		p = u.Opaque
	}
	var resolved string
	switch p {
	case "/":
		resolved = artifactsRoot + p
	case artifactsRoot:
		resolved = artifactsRoot
	default:
		resolved = t.EscapedPath() + "/" + artifactsRoot + "/" + p
	}
	resolved = multiSlash.ReplaceAllString(resolved, "/")
	netloc := u.Host
	if u.User != nil {
		netloc = u.User.String() + "@" + netloc
	}
	if netloc == "" {
		netloc = t.Host
		if t.User != nil {
			netloc = t.User.String() + "@" + netloc
		}
	}
	out := t.Scheme + "://" + netloc + resolved
	return strings.TrimRight(strings.ReplaceAll(out, "///", "/"), "/"), nil
}

var multiSlash = regexp.MustCompile(`//+`)

// isNumeric is _check_if_host_is_numeric: Python's float() accepts it.
func isNumeric(h string) bool {
	if strings.HasPrefix(strings.TrimLeft(h, "+-"), "0x") || strings.HasPrefix(strings.TrimLeft(h, "+-"), "0X") {
		return false
	}
	_, err := strconv.ParseFloat(strings.TrimSpace(h), 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// localArtifacts is the local folder of a file: URI or a plain path, as
// LocalArtifactRepository, when it is reachable from here.
func (s *Store) localArtifacts(ctx context.Context, uri, experimentID, what string) (store.Artifacts, error) {
	dir, err := localPath(uri)
	if err != nil {
		return nil, err
	}
	if isDir(dir) {
		return filestore.ArtifactFolder(dir), nil
	}
	// A run or model without artifacts yet has no folder: the experiment's
	// artifact location, or the artifact root it was made in (the server
	// makes neither), on this machine says the server's artifacts are
	// reachable (the server runs here, or shares the filesystem).
	if experimentID != "" {
		e, err := s.GetExperiment(ctx, experimentID)
		if err != nil {
			return nil, err
		}
		if root, err := localPath(e.ArtifactLocation); err == nil && within(dir, root) &&
			(isDir(root) || isDir(filepath.Dir(root))) {
			return filestore.ArtifactFolder(dir), nil
		}
	}
	return nil, errs.New(errs.ErrNotSupported, fmt.Sprintf(
		"artifacts of %s live on the tracking server's filesystem at %s (a server run with --no-serve-artifacts), "+
			"which is not reachable from this machine; run the server with --serve-artifacts to log and read them through it", what, uri))
}

// localPath is local_file_uri_to_path.
func localPath(uri string) (string, error) {
	if !strings.HasPrefix(strings.ToLower(uri), "file:") {
		return filepath.Clean(uri), nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf("artifact URI %q: %v", uri, err))
	}
	p := u.Path
	if u.Opaque != "" {
		if p, err = url.PathUnescape(u.Opaque); err != nil {
			return "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf("artifact URI %q: %v", uri, err))
		}
	}
	if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
		p = p[1:] // file:///C:/x
	}
	return filepath.Clean(filepath.FromSlash(p)), nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// within reports whether dir is root or below it.
func within(dir, root string) bool {
	rel, err := filepath.Rel(root, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// proxyArtifacts is the artifact repository behind an artifact service URL
// (HttpArtifactRepository).
type proxyArtifacts struct {
	s    *Store
	base string // the artifact URL without a trailing slash
	what string // "run <id>" or "model <id>"
}

// target is the URL of the artifact sub (a cleaned, checked path).
func (a *proxyArtifacts) target(sub string) string {
	parts := strings.Split(sub, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return a.base + "/" + strings.Join(parts, "/")
}

// servingDisabled is the 503 of a server run with --no-serve-artifacts
// (the upload and download routes say "Artifact serving is disabled", the
// listing "... disabled due to the mlflow server running with
// `--no-serve-artifacts`"). Python retries it as any 503 (for minutes by
// default); its message says no retry can succeed, so it is final here.
func servingDisabled(body []byte) bool {
	return bytes.Contains(body, []byte("Artifact serving is disabled")) || bytes.Contains(body, []byte("--no-serve-artifacts"))
}

// artifactError gives the artifact service's failures their kinds: a 404
// is a missing artifact whatever its body, a 503 of a server without
// artifact serving is ErrNotSupported, a folder opened as a file is
// missing as a file.
func artifactError(err error, p string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Status == http.StatusNotFound:
		e.kind = errs.ErrNotFound
		if !strings.Contains(e.Message, "No such artifact") {
			e.Message = fmt.Sprintf("No such artifact: '%s' (%s)", p, e.Message)
		}
	case e.Status == http.StatusServiceUnavailable && servingDisabled([]byte(e.Message)):
		e.kind = errs.ErrNotSupported
	case e.Status == http.StatusBadRequest && strings.Contains(e.Message, "refers to a directory"):
		e.kind = errs.ErrNotFound
	}
	return err
}

func (a *proxyArtifacts) Put(ctx context.Context, p string, r io.Reader) error {
	sub, err := validate.ArtifactPath(p)
	if err != nil {
		return err
	}
	if sub == "." {
		return errs.New(errs.ErrInvalidParameter, "an artifact file needs a name, not the top folder")
	}
	body, err := newReplayBody(r)
	if err != nil {
		return fmt.Errorf("mlruns: UploadArtifact %s of %s: %w", sub, a.what, err)
	}
	defer body.wait(a.s.cfg.timeout)
	rc, err := a.s.stream(ctx, epUploadArtifact, streamRequest{
		method:      http.MethodPut,
		target:      a.target(sub),
		contentType: contentType(path.Base(sub)),
		body:        body.open,
		rewind:      body.rewind,
		final:       servingDisabled,
		endpoint:    "/" + sub, // log_artifact: posixpath.join("/", artifact_path, file_name)
	})
	if err != nil {
		return artifactError(err, sub)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, maxErrorBody))
	return rc.Close()
}

func (a *proxyArtifacts) MkdirAll(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := validate.ArtifactPath(p)
	return err
}

func (a *proxyArtifacts) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	sub, err := validate.ArtifactPath(p)
	if err != nil {
		return nil, err
	}
	if sub == "." {
		return nil, errs.New(errs.ErrNotFound, "No such artifact: '' (the top folder is no file)")
	}
	rc, err := a.s.stream(ctx, epDownloadArtifact, streamRequest{method: http.MethodGet, target: a.target(sub),
		final: servingDisabled, endpoint: "/" + sub}) // _download_file: posixpath.join("/", remote_file_path)
	if err != nil {
		return nil, artifactError(err, sub)
	}
	return rc, nil
}

// listedFile is one entry of the artifact service's listing.
type listedFile struct {
	Path     string          `json:"path"`
	IsDir    bool            `json:"is_dir"`
	FileSize json.RawMessage `json:"file_size"` // int64: a string or a number
}

func (a *proxyArtifacts) List(ctx context.Context, p string) ([]store.ArtifactInfo, error) {
	sub, err := validate.ArtifactPath(p)
	if err != nil {
		return nil, err
	}
	if sub == "." {
		sub = ""
	}
	return a.list(ctx, sub)
}

// list is http_artifact_repo.list_artifacts of sub ("" for the top).
func (a *proxyArtifacts) list(ctx context.Context, sub string) ([]store.ArtifactInfo, error) {
	server, tail, ok := strings.Cut(a.base, listSplit)
	if !ok {
		return nil, errs.New(errs.ErrNotSupported, fmt.Sprintf(
			"artifacts of %s at %s: listing needs an MLflow artifact service URL (one with %s)", a.what, a.base, listSplit))
	}
	root := strings.TrimLeft(tail, "/")
	q := root
	if sub != "" {
		q = path.Join(root, sub)
		if root == "" {
			q = sub
		}
	}
	target := server + listSplit + "?" + url.Values{"path": {q}}.Encode()
	var resp struct {
		Files []listedFile `json:"files"`
	}
	rc, err := a.s.stream(ctx, epListArtifacts, streamRequest{method: http.MethodGet, target: target,
		final: servingDisabled, endpoint: listSplit})
	if err != nil {
		return nil, artifactError(err, sub)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&resp); err != nil {
		return nil, &Error{RPC: epListArtifacts.rpc, Status: http.StatusOK, Code: errs.CodeInternalError, kind: errs.ErrInternal,
			Message: fmt.Sprintf("decoding the artifact listing of %s: %v", a.what, err)}
	}
	out := make([]store.ArtifactInfo, 0, len(resp.Files))
	for _, f := range resp.Files {
		name, err := validate.ArtifactPath(f.Path) // validate_path_is_safe
		if err != nil || name == "." {
			return nil, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("the server listed an unsafe artifact path %q", f.Path))
		}
		info := store.ArtifactInfo{Path: name, IsDir: f.IsDir}
		if sub != "" {
			info.Path = path.Join(sub, name)
		}
		if len(f.FileSize) > 0 && string(f.FileSize) != "null" {
			n, err := strconv.ParseInt(strings.Trim(string(f.FileSize), `"`), 10, 64)
			if err != nil {
				return nil, &Error{RPC: epListArtifacts.rpc, Status: http.StatusOK, Code: errs.CodeInternalError, kind: errs.ErrInternal,
					Message: fmt.Sprintf("the artifact listing of %s has a bad file_size %s", a.what, f.FileSize)}
			}
			info.FileSize = n
		}
		out = append(out, info)
	}
	// A listing of a file lists the file itself, which looks like a folder
	// holding one file of its name: the parent's listing tells them apart.
	if len(out) == 1 && !out[0].IsDir && sub != "" && out[0].Path == path.Join(sub, path.Base(sub)) {
		parent := path.Dir(sub)
		if parent == "." {
			parent = ""
		}
		up, err := a.list(ctx, parent)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(up, func(f store.ArtifactInfo) bool { return f.IsDir && f.Path == sub }) {
			return nil, nil
		}
	}
	slices.SortFunc(out, func(x, y store.ArtifactInfo) int { return strings.Compare(x.Path, y.Path) })
	return out, nil
}

// replayBody is Put's reader as request bodies, one per attempt. A retry
// starts again from where the reader was: an io.Seeker is sought back;
// any other reader only while nothing of it was read.
type replayBody struct {
	r      io.Reader
	seeker io.Seeker
	start  int64 // the seeker's position at the start
	size   int64 // bytes from start to the end; -1 unknown
	read   int64 // bytes read from r over all attempts
	cur    *attemptBody
}

func newReplayBody(r io.Reader) (*replayBody, error) {
	b := &replayBody{r: r, size: -1}
	if sk, ok := r.(io.Seeker); ok {
		start, err := sk.Seek(0, io.SeekCurrent)
		if err == nil {
			end, err := sk.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, err
			}
			if _, err := sk.Seek(start, io.SeekStart); err != nil {
				return nil, err
			}
			b.seeker, b.start, b.size = sk, start, max(end-start, 0)
		}
	}
	return b, nil
}

// open is the body of one attempt.
func (b *replayBody) open() (io.Reader, int64) {
	b.cur = &attemptBody{b: b, done: make(chan struct{})}
	return b.cur, b.size
}

// rewind readies the reader for another attempt, or says why it cannot.
func (b *replayBody) rewind() error {
	b.wait(time.Minute)
	if b.seeker != nil {
		_, err := b.seeker.Seek(b.start, io.SeekStart)
		return err
	}
	if b.read > 0 {
		return fmt.Errorf("%d bytes of the body were sent and the reader is not an io.Seeker, so it cannot be sent again", b.read)
	}
	return nil
}

// wait waits until the HTTP transport let go of the current attempt's body
// (it may close it after the call returned), at most d, then closes it
// itself: no read of it can start any more.
func (b *replayBody) wait(d time.Duration) {
	if b.cur == nil {
		return
	}
	select {
	case <-b.cur.done:
	case <-time.After(d):
		b.cur.Close()
	}
}

// attemptBody is the body of one attempt: reads stop at its Close, so a
// later attempt owns the reader alone.
type attemptBody struct {
	b      *replayBody
	mu     sync.Mutex
	closed bool
	once   sync.Once
	done   chan struct{}
}

func (a *attemptBody) Read(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, errors.New("mlruns: the request body was closed")
	}
	n, err := a.b.r.Read(p)
	a.b.read += int64(n)
	return n, err
}

func (a *attemptBody) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.once.Do(func() { close(a.done) })
	return nil
}
