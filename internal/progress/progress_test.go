package progress

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNew_QuietInPipes(t *testing.T) {
	var b bytes.Buffer
	bar := New(&b, 10, "gc")
	bar.Add(5)
	bar.Describe("x")
	bar.Finish()
	require.Empty(t, b.String(), "a bar on a non-terminal writes nothing")
}

func TestNewForce_Draws(t *testing.T) {
	var b bytes.Buffer
	bar := NewForce(&b, 4, "export")
	for range 4 {
		bar.Add(1)
	}
	bar.Finish()
	require.Contains(t, b.String(), "export")
	require.Contains(t, b.String(), "/4)")
}
