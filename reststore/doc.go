// Package reststore is the store.Store of an MLflow tracking server: every
// method is one or a few calls of MLflow 3.18's REST API (/api/2.0/mlflow/...)
// on an http(s):// tracking URI, with Python MLflow's client behaviour:
//
//   - configuration from the same environment variables, parsed as Python
//     parses them (config.go): MLFLOW_TRACKING_USERNAME / _PASSWORD (and
//     ~/.mlflow/credentials), MLFLOW_TRACKING_TOKEN, the TLS variables, the
//     MLFLOW_HTTP_REQUEST_* retry and timeout variables;
//   - urllib3's retry policy as MLflow configures it (transport.go), in three
//     classes: reads and writes the server applies idempotently are retried
//     on 408/429/500/502/503/504 and on any transport error; other writes
//     only on 408/429 and on errors before a connection was made, because
//     the server may have committed them (CreateExperiment then looks the
//     experiment up by name; CreateRun reports that its outcome is unknown;
//     a 500 INVALID_STATE, which MLflow answers before writing, is a plain
//     refusal);
//   - errors decoded into the sentinels of package errs, keeping MLflow's
//     error code (errors.go); an endpoint the server lacks (an MLflow 2.x
//     server has no logged models or runs/outputs) is an
//     *EndpointNotFoundError naming it and the server's /version;
//   - MLFLOW_WORKSPACE sent as X-MLFLOW-WORKSPACE where Python sends it,
//     after the server said it has workspaces, as Python checks (probe.go).
//
// What the server is (Store.ServerInfo: GET /api/3.0/mlflow/server-info,
// public under basic-auth) is asked once, on first need, never at Open;
// an older server without it is "unknown" and treated as before. A
// FileStore-backed server appends every metric point it is sent, so there
// a LogMetric or a LogBatch carrying metrics is in the unsafe retry class
// (not re-sent once it may have reached the server: UnknownOutcomeError),
// and ConcurrentBatches is false. An mlflow-artifacts: URI of a server that
// says artifact_serving_enabled false is ErrNotSupported before any
// transfer.
//
// Requests are protobuf JSON built exactly (snake_case, int64 as numbers,
// NaN and the infinities as strings, through internal/restjson), and every
// write is checked first with package validate: the server turns malformed
// nested fields into silent defaults with HTTP 200.
//
// Artifacts of a server store are not local folders, so ArtifactDir and
// ModelArtifactDir return ErrNotSupported; RunArtifacts and ModelArtifacts
// upload, download and list them through the server's artifact proxy
// (mlflow-artifacts:, streamed), or in the server's artifact folder when
// it is reachable from this machine (--no-serve-artifacts), as Python does.
//
// The package must not read or write the tracking tree of a file store, nor
// hold process-wide state.
package reststore
