package pynum

import (
	"math"
	"strconv"
)

// AppendFloat appends Python's repr(v) (== str(v)) to dst. This is the
// text MLflow writes for metric values, so it is part of the on-disk format.
//
// Python uses the shortest round-trip digits, fixed notation when the decimal
// exponent e (v = d.ddd × 10^e) satisfies -4 <= e < 16, exponent notation
// with at least two exponent digits otherwise, and ".0" on integral fixed
// values. Go's 'g' differs (1e+06 vs 1000000.0), so we take Go's shortest
// 'e' form, which already equals Python's exponent form, and rewrite it into
// fixed notation when Python would. It does not allocate beyond growing dst.
func AppendFloat(dst []byte, v float64) []byte {
	switch {
	case v != v:
		return append(dst, "nan"...) // Python never prints -nan
	case v > math.MaxFloat64:
		return append(dst, "inf"...)
	case v < -math.MaxFloat64:
		return append(dst, "-inf"...)
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], v, 'e', -1, 64) // [-]d[.ddd]e±dd[d]
	if b[0] == '-' {
		dst = append(dst, '-')
		b = b[1:]
	}
	ei := len(b) - 4 // exponent has 2 or 3 digits
	if b[ei] != 'e' {
		ei--
	}
	exp := 0
	for _, c := range b[ei+2:] {
		exp = exp*10 + int(c-'0')
	}
	if b[ei+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return append(dst, b...)
	}
	// Digits without the dot: b[0] and b[2:ei] when there is a fraction.
	d0, rest := b[0], b[:0]
	if ei > 1 {
		rest = b[2:ei]
	}
	n := 1 + len(rest)
	switch {
	case exp < 0:
		dst = append(dst, "0.0000"[:2-exp-1]...)
		dst = append(dst, d0)
		dst = append(dst, rest...)
	case n <= exp+1:
		dst = append(dst, d0)
		dst = append(dst, rest...)
		for i := n; i < exp+1; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, ".0"...)
	default:
		dst = append(dst, d0)
		dst = append(dst, rest[:exp]...)
		dst = append(dst, '.')
		dst = append(dst, rest[exp:]...)
	}
	return dst
}

// FormatFloat returns Python's repr(v); see AppendFloat.
func FormatFloat(v float64) string {
	var buf [32]byte
	return string(AppendFloat(buf[:0], v))
}
