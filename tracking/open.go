package tracking

import (
	"strings"

	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
)

// OpenStore opens the store a tracking URI names, as MLflow's tracking
// store registry does (filestore.TrackingPath has the rules): an http(s)
// URI is an MLflow tracking server (package reststore, configured from the
// environment as Python's client is); a path or a local file: URI is
// opened as FileStore(uri, uri), so experiments get artifact locations of
// the same form as the URI. URIs of other backends (databricks,
// databricks-uc, uc, databases) are ErrNotSupported, as is any other
// scheme; a file: URI naming another host is ErrInvalidParameter.
func OpenStore(trackingURI string, opts *filestore.Options) (store.Store, error) {
	if isServerURI(trackingURI) {
		return reststore.Open(trackingURI, nil)
	}
	if _, err := filestore.TrackingPath(trackingURI); err != nil {
		return nil, err
	}
	o := filestore.Options{}
	if opts != nil {
		o = *opts
	}
	o.ArtifactRoot = trackingURI
	return filestore.Open(trackingURI, &o)
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

// isServerURI reports whether a tracking URI names an MLflow tracking
// server (http or https, any case, as Python's registry matches schemes).
func isServerURI(uri string) bool {
	l := strings.ToLower(uri)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}
