package procgroup

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of /proc/<pid>/stat's times: USER_HZ, 100 on every
// Linux architecture Go supports (the kernel's ABI, whatever CONFIG_HZ is).
const userHZ = 100

// PIDs lists the live processes of the group of leader pgid, from /proc.
func PIDs(pgid int) ([]int, error) {
	var pids []int
	err := eachStat(func(pid int, f [][]byte) {
		if g, _ := strconv.Atoi(string(f[2])); g == pgid {
			pids = append(pids, pid)
		}
	})
	return pids, err
}

// CPU is the user plus system CPU time the live processes of the group of
// leader pgid have used so far (utime+stime of /proc/<pid>/stat; a process
// that has exited no longer counts).
func CPU(pgid int) (time.Duration, error) {
	var ticks int64
	err := eachStat(func(_ int, f [][]byte) {
		if g, _ := strconv.Atoi(string(f[2])); g != pgid {
			return
		}
		u, _ := strconv.ParseInt(string(f[11]), 10, 64)
		s, _ := strconv.ParseInt(string(f[12]), 10, 64)
		ticks += u + s
	})
	return time.Duration(ticks) * time.Second / userHZ, err
}

// eachStat calls f with the fields after the command name of every
// process's /proc/<pid>/stat (f[0] is the state, f[2] the process group,
// f[11] and f[12] utime and stime); processes that end meanwhile are
// skipped.
func eachStat(f func(pid int, fields [][]byte)) error {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("procgroup: %w", err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold any byte.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 13 {
			continue
		}
		f(pid, fields)
	}
	return nil
}
