package fuzz_test

import (
	"path"
	"strings"
	"testing"

	"github.com/mlruns-go/mlruns/layout"
)

// FuzzCheckKey: a key CheckKey accepts, joined under a folder, names a
// file strictly inside it, and the key reads back from the path unchanged
// (the one rule every metric, param and tag path goes through).
func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{"a", "a/b", "loss/train", ".hidden", "..a", "a/", "../x", "a/../b", "/abs", "a\x00b", "a//b", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if layout.CheckKey(key) != nil {
			return
		}
		p := path.Join("/root/run/metrics", key)
		if !strings.HasPrefix(p, "/root/run/metrics/") {
			t.Fatalf("key %q leaves its folder: %q", key, p)
		}
		if got := strings.TrimPrefix(p, "/root/run/metrics/"); got != key {
			t.Fatalf("key %q reads back as %q", key, got)
		}
	})
}

// FuzzDecodeRunMeta: arbitrary bytes never panic; an accepted run meta
// re-encodes to one that decodes to the same info.
func FuzzDecodeRunMeta(f *testing.F) {
	f.Add([]byte("artifact_uri: file:///x/1/r/artifacts\nend_time: null\nentry_point_name: ''\nexperiment_id: '1'\nlifecycle_stage: active\nrun_id: r\nrun_name: n\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: 1\nstatus: 1\ntags: []\nuser_id: u\n"))
	f.Add([]byte("run_uuid: r\nexperiment_id: 1\nname: ''\nstatus: 3\nstart_time: 5\n"))
	f.Add([]byte("deleted_time: 7\nexperiment_id: '1'\nrun_id: r\nlifecycle_stage: deleted\n"))
	f.Add([]byte("- a\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := layout.DecodeRunMeta(data)
		if err != nil {
			return
		}
		again, err := layout.DecodeRunMeta(layout.EncodeRunMeta(info))
		if err != nil {
			t.Fatalf("re-encoded meta of %q: %v", data, err)
		}
		if again.RunID != info.RunID || again.ExperimentID != info.ExperimentID || again.RunName != info.RunName ||
			again.UserID != info.UserID || again.Status != info.Status || again.StartTime != info.StartTime ||
			again.ArtifactURI != info.ArtifactURI || again.LifecycleStage != info.LifecycleStage ||
			!samePtr(again.EndTime, info.EndTime) || !samePtr(again.DeletedTime, info.DeletedTime) {
			t.Fatalf("%q: %+v then %+v", data, info, again)
		}
	})
}

// FuzzDecodeExperimentMeta: never panics; accepted metas round-trip.
func FuzzDecodeExperimentMeta(f *testing.F) {
	f.Add([]byte("artifact_location: file:///x/0\ncreation_time: 1\nexperiment_id: '0'\nlast_update_time: 1\nlifecycle_stage: active\nname: Default\n"))
	f.Add([]byte("artifact_location: ./mlruns/1\nexperiment_id: 1\nlifecycle_stage: active\nname: 'yes'\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := layout.DecodeExperimentMeta(data)
		if err != nil {
			return
		}
		again, err := layout.DecodeExperimentMeta(layout.EncodeExperimentMeta(e, false))
		if err != nil {
			t.Fatalf("re-encoded meta of %q: %v", data, err)
		}
		if again.ExperimentID != e.ExperimentID || again.Name != e.Name || again.ArtifactLocation != e.ArtifactLocation ||
			again.LifecycleStage != e.LifecycleStage || !samePtr(again.CreationTime, e.CreationTime) ||
			!samePtr(again.LastUpdateTime, e.LastUpdateTime) {
			t.Fatalf("%q: %+v then %+v", data, e, again)
		}
	})
}

func samePtr(a, b *int64) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
