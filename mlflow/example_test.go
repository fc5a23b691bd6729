package mlflow_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/mlflow"
)

// The examples are Go twins of the code examples of MLflow's tracking
// docs; mlflow/testdata/examples.py holds the Python originals, and
// TestInterop_Examples checks both write the same tree. Each starts with
// useTempStore, a fresh store standing in for a new process.

// Log a param and a metric to a run, ended by a deferred End: the Go form
// of `with mlflow.start_run(): ...`.
func Example() {
	defer useTempStore()()
	ctx := context.Background()

	err := func() (err error) {
		run, err := mlflow.StartRun(ctx)
		if err != nil {
			return err
		}
		defer run.End(&err) // FINISHED, or FAILED if this function fails or panics
		if err := mlflow.LogParam(ctx, "learning_rate", 0.01); err != nil {
			return err
		}
		err = mlflow.LogMetric(ctx, "accuracy", 0.95)
		return err
	}()
	if err != nil {
		log.Fatal(err)
	}

	run, _, _ := mlflow.LastActiveRun(ctx)
	fmt.Println(run.Info.Status, run.Data.Params["learning_rate"], run.Data.Metrics["accuracy"].Value)
	// Output: FINISHED 0.01 0.95
}

// Log a metric at each step of a training loop.
func ExampleLogMetric_steps() {
	defer useTempStore()()
	ctx := context.Background()

	err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		for epoch := int64(0); epoch < 3; epoch++ {
			if err := mlflow.LogMetric(ctx, "loss", 1/float64(epoch+1), mlflow.Step(epoch)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	run, _, _ := mlflow.LastActiveRun(ctx)
	client, _ := mlflow.Client()
	history, _ := client.GetMetricHistory(ctx, run.Info.RunID, "loss")
	for _, m := range history {
		fmt.Println(m.Step, m.Value)
	}
	// Output:
	// 0 1
	// 1 0.5
	// 2 0.3333333333333333
}

// Log several params and metrics at once (one batch write).
func ExampleLogMetrics() {
	defer useTempStore()()
	ctx := context.Background()

	err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		if err := mlflow.LogParams(ctx, map[string]any{"alpha": 0.5, "l1_ratio": 0.1, "max_iter": 100}); err != nil {
			return err
		}
		err := mlflow.LogMetrics(ctx, map[string]float64{"rmse": 0.79, "r2": 0.11, "mae": 0.63})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	run, _, _ := mlflow.LastActiveRun(ctx)
	fmt.Println(run.Data.Params)
	fmt.Println(len(run.Data.Metrics), run.Data.Metrics["rmse"].Value)
	// Output:
	// map[alpha:0.5 l1_ratio:0.1 max_iter:100]
	// 3 0.79
}

// Log 1000 points asynchronously: each call returns at once, the
// background writer batches them, and ending the run writes them all.
func ExampleLogMetricAsync() {
	defer useTempStore()()
	ctx := context.Background()

	err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		for step := int64(0); step < 1000; step++ {
			// Err is the refusal of an invalid call, seen at once; the
			// write's own result comes when the run ends.
			if err := mlflow.LogMetricAsync(ctx, "loss", 1/float64(step+1), mlflow.Step(step)).Err(); err != nil {
				return err
			}
		}
		return nil // ending the run flushes its queued points
	})
	if err != nil {
		log.Fatal(err)
	}

	run, _, _ := mlflow.LastActiveRun(ctx)
	client, _ := mlflow.Client()
	history, _ := client.GetMetricHistory(ctx, run.Info.RunID, "loss")
	fmt.Println(len(history), history[999].Step, run.Data.Metrics["loss"].Value)
	// Output: 1000 999 0.001
}

// Record step and timestamp explicitly, independently of each other.
func ExampleTimestamp() {
	defer useTempStore()()
	ctx := context.Background()

	err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		err := mlflow.LogMetric(ctx, "accuracy", 0.91, mlflow.Step(-5), mlflow.Timestamp(1700000000000))
		if err != nil {
			return err
		}
		err = mlflow.LogMetric(ctx, "accuracy", 0.93, mlflow.Step(1<<40), mlflow.Timestamp(1700000001000))
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	run, _, _ := mlflow.LastActiveRun(ctx)
	m := run.Data.Metrics["accuracy"]
	fmt.Println(m.Step, m.Timestamp, m.Value)
	// Output: 1099511627776 1700000001000 0.93
}

