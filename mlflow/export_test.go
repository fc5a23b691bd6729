package mlflow

import "context"

// ResetForTest forgets the process-wide state: tracking URI, clients
// (flushed and closed), active experiment, active and last runs.
func ResetForTest() {
	state.Lock()
	clients := state.clients
	state.trackingURI, state.clients, state.experimentID, state.stack, state.last, state.lastModelID = "", nil, "", nil, nil, ""
	state.Unlock()
	for _, c := range clients {
		c.Close(nilCtx())
	}
}

// SourceNameOf is sourceNameOf, for its table test.
var SourceNameOf = sourceNameOf

func nilCtx() context.Context { return context.Background() }
