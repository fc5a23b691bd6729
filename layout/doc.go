// Package layout owns the mlruns tree: where every file lives (the path
// grammar) and the bytes inside each kind of file (meta.yaml, metric lines,
// param and tag files). It never touches the filesystem: builders return
// paths relative to the root, codecs work on bytes. The filestore package
// does the I/O.
//
// The tree, as Python MLflow 3.18 writes it:
//
//	<root>/
//	├── .trash/<experiment_id>/…        deleted experiments, moved whole
//	├── 0/meta.yaml                     the Default experiment
//	└── <experiment_id>/
//	    ├── meta.yaml
//	    ├── tags/<key>                  experiment tags ('/' in a key = sub-folders)
//	    ├── datasets/<md5(name+digest)>/meta.yaml
//	    ├── models/<model_id>/{meta.yaml,metrics/,params/,tags/}
//	    ├── traces/…                    (not written by us)
//	    └── <run_id>/
//	        ├── meta.yaml
//	        ├── metrics/<key>           one line per value: "<ts> <value> <step>[ <ds name> <ds digest>]"
//	        ├── params/<key>            raw value, no newline added
//	        ├── tags/<key>              raw value, no newline added
//	        ├── artifacts/…
//	        ├── inputs/<md5>/meta.yaml
//	        └── outputs/<model_id>/meta.yaml
//
// Every name and every byte layout here is part of the on-disk format that
// Python MLflow reads; changing one breaks compatibility. The format is
// described in docs/format.md: §2 the tree, §4 the YAML emitter, §5 and §6
// experiment and run meta.yaml, §7 metric lines and Python float text, §8
// params and tags, §13 inputs, outputs and logged models.
package layout
