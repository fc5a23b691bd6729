package pynum

import (
	"math"
	"math/big"
	"math/bits"
	"sync"
)

// Metric values MLflow writes are Python reprs: shortest round-trip
// decimals of up to 17 significant digits, which the exact fast path of
// ParseFloatFast (15 digits) misses for most real values (1/3, a loss). For
// those, Lemire's algorithm ("Number Parsing at a Gigabyte per Second",
// 2021; the Eisel-Lemire variant Go's strconv also uses) turns the already
// parsed mantissa and exponent into the correctly rounded float64 with one
// or two 64x64->128-bit products, instead of handing the text back to
// strconv to parse a second time. When the product is too close to a
// rounding boundary to decide, it reports !ok and the caller falls back.

const (
	lemireMinExp10 = -348
	lemireMaxExp10 = 347
)

var (
	pow10TableOnce sync.Once
	// pow10Table[e-lemireMinExp10] is 10^e as a 128-bit mantissa {hi, lo}
	// with its top bit set, rounded down: the approximation the algorithm
	// is proven for.
	pow10Table [lemireMaxExp10 - lemireMinExp10 + 1][2]uint64
)

// buildPow10Table computes the table with math/big once (under 10 ms),
// rather than carrying 11 KB of constants in the source.
func buildPow10Table() {
	ten := big.NewInt(10)
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(1))
	set := func(e int, m *big.Int) { // m has exactly 128 bits
		lo := new(big.Int).And(m, mask)
		hi := new(big.Int).Rsh(m, 64)
		pow10Table[e-lemireMinExp10] = [2]uint64{hi.Uint64(), lo.Uint64()}
	}
	for e := lemireMinExp10; e <= lemireMaxExp10; e++ {
		var m *big.Int
		if e >= 0 {
			p := new(big.Int).Exp(ten, big.NewInt(int64(e)), nil)
			if n := p.BitLen(); n > 128 {
				m = p.Rsh(p, uint(n-128))
			} else {
				m = p.Lsh(p, uint(128-n))
			}
		} else {
			// floor(2^k / 10^-e) with k chosen so the quotient has 128 bits
			p := new(big.Int).Exp(ten, big.NewInt(int64(-e)), nil)
			k := p.BitLen() + 127
			q := new(big.Int).Lsh(big.NewInt(1), uint(k))
			q.Quo(q, p)
			if q.BitLen() == 129 {
				q.Rsh(q, 1)
			}
			m = q
		}
		set(e, m)
	}
}

// lemire returns the float64 nearest to mant * 10^exp10 (ties to even), or
// ok=false when it cannot decide cheaply (the caller uses strconv).
func lemire(mant uint64, exp10 int, neg bool) (f float64, ok bool) {
	if mant == 0 {
		if neg {
			return math.Copysign(0, -1), true
		}
		return 0, true
	}
	if exp10 < lemireMinExp10 || exp10 > lemireMaxExp10 {
		return 0, false
	}
	pow10TableOnce.Do(buildPow10Table)
	pw := pow10Table[exp10-lemireMinExp10]

	lz := bits.LeadingZeros64(mant)
	mant <<= uint(lz)
	// binary exponent estimate: floor(exp10 * log2(10)) via 217706/2^16
	e2 := uint64(217706*exp10>>16+64+1023) - uint64(lz)

	hi, lo := bits.Mul64(mant, pw[0])
	if hi&0x1ff == 0x1ff && lo+mant < mant {
		// the low bits may carry: refine with the next 64 bits of 10^e
		hi2, lo2 := bits.Mul64(mant, pw[1])
		mhi, mlo := hi, lo+hi2
		if mlo < lo {
			mhi++
		}
		if mhi&0x1ff == 0x1ff && mlo+1 == 0 && lo2+mant < mant {
			return 0, false
		}
		hi, lo = mhi, mlo
	}
	top := hi >> 63
	m := hi >> (top + 9) // 54 bits
	e2 -= 1 ^ top
	if lo == 0 && hi&0x1ff == 0 && m&3 == 1 {
		return 0, false // exactly half-way: let strconv decide
	}
	m += m & 1 // round to 53 bits
	m >>= 1
	if m>>53 > 0 {
		m >>= 1
		e2++
	}
	if e2-1 >= 0x7ff-1 {
		return 0, false // subnormal or overflow
	}
	b := e2<<52 | m&(1<<52-1)
	if neg {
		b |= 1 << 63
	}
	return math.Float64frombits(b), true
}
