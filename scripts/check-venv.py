"""Checks that a venv holds exactly the packages of a lock file.

Run with the venv's python: check-venv.py LOCK. Every requirement of LOCK
whose environment marker holds here must be installed at its version, and
nothing else may be (pip and setuptools, the venv's own tools, aside).
Exits 1 with the differences, so drift is an error, not a surprise in a
golden file.
"""

import importlib.metadata
import re
import sys

from packaging.markers import Marker
from packaging.utils import canonicalize_name

TOOLS = {"pip", "setuptools", "wheel"}


def wanted(lock_path):
    want = {}
    for line in open(lock_path, encoding="utf-8"):
        if not line.strip() or line[0] in " #\t":
            continue  # comments and the hash lines of a requirement
        spec = line.rstrip().rstrip("\\").strip()
        req, _, marker = spec.partition(";")
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", req.strip())
        if m is None:
            sys.exit(f"check-venv: {lock_path}: not an exact pin: {spec!r}")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        want[canonicalize_name(m.group(1))] = m.group(2)
    return want


def installed():
    have = {}
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name not in TOOLS:
            have[name] = dist.version
    return have


def main():
    want, have = wanted(sys.argv[1]), installed()
    problems = []
    for name in sorted(want.keys() | have.keys()):
        w, h = want.get(name), have.get(name)
        if w == h:
            continue
        if h is None:
            problems.append(f"missing  {name}=={w}")
        elif w is None:
            problems.append(f"extra    {name}=={h} (not in the lock)")
        else:
            problems.append(f"version  {name}: {h} installed, {w} locked")
    if problems:
        print(f"check-venv: {sys.prefix} does not match {sys.argv[1]}:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)
    print(f"venv matches the lock: {len(want)} packages")


main()
