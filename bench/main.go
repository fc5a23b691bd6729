package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table and one element of the -json list. Rates are
// per point (per run searched for S6, per process for S7); a nil field is a
// column that does not apply (null in JSON).
type row struct {
	Scenario       string   `json:"scenario"`
	Ours           *float64 `json:"ours_per_s"`
	Python         *float64 `json:"python_per_s"`
	Floor          *float64 `json:"floor_per_s"`
	OursOverPython *float64 `json:"ours_over_python"`
	OursOverFloor  *float64 `json:"ours_over_floor"`
	PeakRSSMB      *float64 `json:"peak_rss_mb"`
	Seconds        *float64 `json:"ours_seconds,omitempty"` // wall time of our best measurement, in the rows timing one whole job (Y1, Y2)
	CPU            *cpuRow  `json:"cpu_us_per_point,omitempty"`
	Note           string   `json:"note"`
}

// cpuRow is the CPU time per point of a server scenario's best
// measurements, in µs: the client's (this process for ours and the floor,
// the Python child for Python) and the server's process group's. Nil
// where not measured (no Python column, or not Linux for the server).
type cpuRow struct {
	OursClient   *float64 `json:"ours_client"`
	OursServer   *float64 `json:"ours_server"`
	PythonClient *float64 `json:"python_client"`
	PythonServer *float64 `json:"python_server"`
	FloorClient  *float64 `json:"floor_client"`
	FloorServer  *float64 `json:"floor_server"`
}

// sizes are the workload sizes of one invocation.
type sizes struct {
	rounds                 int // interleaved rounds; each column keeps its best
	s1Go, s1Py             int // points
	s2Go, s2Py             int // batches of 1,000
	s3Go, s3Py             int // points
	s4Go, s4Py             int // points per goroutine (thread)
	s5                     int // lines
	s6                     int // runs
	s7                     int // process starts per side
	s8                     int // points
	s4Procs, s4Goroutines  int
	s6Metrics, s6Params    int
	batchSize, floorBuffer int
	srv                    serverSizes
	sync                   syncShape
}

// serverSizes are the sizes of the server scenarios R1-R3: the server takes
// a few thousand points/s and Python's log_metric 50-100 calls/s, so they
// are far smaller than the file store's.
type serverSizes struct {
	syncGo, syncPy   int // R1 points, one call each (and the floor's requests)
	asyncGo, asyncPy int // R2 points
	batchGo, batchPy int // R3 (and R2b's Python) batches of 1,000
	floorBatches     int // R2's floor: LogBatch bodies per concurrency, and at least as many points as ours
	workers          int // the server's --workers
}

func newSizes(scale float64, quick bool) sizes {
	rounds, s7 := 2, 5
	if quick {
		scale *= 0.05
		rounds, s7 = 1, 2
	}
	n := func(x float64) int { return max(1, int(x*scale)) }
	return sizes{
		rounds: rounds,
		s1Go:   n(20_000), s1Py: n(2_000),
		s2Go: n(300), s2Py: n(5),
		s3Go: n(1_000_000), s3Py: n(5_000),
		s4Go: n(2_000), s4Py: n(100),
		s5:      n(1_000_000),
		s6:      n(5_000),
		s7:      s7,
		s8:      n(10_000_000),
		s4Procs: 4, s4Goroutines: 4,
		s6Metrics: 20, s6Params: 20,
		batchSize: 1000, floorBuffer: 64 << 10,
		srv: serverSizes{
			syncGo: n(300), syncPy: n(200),
			asyncGo: n(50_000), asyncPy: n(300),
			batchGo: n(30), batchPy: n(20),
			floorBatches: n(30),
			workers:      4,
		},
		// 20 runs x 20 keys x 5,000 steps at scale 1; the runs and steps
		// shrink with the scale (at least 4 runs, for the Python pool),
		// the keys and the per-run content stay.
		sync: syncShape{
			runs: max(4, n(20)), keys: 20, steps: n(5_000),
			params: 10, tags: 5, files: 3, fileSize: 4 << 10,
			pyRuns: 4, pyThreads: 4, metricsPer: 1000, paramsPer: 100,
		},
	}
}

