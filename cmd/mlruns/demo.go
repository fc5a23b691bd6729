package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/store"
	"github.com/mlruns-go/mlruns/sysmetrics"
	"github.com/mlruns-go/mlruns/tracking"
)

const demoExperiment = "mlruns-demo"

// cmdDemo logs a simulated training job: a parent run with params, a
// dataset input, a per-epoch loss/accuracy curve, and one child run per
// cross-validation fold, as a Go training program would.
func init() {
	register(command{name: "demo", order: 90, run: cmdDemo,
		summary: "log a realistic training run with a nested CV sweep into the store"})
}

func cmdDemo(e *env, args []string) error {
	ctx, stdout := e.ctx, e.stdout
	fs := newFlagSet(e, "demo", "demo [--epochs N] [--folds K] [--seed S] [--epoch-time D] [--system-metrics=false]")
	epochs := fs.Int("epochs", 30, "training epochs to simulate")
	folds := fs.Int("folds", 5, "cross-validation folds (child runs)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed of the simulation")
	epochTime := fs.Duration("epoch-time", 0, "how long each simulated epoch works the CPU (system metrics get a sample per MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL, 10s by default)")
	sysMetrics := fs.Bool("system-metrics", true, "log the machine's system metrics (system/...) and the Go runtime's to the parent run, as MLflow's log_system_metrics")
	_, err := fs.parseArgs(args, 0)
	if err != nil {
		return err
	}
	if *epochs < 1 || *folds < 0 || *epochTime < 0 {
		return usageError{"--epochs must be >= 1, --folds >= 0 and --epoch-time >= 0"}
	}
	store, err := e.open() // a folder, or a tracking server
	if err != nil {
		return err
	}
	expID, err := experimentID(ctx, store, demoExperiment)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(*seed, 7))
	tags := sourceTags()
	parent, err := store.CreateRun(ctx, filestore.CreateRunOptions{
		ExperimentID: expID, UserID: currentUser(), StartTime: nowMillis(),
		// its own stream of the seed, so the simulation's values stay those
		// of earlier versions for a given seed
		RunName: filestore.RandomRunNameFrom(rand.New(rand.NewPCG(*seed, 8))),
		Tags: append(tags, entities.RunTag{Key: entities.TagNoteContent,
			Value: "Simulated training run logged by `mlruns demo`."}),
	})
	if err != nil {
		return err
	}
	runID := parent.Info.RunID
	// The client's asynchronous writer carries the system metrics, one
	// batch per window; SetTerminated stops the monitor and writes its last
	// window, Close stops it on an error path.
	client := tracking.NewClient(store, nil)
	defer client.Close(context.Background())
	if *sysMetrics {
		if err := client.StartSystemMetrics(ctx, runID, &tracking.SystemMetricsOptions{GoRuntime: true}); err != nil {
			return err
		}
	}
	params := []entities.Param{
		{Key: "model", Value: "mlp"}, {Key: "optimizer", Value: "adam"},
		{Key: "learning_rate", Value: "0.001"}, {Key: "batch_size", Value: "64"},
		{Key: "epochs", Value: strconv.Itoa(*epochs)}, {Key: "hidden_layers", Value: "[128, 64]"},
		{Key: "cv_folds", Value: strconv.Itoa(*folds)},
	}
	if err := store.LogBatch(ctx, runID, nil, params, []entities.RunTag{{Key: "stage", Value: "experiment"}}); err != nil {
		return err
	}
	ds := entities.DatasetInput{
		Dataset: entities.Dataset{Name: "synthetic-digits", Digest: "d41d8cd9", SourceType: "local",
			Source: `{"uri": "data/digits.csv"}`},
		Tags: []entities.InputTag{{Key: entities.TagDatasetContext, Value: "train"}},
	}
	if err := store.LogInputs(ctx, runID, []entities.DatasetInput{ds}, nil); err != nil {
		return err
	}
	var trainLoss, valLoss, valAcc float64
	for epoch := 0; epoch < *epochs; epoch++ {
		busyFor(*epochTime)
		trainLoss, valLoss, valAcc = simulateEpoch(rng, epoch)
		ts := nowMillis()
		err := store.LogBatch(ctx, runID, []entities.Metric{
			{Key: "train/loss", Value: trainLoss, Timestamp: ts, Step: int64(epoch)},
			{Key: "val/loss", Value: valLoss, Timestamp: ts, Step: int64(epoch)},
			{Key: "val/accuracy", Value: valAcc, Timestamp: ts, Step: int64(epoch)},
		}, nil, nil)
		if err != nil {
			return err
		}
	}
	var foldScores []float64
	for k := 0; k < *folds; k++ {
		child, err := store.CreateRun(ctx, filestore.CreateRunOptions{
			ExperimentID: expID, UserID: currentUser(), StartTime: nowMillis(),
			RunName: fmt.Sprintf("fold-%d", k),
			Tags:    append(sourceTags(), entities.RunTag{Key: entities.TagParentRunID, Value: runID}),
		})
		if err != nil {
			return err
		}
		score := valAcc + 0.02*rng.NormFloat64()
		foldScores = append(foldScores, score)
		err = store.LogBatch(ctx, child.Info.RunID,
			[]entities.Metric{{Key: "val/accuracy", Value: score, Timestamp: nowMillis()}},
			[]entities.Param{{Key: "fold", Value: strconv.Itoa(k)}}, nil)
		if err != nil {
			return err
		}
		if err := finish(ctx, store, child.Info.RunID); err != nil {
			return err
		}
	}
	if len(foldScores) > 0 {
		mean, std := meanStd(foldScores)
		err := store.LogBatch(ctx, runID, []entities.Metric{
			{Key: "cv/accuracy_mean", Value: mean, Timestamp: nowMillis()},
			{Key: "cv/accuracy_std", Value: std, Timestamp: nowMillis()},
		}, nil, nil)
		if err != nil {
			return err
		}
	}
	if err := client.SetTerminated(ctx, runID, entities.StatusFinished); err != nil {
		return err
	}
	run, err := store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	system := 0
	for k := range run.Data.Metrics {
		if strings.HasPrefix(k, sysmetrics.Prefix) {
			system++
		}
	}
	fmt.Fprintf(stdout, "Logged run %q (%s) to experiment %q (%s)\n", run.Info.RunName, runID, demoExperiment, expID)
	fmt.Fprintf(stdout, "  store:    %s\n", e.location())
	fmt.Fprintf(stdout, "  params:   %d   metrics: %d   system metrics: %d   child runs: %d\n",
		len(run.Data.Params), len(run.Data.Metrics)-system, system, *folds)
	for _, k := range []string{"train/loss", "val/loss", "val/accuracy", "cv/accuracy_mean"} {
		if m, ok := run.Data.Metrics[k]; ok {
			fmt.Fprintf(stdout, "  %-17s %.4f (step %d)\n", k, m.Value, m.Step)
		}
	}
	if e.server != "" {
		fmt.Fprintf(stdout, "\nOpen it in the server's UI:\n  %s/#/experiments/%s/runs/%s\n", strings.TrimRight(e.server, "/"), expID, runID)
		return nil
	}
	abs, err := filepath.Abs(e.root)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nOpen it with MLflow's UI:\n  MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri %s\n", filestore.FileURI(abs))
	return nil
}

