package filestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
)

// Log a run the way a training loop would, then read it back.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mlruns-example")
	defer os.RemoveAll(dir)

	store, err := filestore.Open(filepath.Join(dir, "mlruns"), nil)
	if err != nil {
		log.Fatal(err)
	}
	expID, err := store.CreateExperiment(ctx, "mnist", "", nil)
	if err != nil {
		log.Fatal(err)
	}
	run, err := store.CreateRun(ctx, filestore.CreateRunOptions{
		ExperimentID: expID, UserID: "alice", RunName: "baseline",
	})
	if err != nil {
		log.Fatal(err)
	}
	id := run.Info.RunID
	if err := store.LogParam(ctx, id, "learning_rate", "0.01"); err != nil {
		log.Fatal(err)
	}
	for step := int64(0); step < 3; step++ {
		loss := 1.0 / float64(step+1)
		if err := store.LogMetric(ctx, id, entities.Metric{Key: "loss", Value: loss, Timestamp: 1700000000000 + step, Step: step}); err != nil {
			log.Fatal(err)
		}
	}
	end := int64(1700000009000)
	if _, err := store.UpdateRunInfo(ctx, id, entities.StatusFinished, &end, ""); err != nil {
		log.Fatal(err)
	}

	got, err := store.GetRun(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Info.RunName, got.Info.Status, got.Data.Params["learning_rate"], got.Data.Metrics["loss"].Value)
	line, _ := os.ReadFile(filepath.Join(dir, "mlruns", expID, id, "metrics", "loss"))
	fmt.Print(string(line))
	// Output:
	// baseline FINISHED 0.01 0.3333333333333333
	// 1700000000000 1.0 0
	// 1700000000001 0.5 1
	// 1700000000002 0.3333333333333333 2
}

// A param is logged once; another value for its key is refused.
func ExampleStore_LogParam() {
	dir, _ := os.MkdirTemp("", "mlruns-example")
	defer os.RemoveAll(dir)
	store, _ := filestore.Open(filepath.Join(dir, "mlruns"), nil)
	run, _ := store.CreateRun(context.Background(), filestore.CreateRunOptions{UserID: "alice"})
	fmt.Println(store.LogParam(ctx, run.Info.RunID, "optimizer", "adam"))
	err := store.LogParam(ctx, run.Info.RunID, "optimizer", "sgd")
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// true
}
