package restjson

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Float round-trips through JSON for every kind of value the CLI prints.
func TestFloat_RoundTrip(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, 0.1, 1e22, 5e-324, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1)} {
		b, err := json.Marshal(Float(v))
		require.NoError(t, err)
		var back Float
		require.NoError(t, json.Unmarshal(b, &back), string(b))
		if math.IsNaN(v) {
			require.True(t, math.IsNaN(float64(back)))
			continue
		}
		require.Equal(t, math.Float64bits(v), math.Float64bits(float64(back)), string(b))
	}
	var f Float
	require.Error(t, json.Unmarshal([]byte(`"nan"`), &f))
	require.Error(t, json.Unmarshal([]byte(`true`), &f))
}
