package tracking_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/tracking"
)

// Many goroutines queue points while others flush and close the writer:
// every Operation completes, and every point is in the file exactly once.
func TestClient_LogBatchAsync_FlushCloseRaces(t *testing.T) {
	c, _, runID := newClient(t, &tracking.Options{AsyncQueueSize: 8, AsyncWindow: time.Millisecond})
	ctx := context.Background()
	const writers, points = 6, 400
	var wg sync.WaitGroup
	ops := make([][]*tracking.Operation, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range points {
				op := c.LogBatchAsync(ctx, runID, []entities.Metric{{Key: fmt.Sprintf("k%d", w), Value: float64(i), Timestamp: 1, Step: int64(i)}}, nil, nil)
				if err := op.Err(); err != nil {
					t.Error(err)
					return
				}
				ops[w] = append(ops[w], op)
			}
		}()
	}
	stop := make(chan struct{})
	var flushers sync.WaitGroup
	flushers.Add(1)
	go func() {
		defer flushers.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%3 == 0 {
				require.NoError(t, c.Close(ctx))
			} else {
				require.NoError(t, c.Flush(ctx))
			}
		}
	}()
	wg.Wait()
	close(stop)
	flushers.Wait()
	require.NoError(t, c.Flush(ctx))
	for w := range writers {
		require.Len(t, ops[w], points)
		for _, op := range ops[w] {
			select {
			case <-op.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("an operation never completed")
			}
			require.NoError(t, op.Wait())
		}
		hist, err := c.GetMetricHistory(ctx, runID, fmt.Sprintf("k%d", w))
		require.NoError(t, err)
		require.Len(t, hist, points)
		for i, m := range hist {
			require.Equal(t, int64(i), m.Step, "call order per goroutine")
		}
	}
}
