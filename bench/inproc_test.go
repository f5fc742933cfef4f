package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"lab/netemu"
	"lab/speaker"
	"lab/speaker/wire"
	"lab/topo"
)

// BenchmarkSpeakersBA200 is BenchmarkConvergeBA200 inside the test
// process: the same data plane and speakers as the daemon starts them
// (cmd/lab's startSpeakers: every listener open before any speaker
// dials), so that `go test -cpuprofile/-memprofile` sees the speakers'
// work, and it counts the messages they exchanged. Its figures:
//
//	converge-s/op  from netemu.Build to the last router's full table
//	cpu-s/op       CPU time of the process until then (build, speakers and
//	               polling; on a loaded machine a steadier figure than time)
//	poll-cpu-s/op  the part of it spent polling
//	updates/op     UPDATE messages sent by all speakers until then
//	heap-MB/op     Go heap in use at convergence, after a GC
//	goroutines/op  goroutines at convergence
//
// LAB_BENCH_VERBOSE=1 logs progress every half second;
// LAB_BENCH_HEAPPROFILE=file writes the heap profile at convergence.
func BenchmarkSpeakersBA200(b *testing.B) { benchSpeakers(b, 200) }

// BenchmarkSpeakersBA50 is BenchmarkSpeakersBA200 with 50 ASes.
func BenchmarkSpeakersBA50(b *testing.B) { benchSpeakers(b, 50) }

func benchSpeakers(b *testing.B, n int) {
	needRoot(b)
	y, err := topo.GenerateBA(n, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var conv, cpu, pollCPU, updates, heap, gor float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := topo.ParseAs(fmt.Sprintf("ba%d.yaml", n), y, uniqueName())
		if err != nil {
			b.Fatal(err)
		}
		r := runInProcess(b, m, dir)
		conv += r.converge.Seconds()
		cpu += r.cpu.Seconds()
		pollCPU += r.pollCPU.Seconds()
		updates += float64(r.updates)
		heap += r.heapMB
		gor += float64(r.goroutines)
	}
	nf := float64(b.N)
	b.ReportMetric(conv/nf, "converge-s/op")
	b.ReportMetric(cpu/nf, "cpu-s/op")
	b.ReportMetric(pollCPU/nf, "poll-cpu-s/op")
	b.ReportMetric(updates/nf, "updates/op")
	b.ReportMetric(heap/nf, "heap-MB/op")
	b.ReportMetric(gor/nf, "goroutines/op")
}

type inprocResult struct {
	converge   time.Duration
	cpu        time.Duration
	pollCPU    time.Duration
	updates    uint64
	heapMB     float64
	goroutines int
}

func runInProcess(b *testing.B, m *topo.Lab, dir string) inprocResult {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0, cpu0 := time.Now(), selfCPU()
	nl, err := netemu.Build(ctx, m, netemu.Options{RunDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	var sps []*speaker.Speaker
	stop := func() {
		var wg sync.WaitGroup
		for _, sp := range sps {
			wg.Add(1)
			go func() { defer wg.Done(); sp.Close() }()
		}
		wg.Wait()
		sps = nil
		if err := nl.Close(); err != nil {
			b.Error(err)
		}
	}
	defer stop()
	for _, r := range m.Routers {
		cfg := speaker.ConfigFromTopo(m, r, nl.NamespacePath(r.Name))
		sp, err := speaker.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		sps = append(sps, sp)
	}
	for _, sp := range sps {
		if err := sp.Listen(); err != nil {
			b.Fatal(err)
		}
	}
	for _, sp := range sps {
		if err := sp.Start(ctx); err != nil {
			b.Fatal(err)
		}
	}
	l := &labRun{b: b, name: m.Name}
	if os.Getenv("LAB_BENCH_VERBOSE") != "" {
		l.progress = func(done int) {
			est, sess := 0, 0
			for _, sp := range sps {
				for _, f := range []wire.Family{wire.IPv4Unicast, wire.IPv6Unicast} {
					sum, err := sp.Summary(ctx, f)
					if err != nil {
						continue
					}
					for _, p := range sum.Peers {
						sess++
						if p.State == speaker.Established {
							est++
						}
					}
				}
			}
			debugDump(t0)
			b.Logf("%6.2fs: %d/%d sessions established, %d/%d routers converged", time.Since(t0).Seconds(), est, sess, done, len(sps))
		}
	}
	c, err := l.waitConverged(m, t0)
	if err != nil {
		b.Fatal(err)
	}
	res := inprocResult{converge: c.at.Sub(t0), cpu: selfCPU() - cpu0, pollCPU: c.cpu, goroutines: runtime.NumGoroutine()}
	runtime.GC()
	if path := os.Getenv("LAB_BENCH_HEAPPROFILE"); path != "" {
		// The heap at convergence (go test -memprofile writes it after
		// the lab is gone).
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.heapMB = float64(ms.HeapInuse) / 1e6
	for _, sp := range sps {
		for _, pc := range sp.Config().Peers {
			n, err := sp.Neighbor(ctx, pc.PeerAddr)
			if err != nil {
				b.Fatal(err)
			}
			res.updates += n.Sent.Updates
		}
	}
	if os.Getenv("LAB_BENCH_VERBOSE") != "" {
		b.Logf("%s: converged in %v (CPU %v), %d UPDATEs, heap %.0f MB, %d goroutines (stacks %.0f MB), %d GCs, process RSS peak %.0f MB",
			filepath.Base(m.File), res.converge, res.cpu, res.updates, res.heapMB, res.goroutines, float64(ms.StackInuse)/1e6, ms.NumGC, rssPeak())
	}
	return res
}

// rssPeak is this process's VmHWM, in MB.
func rssPeak() float64 {
	mb, _ := peakRSSMB(os.Getpid())
	return mb
}
