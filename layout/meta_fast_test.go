package layout

import (
	"reflect"
	"testing"
)

// metaSeeds are run meta.yaml files as MLflow versions wrote them, and
// near misses of the fast shape.
var metaSeeds = []string{
	"artifact_uri: file:///data/mlruns/1/r/artifacts\nend_time: null\nentry_point_name: ''\nexperiment_id: '1'\nlifecycle_stage: active\nrun_id: r\nrun_name: brave-owl-217\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: 1700000000000\nstatus: 1\ntags: []\nuser_id: root\n",
	"artifact_uri: file:///x\ndeleted_time: 17\nend_time: 12\nexperiment_id: '1'\nlifecycle_stage: deleted\nrun_id: r\nrun_name: 'it''s'\nstart_time: 1\nstatus: 3\nuser_id: a b\n",
	"run_uuid: r\nexperiment_id: 1\nname: ''\nstatus: 3\nstart_time: 5\n",
	"experiment_id: '1'\nrun_id: r\nrun_name: 'yes'\n",
	"experiment_id: '1'\nrun_id: r\nrun_name: yes\n",
	"experiment_id: '1'\nrun_id: r\nrun_name: 1e3\n",
	"experiment_id: '1'\nrun_id: r\nrun_name: 'a\n\n  b'\n",
	"experiment_id: '1'\nrun_id: r\nuser_id: a: b\n",
	"experiment_id: 1\nrun_id: r\nstatus: 9\n",
	"experiment_id: '1'\nrun_id: r\nlifecycle_stage: gone\n",
	"experiment_id: '1'\nrun_id: ''\nrun_uuid: u\n",
	"experiment_id: '1'\nrun_id: r\nend_time: 0x10\n",
}

// FuzzDecodeRunMetaFast: whatever the fast path accepts, the YAML decoder
// accepts too and decodes to the same info, so DecodeRunMeta is the same
// function whichever path a file takes.
func FuzzDecodeRunMetaFast(f *testing.F) {
	for _, s := range metaSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeRunMetaFast(data)
		if !ok {
			return
		}
		slow, err := decodeRunMetaYAML(data)
		if err != nil {
			t.Fatalf("fast path accepts %q, the decoder refuses it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %+v, decoder %+v", data, fast, slow)
		}
	})
}

// The fast path takes MLflow's own shape (or there would be no point).
func TestDecodeRunMetaFast_TakesMLflowShape(t *testing.T) {
	for _, s := range metaSeeds[:2] {
		_, ok := decodeRunMetaFast([]byte(s))
		if !ok {
			t.Fatalf("fast path refuses %q", s)
		}
	}
}
