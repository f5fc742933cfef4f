// Package profile writes a process's CPU and heap profiles when its
// environment asks for them, so that a benchmark can profile the real lab
// daemon rather than a copy of it in a test:
//
//	LAB_CPUPROFILE=file   CPU profile from Start until SIGUSR1 or stop
//	LAB_HEAPPROFILE=file  heap profile (after a GC) at SIGUSR1 or stop, and
//	                      file.mem: the runtime's memory classes before it
//
// BenchmarkConvergeBA* (LAB_BENCH_PROFILE=dir) sets both for the daemon it
// starts and sends SIGUSR1 when every router has converged, so the
// profiles cover `lab up` to convergence exactly. The daemon wires it with
// one line: `defer profile.Start()()`, or stop called before its teardown.
package profile

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
)

// Environment variables read by Start.
const (
	CPUEnv  = "LAB_CPUPROFILE"
	HeapEnv = "LAB_HEAPPROFILE"
)

// Start begins what the environment asks for and returns the function that
// ends it (write the CPU profile, then the heap profile). SIGUSR1 ends it
// too. Without either variable, it does nothing. Errors are reported on
// stderr: a profile must never stop the program it profiles.
func Start() (stop func()) {
	cpuPath, heapPath := os.Getenv(CPUEnv), os.Getenv(HeapEnv)
	if cpuPath == "" && heapPath == "" {
		return func() {}
	}
	var cpu *os.File
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "profile: %s: %v\n", cpuPath, err)
		} else {
			cpu = f
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	var once sync.Once
	end := func() {
		once.Do(func() {
			signal.Stop(sigs)
			if cpu != nil {
				pprof.StopCPUProfile()
				cpu.Close()
			}
			if heapPath != "" {
				if err := writeHeap(heapPath); err != nil {
					fmt.Fprintf(os.Stderr, "profile: %s: %v\n", heapPath, err)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			end()
		case <-done:
		}
	}()
	return func() {
		end()
		select {
		case <-done:
		default:
			close(done)
		}
	}
}

func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	// Where the resident memory goes (heap objects, free heap awaiting the
	// next collection, goroutine stacks, runtime metadata), read before the
	// collection below changes it: a heap profile alone shows live objects.
	classes := memClasses()
	runtime.GC() // the profile shows what is live, not what awaits collection
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(path+".mem", classes, 0o644)
}

// memClasses renders the runtime's memory classes and goroutine count.
func memClasses() []byte {
	var ss []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") || d.Name == "/sched/goroutines:goroutines" {
			ss = append(ss, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(ss)
	var b strings.Builder
	for _, s := range ss {
		if s.Value.Kind() == metrics.KindUint64 {
			fmt.Fprintf(&b, "%-55s %12d\n", s.Name, s.Value.Uint64())
		}
	}
	return []byte(b.String())
}
