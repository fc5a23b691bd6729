#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs (the
# locked Python venv, Debian's chromium, wine64 and MinGW), then runs gofmt,
# go vet for every platform, staticcheck, go test -race with the interop
# tests against Python MLflow required (they fail instead of skipping when
# Python MLflow is missing), the suite again with the portable OS layer, the
# Windows build under Wine, the reliability test at full size, every fuzz
# target briefly and every benchmark once. CONTRIBUTING.md has the fast loop.
set -euo pipefail
cd "$(dirname "$0")/.."

MLFLOW_VERSION=3.18.0

# Python MLflow lives in a venv outside the clone, in the user cache, in a
# folder named by the hash of scripts/interop.lock: a changed lock makes a
# new venv, and a venv that no longer matches its lock is rebuilt, so an old
# cached venv cannot hide drift. Everything is installed from the lock with
# --require-hashes (exact versions, checked downloads) and --no-deps (the lock
# is the whole set; nothing is resolved here), then checked against it.
lock=scripts/interop.lock
lock_hash=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:16])' "$lock")
venv="${MLRUNS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mlruns-go/venv-$lock_hash}"
export MLRUNS_VENV="$venv"

if ! "$venv/bin/python" scripts/check-venv.py "$lock" >/dev/null 2>&1; then
  echo "== creating $venv from $lock"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install -q --require-hashes --no-deps -r "$lock"
fi
"$venv/bin/python" scripts/check-venv.py "$lock"
"$venv/bin/python" -c "import mlflow, sys; v = mlflow.__version__; print('mlflow', v); sys.exit(v != '$MLFLOW_VERSION')"

# The browser test (cmd/mlruns TestBrowser_*) opens MLflow's UI in headless
# Chromium and is required like the other interop tests: install Debian's
# chromium when it is missing (needs root, or sudo without a password).
if [ -z "${MLRUNS_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "== chromium not found: installing Debian's package (apt-get update; apt-get install -y chromium)"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
  else
    echo "test.sh: chromium is missing and installing it needs root; run 'apt-get install -y chromium' as root, or set MLRUNS_CHROMIUM to a Chromium binary" >&2
    exit 1
  fi
  if ! { $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
         $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } ||
     ! command -v chromium >/dev/null 2>&1; then
    echo "test.sh: could not install chromium with apt-get (see above); install it, or set MLRUNS_CHROMIUM to a Chromium binary" >&2
    exit 1
  fi
  echo "installed: $(chromium --version 2>/dev/null || command -v chromium)"
fi

# The REST backend's tests run `mlflow server` over PostgreSQL too
# (internal/interoptest starts one cluster per test binary, as the postgres
# user when run as root): install Debian's postgresql when its server
# programs are missing, and tell the harness where they are (MLRUNS_PGBIN).
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "${MLRUNS_PGBIN:-}" ] && [ ! -x "$(pg_bin)/initdb" ]; then
  echo "== PostgreSQL not found: installing Debian's package (apt-get update; apt-get install -y postgresql)"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
  else
    echo "test.sh: PostgreSQL is missing and installing it needs root; run 'apt-get install -y postgresql' as root, or set MLRUNS_PGBIN to a folder with initdb, postgres, pg_isready, createdb and dropdb" >&2
    exit 1
  fi
  if ! { $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
         $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; } ||
     [ ! -x "$(pg_bin)/initdb" ]; then
    echo "test.sh: could not install postgresql with apt-get (see above); install it, or set MLRUNS_PGBIN to its server programs' folder" >&2
    exit 1
  fi
  echo "installed: $("$(pg_bin)/postgres" --version)"
fi
export MLRUNS_PGBIN="${MLRUNS_PGBIN:-$(pg_bin)}"

echo "== go mod download"
go mod download

echo "== gofmt"
unformatted=$(gofmt -l . | grep -v '^testdata/' || true)
if [ -n "$unformatted" ]; then
  echo "gofmt: not formatted:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# Every platform a user has: the module and its tests must compile and pass
