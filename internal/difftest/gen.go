package difftest

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/mlruns-go/mlruns/internal/restjson"
	"github.com/mlruns-go/mlruns/validate"
)

// Generate returns a random workload of n ops drawn from seed. Most ops are
// valid; a few are not on purpose (bad keys, param changes, ops on deleted
// runs and experiments, duplicate names), so error codes get compared too.
// The generator keeps a rough model of the store only to aim its ops (which
// runs exist, which params were logged); it never predicts outcomes.
func Generate(seed uint64, n int) []Op {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), exps: 1}
	for len(g.ops) < n {
		g.step()
	}
	return g.ops[:n]
}

type genRun struct {
	exp    int
	params map[string]string
	tags   []string
}

type gen struct {
	r     *rand.Rand
	ops   []Op
	exps  int // experiment slots, including the Default experiment 0
	names []string
	runs  []genRun
	nameN int
}

func (g *gen) add(op Op) { g.ops = append(g.ops, op) }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// Key pools. Valid keys exercise unicode word characters, spaces, colons,
// dots and slashes; some valid keys are prefixes of others ("loss" and
// "loss/train"), which neither store can hold at once.
var (
	validKeys = []string{
		"loss", "acc", "loss/train", "loss/val", "eval/acc", "a b", "a:b", "a.b", "x.y.z",
		"ключ", "名前", "é", "٣", "ⅷ", " lead", "trail ", "m-1", "under_score", "UPPER",
		"deep/er/key", "sp ace/sl ash", "dots..mid", "n1/n2:n3", "mlflow.note.content",
	}
	invalidKeys = []string{
		"a//b", "/a", "a/", "../a", "./a", ".", "..", "", "a\tb", "a@b", "a$b", "bad!",
		"a/./b", "emoji😀", strings.Repeat("k", 251),
	}
	odd = []string{
		"", "plain", "multi\nline", "trailing\n", "\nleading", "ünïcødé 名前", "emoji😀🚀",
		`it's "quoted"`, "tab\there", "crlf\r\nx", "yes", "123", "null", "~", "a: b", " lead",
		"#hash", "1e3", "-", "x, y", "back\\slash", "\u2028", "nbsp\u00a0", "bom\ufeff",
	}
	expNames = []string{
		"exp", "yes", "123", "null", "a: b", " lead", "trail ", "ünïcødé 名前", "tab\there",
		"1e3", "-", "#hash", `dq"x`, "multi\nline", "emoji😀", "2024-01-01", "12:30", "on",
		strings.Repeat("x", 100) + " " + strings.Repeat("y", 30), strings.Repeat("word ", 20),
		strings.Repeat("z", 130),
	}
	specialFloats = []float64{
		0, math.Copysign(0, -1), 0.1, 1e-7, 1e-5, 1e-4, 1e15, 1e16, 1e20, 1e22, 1e6,
		123456789012345678, 0.1 + 0.2, 5e-324, math.MaxFloat64, math.SmallestNonzeroFloat64,
		2.2250738585072014e-308, math.Inf(1), math.Inf(-1), math.NaN(), 1 << 53, 1<<53 + 2,
		-1.5, 3, 1e300, -1e-300,
	}
	statuses = []string{"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}
)

func (g *gen) key() string {
	if g.chance(0.03) {
		return pick(g, invalidKeys)
	}
	k := pick(g, validKeys)
	if g.chance(0.3) {
		k += fmt.Sprint(g.r.IntN(5))
	}
	return k
}

func (g *gen) value() string {
	switch {
	case g.chance(0.5):
		return pick(g, odd)
	case g.chance(0.02):
		return strings.Repeat("v", 6000+g.r.IntN(3))
	default:
		return fmt.Sprintf("v%d %s", g.r.IntN(100), pick(g, odd))
	}
}

func (g *gen) float() Float {
	switch {
	case g.chance(0.4):
		return Bits(pick(g, specialFloats))
	case g.chance(0.3):
		return Bits(math.Float64frombits(g.r.Uint64()))
	case g.chance(0.5):
		return Bits(float64(g.r.IntN(2000000)-1000000) / 1000)
	default:
		return Bits(g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(40)-20)))
	}
}

func (g *gen) int64Of(neg bool) int64 {
	switch {
	case g.chance(0.05):
		return math.MaxInt64
	case neg && g.chance(0.05):
		return math.MinInt64
	case neg && g.chance(0.1):
		return -int64(g.r.IntN(1000))
	case g.chance(0.1):
		return int64(g.r.Uint64() >> 1)
	default:
		return int64(g.r.IntN(1000))
	}
}

func (g *gen) metric() Metric {
	m := Metric{Key: g.key(), Value: g.float(), Step: g.int64Of(true)}
	m.Timestamp = 1700000000000 + int64(g.r.IntN(100000))
	if g.chance(0.05) {
		m.Timestamp = g.int64Of(false)
	}
	if g.chance(0.01) {
		m.Timestamp = -1
	}
	if g.chance(0.1) {
		name, digest := pick(g, []string{"iris", "wine", "ds-1", "名前"}), fmt.Sprintf("%x", g.r.IntN(1<<20))
		m.DatasetName, m.DatasetDigest = &name, &digest
	}
	return m
}

