//go:build !unix

package main

import "time"

// selfCPU is not measured here (no getrusage): the CPU columns say n/a.
func selfCPU() (time.Duration, bool) { return 0, false }