func experimentID(ctx context.Context, s store.Store, name string) (string, error) {
	exp, err := s.GetExperimentByName(ctx, name)
	if err == nil {
		if exp.LifecycleStage == entities.StageDeleted {
			if err := s.RestoreExperiment(ctx, exp.ExperimentID); err != nil {
				return "", err
			}
		}
		return exp.ExperimentID, nil
	}
	if !errors.Is(err, errs.ErrNotFound) {
		return "", err
	}
	return s.CreateExperiment(ctx, name, "", []entities.ExperimentTag{
		{Key: entities.TagNoteContent, Value: "Runs logged by the mlruns demo."},
	})
}

func finish(ctx context.Context, s store.Store, runID string) error {
	end := nowMillis()
	_, err := s.UpdateRunInfo(ctx, runID, entities.StatusFinished, &end, "")
	return err
}

// simulateEpoch returns a plausible train loss, validation loss and
// validation accuracy for an epoch: exponential decay plus noise, with
// validation loss flattening out (mild over-fitting).
func simulateEpoch(rng *rand.Rand, epoch int) (trainLoss, valLoss, valAcc float64) {
	e := float64(epoch)
	trainLoss = 2.3*math.Exp(-e/6) + 0.05 + 0.02*rng.NormFloat64()
	valLoss = 2.3*math.Exp(-e/7) + 0.12 + 0.0015*e + 0.03*rng.NormFloat64()
	valAcc = 0.97 - 0.85*math.Exp(-e/5) + 0.01*rng.NormFloat64()
	return math.Max(trainLoss, 0.001), math.Max(valLoss, 0.001), math.Min(valAcc, 1)
}

func meanStd(xs []float64) (float64, float64) {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sq / float64(len(xs)))
}

// busyFor keeps a CPU busy for d, as an epoch of training would.
func busyFor(d time.Duration) {
	x := 1.0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10000; i++ {
			x = math.Sqrt(x + float64(i))
		}
	}
	_ = x
}

func nowMillis() int64 { return time.Now().UnixMilli() }

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// sourceTags are the context tags MLflow's fluent start_run sets.
func sourceTags() []entities.RunTag {
	src, _ := os.Executable()
	if len(os.Args) > 0 {
		src = filepath.Base(os.Args[0])
	}
	return []entities.RunTag{
		{Key: entities.TagUser, Value: currentUser()},
		{Key: entities.TagSourceName, Value: src},
		{Key: entities.TagSourceType, Value: "LOCAL"},
	}
}
