package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/mlruns-go/mlruns/entities"
)

// stageMove is one of the two lifecycle changes the CLI makes, to
// experiments and runs alike. Both are idempotent, like MLflow's
// delete_run: an entity already in the wanted stage is left alone and the
// line says so, so scripts can repeat them.
type stageMove struct {
	verb string // the subcommand: "delete" or "restore"
	past string // how the line says it was done
	want entities.LifecycleStage
}

var (
	moveDelete  = stageMove{verb: "delete", past: "Deleted", want: entities.StageDeleted}
	moveRestore = stageMove{verb: "restore", past: "Restored", want: entities.StageActive}
)

// pick returns the store call that makes this move.
func (m stageMove) pick(del, restore func(context.Context, string) error) func(context.Context, string) error {
	if m.want == entities.StageDeleted {
		return del
	}
	return restore
}

// apply makes the move for one entity (noun "Experiment" or "Run") whose
// stage is now, and prints one line; after follows the name on the done
// line (" and its runs").
func (m stageMove) apply(e *env, noun, id, name string, now entities.LifecycleStage,
	do func(context.Context, string) error, after string) error {
	if now == m.want {
		fmt.Fprintf(e.stdout, "%s %s %q is already %s; nothing changed\n", noun, id, name, m.want)
		return nil
	}
	if err := do(e.ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s %s %q%s\n", m.past, strings.ToLower(noun), id, name, after)
	return nil
}
