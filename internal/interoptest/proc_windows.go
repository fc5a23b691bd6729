//go:build windows

package interoptest

import (
	"os/exec"

	"github.com/mlruns-go/mlruns/internal/procgroup"
)

// GroupGone reports whether the process pid is gone.
func GroupGone(pid int) bool { return procgroup.Gone(pid) }

// runAs does nothing: Windows has no root that PostgreSQL refuses, and the
// PostgreSQL harness does not run there (findPostgres says so).
func runAs(*exec.Cmd, int, int) {}
