package sysmetrics

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// collector takes one sample of some figures into a window; a figure it
// cannot read is left out of the sample (warned about once), never an
// error, as MLflow's monitors skip what psutil or NVML refuse.
type collector interface {
	collect(ctx context.Context, w *window)
}

// warnOnce logs a collector's first failure only: a figure this machine
// cannot give fails every interval.
type warnOnce struct {
	log    *slog.Logger
	warned bool
}

func (o *warnOnce) warn(what string, err error) {
	if o.warned {
		return
	}
	o.warned = true
	o.log.Warn("sysmetrics: "+what+" not collected", "err", err)
}

// machineCollectors are MLflow's CPUMonitor, DiskMonitor and
// NetworkMonitor, then the GPU's (when NVML has one) and the Go
// runtime's when asked.
func machineCollectors(ctx context.Context, c config) []collector {
	cs := []collector{newCPUCollector(ctx, c.log), &diskCollector{path: string(os.PathSeparator), warnOnce: warnOnce{log: c.log}},
		newNetCollector(ctx, c.log)}
	if g := newGPUCollector(c.log); g != nil {
		cs = append(cs, g)
	}
	if c.goRT {
		cs = append(cs, newGoCollector())
	}
	return cs
}

// cpuCollector is CPUMonitor: psutil.cpu_percent() (busy share of the CPU
// times since the last sample) and virtual_memory().
type cpuCollector struct {
	warnOnce
	last    cpu.TimesStat
	hasLast bool
}

func newCPUCollector(ctx context.Context, log *slog.Logger) *cpuCollector {
	c := &cpuCollector{warnOnce: warnOnce{log: log}}
	// The baseline is the monitor's start (psutil's is the import, or 0.0
	// on a thread's first call): the first sample covers its interval.
	if t, err := cpu.TimesWithContext(ctx, false); err == nil && len(t) == 1 {
		c.last, c.hasLast = t[0], true
	}
	return c
}

func (c *cpuCollector) collect(ctx context.Context, w *window) {
	if t, err := cpu.TimesWithContext(ctx, false); err != nil || len(t) != 1 {
		c.warn("cpu_utilization_percentage", orNoValue(err))
	} else {
		prev := t[0]
		if c.hasLast {
			prev = c.last
		}
		w.add("cpu_utilization_percentage", cpuPercent(prev, t[0]), aggMean)
		c.last, c.hasLast = t[0], true
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		c.warn("system_memory_usage", err)
		return
	}
	used := float64(memoryUsed(vm))
	w.add("system_memory_usage_megabytes", used/1e6, aggMean)
	if vm.Total > 0 {
		w.add("system_memory_usage_percentage", used/float64(vm.Total)*100, aggMean)
	}
}

// memoryUsed is psutil's virtual_memory().used: total - available on Linux
// and Windows (gopsutil's Used), active + wired on macOS.
func memoryUsed(vm *mem.VirtualMemoryStat) uint64 {
	if runtime.GOOS == "darwin" {
		return vm.Active + vm.Wired
	}
	return vm.Used
}

// cpuPercent is psutil's cpu_percent calculation: the busy share of the
// times' deltas (negative deltas count as zero), rounded to 0.1; 0.0 when
// no time passed. On Linux guest time is already in user and nice.
func cpuPercent(t1, t2 cpu.TimesStat) float64 {
	d := func(a, b float64) float64 { return max(0, b-a) }
	user, nice, sys := d(t1.User, t2.User), d(t1.Nice, t2.Nice), d(t1.System, t2.System)
	idle, iowait := d(t1.Idle, t2.Idle), d(t1.Iowait, t2.Iowait)
	irq, softirq, steal := d(t1.Irq, t2.Irq), d(t1.Softirq, t2.Softirq), d(t1.Steal, t2.Steal)
	tot := user + nice + sys + idle + iowait + irq + softirq + steal
	if runtime.GOOS != "linux" {
		tot += d(t1.Guest, t2.Guest) + d(t1.GuestNice, t2.GuestNice)
	}
	busy := tot - idle - iowait
	if tot == 0 {
		return 0
	}
	return round1(busy / tot * 100)
}

// diskCollector is DiskMonitor: psutil.disk_usage(os.sep).
type diskCollector struct {
	warnOnce
	path string
}

func (c *diskCollector) collect(ctx context.Context, w *window) {
	u, err := disk.UsageWithContext(ctx, c.path)
	if err != nil {
		c.warn("disk_usage", err)
		return
	}
	// psutil: percent = round(used / (used + free) * 100, 1), free being
	// what an unprivileged user may still use (gopsutil's Free).
	pct := 0.0
	if u.Used+u.Free > 0 {
		pct = round1(float64(u.Used) / float64(u.Used+u.Free) * 100)
	}
	w.add("disk_usage_percentage", pct, aggMean)
	w.add("disk_usage_megabytes", float64(u.Used)/1e6, aggMean)
	w.add("disk_available_megabytes", float64(u.Free)/1e6, aggMean)
}

// netCollector is NetworkMonitor: psutil.net_io_counters() of all
// interfaces, minus the counters when the monitor started.
type netCollector struct {
	warnOnce
	recv0, sent0 float64 // megabytes at the start
	ok           bool
}

func newNetCollector(ctx context.Context, log *slog.Logger) *netCollector {
	c := &netCollector{warnOnce: warnOnce{log: log}}
	if n, err := net.IOCountersWithContext(ctx, false); err == nil && len(n) == 1 {
		c.recv0, c.sent0, c.ok = float64(n[0].BytesRecv)/1e6, float64(n[0].BytesSent)/1e6, true
	} else {
		c.warn("network_receive_megabytes and network_transmit_megabytes", orNoValue(err))
	}
	return c
}

func (c *netCollector) collect(ctx context.Context, w *window) {
	if !c.ok {
		return
	}
	n, err := net.IOCountersWithContext(ctx, false)
	if err != nil || len(n) != 1 {
		c.warn("network_receive_megabytes and network_transmit_megabytes", orNoValue(err))
		return
	}
	w.add("network_receive_megabytes", float64(n[0].BytesRecv)/1e6-c.recv0, aggLast)
	w.add("network_transmit_megabytes", float64(n[0].BytesSent)/1e6-c.sent0, aggLast)
}

// goCollector gives the Go runtime's figures: goroutines and heap in use
// (means of the samples, as MLflow's), and the GC's stop-the-world pause
// time since the monitor started (cumulative, as the network figures).
type goCollector struct{ pause0 uint64 }

func newGoCollector() *goCollector {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &goCollector{pause0: ms.PauseTotalNs}
}

func (c *goCollector) collect(_ context.Context, w *window) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms) // a short stop of the world, once per sample
	w.add(GoRuntimePrefix+"goroutines", float64(runtime.NumGoroutine()), aggMean)
	w.add(GoRuntimePrefix+"heap_inuse_megabytes", float64(ms.HeapInuse)/1e6, aggMean)
	w.add(GoRuntimePrefix+"gc_pause_milliseconds", float64(ms.PauseTotalNs-c.pause0)/1e6, aggLast)
}

func orNoValue(err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("no value")
}
