package filestore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
)

// A param key that collides with another's file ("loss" logged, then
// "loss/train") fails where Python's log_batch fails: after the params
// before it are written, as Python checks and writes param by param.
func TestStore_LogBatch_ParamKeyCollision(t *testing.T) {
	s, root := newStore(t, nil)
	r := newRun(t, s, "0")
	require.NoError(t, s.LogParam(ctx, r.Info.RunID, "loss", "l1"))
	err := s.LogBatch(ctx, r.Info.RunID, nil, []entities.Param{
		{Key: "first", Value: "1"}, {Key: "loss/train", Value: "2"}, {Key: "after", Value: "3"},
	}, nil)
	require.Error(t, err)
	params := filepath.Join(root, "0", r.Info.RunID, "params")
	require.Equal(t, "1", readFile(t, filepath.Join(params, "first")))
	_, err = os.Stat(filepath.Join(params, "after"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, "l1", readFile(t, filepath.Join(params, "loss")))
}
