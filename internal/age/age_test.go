package age_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/age"
)

func TestFormat(t *testing.T) {
	cases := map[time.Duration]string{
		0:                             "0s",
		time.Second:                   "1s",
		90 * time.Minute:              "1h30m",
		26*time.Hour + 3*time.Minute:  "1d2h3m",
		1500 * time.Millisecond:       "1.5s",
		30*24*time.Hour + time.Second: "30d1s",
	}
	for d, want := range cases {
		require.Equal(t, want, age.Format(d), d.String())
	}
}

func TestParse(t *testing.T) {
	cases := map[string]time.Duration{
		"":           0,
		"8h":         8 * time.Hour,
		"2d8h5m20s":  2*24*time.Hour + 8*time.Hour + 5*time.Minute + 20*time.Second,
		"1.5d":       36 * time.Hour,
		"0.0000015s": 2 * time.Microsecond, // rounded to the microsecond, as timedelta
	}
	for s, want := range cases {
		got, err := age.Parse(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
	}
	for _, bad := range []string{"1x", "1h1d", "d", "-1d"} {
		_, err := age.Parse(bad)
		require.ErrorIs(t, err, errs.ErrInvalidParameter, bad)
	}
}