func main() {
	var (
		scale    = flag.Float64("scale", 1, "multiply every workload size by `x`")
		quick    = flag.Bool("quick", false, "small sizes and one round: under a minute")
		jsonOut  = flag.String("json", "", "write the rows as a JSON list to `file`")
		python   = flag.String("python", "", "Python interpreter with mlflow 3.18 (default: the project venv, else python3 on PATH)")
		noPython = flag.Bool("no-python", false, "skip the Python columns")
		starts   = flag.Int("coldstarts", 0, "process starts per side in S7 (default 5, -quick 2)")
		rounds   = flag.Int("rounds", 0, "interleaved rounds; each column keeps its best (default 2, -quick 1)")
		server   = flag.Bool("server", false, "run only the server scenarios R1-R3 and Y1-Y2 (against mlflow server; Y1-Y2 run only with -server or -sync)")
		syncOnly = flag.Bool("sync", false, "run only the sync scenarios Y1-Y2 (mlsync.Push into mlflow server)")
		noServer = flag.Bool("no-server", false, "skip the server scenarios R1-R3 and Y1-Y2")
		async    = flag.Int("server-async", 0, "points our side logs asynchronously in R2 (default 50,000 x -scale; the issue's measurement: 1000000, which makes the floor replay as many points at each concurrency)")
		workers  = flag.Int("server-workers", 4, "the mlflow server's --workers")
		child    = flag.String("child", "", "internal: run as a child process of the driver")
	)
	flag.Parse()
	if *child != "" {
		if err := runChild(*child, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	if *scale <= 0 {
		fmt.Fprintln(os.Stderr, "bench: -scale must be positive")
		os.Exit(2)
	}
	if (*server || *syncOnly) && *noServer {
		fmt.Fprintln(os.Stderr, "bench: -server and -sync exclude -no-server")
		os.Exit(2)
	}
	if *workers < 1 {
		fmt.Fprintln(os.Stderr, "bench: -server-workers must be at least 1")
		os.Exit(2)
	}
	sz := newSizes(*scale, *quick)
	if *starts > 0 {
		sz.s7 = *starts
	}
	if *rounds > 0 {
		sz.rounds = *rounds
	}
	if *async > 0 {
		sz.srv.asyncGo = *async
	}
	sz.srv.workers = *workers
	sec := sections{files: !*server && !*syncOnly, server: !*noServer && !*syncOnly, sync: *server || *syncOnly}
	d, err := newDriver(sz, *python, *noPython, sec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer d.close()
	t0 := time.Now()
	rows, err := d.runAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		d.close()
		os.Exit(1)
	}
	printTable(os.Stdout, rows)
	fmt.Printf("\n(%s; total %v)\n", d.describe(), time.Since(t0).Round(time.Second))
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			d.close()
			os.Exit(1)
		}
	}
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tours/s\tPython/s\tfloor/s\tours/Python\tours/floor\tpeak RSS\t")
	for _, r := range rows {
		rss := "-"
		if r.PeakRSSMB != nil {
			rss = fmt.Sprintf("%.1f MB", *r.PeakRSSMB)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Scenario, rate(r.Ours), rate(r.Python), rate(r.Floor), ratio(r.OursOverPython), ratio(r.OursOverFloor), rss)
	}
	tw.Flush()
	printCPU(w, rows)
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", strings.SplitN(r.Scenario, " ", 2)[0], r.Note)
		}
	}
}

// printCPU prints the CPU per point of the rows that measured it.
func printCPU(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, r := range rows {
		if r.CPU == nil {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nCPU per point, µs (client: this process or the Python child; server: its process group)")
			fmt.Fprintln(tw, "scenario\tours client\tours server\tPython client\tPython server\tfloor client\tfloor server\t")
			header = true
		}
		c := r.CPU
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", strings.SplitN(r.Scenario, " ", 2)[0],
			micros(c.OursClient), micros(c.OursServer), micros(c.PythonClient), micros(c.PythonServer), micros(c.FloorClient), micros(c.FloorServer))
	}
	tw.Flush()
}

func micros(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*p, 'f', min(1, max(0, 2-int(math.Log10(max(*p, 1))))), 64)
}

func rate(p *float64) string {
	if p == nil {
		return "-"
	}
	v := *p
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(p *float64) string {
	if p == nil {
		return "-"
	}
	if *p >= 10 {
		return fmt.Sprintf("%.0fx", *p)
	}
	return fmt.Sprintf("%.2fx", *p)
}