func (g *gen) runRef() int {
	if len(g.runs) == 0 || g.chance(0.005) {
		return len(g.runs) + 5 // no such slot
	}
	// Favour recent runs.
	n := len(g.runs)
	if g.chance(0.7) && n > 5 {
		return n - 1 - g.r.IntN(5)
	}
	return g.r.IntN(n)
}

func (g *gen) expRef() int { return g.r.IntN(g.exps) }

func (g *gen) expName() string {
	if len(g.names) > 0 && g.chance(0.05) {
		return pick(g, g.names) // duplicate
	}
	g.nameN++
	n := pick(g, expNames)
	if g.chance(0.1) && n != "exp" {
		// used verbatim (may already exist)
	} else {
		n = fmt.Sprintf("%s %d", n, g.nameN)
	}
	g.names = append(g.names, n)
	return n
}

func (g *gen) kvs(n int, val func() string) []KV {
	var out []KV
	for i := 0; i < n; i++ {
		out = append(out, KV{Key: g.key(), Value: val()})
	}
	return out
}

var datasets = []Dataset{
	{Dataset: restjson.Dataset{Name: "iris", Digest: "abc123", SourceType: "local", Source: `{"uri": "iris.csv"}`}},
	{Dataset: restjson.Dataset{Name: "wine quality", Digest: "0123456789abcdef0123456789abcdef0123", SourceType: "s3", Source: `{"uri": "s3://b/w.csv"}`}},
	{Dataset: restjson.Dataset{Name: "名前", Digest: "d1", SourceType: "http", Source: "yes", Schema: ptr(`{"mlflow_colspec": []}`), Profile: ptr(`{"num_rows": 3}`)}},
	{Dataset: restjson.Dataset{Name: "multi\nline", Digest: "d2", SourceType: "code", Source: "a: b"}},
}

func ptr(s string) *string { return &s }

func (g *gen) modelID() string {
	if g.chance(0.3) {
		return pick(g, []string{"m-0123456789abcdef0123456789abcdef", "m-e5641962c7e5467e9a1a0c715a129ecd"})
	}
	return fmt.Sprintf("m-%016x%016x", g.r.Uint64(), g.r.Uint64())
}

func (g *gen) step() {
	// Start with an experiment and a few runs.
	if g.exps < 2 {
		g.add(Op{Op: OpCreateExperiment, Name: g.expName(), Tags: noCollisions(g.kvs(g.r.IntN(3), g.value))})
		g.exps++
		return
	}
	if len(g.runs) < 3 || g.chance(0.06) {
		g.createRun()
		return
	}
	w := g.r.IntN(100)
	switch {
	case w < 24:
		g.add(Op{Op: OpLogMetric, Run: g.runRef(), Metric: ptrM(g.metric())})
	case w < 34:
		op := Op{Op: OpLogBatch, Run: g.runRef()}
		for i, n := 0, g.r.IntN(6); i < n; i++ {
			op.Metrics = append(op.Metrics, g.metric())
		}
		op.Params = g.params(op.Run, g.r.IntN(4))
		op.Tags = g.kvs(g.r.IntN(3), g.value)
		if g.chance(0.1) {
			op.Tags = append(op.Tags, KV{Key: "mlflow.runName", Value: g.value()})
		}
		g.add(op)
	case w < 46:
		r := g.runRef()
		ps := g.params(r, 1)
		g.add(Op{Op: OpLogParam, Run: r, Key: ps[0].Key, Value: ps[0].Value})
	case w < 56:
		r := g.runRef()
		k := g.key()
		if g.chance(0.1) {
			k = "mlflow.runName"
		}
		if r < len(g.runs) {
			g.runs[r].tags = append(g.runs[r].tags, k)
		}
		g.add(Op{Op: OpSetTag, Run: r, Key: k, Value: g.value()})
	case w < 60:
		r := g.runRef()
		k := g.key()
		if r < len(g.runs) && len(g.runs[r].tags) > 0 && g.chance(0.7) {
			k = pick(g, g.runs[r].tags)
		}
		g.add(Op{Op: OpDeleteTag, Run: r, Key: k})
	case w < 65:
		op := Op{Op: OpUpdateRun, Run: g.runRef(), Status: pick(g, statuses)}
		if g.chance(0.7) {
			e := 1700000000000 + int64(g.r.IntN(100000))
			if g.chance(0.05) {
				e = 0
			}
			op.EndTime = &e
		}
		if g.chance(0.2) {
			op.RunName = ptr(pick(g, odd))
		}
		g.add(op)
	case w < 68:
		g.add(Op{Op: OpDeleteRun, Run: g.runRef()})
	case w < 71:
		g.add(Op{Op: OpRestoreRun, Run: g.runRef()})
	case w < 74:
		g.add(Op{Op: OpCreateExperiment, Name: g.expName(), Tags: noCollisions(g.kvs(g.r.IntN(3), g.value))})
		g.exps++
	case w < 76:
		g.add(Op{Op: OpRenameExperiment, Exp: g.expRef(), Name: g.expName()})
	case w < 78:
		g.add(Op{Op: OpDeleteExperiment, Exp: g.expRef()})
	case w < 80:
		g.add(Op{Op: OpRestoreExperiment, Exp: g.expRef()})
	case w < 84:
		g.add(Op{Op: OpSetExperimentTag, Exp: g.expRef(), Key: g.key(), Value: g.value()})
	case w < 86:
		g.add(Op{Op: OpDeleteExperimentTag, Exp: g.expRef(), Key: g.key()})
	case w < 94:
		op := Op{Op: OpLogInputs, Run: g.runRef()}
		for i, n := 0, g.r.IntN(3); i < n; i++ {
			d := pick(g, datasets)
			d.Tags = nil
			if g.chance(0.8) {
				d.Tags = append(d.Tags, KV{Key: "mlflow.data.context", Value: pick(g, []string{"train", "eval", "yes", "multi\nline"})})
			}
			if g.chance(0.2) {
				d.Tags = append(d.Tags, KV{Key: pick(g, odd) + "k", Value: pick(g, odd)})
			}
			op.Datasets = append(op.Datasets, d)
		}
		for i, n := 0, g.r.IntN(2); i < n; i++ {
			op.Models = append(op.Models, g.modelID())
		}
		g.add(op)
	default:
		op := Op{Op: OpLogOutputs, Run: g.runRef()}
		for i, n := 0, 1+g.r.IntN(2); i < n; i++ {
			op.Outputs = append(op.Outputs, ModelOutput{ModelID: g.modelID(), Step: g.int64Of(true)})
		}
		g.add(op)
	}
}

