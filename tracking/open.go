package tracking

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
)

var uriScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*):`)

// databaseEngines are the SQLAlchemy schemes MLflow opens as a database
// store (mlflow/store/db/db_types.py), optionally with "+driver".
var databaseEngines = map[string]bool{"postgresql": true, "mysql": true, "sqlite": true, "mssql": true}

// OpenStore opens the store a tracking URI names, as MLflow's tracking
// store registry does: a plain or relative path or a file: URI is opened as
// FileStore(uri, uri), so experiments get artifact locations of the same
// form as the URI. http(s), databricks and database URIs are
// ErrNotSupported; so is any other scheme.
func OpenStore(trackingURI string, opts *filestore.Options) (*filestore.Store, error) {
	if trackingURI == "" {
		return nil, errs.New(errs.ErrInvalidParameter, "tracking URI is empty")
	}
	scheme := ""
	if m := uriScheme.FindStringSubmatch(trackingURI); m != nil && len(m[1]) > 1 {
		scheme = strings.ToLower(m[1]) // one letter is a Windows drive (C:\mlruns), a path
	}
	switch {
	case scheme == "" || scheme == "file":
		o := filestore.Options{}
		if opts != nil {
			o = *opts
		}
		o.ArtifactRoot = trackingURI
		return filestore.Open(trackingURI, &o)
	case scheme == "http" || scheme == "https":
		return nil, notSupported(trackingURI, "an MLflow tracking server (REST)")
	case scheme == "databricks" || scheme == "databricks-uc" || scheme == "uc":
		return nil, notSupported(trackingURI, "Databricks")
	case databaseEngines[strings.SplitN(scheme, "+", 2)[0]]:
		return nil, notSupported(trackingURI, "a database store")
	}
	return nil, fmt.Errorf("%w: tracking URI %q: unknown scheme %q (want a path or a file: URI)",
		errs.ErrNotSupported, trackingURI, scheme)
}

func notSupported(uri, what string) error {
	return fmt.Errorf("%w: tracking URI %q names %s, which is not supported by this backend yet; use a path or a file: URI",
		errs.ErrNotSupported, uri, what)
}

// Open opens the store a tracking URI names (see OpenStore) and returns a
// client over it.
func Open(trackingURI string, opts *Options) (*Client, error) {
	st, err := OpenStore(trackingURI, nil)
	if err != nil {
		return nil, err
	}
	return NewClient(st, opts), nil
}
