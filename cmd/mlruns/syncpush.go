package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/internal/cliout"
	"github.com/mlruns-go/mlruns/mlsync"
	"github.com/mlruns-go/mlruns/store"
)

// pushFlags are sync push's flags for how it pushes: --jobs, --follow
// and --interval, and the progress line on a terminal.
type pushFlags struct {
	jobs     *int
	follow   *bool
	interval *time.Duration
	rounds   int  // with --follow: rounds made
	stopped  bool // with --follow: stopped by an interrupt
}

func newPushFlags(fs *flagSet) *pushFlags {
	return &pushFlags{
		jobs: fs.Int("jobs", mlsync.DefaultJobs, "push this many runs at once (a child still waits for its parent)"),
		follow: fs.Bool("follow", false, "keep pushing live runs as they grow, every --interval, until every selected run is finished and pushed; "+
			"a round that cannot reach the server is tried again; Ctrl-C stops after the round under way, twice stops at once"),
		interval: fs.Duration("interval", mlsync.DefaultFollowInterval, "with --follow, the wait between rounds"),
	}
}

func (pf *pushFlags) check(dry bool) error {
	switch {
	case *pf.jobs < 1:
		return usageError{fmt.Sprintf("sync push: --jobs must be at least 1, not %d", *pf.jobs)}
	case *pf.interval <= 0:
		return usageError{fmt.Sprintf("sync push: --interval must be a positive duration (such as 10s), not %s", *pf.interval)}
	case *pf.follow && dry:
		return usageError{"sync push: --follow and --dry-run cannot be used together (a dry run sends nothing to follow)"}
	}
	return nil
}

// push is one push, or with --follow rounds until the runs are finished
// and pushed, drawing the progress line on a terminal.
func (pf *pushFlags) push(e *env, src, dst store.Store, o mlsync.Options, asJSON bool) (*mlsync.Report, error) {
	line := newSyncProgress(e.stderr, asJSON)
	if line != nil {
		o.Progress = line.update
		defer line.clear()
	}
	if !*pf.follow {
		return mlsync.Push(e.ctx, src, dst, o)
	}
	// The first Ctrl-C lets the round under way finish, the second cuts it
	// (the journal is saved either way).
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stop := make(chan struct{})
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	go func() {
		select {
		case <-sig:
			close(stop)
		case <-ctx.Done():
			return
		}
		select {
		case <-sig:
			cancel()
		case <-ctx.Done():
		}
	}()
	rep, err := mlsync.Follow(ctx, src, dst, o, mlsync.FollowOptions{Interval: *pf.interval, Stop: stop,
		Round: func(n int, rep *mlsync.Report, err error) {
			pf.rounds = n
			if line != nil {
				line.clear()
			}
			pf.printRound(e, n, rep, err, asJSON)
		}})
	select {
	case <-stop:
		pf.stopped = true
	default:
	}
	return rep, err
}

// printRound prints a round that sent something, failed something, or
// could not reach the server.
func (pf *pushFlags) printRound(e *env, n int, rep *mlsync.Report, err error, asJSON bool) {
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			fmt.Fprintf(e.stderr, "mlruns: sync: round %d: %s; trying again in %s\n", n, strings.TrimPrefix(errorMessage(err), "sync: "), *pf.interval)
		}
		return
	}
	if rep.Requests == 0 && rep.Complete() {
		return
	}
	if asJSON {
		_ = cliout.WriteJSON(e.stdout, rep)
		return
	}
	quiet := *e // the failures on stderr, as printSyncReport prints them
	quiet.stdout = io.Discard
	_ = printSyncReport(&quiet, rep, false)
	fmt.Fprintf(e.stdout, "round %d, %s, %d live run(s): %s\n", n, time.Now().Format("15:04:05"), rep.Live, rep.Summary())
}

// printReport prints the report at the end: with --follow, what the
// rounds did was printed already and the end is one line.
func (pf *pushFlags) printReport(e *env, rep *mlsync.Report, asJSON bool) error {
	if !*pf.follow {
		return printSyncReport(e, rep, asJSON)
	}
	if asJSON {
		return nil
	}
	var err error
	switch {
	case pf.stopped:
		_, err = fmt.Fprintf(e.stdout, "stopped after %d round(s); what was sent is in the journal: run it again to go on\n", pf.rounds)
	case rep.Complete() && rep.Live == 0:
		_, err = fmt.Fprintf(e.stdout, "followed %d round(s): every selected run is finished and on %s\n", pf.rounds, rep.Target)
	}
	return err
}

// pushError is the error a push or follow ended with: an interrupt of
// --follow is exit 130, as a shell reports one.
func (pf *pushFlags) pushError(err error) error {
	if *pf.follow && errors.Is(err, context.Canceled) {
		return exitError{code: 130, msg: fmt.Sprintf("sync: interrupted in round %d; what was sent is in the journal: run it again to go on", pf.rounds)}
	}
	return err
}

// syncProgress draws a push's progress on one line of a terminal, redrawn
// in place (\r) at most every progressEvery, and cleared before anything
// else is printed.
type syncProgress struct {
	w     io.Writer
	now   func() time.Time
	last  time.Time
	width int // runes of the line on the screen; 0: none
}

const progressEvery = 100 * time.Millisecond

// newSyncProgress is the progress line on w, or nil when w is no
// terminal or the output is JSON.
func newSyncProgress(w io.Writer, asJSON bool) *syncProgress {
	if asJSON || !cliout.IsTerminal(w) {
		return nil
	}
	return &syncProgress{w: w, now: time.Now}
}

func (s *syncProgress) update(p mlsync.Progress) {
	now := s.now()
	if s.width > 0 && now.Sub(s.last) < progressEvery {
		return
	}
	s.last = now
	line := fmt.Sprintf("sync: %d/%d run(s), %d point(s), %s of artifacts", p.RunsDone, p.Runs, p.Points, byteSize(p.ArtifactBytes))
	pad := max(s.width-len(line), 0)
	fmt.Fprintf(s.w, "\r%s%s", line, strings.Repeat(" ", pad))
	s.width = len(line)
}

func (s *syncProgress) clear() {
	if s.width == 0 {
		return
	}
	fmt.Fprintf(s.w, "\r%s\r", strings.Repeat(" ", s.width))
	s.width = 0
}

// byteSize is n as "512 B", "3.1 KB", "12.0 MB" (powers of 1000, as du --si).
func byteSize(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), 0
	for v >= 1000 && unit < 5 {
		v /= 1000
		unit++
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGTP"[unit-1])
}
