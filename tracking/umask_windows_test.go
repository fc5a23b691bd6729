//go:build windows

package tracking_test

import "testing"

// umaskModes is false: Windows has no umask and no Unix permission bits.
const umaskModes = false

func withUmask(t *testing.T, mask int) {}
