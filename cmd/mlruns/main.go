// Command mlruns works with MLflow file stores (mlruns folders) without
// Python.
//
//	mlruns [--root DIR] demo [--epochs N] [--folds K]
//
// demo logs a realistic training run (params, a loss curve, a dataset
// input, tags) with a nested cross-validation sweep of child runs, then
// prints what it wrote and how to open it with `mlflow ui`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a command-line mistake: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: mlruns [--root DIR] <command> [flags]

commands:
  demo    log a realistic training run with a nested CV sweep into the store

--root defaults to MLFLOW_TRACKING_URI when it is a file: URI or a path,
else ./mlruns.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mlruns: %s\n\n%s", ue.msg, usage)
		return 2
	default:
		msg := strings.TrimPrefix(err.Error(), "mlruns: ")
		fmt.Fprintf(stderr, "mlruns: %s (%s)\n", msg, errs.Code(err))
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	global := flag.NewFlagSet("mlruns", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	root := global.String("root", defaultRoot(), "mlruns folder or file: URI")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return err
		}
		return usageError{err.Error()}
	}
	rest := global.Args()
	if len(rest) == 0 {
		return usageError{"no command given"}
	}
	switch rest[0] {
	case "demo":
		return cmdDemo(ctx, *root, rest[1:], stdout)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", rest[0])}
}

// defaultRoot is MLFLOW_TRACKING_URI when it names a local store, else
// ./mlruns.
func defaultRoot() string {
	uri := os.Getenv("MLFLOW_TRACKING_URI")
	if uri == "" {
		return "mlruns"
	}
	if p, err := filestore.LocalPath(uri); err == nil {
		return p
	}
	return "mlruns"
}
