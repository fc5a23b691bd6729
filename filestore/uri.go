package filestore

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
)

// URI handling, as MLflow's mlflow/utils/uri.py does it. The forms matter:
// artifact_location and artifact_uri are written into meta.yaml, so a plain
// path must stay a plain path and a file: URI a URI, with the same
// normalisation (or lack of it) as Python.

// onWindows: paths and file: URIs follow Windows' rules (drive letters,
// backslashes, UNC shares), as MLflow's is_windows() branches do. The
// helpers below take it as a parameter so that tests cover both forms on
// every system.
const onWindows = runtime.GOOS == "windows"

// LocalPath turns a path or a file: URI into a local path, as MLflow's
// local_file_uri_to_path does. A file: URI naming another host is refused
// as MLflow's is_local_uri refuses it; other schemes are ErrNotSupported.
func LocalPath(uri string) (string, error) { return localPath(uri, onWindows) }

func localPath(uri string, win bool) (string, error) {
	scheme, _ := splitScheme(uri)
	switch scheme {
	case "":
		return uri, nil
	case "file":
		u := parseURI(uri)
		if remoteHost(u.netloc) {
			return "", errs.New(errs.ErrInvalidParameter, uri+" is not a valid remote uri. For remote access on windows, "+
				"please consider using a different scheme such as SMB (e.g. smb://<hostname>/<path>). "+
				"(A file: URI must name this machine: no host, localhost or 127.0.0.1.)")
		}
		p, err := url.PathUnescape(u.path)
		if err != nil {
			return "", fmt.Errorf("%w: file URI %q: %v", errs.ErrInvalidParameter, uri, err)
		}
		if win {
			p = windowsURLPath(p)
		}
		return p, nil
	}
	return "", fmt.Errorf("%w: tracking URI %q: scheme %q is not supported by the file store", errs.ErrNotSupported, uri, scheme)
}

// databaseEngines are the SQLAlchemy engines MLflow opens as a database
// store (mlflow/store/db/db_types.py DATABASE_ENGINES).
var databaseEngines = []string{"postgresql", "mysql", "sqlite", "mssql"}

// TrackingPath returns the local path of the file store a tracking URI
// names, resolving it as MLflow 3.18's tracking store registry does
// (mlflow/tracking/_tracking_service/utils.py):
//
//   - a path (relative, absolute, a Windows drive or UNC path; a bare word
//     such as mlruns) or a file: URI with no host, localhost or 127.0.0.1
//     is the file store, at the path local_file_uri_to_path gives;
//   - a file: URI naming another host is ErrInvalidParameter, as
//     is_local_uri refuses it; so is one with no path (file:);
//   - the exact words databricks, databricks-uc and uc, and the schemes
//     databricks, databricks-uc, uc, http, https and the database engines
//     (postgresql, mysql, sqlite, mssql, each with an optional +driver)
//     name other backends: ErrNotSupported, saying which. A scheme that
//     starts with an engine's name but is none (postgresqlx:, mysql+a+b:)
//     is ErrInvalidParameter, as extract_db_type_from_uri refuses it;
//   - any other scheme is ErrNotSupported, as the registry refuses it.
//
// One deviation: Python reads a file: URI whose scheme is not lower-case
// (FILE:///x) as the relative folder "FILE:" (get_uri_scheme lowers the
// scheme, local_file_uri_to_path does not); that is ErrInvalidParameter
// here rather than a folder nobody meant.
func TrackingPath(uri string) (string, error) { return trackingPath(uri, onWindows) }

