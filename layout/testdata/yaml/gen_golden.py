"""Expected meta.yaml bytes for layout.EncodeYAML, produced by real PyYAML.

Run by the Go tests with the project's MLflow venv interpreter:

    go test ./layout -run TestEncodeYAML_Golden -update

Reads on stdin the JSON request the Go test builds from its tables:
    {"strings": [str, ...], "documents": [{"name": str, "python": expr}, ...]}
and writes to stdout the golden JSON (layout/testdata/yaml/golden.json).
Each string is dumped in four placements (keep in sync with
yamlPlacements in layout/yaml_emit_test.go); each document is a Python
expression evaluated here, because JSON cannot carry float('nan') or tell
1 from 1.0. Dumping goes through the exact call of MLflow's
mlflow/utils/yaml_utils.py write_yaml.
"""
import importlib.util
import json
import math
import os
import sys

import yaml

# Importing mlflow takes many seconds, so check its write_yaml's source
# instead: if these lines change, the call below must change too.
_src = open(
    os.path.join(importlib.util.find_spec("mlflow").submodule_search_locations[0], "utils", "yaml_utils.py"),
    encoding="utf-8",
).read()
for _needle in ("from yaml import CSafeDumper as YamlSafeDumper", "default_flow_style=False",
                "allow_unicode=True", "Dumper=YamlSafeDumper"):
    if _needle not in _src:
        sys.exit("mlflow/utils/yaml_utils.py changed (%r missing); revisit the golden call" % _needle)
if not yaml.__with_libyaml__:
    sys.exit("PyYAML lacks libyaml: MLflow would fall back to the pure-Python emitter")


def dump(data):
    """mlflow.utils.yaml_utils.write_yaml's call (sort_keys defaults to True)."""
    return yaml.dump(
        data,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=True,
        Dumper=yaml.CSafeDumper,
    )


PLACEMENTS = {
    "value": lambda s: {"name": s},
    "nested_value": lambda s: {"tags": {"key": s}},
    "nested_key": lambda s: {"tags": {s: "v"}},
    "seq_item": lambda s: {"tags": [s]},
}

req = json.load(sys.stdin)
out = {
    "generator": "PyYAML %s, libyaml %s, CSafeDumper" % (yaml.__version__, yaml._yaml.get_version_string()),
    "strings": [
        dict(input=s, **{p: dump(f(s)) for p, f in PLACEMENTS.items()}) for s in req["strings"]
    ],
    "documents": [
        {"name": d["name"], "python": d["python"], "yaml": dump(eval(d["python"], {"math": math}))}
        for d in req["documents"]
    ],
}
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
