package search_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/interoptest"
	"github.com/mlruns-go/mlruns/search"
)

// A clause that ends after its comparator gets MLflow's message word for
// word: the tokens sqlparse could not make a comparison of, quoted for
// runs and bare for experiments.
func TestParseFilter_MissingValue_MessagesLikePython(t *testing.T) {
	runs := []string{"metrics.x >", "params.p =", "tags.t LIKE", "metrics.x > ", "metrics.`a b` <=", "attributes.status !=",
		"params.a = 'x' and metrics.m >="}
	exps := []string{"name =", "tags.t ILIKE", "creation_time >"}
	in, err := json.Marshal(map[string][]string{"runs": runs, "exps": exps})
	require.NoError(t, err)
	out := interoptest.RunCode(t, `
import json, sys, warnings
warnings.filterwarnings("ignore")
from mlflow.utils.search_utils import SearchUtils, SearchExperimentsUtils
cases = json.load(sys.stdin)
def msg(parse, f):
    try:
        parse(f)
        return ""
    except Exception as e:
        return getattr(e, "message", str(e))
print(json.dumps({"runs": [msg(SearchUtils.parse_search_filter, f) for f in cases["runs"]],
                  "exps": [msg(SearchExperimentsUtils.parse_search_filter, f) for f in cases["exps"]]}))
`, in)
	var want map[string][]string
	require.NoError(t, json.Unmarshal(out, &want))
	check := func(f string, err error, py string) {
		t.Helper()
		var se *search.Error
		require.True(t, errors.As(err, &se), "%q: %v", f, err)
		require.Equal(t, py, se.Msg, "filter %q", f)
	}
	for i, f := range runs {
		_, err := search.ParseRunFilter(f)
		check(f, err, want["runs"][i])
	}
	for i, f := range exps {
		_, err := search.ParseExperimentFilter(f)
		check(f, err, want["exps"][i])
	}
}