func trackingPath(uri string, win bool) (string, error) {
	if uri == "" {
		return "", errs.New(errs.ErrInvalidParameter, "tracking URI is empty")
	}
	scheme, _ := splitScheme(uri)
	switch uri {
	case "databricks", "databricks-uc", "uc": // words, not paths, for MLflow
		scheme = uri
	}
	switch {
	case scheme == "":
		return uri, nil
	case scheme == "file":
		if !strings.HasPrefix(uri, "file:") {
			return "", fmt.Errorf("%w: tracking URI %q: the scheme must be written file: in lower case "+
				"(Python MLflow takes %q as a relative folder, not as a file: URI)", errs.ErrInvalidParameter, uri, uri)
		}
		p, err := localPath(uri, win)
		if err != nil {
			return "", err
		}
		if p == "" {
			return "", fmt.Errorf("%w: tracking URI %q names no path", errs.ErrInvalidParameter, uri)
		}
		return p, nil
	case scheme == "http" || scheme == "https":
		return "", otherBackend(uri, "an MLflow tracking server (MLflow's REST store); the REST backend is not implemented yet")
	case scheme == "databricks":
		return "", otherBackend(uri, "a Databricks workspace (MLflow's Databricks REST store)")
	case scheme == "databricks-uc" || scheme == "uc":
		return "", otherBackend(uri, "Unity Catalog, which Python MLflow 3.18 refuses as a tracking URI too (it is a model registry URI)")
	}
	for _, engine := range databaseEngines {
		if !strings.HasPrefix(scheme, engine) {
			continue
		}
		db, _, _ := strings.Cut(scheme, "+")
		switch {
		case strings.Count(scheme, "+") > 1:
			return "", fmt.Errorf("%w: tracking URI %q: invalid database URI (at most one +driver after the engine)",
				errs.ErrInvalidParameter, uri)
		case !slices.Contains(databaseEngines, db):
			return "", fmt.Errorf("%w: tracking URI %q: invalid database engine %q; supported database engines are %s",
				errs.ErrInvalidParameter, uri, db, strings.Join(databaseEngines, ", "))
		}
		return "", otherBackend(uri, "a "+db+" database (MLflow's SQLAlchemy store)")
	}
	return "", fmt.Errorf("%w: tracking URI %q: scheme %q names no tracking backend of MLflow "+
		"(MLflow has file:, http(s):, databricks: and database stores); this library supports a local path or a file: URI",
		errs.ErrNotSupported, uri, scheme)
}

func otherBackend(uri, what string) error {
	return fmt.Errorf("%w: tracking URI %q names %s; this library supports only the file store: a local path or a file: URI",
		errs.ErrNotSupported, uri, what)
}

