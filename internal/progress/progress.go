// Package progress shows a progress bar for long CLI work (gc, export,
// fsck, big demos) when the output is a terminal, and nothing otherwise, so
// pipes and logs stay clean. The drawing is github.com/schollz/progressbar,
// a maintained library that handles terminal width, throttling and ETA.
package progress

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mlruns-go/mlruns/internal/cliout"
)

// Bar counts work done. The zero of New on a non-terminal is a no-op bar,
// so callers never check.
type Bar struct {
	pb *progressbar.ProgressBar
}

// New returns a bar of total steps (-1 when unknown) labelled label,
// drawing on w only when w is a terminal.
func New(w io.Writer, total int64, label string) *Bar {
	if !cliout.IsTerminal(w) {
		return &Bar{}
	}
	return NewForce(w, total, label)
}

// NewForce draws on w even when it is not a terminal (tests).
func NewForce(w io.Writer, total int64, label string) *Bar {
	return &Bar{pb: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
	)}
}

// Add records n more steps done.
func (b *Bar) Add(n int) {
	if b.pb != nil {
		_ = b.pb.Add(n)
	}
}

// Describe changes the label (the phase of the work).
func (b *Bar) Describe(label string) {
	if b.pb != nil {
		b.pb.Describe(label)
	}
}

// Finish completes the bar and clears its line.
func (b *Bar) Finish() {
	if b.pb != nil {
		_ = b.pb.Finish()
	}
}
