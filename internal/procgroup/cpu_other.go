//go:build !linux

package procgroup

import (
	"errors"
	"time"
)

// PIDs lists the live processes of a group: Linux only (/proc).
func PIDs(int) ([]int, error) {
	return nil, errors.ErrUnsupported
}

// CPU is the CPU time of a group's processes: Linux only (/proc).
func CPU(int) (time.Duration, error) {
	return 0, errors.ErrUnsupported
}
