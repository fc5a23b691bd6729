package dataset_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mlruns-go/mlruns/dataset"
	"github.com/mlruns-go/mlruns/mlflow"
)

// Log a table of records the run trained on: the record is the one Python's
// mlflow.data.from_pandas would make of the same DataFrame.
func ExampleTable() {
	dir, err := os.MkdirTemp("", "dataset-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	mlflow.SetTrackingURI(filepath.Join(dir, "mlruns"))
	ctx := context.Background()

	src, err := dataset.URI("s3://my-bucket/iris/train.parquet")
	if err != nil {
		log.Fatal(err)
	}
	ds, err := dataset.Table(src, []dataset.Column{
		dataset.Float64s("sepal_length", []float64{5.1, 4.9, 6.3}),
		dataset.Strings("species", []string{"setosa", "setosa", "virginica"}),
		dataset.Int64s("label", []int64{0, 0, 2}),
	}, dataset.Name("iris-train"), dataset.Targets("label"))
	if err != nil {
		log.Fatal(err)
	}
	err = mlflow.WithRun(ctx, func(*mlflow.Run) error {
		return mlflow.LogInput(ctx, ds, "training", nil)
	})
	if err != nil {
		log.Fatal(err)
	}

	run, _, err := mlflow.LastActiveRun(ctx)
	if err != nil {
		log.Fatal(err)
	}
	in := run.Inputs.DatasetInputs[0]
	fmt.Println(in.Dataset.Name, in.Dataset.Digest, in.Dataset.SourceType, in.Dataset.Source)
	fmt.Println(*in.Dataset.Profile)
	fmt.Println(in.Tags[0].Key, in.Tags[0].Value)
	// Output:
	// iris-train 92b94846 s3 {"uri": "s3://my-bucket/iris/train.parquet"}
	// {"num_rows": 3, "num_elements": 9}
	// mlflow.data.context training
}

// Describe a file on a web server that the program does not read, as
// Python's MetaDataset does.
func ExampleMeta() {
	src, err := dataset.HTTP("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz")
	if err != nil {
		log.Fatal(err)
	}
	ds, err := dataset.Meta(src, dataset.Schema(
		dataset.ColSpec{Name: "text", Type: dataset.String},
		dataset.ColSpec{Name: "label", Type: dataset.Long},
	))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ds.Name, ds.Digest, ds.SourceType)
	fmt.Println(*ds.Schema)
	// Output:
	// dataset 3ec7a7e8 http
	// {"mlflow_colspec": [{"type": "string", "name": "text", "required": true}, {"type": "long", "name": "label", "required": true}]}
}
