package dataset

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// The hashing of pandas.util.hash_pandas_object (pandas/core/util/hashing.py
// and pandas/_libs/hashing.pyx, pandas 3.1), which compute_pandas_digest
// feeds to MD5. These constants are part of the digests MLflow records.

// pandasHashKey is pandas' _default_hash_key, the SipHash key of strings.
const pandasHashKey = "0123456789123456"

// mix is the final step of _hash_ndarray, which spreads every value's 64
// bits (splitmix64's finaliser).
func mix(v uint64) uint64 {
	v ^= v >> 30
	v *= 0xBF58476D1CE4E5B9
	v ^= v >> 27
	v *= 0x94D049BB133111EB
	v ^= v >> 31
	return v
}

// hashFloat64 is _hash_ndarray of one float64: its bits, with every NaN as
// numpy's NaN and -0.0 as 0.0 (pandas 3's canonical forms, GH#28363).
func hashFloat64(f float64) uint64 {
	u := math.Float64bits(f)
	switch {
	case f != f:
		u = 0x7ff8000000000000
	case f == 0:
		u = 0
	}
	return mix(u)
}

// hashInt64 is _hash_ndarray of one int64: its bits.
func hashInt64(i int64) uint64 { return mix(uint64(i)) }

// hashString is _hash_ndarray of one str: SipHash-2-4 of its UTF-8 bytes
// under pandasHashKey (hash_object_array), then mix. Through factorize and
// Categorical, as pandas goes, each value still gets the hash of its own
// text.
func hashString(s string) uint64 { return mix(sipHash24(pandasHashKey, s)) }

// sipHash24 is SipHash-2-4 with a 16-byte key and a 64-bit result, as
// pandas' hashing.pyx computes it.
func sipHash24(key, msg string) uint64 {
	k0 := binary.LittleEndian.Uint64([]byte(key[:8]))
	k1 := binary.LittleEndian.Uint64([]byte(key[8:16]))
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(msg)
	for len(msg) >= 8 {
		m := binary.LittleEndian.Uint64([]byte(msg[:8]))
		v3 ^= m
		round()
		round()
		v0 ^= m
		msg = msg[8:]
	}
	var last [8]byte
	copy(last[:], msg)
	last[7] = byte(n)
	m := binary.LittleEndian.Uint64(last[:])
	v3 ^= m
	round()
	round()
	v0 ^= m
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// combiner is combine_hash_arrays for one row: CPython's tuple hash over
// the row's column hashes (and the index hash last).
type combiner struct {
	out, mult uint64
	items, i  int
}

func newCombiner(items int) combiner { return combiner{out: 0x345678, mult: 1000003, items: items} }

func (c *combiner) add(h uint64) {
	c.out ^= h
	c.out *= c.mult
	c.mult += uint64(82520 + 2*(c.items-c.i))
	c.i++
}

func (c *combiner) sum() uint64 { return c.out + 97531 }
