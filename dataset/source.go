package dataset

import (
	"runtime"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/validate"
)

// Source is where a dataset came from: MLflow's DatasetSource, held as the
// two strings a dataset record stores (source_type and the source's JSON).
// Make one with HTTP, URI or Code.
type Source struct {
	typ  string
	json string
}

// Type is the source type MLflow records: "http", "local", "s3", "code", ...
func (s Source) Type() string { return s.typ }

// JSON is the source's JSON as MLflow records it, e.g. {"uri": "s3://b/k"}.
func (s Source) JSON() string { return s.json }

// HTTP is HTTPDatasetSource(url): source type "http", JSON {"url": url}.
// Python takes any string; we also refuse a URL whose scheme is not http or
// https, which MLflow's resolver would not have made an HTTP source of.
func HTTP(url string) (Source, error) {
	if err := validate.UTF8("url", url); err != nil {
		return Source{}, err
	}
	if p, ok := urlParse(url); !ok || (p.scheme != "http" && p.scheme != "https") {
		return Source{}, &validate.Error{Field: "url", Value: url, Rule: "must be an http:// or https:// URL"}
	}
	return httpSource(url), nil
}

func httpSource(url string) Source {
	return Source{typ: "http", json: dumps(object{{"url", url}})}
}

// artifactSchemes are the URI schemes MLflow 3.18 makes a dataset source of
// from its artifact repositories (artifact_dataset_sources.py; the scheme
// is also the source type). http, https, runs, models, mlflow-artifacts and
// dbfs are left out there.
var artifactSchemes = []string{"s3", "r2", "b2", "gs", "wasbs", "ftp", "sftp", "hdfs", "viewfs", "abfss"}

// URI is mlflow.data.dataset_source_registry.resolve_dataset_source(uri)
// for a string, as MLflow 3.18 with no plugins resolves it:
//
//   - http:// and https:// URLs: HTTPDatasetSource, type "http", {"url": uri}
//   - s3, r2, b2, gs, wasbs, ftp, sftp, hdfs, viewfs and abfss URIs: the
//     artifact source of that scheme, type = the scheme, {"uri": uri}
//   - a local path or file: URI: LocalArtifactDatasetSource, type "local",
//     {"uri": uri}; the text is kept as given (a relative path stays
//     relative, as in Python)
//
// Anything else (dbfs:, runs:, a file: URI or scheme with a remote host, an
// unknown scheme) has no resolver in MLflow and is refused. On Windows a
// drive letter ("C:\data") is a local path and a \\server share is not, as
// is_local_uri has it there.
func URI(uri string) (Source, error) {
	if err := validate.UTF8("uri", uri); err != nil {
		return Source{}, err
	}
	if p, ok := urlParse(uri); ok {
		switch {
		case p.scheme == "http" || p.scheme == "https":
			return httpSource(uri), nil
		case slices.Contains(artifactSchemes, p.scheme):
			return Source{typ: p.scheme, json: dumps(object{{"uri", uri}})}, nil
		case isLocalURI(uri, p, runtime.GOOS == "windows"):
			return Source{typ: "local", json: dumps(object{{"uri", uri}})}, nil
		}
	}
	return Source{}, &validate.Error{Field: "uri", Value: uri,
		Rule: "Could not find a source information resolver for the specified dataset source"}
}

// isLocalURI is mlflow.utils.uri.is_local_uri(uri, is_tracking_or_registry_uri=False);
// a file: URI with a remote host, where Python raises, is not local.
func isLocalURI(uri string, p parsedURL, windows bool) bool {
	if windows && strings.HasPrefix(uri, `\\`) {
		return false
	}
	if p.scheme == "" {
		return true
	}
	host := p.hostname()
	remote := host != "" && host != "." && !strings.HasPrefix(host, "localhost") && !strings.HasPrefix(host, "127.0.0.1")
	if remote {
		return false
	}
	if p.scheme == "file" {
		return true
	}
	// A one-letter scheme is local when it is pathlib's drive of the text:
	// the text starts with that letter and a colon.
	return windows && len(p.scheme) == 1 && len(uri) >= 2 && uri[0]|0x20 == p.scheme[0] && uri[1] == ':'
}

// Code is CodeDatasetSource(tags): the dataset was made by code, described
// by its context tags (Python's from_pandas fills them with the run's
// context tags: mlflow.source.name, mlflow.user, ...). Type "code", JSON
// {"tags": {...}} with the keys in sorted order (a Go map has none; the
// Python twin is the dict built in that order).
func Code(tags map[string]string) (Source, error) {
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		if err := validate.UTF8("tags", k); err != nil {
			return Source{}, err
		}
		if err := validate.UTF8("tags["+k+"]", v); err != nil {
			return Source{}, err
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o := make(object, 0, len(keys))
	for _, k := range keys {
		o = append(o, member{k, tags[k]})
	}
	return Source{typ: "code", json: dumps(object{{"tags", o}})}, nil
}
