package pynum

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"
)

// randomWord is eight bytes, mostly digits, sometimes any byte.
func randomWord(rng *rand.Rand) []byte {
	b := make([]byte, 8)
	for i := range b {
		if rng.IntN(6) == 0 {
			b[i] = byte(rng.IntN(256))
		} else {
			b[i] = byte('0' + rng.IntN(10))
		}
	}
	return b
}

// nonDigits finds the first non-digit byte exactly, and eightDigits
// converts eight digits, against a byte-by-byte loop and strconv.
func TestNonDigitsAndEightDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(b []byte) {
		t.Helper()
		v := binary.LittleEndian.Uint64(b)
		first := 8
		for i, c := range b {
			if c < '0' || c > '9' {
				first = i
				break
			}
		}
		stop := nonDigits(v)
		got := 8
		if stop != 0 {
			got = 0
			for stop&0x80 == 0 {
				stop >>= 8
				got++
			}
		}
		if got != first {
			t.Fatalf("nonDigits(%q): first non-digit at %d, want %d", b, got, first)
		}
		if first == 8 {
			want, _ := strconv.ParseUint(string(b), 10, 64)
			if eightDigits(v) != want {
				t.Fatalf("eightDigits(%q) = %d, want %d", b, eightDigits(v), want)
			}
		}
	}
	for _, s := range []string{"00000000", "99999999", "12345678", "87654321", "10000000", "00000001",
		"1234567/", "1234567:", "/2345678", ":2345678", "1234 678", "1234.678", "1234e678", "\x00\x00\x00\x00\x00\x00\x00\x00",
		"1234567\xb9", "1234567\xff", "\xff9999999", "\x8a9999999", "9\xc6999999", "\xba\xff\xff\xff\xff\xff\xff\xff"} {
		check([]byte(s))
	}
	for range 300_000 {
		check(randomWord(rng))
	}
}

// digitRun against a byte-by-byte parse on digit runs of every length and
// position relative to the eight-byte steps and the end of the buffer.
func TestDigitRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200_000 {
		var b []byte
		for range rng.IntN(4) {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		start := len(b)
		for range rng.IntN(22) {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		if rng.IntN(2) == 0 {
			b = append(b, randomWord(rng)[:rng.IntN(9)]...)
		}
		var wantM uint64 = uint64(rng.IntN(100))
		m := wantM
		end := start
		for end < len(b) && b[end] >= '0' && b[end] <= '9' {
			wantM = wantM*10 + uint64(b[end]-'0')
			end++
		}
		gotEnd, n := digitRun(b, start, &m)
		if gotEnd != end || n != end-start || m != wantM {
			t.Fatalf("digitRun(%q, %d) = %d, %d, mant %d; want %d, %d, %d", b, start, gotEnd, n, m, end, end-start, wantM)
		}
	}
}