// remoteHost reports whether the host part of a file: URI names another
// machine (is_local_uri: anything but none, ".", localhost... and
// 127.0.0.1...).
func remoteHost(netloc string) bool {
	host := netloc
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i >= 0 {
			host = host[1:i]
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.ToLower(host)
	return host != "" && host != "." && !strings.HasPrefix(host, "localhost") && !strings.HasPrefix(host, "127.0.0.1")
}

// windowsURLPath is url2pathname on Windows for the path of a file: URI:
// "/C:/x/y" is C:\x\y.
func windowsURLPath(p string) string {
	if len(p) >= 3 && p[0] == '/' && isDriveLetter(p[1]) && (p[2] == ':' || p[2] == '|') {
		p = p[1:2] + ":" + p[3:]
	}
	return strings.ReplaceAll(p, "/", `\`)
}

func isDriveLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// FileURI returns the file:// URI of an absolute local path, as MLflow's
// path_to_local_file_uri (pathlib's as_uri) does, percent-encoding what a
// URI path must: file:///data/x, file:///C:/data/x, file://host/share/x.
func FileURI(abs string) string { return fileURI(abs, onWindows) }

func fileURI(abs string, win bool) string {
	host := ""
	p := abs
	if win {
		p = strings.ReplaceAll(p, `\`, "/")
		if strings.HasPrefix(p, "//") { // a UNC share: \\host\share\x
			rest := p[2:]
			i := strings.IndexByte(rest, '/')
			if i < 0 {
				i = len(rest)
			}
			host, p = rest[:i], rest[i:]
		} else if !strings.HasPrefix(p, "/") {
			p = "/" + p // C:/x is file:///C:/x
		}
	}
	u := url.URL{Scheme: "file", Host: host, Path: p}
	s := u.String()
	if host == "" && strings.HasPrefix(s, "file:/") && !strings.HasPrefix(s, "file:///") {
		s = "file://" + strings.TrimPrefix(s, "file:")
	}
	return s
}

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*):`)

// splitScheme returns the lower-case scheme of uri ("" for a plain path)
// and the rest after the colon. A one-letter scheme is a Windows drive
// (C:\x), a plain path, as MLflow's get_uri_scheme takes it.
func splitScheme(uri string) (string, string) {
	m := schemeRE.FindStringSubmatch(uri)
	if m == nil || len(m[1]) == 1 {
		return "", uri
	}
	return strings.ToLower(m[1]), uri[len(m[0]):]
}

// uriParts is urllib.parse.urlparse's split, without params.
type uriParts struct {
	scheme, netloc, path, query, fragment string
	hasNetloc                             bool
}

func parseURI(uri string) uriParts {
	var u uriParts
	var rest string
	u.scheme, rest = splitScheme(uri)
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
		i := strings.IndexAny(rest, "/?#")
		if i < 0 {
			i = len(rest)
		}
		u.netloc, rest, u.hasNetloc = rest[:i], rest[i:], true
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest, u.fragment = rest[:i], rest[i+1:]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, u.query = rest[:i], rest[i+1:]
	}
	u.path = rest
	return u
}

// usesNetloc are the schemes for which urlunparse writes "//" even with an
// empty host (urllib.parse.uses_netloc).
var usesNetloc = map[string]bool{
	"": true, "ftp": true, "http": true, "gopher": true, "nntp": true, "telnet": true,
	"imap": true, "wais": true, "file": true, "mms": true, "https": true, "shttp": true,
	"snews": true, "prospero": true, "rtsp": true, "rtspu": true, "rsync": true,
	"svn": true, "svn+ssh": true, "sftp": true, "nfs": true, "git": true, "git+ssh": true,
	"ws": true, "wss": true, "itms-services": true,
}

// unparse is urllib.parse.urlunparse.
func (u uriParts) unparse() string {
	s := u.path
	if u.netloc != "" || (u.scheme != "" && usesNetloc[u.scheme] && !strings.HasPrefix(s, "//")) {
		if s != "" && !strings.HasPrefix(s, "/") {
			s = "/" + s
		}
		s = "//" + u.netloc + s
	}
	if u.scheme != "" {
		s = u.scheme + ":" + s
	}
	if u.query != "" {
		s += "?" + u.query
	}
	if u.fragment != "" {
		s += "#" + u.fragment
	}
	return s
}

// joinAppend is _join_posixpaths_and_append_absolute_suffixes: posix join
// where an absolute suffix is appended, not substituted.
func joinAppend(prefix, suffix string) string {
	if prefix == "" {
		return suffix
	}
	suffix = strings.TrimLeft(suffix, "/")
	if suffix == "" {
		if strings.HasSuffix(prefix, "/") {
			return prefix
		}
		return prefix + "/"
	}
	if strings.HasSuffix(prefix, "/") {
		return prefix + suffix
	}
	return prefix + "/" + suffix
}

// appendURIPath is MLflow's append_to_uri_path: elems are joined onto the
// path component of uri, keeping its query and fragment.
func appendURIPath(uri string, elems ...string) string {
	p := ""
	for _, e := range elems {
		p = joinAppend(p, e)
	}
	u := parseURI(uri)
	if u.scheme == "" {
		return joinAppend(uri, p)
	}
	prefix := ""
	if !strings.HasPrefix(u.path, "/") {
		// urlunparse would turn a relative path absolute
		prefix, u.scheme = u.scheme+":", ""
	}
	u.path = joinAppend(u.path, p)
	return prefix + u.unparse()
}

// resolveURIIfLocal is MLflow's resolve_uri_if_local: a relative local
// path or file: URI is made absolute against the working directory
// (joined, not cleaned: ".." stays), keeping its form; anything else is
// returned as is.
func resolveURIIfLocal(uri string) string {
	u := parseURI(uri)
	if u.scheme != "" && u.scheme != "file" {
		return uri
	}
	local, err := LocalPath(uri)
	if err != nil || path.IsAbs(local) || filepath.IsAbs(local) {
		return uri
	}
	cwd, err := os.Getwd()
	if err != nil {
		return uri
	}
	joined := pathlibJoin(filepath.ToSlash(cwd), filepath.ToSlash(local), onWindows)
	if u.scheme == "" {
		if onWindows { // Python gives a file: URI there (urlunsplit, nothing escaped)
			return uriParts{scheme: "file", path: joined}.unparse()
		}
		return joined
	}
	return uriParts{scheme: "file", path: joined, query: u.query, fragment: u.fragment}.unparse()
}

// pathlibJoin is pathlib.Path(base).joinpath(rel).as_posix(): empty and
// "." parts are dropped, ".." is kept. A rooted rel (/x) replaces base,
// keeping only its drive on Windows (C:/x).
func pathlibJoin(base, rel string, win bool) string {
	if strings.HasPrefix(rel, "/") {
		drive := ""
		if win && len(base) >= 2 && base[1] == ':' {
			drive = base[:2]
		}
		return pathlibJoin(drive, strings.TrimLeft(rel, "/"), false)
	}
	if base == "" {
		base = "/"
	}
	parts := []string{strings.TrimRight(base, "/")}
	for _, p := range strings.Split(rel, "/") {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}
