package pynum

// Digit runs in metric lines (13-digit timestamps, 16-17 digit mantissas)
// are converted eight bytes at a time ("SWAR": SIMD within a register, as
// in simdjson and fast_float), instead of one multiply-add per byte.

// nonDigits returns a word whose bytes have their high bit set where v's
// byte (first byte lowest) is not an ASCII digit, possibly also in bytes
// after the first such one (a carry moves up from it), so its lowest set
// byte is exactly the first non-digit; zero means eight digits.
func nonDigits(v uint64) uint64 {
	x := v ^ 0x3030303030303030 // digits become 0..9
	return (x + 0x7676767676767676 | x) & 0x8080808080808080
}

// eightDigits returns the value of eight ASCII digits loaded as v (first
// byte lowest): pairs, then quads, then the two quads combined, in three
// multiplies.
func eightDigits(v uint64) uint64 {
	v -= 0x3030303030303030
	v = v*10 + v>>8 // each byte pair: 10*d[i] + d[i+1] in the low byte
	v = ((v&0x000000FF000000FF)*(100+1000000<<32) + (v>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32
	return v & 0xFFFFFFFF
}