func ptrM(m Metric) *Metric { return &m }

// params returns n params for run r: new keys, repeats of logged values
// (allowed) and now and then a changed value (refused).
func (g *gen) params(r, n int) []KV {
	var out []KV
	for i := 0; i < n; i++ {
		kv := KV{Key: g.key(), Value: g.value()}
		if r < len(g.runs) {
			pr := g.runs[r].params
			if len(pr) > 0 && g.chance(0.3) {
				// a logged key picked by the seed: ranging over the map
				// would make the workload differ from run to run
				keys := slices.Sorted(maps.Keys(pr))
				k := keys[g.r.IntN(len(keys))]
				kv = KV{Key: k, Value: pr[k]}
				if g.chance(0.3) {
					kv.Value += " changed"
				}
			} else if _, seen := pr[kv.Key]; !seen {
				pr[kv.Key] = kv.Value
			}
		}
		out = append(out, kv)
	}
	return out
}

// collides reports whether key and a key in kvs are a file and a folder
// of one path ("a" and "a/b").
func collides(kvs []KV, key string) bool {
	for _, kv := range kvs {
		if strings.HasPrefix(key, kv.Key+"/") || strings.HasPrefix(kv.Key, key+"/") {
			return true
		}
	}
	return false
}

// noCollisions drops the keys that collide with an earlier one as paths:
// create_experiment, like create_run, writes nothing on such a key where
// Python leaves a half-made experiment (deliberate, as for bad keys).
func noCollisions(kvs []KV) []KV {
	var out []KV
	for _, kv := range kvs {
		if !collides(out, kv.Key) {
			out = append(out, kv)
		}
	}
	return out
}

func (g *gen) createRun() {
	op := Op{Op: OpCreateRun, Exp: g.expRef(), UserID: pick(g, []string{"alice", "", "yes", "emoji😀", "u 1"})}
	if g.chance(0.8) {
		st := 1700000000000 + int64(g.r.IntN(100000))
		op.StartTime = &st
	}
	switch {
	case g.chance(0.3):
		op.RunName = ptr(pick(g, odd))
	case g.chance(0.2):
		op.Tags = append(op.Tags, KV{Key: "mlflow.runName", Value: pick(g, odd)})
	case g.chance(0.05):
		op.RunName = ptr("a")
		op.Tags = append(op.Tags, KV{Key: "mlflow.runName", Value: "b"})
	}
	// Only valid tag keys here: on a bad key Python's create_run leaves a
	// half-made run behind (meta.yaml, folders, the tags before it) while we
	// validate first and write nothing (deliberate; TestStore_CreateRun_Name
	// covers the error). Bad keys are exercised through set_tag instead.
	// The same holds for two keys of one run that collide as paths ("loss"
	// and "loss/train": a file and a folder); set_tag and log_batch cover
	// those.
	for _, kv := range g.kvs(g.r.IntN(3), g.value) {
		if validate.TagName(kv.Key) == nil && !collides(op.Tags, kv.Key) {
			op.Tags = append(op.Tags, kv)
		}
	}
	if len(g.runs) > 0 && g.chance(0.3) {
		p := g.r.IntN(len(g.runs))
		op.Parent = &p
	}
	g.runs = append(g.runs, genRun{exp: op.Exp, params: map[string]string{}})
	g.add(op)
}
