package difftest

import (
	"regexp"
	"strconv"
	"strings"
)

// Experiment ids in the positions a server dump holds them: the line's
// subject, a run's experiment_id, and the experiment segment of a proxied
// artifact URI (mlflow-artifacts:/<exp> and mlflow-artifacts:/<exp>/<run>/
// artifacts, as a server with --artifacts-destination gives them).
var (
	serverExpLine  = regexp.MustCompile(`^exp ([0-9]+) `)
	serverRunExp   = regexp.MustCompile(`^(run \S+ experiment_id=)([0-9]+)$`)
	serverArtifact = regexp.MustCompile(`"mlflow-artifacts:/([0-9]+)(/|")`)
)

// NormaliseServerDump makes driver.py's dump of a tracking server (an
// http root) comparable with another server's: run ids become RUN<n> and
// experiment ids EXP<n> by slot (res is the result of the workload that
// filled the server), then clock readings and generated names are replaced
// as NormaliseDumpTimes does. A server numbers experiments 1, 2, ..., so
// experiment ids are replaced only where the dump holds one, never as
// substrings of other text; ids no slot holds (an object one side created
// without saying so) are kept and show up as a difference.
func NormaliseServerDump(lines []string, res Result) []string {
	var repl []string
	for n, id := range res.Runs {
		if id != "" {
			repl = append(repl, id, "RUN"+strconv.Itoa(n))
		}
	}
	runs := strings.NewReplacer(repl...)
	exps := map[string]string{}
	for n, id := range res.Experiments {
		if n > 0 && id != "" {
			exps[id] = "EXP" + strconv.Itoa(n)
		}
	}
	exp := func(id string) string {
		if v, ok := exps[id]; ok {
			return v
		}
		return id
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		l = runs.Replace(l)
		if m := serverExpLine.FindStringSubmatch(l); m != nil {
			l = "exp " + exp(m[1]) + " " + l[len(m[0]):]
		}
		if m := serverRunExp.FindStringSubmatch(l); m != nil {
			l = m[1] + exp(m[2])
		}
		l = serverArtifact.ReplaceAllStringFunc(l, func(s string) string {
			m := serverArtifact.FindStringSubmatch(s)
			return `"mlflow-artifacts:/` + exp(m[1]) + m[2]
		})
		out[i] = l
	}
	return NormaliseDumpTimes(out, res)
}
