package mlsync

// Progress is how far a push is, as Options.Progress sees it.
type Progress struct {
	// Runs is the number of runs the push selected; RunsDone those
	// finished (sent, unchanged or failed).
	Runs, RunsDone int
	// Points is the metric points sent so far (or, dry, to send).
	Points int64
	// ArtifactFiles and ArtifactBytes are the artifact files of runs and
	// models sent so far, and their bytes.
	ArtifactFiles int
	ArtifactBytes int64
}

// progress reports p.prog to Options.Progress. Called with p.mu held,
// so calls never overlap.
func (p *pusher) progress() {
	if p.o.Progress != nil {
		p.o.Progress(p.prog)
	}
}
