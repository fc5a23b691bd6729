package mlsync

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/reststore"
	"github.com/mlruns-go/mlruns/store"
)

// DefaultFollowInterval is the wait between two rounds of Follow when
// FollowOptions.Interval is zero.
const DefaultFollowInterval = 10 * time.Second

// FollowOptions configure Follow.
type FollowOptions struct {
	// Interval is the wait from the end of a round to the start of the
	// next; zero is DefaultFollowInterval. Negative is refused.
	Interval time.Duration
	// Stop, when closed, ends Follow after the round under way (or at
	// once, between rounds), its journal saved. Nil never stops it.
	Stop <-chan struct{}
	// Round, when set, is called after every round with its number (from
	// 1), its report, and the error that cut it short: nil, or the
	// destination out of reach (the round is tried again).
	Round func(n int, rep *Report, err error)
}

// Follow pushes the selected runs again and again, one round every
// interval, while they are being logged to: for a node whose network
// comes and goes. Each round is a Push (its own lock, its journal saved
// at the end), so each sends only what is new since the last. A round
// that cannot reach the destination (no answer, or a 5xx after the
// retries) is tried again next round, and so is every run that failed;
// an error that no new round can mend (the journal, the tree, a bad
// option) ends Follow with it.
//
// Follow returns by itself after a round in which every selected run was
// finished (its status not RUNNING, or deleted) before the round began
// and nothing failed: then everything the runs hold is on the
// destination. A crashed run stays RUNNING for ever: stop Follow (Stop
// or ctx), or end the run (Python's MlflowClient.set_terminated), and so
// does a failure no retry mends: each round reports it. Cancelling ctx cuts the round under way
// as it cuts a Push (the journal saved) and returns ctx's error; closing
// Stop lets the round finish. The report is the last round's.
func Follow(ctx context.Context, src, dst store.Store, o Options, f FollowOptions) (*Report, error) {
	if o.DryRun {
		return nil, errs.New(errs.ErrInvalidParameter, "sync: follow: a dry run sends nothing, so it has nothing to follow")
	}
	if f.Interval < 0 {
		return nil, errs.New(errs.ErrInvalidParameter, "sync: follow: the interval must not be negative")
	}
	if f.Interval == 0 {
		f.Interval = DefaultFollowInterval
	}
	for n := 1; ; n++ {
		rep, err := Push(ctx, src, dst, o)
		if ctx.Err() != nil {
			if f.Round != nil && rep != nil {
				f.Round(n, rep, ctx.Err())
			}
			return rep, ctx.Err()
		}
		if err != nil && !unreachable(err) {
			return rep, err
		}
		if rep == nil {
			rep = &Report{Target: o.Target, Runs: []RunReport{}}
		}
		if f.Round != nil {
			f.Round(n, rep, err)
		}
		if err == nil && rep.Live == 0 && rep.Complete() {
			return rep, nil
		}
		t := time.NewTimer(f.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return rep, ctx.Err()
		case <-f.Stop:
			t.Stop()
			return rep, nil
		case <-t.C:
		}
		select {
		case <-f.Stop:
			return rep, nil
		default:
		}
	}
}

// unreachable reports an error of the destination that a later attempt
// may not meet: the probe failed, no answer at all (a network error), an
// answer of unknown outcome, or a 5xx.
func unreachable(err error) bool {
	var pe *probeError
	var te *reststore.TransportError
	var ue *reststore.UnknownOutcomeError
	var re *reststore.Error
	var ne net.Error
	return errors.As(err, &pe) || errors.As(err, &te) || errors.As(err, &ue) || errors.As(err, &ne) ||
		(errors.As(err, &re) && re.Status >= 500)
}