// Choose the experiment with MLFLOW_EXPERIMENT_NAME, as a launcher would;
// it is created when missing.
func ExampleSetExperiment_envVar() {
	defer useTempStore()()
	ctx := context.Background()
	os.Setenv("MLFLOW_EXPERIMENT_NAME", "fraud-detection")
	defer os.Unsetenv("MLFLOW_EXPERIMENT_NAME")

	err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		err := mlflow.LogMetric(ctx, "auc", 0.87)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	run, _, _ := mlflow.LastActiveRun(ctx)
	exp, _ := mlflow.GetExperiment(ctx, run.Info.ExperimentID)
	fmt.Println(exp.Name)
	// Output: fraud-detection
}

// A parameter sweep: one parent run, a nested child run per value.
func ExampleNested() {
	defer useTempStore()()
	ctx := context.Background()
	if _, err := mlflow.SetExperiment(ctx, "sweep"); err != nil {
		log.Fatal(err)
	}

	err := mlflow.WithRun(ctx, func(parent *mlflow.Run) error {
		for _, lr := range []float64{0.1, 0.01, 0.001} {
			err := mlflow.WithRun(ctx, func(child *mlflow.Run) error {
				if err := mlflow.LogParam(ctx, "lr", lr); err != nil {
					return err
				}
				err := mlflow.LogMetric(ctx, "score", 1-lr)
				return err
			}, mlflow.RunName(fmt.Sprintf("lr=%v", lr)), mlflow.Nested())
			if err != nil {
				return err
			}
		}
		return nil
	}, mlflow.RunName("sweep"))
	if err != nil {
		log.Fatal(err)
	}

	client, _ := mlflow.Client()
	exp, _ := mlflow.GetExperimentByName(ctx, "sweep")
	runs, _, _ := client.ListRuns(ctx, exp.ExperimentID, entities.ViewActiveOnly)
	for _, r := range runs {
		if p, ok, _ := mlflow.GetParentRun(ctx, r.Info.RunID); ok {
			fmt.Println(r.Info.RunName, "child of", p.Info.RunName)
		}
	}
	// Unordered output:
	// lr=0.1 child of sweep
	// lr=0.01 child of sweep
	// lr=0.001 child of sweep
}

// Several runs one after another in one program.
func ExampleStartRun_sequential() {
	defer useTempStore()()
	ctx := context.Background()

	for i := 0; i < 3; i++ {
		err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
			err := mlflow.LogParam(ctx, "run_index", i)
			return err
		}, mlflow.RunName(fmt.Sprintf("run-%d", i)))
		if err != nil {
			log.Fatal(err)
		}
	}

	run, _, _ := mlflow.LastActiveRun(ctx)
	fmt.Println(run.Info.RunName, run.Data.Params["run_index"], mlflow.ActiveRun() == nil)
	// Output: run-2 2 true
}

// Parallel child runs from goroutines: the parent is shared, each
// goroutine owns a detached child and logs through its handle.
func ExampleRun_StartChild() {
	defer useTempStore()()
	ctx := context.Background()

	err := mlflow.WithRun(ctx, func(parent *mlflow.Run) error {
		var wg sync.WaitGroup
		errc := make(chan error, 4)
		for worker := 0; worker < 4; worker++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				child, err := parent.StartChild(ctx, mlflow.RunName(fmt.Sprintf("worker-%d", worker)))
				if err != nil {
					errc <- err
					return
				}
				defer child.End(&err)
				if err = child.LogParam(ctx, "worker", worker); err != nil {
					errc <- err
					return
				}
				for step := int64(0); step < 10; step++ {
					if err = child.LogMetric(ctx, "loss", float64(worker)+1/float64(step+1), mlflow.Step(step)); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		return <-errc
	}, mlflow.RunName("parallel"))
	if err != nil {
		log.Fatal(err)
	}

	client, _ := mlflow.Client()
	runs, _, _ := client.ListRuns(ctx, "0", entities.ViewActiveOnly)
	children := 0
	for _, r := range runs {
		if r.Data.Tags["mlflow.parentRunId"] != "" && r.Info.Status == entities.StatusFinished {
			children++
		}
	}
	fmt.Println(len(runs), "runs,", children, "finished children")
	// Output: 5 runs, 4 finished children
}

// Tag a run, then delete one tag.
func ExampleSetTags() {
	defer useTempStore()()
	ctx := context.Background()

	err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		if err := mlflow.SetTag(ctx, "release.version", "2.2.0"); err != nil {
			return err
		}
		if err := mlflow.SetTags(ctx, map[string]any{"engineering": "ML Platform", "release.candidate": "RC1", "scratch": true}); err != nil {
			return err
		}
		return mlflow.DeleteTag(ctx, "scratch")
	}, mlflow.Description("tags example"))
	if err != nil {
		log.Fatal(err)
	}

	run, _, _ := mlflow.LastActiveRun(ctx)
	t := run.Data.Tags
	fmt.Println(t["release.version"], t["engineering"], t["release.candidate"], t["mlflow.note.content"])
	_, hasScratch := t["scratch"]
	fmt.Println(hasScratch, t["mlflow.source.type"])
	// Output:
	// 2.2.0 ML Platform RC1 tags example
	// false LOCAL
}

