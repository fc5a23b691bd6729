package layout_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: the
// package starts goroutines (parallel readers, background writers) that
// must all end when their work or their caller does.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
