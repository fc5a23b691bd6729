#!/usr/bin/env bash
# The Windows build's tests, run on Linux under Wine: the store, the tracking
# client and the fluent API compiled for windows/amd64 and executed, so the
# Windows side of internal/sysfs (LockFileEx, sharing modes, POSIX renames,
# file identity by handle) and Windows paths and URIs are run, not just
# compiled. scripts/test.sh calls it; it installs Debian's wine64 and the
# MinGW C compiler when they are missing.
#
# Wine 8 (Debian 12) differs from Windows 10 in two places that Go 1.26
# needs, both bridged here for the test run only:
#   - it has no bcryptprimitives.dll (Go's runtime takes random bytes from
#     it): scripts/wine/bcryptprimitives.c, built into the throwaway prefix;
#   - it answers STATUS_NOT_IMPLEMENTED to FileDispositionInformationEx,
#     which os.RemoveAll falls back from only on the statuses Windows gives:
#     the build overlays Go's internal/syscall/windows/at_windows.go with
#     that status added to the fallback list (go build -overlay).
# Interop tests skip (MLRUNS_INTEROP=off): Python runs on the Linux side.
set -euo pipefail
cd "$(dirname "$0")/.."

wine=/usr/lib/wine/wine64
cc=x86_64-w64-mingw32-gcc
if [ ! -x "$wine" ] || ! command -v "$cc" >/dev/null 2>&1; then
  echo "== wine64 or MinGW missing: installing Debian's packages (wine64, gcc-mingw-w64-x86-64-win32)"
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root="sudo -n"
    else
      echo "wine-test.sh: installing wine64 needs root; run 'apt-get install -y wine64 gcc-mingw-w64-x86-64-win32' as root" >&2
      exit 1
    fi
  fi
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wine64 gcc-mingw-w64-x86-64-win32
fi

work=$(mktemp -d)
# Debian's wine64 puts its server beside the loader, not on PATH. It must be
# stopped and waited for before the prefix goes: a server that exits on its
# own writes the registry into the prefix while rm walks it. Clean-up never
# decides the exit status.
wineserver=/usr/lib/wine/wineserver64
[ -x "$wineserver" ] || wineserver=$(command -v wineserver || echo true)
cleanup() {
  WINEPREFIX="$work/prefix" "$wineserver" -k 2>/dev/null || true
  WINEPREFIX="$work/prefix" timeout 30 "$wineserver" -w 2>/dev/null || true
  for _ in 1 2 3 4 5; do
    rm -rf "$work" 2>/dev/null && return 0
    sleep 1
  done
  echo "wine-test.sh: could not remove $work (left in place)" >&2
}
trap 'cleanup || true' EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
"$wine" cmd /c exit >/dev/null 2>&1 || true # creates the prefix
"$cc" -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" scripts/wine/bcryptprimitives.c

at="$(go env GOROOT)/src/internal/syscall/windows/at_windows.go"
patched="$work/at_windows.go"
sed 's|STATUS_NOT_SUPPORTED:     // the file system|STATUS_NOT_SUPPORTED, NTStatus(0xC0000002): // Wine: not implemented; the file system|' "$at" >"$patched"
if cmp -s "$at" "$patched"; then
  echo "wine-test.sh: Go's at_windows.go changed; update the Wine overlay" >&2
  exit 1
fi
printf '{"Replace":{"%s":"%s"}}\n' "$at" "$patched" >"$work/overlay.json"

pkgs=${MLRUNS_WINE_PKGS:-"./internal/sysfs ./filestore ./tracking ./mlflow ./layout ./search ./validate ./downsample"}
status=0
for pkg in $pkgs; do
  exe="$work/$(echo "$pkg" | tr -c 'a-z0-9\n' '_').test.exe"
  GOOS=windows GOARCH=amd64 go test -overlay "$work/overlay.json" -c -o "$exe" "$pkg"
  [ -f "$exe" ] || { echo "-- $pkg: no tests"; continue; }
  echo "-- $pkg (windows/amd64 under Wine)"
  if ! (cd "$pkg" && MLRUNS_INTEROP=off timeout 1200 "$wine" "$exe" -test.short -test.count=1 -test.timeout=1100s "$@" >"$work/out.txt" 2>&1); then
    grep -E -A 12 -- '^(--- FAIL|FAIL|panic)' "$work/out.txt" | head -200
    cp "$work/out.txt" "${MLRUNS_ARTIFACTS:-/tmp}/wine-$(basename "$exe" .test.exe).txt" 2>/dev/null || true
    status=1
  fi
  tail -n 1 "$work/out.txt"
done
exit $status
