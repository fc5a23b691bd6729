package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/mlruns-go/mlruns/entities"
	"github.com/mlruns-go/mlruns/filestore"
	"github.com/mlruns-go/mlruns/tracking"
)

// The child modes: the driver re-runs itself as the processes of the
// multi-process and cold-start scenarios.

// runChild is the -child side: S4's contending processes (ours and the
// floor), S8's RSS process and S7's fallback cold start.
func runChild(mode string, args []string) error {
	ready := func() {
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	emit := func(r result) error {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	atoi := func(i int) int {
		if i >= len(args) {
			return 0
		}
		n, _ := strconv.Atoi(args[i])
		return n
	}
	pid := os.Getpid()
	switch mode {
	case "contention", "floor-contention": // ROOT RUN_ID G N | PATH G N
		var s *filestore.Store
		var id, path string
		g, n := atoi(2), atoi(3)
		if mode == "contention" {
			var err error
			if s, err = filestore.Open(args[0], nil); err != nil {
				return err
			}
			id = args[1]
		} else {
			path, g, n = args[0], atoi(1), atoi(2)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
		}
		ready()
		var wg sync.WaitGroup
		errc := make(chan error, g)
		r, _ := timed(g*n, func() error {
			for k := range g {
				wg.Go(func() {
					step := int64(pid*100 + k)
					var buf []byte
					for i := range n {
						var err error
						if s != nil {
							err = s.LogMetric(context.Background(), id, entities.Metric{Key: "loss", Value: 0.5, Timestamp: ts0 + int64(i), Step: step})
						} else {
							buf = appendLine(buf[:0], i)
							err = appendUnderLock(path, buf)
						}
						if err != nil {
							errc <- err
							return
						}
					}
				})
			}
			wg.Wait()
			return nil
		})
		close(errc)
		if err := <-errc; err != nil {
			return err
		}
		return emit(r)
	case "rss": // ROOT M
		r, err := asyncLog(args[0], atoi(1))
		if err != nil {
			return err
		}
		r.RSSKB = vmHWM()
		return emit(r)
	case "coldstart": // ROOT
		c, err := tracking.Open(args[0], nil)
		if err != nil {
			return err
		}
		ctx := context.Background()
		run, err := c.CreateRun(ctx, "0", tracking.CreateRunOptions{})
		if err != nil {
			return err
		}
		id := run.Info.RunID
		if err := c.LogMetric(ctx, id, "loss", 0.5); err != nil {
			return err
		}
		return c.SetTerminated(ctx, id, entities.StatusFinished)
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

// vmHWM is this process's peak resident set from /proc/self/status, in KiB
// (0 when unavailable).
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
