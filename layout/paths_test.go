package layout_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/layout"
)

func TestCheckKey(t *testing.T) {
	for _, ok := range []string{"a", "a/b", "a.b", ".hidden", "..a", "a b", "ключ"} {
		require.NoError(t, layout.CheckKey(ok), ok)
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a", "a\x00b"} {
		require.ErrorIs(t, layout.CheckKey(bad), errs.ErrInvalidPath, bad)
	}
}
