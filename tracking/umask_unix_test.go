//go:build unix

package tracking_test

import (
	"syscall"
	"testing"
)

// umaskModes: new files get 0666 (or 0777) less the umask.
const umaskModes = true

// withUmask sets the process umask for the rest of the test.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}
