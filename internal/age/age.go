// Package age is mlflow gc's --older-than grammar: an age such as 1d2h3m4s
// or 1.5d, read as Python's timedelta reads it (Parse) and written back in
// the same form (Format), for the gc command and gc's messages, which
// quote it as MLflow does.
package age

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/errs"
)

// ageRE is mlflow gc's --older-than grammar (cli.py): optional days,
// hours, minutes and seconds, in that order, each a decimal number.
var ageRE = regexp.MustCompile(`^((?P<days>[.\d]+?)d)?((?P<hours>[.\d]+?)h)?((?P<minutes>[.\d]+?)m)?((?P<seconds>[.\d]+?)s)?$`)

// Parse reads an age as mlflow gc's --older-than takes it (1d2h3m4s,
// fractions allowed: 1.5d), rounded to the microsecond as Python's
// timedelta rounds it. An empty value is no age limit (0); ages beyond
// what a duration holds (292 years) are capped, which selects the same
// nothing. Errors are ErrInvalidParameter.
func Parse(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	m := ageRE.FindStringSubmatch(s)
	if m == nil {
		return 0, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("could not parse any time information from %q; examples of valid values: 8h, 2d8h5m20s, 2m4s, 1.5d", s))
	}
	unit := map[string]float64{"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
	secs := 0.0
	for i, name := range ageRE.SubexpNames() {
		if unit[name] == 0 || m[i] == "" {
			continue
		}
		v, err := strconv.ParseFloat(m[i], 64)
		if err != nil {
			return 0, errs.New(errs.ErrInvalidParameter, fmt.Sprintf("%q in %q is not a number", m[i], s))
		}
		secs += v * unit[name]
	}
	us := math.Round(secs * 1e6)
	if us >= float64(math.MaxInt64/int64(time.Microsecond)) {
		return time.Duration(math.MaxInt64).Truncate(time.Millisecond), nil
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Format writes a duration the way mlflow gc's --older-than takes it:
// 1d2h3m4s, with zero parts left out (0s for zero).
func Format(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	for _, p := range []struct {
		n    time.Duration
		unit string
	}{{days, "d"}, {h, "h"}, {m, "m"}} {
		if p.n > 0 {
			b.WriteString(strconv.FormatInt(int64(p.n), 10) + p.unit)
		}
	}
	if d > 0 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s")
	}
	return b.String()
}