# vet for each (go vet type-checks the test files too).
echo "== cross-compile and vet: darwin, windows, linux (amd64, arm64, 386)"
for target in darwin/amd64 darwin/arm64 windows/amd64 windows/arm64 linux/arm64 linux/386; do
  echo "-- $target"
  GOOS=${target%/*} GOARCH=${target#*/} go build ./...
  GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
done

# The linter, pinned, built from the module proxy (nothing installed by
# hand); run for Linux and for the two other systems' files.
STATICCHECK_VERSION=v0.8.2
echo "== staticcheck $STATICCHECK_VERSION (linux, windows, darwin)"
tools=$(mktemp -d)
GOBIN="$tools" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
for goos in linux windows darwin; do
  echo "-- $goos"
  GOOS=$goos "$tools/staticcheck" ./...
done
rm -rf "$tools"

echo "== go test -race (interop required)"
export MLRUNS_INTEROP=required
# Packages that drive real mlflow servers (reststore's differential
# workload runs four seeds through two servers each) take minutes under
# -race on a loaded 2-core machine: go test's default 10-minute limit per
# package binary was hit once there, so the limit is 30 minutes.
go test -race -count=1 -timeout 30m "$@" ./...

# GPU metrics on Linux are built only with -tags mlruns_nvml (purego's
# dlopen makes a binary dynamically linked): vet that build for both Linux
# architectures and run package sysmetrics with it, whose stand-in NVML
# (built with cc) exercises the loader and the GPU metrics.
echo "== go test -tags mlruns_nvml ./sysmetrics/ (the NVML loader)"
for arch in amd64 arm64; do
  GOOS=linux GOARCH=$arch go vet -tags mlruns_nvml ./sysmetrics/
done
go test -race -count=1 -tags mlruns_nvml "$@" ./sysmetrics/

# The portable implementation of internal/sysfs (what darwin, the BSDs and
# Windows run) forced on Linux: the whole suite again, so the non-Linux
# readers are executed, not just compiled.
echo "== go test -tags mlruns_portable (the portable OS layer, interop required)"
go test -tags mlruns_portable -count=1 -timeout 30m "$@" ./...

# The Windows build's tests, executed under Wine (scripts/wine-test.sh).
echo "== Windows tests under Wine"
./scripts/wine-test.sh

# The multi-process reliability test at full size: under -race above its
# helper processes are race-instrumented and it runs smaller.
echo "== reliability at full size (no -race)"
go test -count=1 -run '^TestStore_Concurrent_Processes$' ./filestore/

# Fuzz every target for a short fixed time (MLRUNS_FUZZTIME, default 10s).
# A crasher fails the step and is kept by go test under
# <package>/testdata/fuzz/<target>/ as a regression seed: commit it with the fix.
echo "== fuzz"
fuzztime="${MLRUNS_FUZZTIME:-10s}"
# Go's fuzz coordinator sometimes reports its own time limit as a failure
# ("context deadline exceeded" with no failing input written): that is not a
# finding and does not fail the step; any other failure does.
# Package fuzz holds the targets of exported parsers; a package keeps its
# own where the target compares unexported code paths (layout's fast
# meta.yaml decoder against its YAML decoder).
for target in $(for pkg in ./fuzz ./layout; do go test "$pkg" -list '^Fuzz' | grep '^Fuzz' | sed "s|^|$pkg:|"; done); do
  pkg=${target%%:*}
  target=${target#*:}
  echo "-- $pkg $target ($fuzztime)"
  if out=$(go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s 2>&1); then
    printf '%s\n' "$out" | tail -n 3
  elif grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
    printf '%s\n' "$out" | tail -n 4
    echo "(the fuzzer stopped at its time limit; no failing input)"
  else
    printf '%s\n' "$out" | tail -n 40
    exit 1
  fi
done

# Every Go benchmark once (bench/, including the search and history ones at
# their default sizes), so that benchmarks cannot rot.
echo "== benchmarks (1x)"
go test ./bench -run '^$' -bench . -benchtime=1x