// Read back the run a helper logged, with LastActiveRun.
func ExampleLastActiveRun() {
	defer useTempStore()()
	ctx := context.Background()

	// a helper that starts and ends its own run, like an autologged fit()
	train := func() error {
		err := mlflow.LogMetric(ctx, "training_score", 0.98) // starts a run
		if err != nil {
			return err
		}
		return mlflow.EndRun(ctx)
	}
	if err := train(); err != nil {
		log.Fatal(err)
	}

	run, _, err := mlflow.LastActiveRun(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Data.Metrics["training_score"].Value, run.Info.Status)
	// Output: 0.98 FINISHED
}

// Log a model's metrics while training it, then finalize it READY; record
// a model served elsewhere with CreateExternalModel. Python's
// search_logged_models and get_logged_model read both as their own.
func ExampleInitializeLoggedModel() {
	defer useTempStore()()
	ctx := context.Background()

	err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		model, err := mlflow.InitializeLoggedModel(ctx, mlflow.LoggedModelOptions{
			Name: "classifier", ModelType: "sklearn", Params: map[string]string{"depth": "3"},
		})
		if err != nil {
			return err
		}
		for step := int64(0); step < 3; step++ {
			if err := mlflow.LogMetric(ctx, "accuracy", 0.8+float64(step)/10, mlflow.Step(step), mlflow.ModelID(model.ModelID)); err != nil {
				return err
			}
		}
		if err := mlflow.SetLoggedModelTags(ctx, model.ModelID, map[string]any{"stage": "candidate"}); err != nil {
			return err
		}
		if _, err := mlflow.FinalizeLoggedModel(ctx, model.ModelID, entities.LoggedModelReady); err != nil {
			return err
		}
		_, err = mlflow.CreateExternalModel(ctx, mlflow.LoggedModelOptions{Name: "served-elsewhere"})
		return err
	}, mlflow.RunName("train"))
	if err != nil {
		log.Fatal(err)
	}

	models, err := mlflow.SearchLoggedModels(ctx, mlflow.SearchLoggedModelsOptions{
		Filter: "metrics.accuracy > 0.9", OrderBy: []entities.LoggedModelOrderBy{{FieldName: "name"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range models {
		fmt.Println(m.Name, m.Status, m.Params["depth"], m.Tags["stage"])
	}
	// Output: classifier READY 3 candidate
}

// Write text straight into a run's artifacts, as Python's log_text.
func ExampleLogText() {
	defer useTempStore()()
	ctx := context.Background()

	err := mlflow.WithRun(ctx, func(r *mlflow.Run) error {
		if err := mlflow.LogText(ctx, "epoch 1: loss 0.5\nepoch 2: loss 0.25\n", "notes/training.txt"); err != nil {
			return err
		}
		if err := mlflow.LogText(ctx, "ünïcode ✓", "summary.md"); err != nil {
			return err
		}
		return mlflow.LogText(ctx, "replaced", "summary.md") // an artifact file is replaced
	})
	if err != nil {
		log.Fatal(err)
	}
	run, _, _ := mlflow.LastActiveRun(ctx)
	client, _ := mlflow.Client()
	dir, _ := client.ArtifactDir(ctx, run.Info.RunID)
	data, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	fmt.Println(string(data))
	// Output: replaced
}
