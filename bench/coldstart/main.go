// Command coldstart is the Go side of the driver's S7: one whole process
// that starts a run in the store at os.Args[1], logs one metric and ends
// the run. The driver builds it once and times each start.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mlruns-go/mlruns/mlflow"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(root string) (err error) {
	ctx := context.Background()
	mlflow.SetTrackingURI(root)
	r, err := mlflow.StartRun(ctx)
	if err != nil {
		return err
	}
	defer r.End(&err)
	err = mlflow.LogMetric(ctx, "loss", 0.5)
	return err
}
