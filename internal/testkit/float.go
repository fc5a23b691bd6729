package testkit

import (
	"math"
	"testing"
)

// SameFloat fails t unless got is want bit for bit (so -0.0 is not 0.0,
// and two infinities must have one sign), any NaN matching any NaN: what
// "the same value" means for a metric that went through a file and back.
func SameFloat(t testing.TB, want, got float64, msgAndArgs ...any) {
	t.Helper()
	if math.IsNaN(want) && math.IsNaN(got) {
		return
	}
	if math.Float64bits(want) != math.Float64bits(got) {
		if len(msgAndArgs) > 0 {
			if f, ok := msgAndArgs[0].(string); ok {
				t.Fatalf("want %v (%#x), got %v (%#x): "+f, append([]any{want, math.Float64bits(want), got, math.Float64bits(got)}, msgAndArgs[1:]...)...)
			}
		}
		t.Fatalf("want %v (%#x), got %v (%#x)", want, math.Float64bits(want), got, math.Float64bits(got))
	}
}
