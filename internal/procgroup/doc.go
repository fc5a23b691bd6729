// Package procgroup runs helper processes (an mlflow server, PostgreSQL, a
// browser) as the leaders of their own process groups, so that stopping one
// reaches every child it started, and tells how much CPU a group has used.
// It serves the interop tests (internal/interoptest) and the benchmark
// driver (bench), which must not import package testing.
package procgroup

import (
	"bytes"
	"os/exec"
	"runtime"
	"sync"
)

// Buffer collects a child's output while others read it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartTied starts cmd so that the kernel stops it when this process dies
// (a test's -timeout panic, a kill; Linux only, see dieWithParent), waits
// for it and closes exited when it has ended. The parent-death signal
// follows the thread that started the child, not the process, so the child
// is started and waited for on a locked thread that lives as long as it
// does. Call it after Own (and anything else that sets SysProcAttr).
func StartTied(cmd *exec.Cmd, exited chan struct{}) error {
	dieWithParent(cmd)
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	return <-started
}
