package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"lab/netemu"
	"lab/speaker"
	"lab/speaker/rib"
	"lab/speakerconf"
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
//	established-s/op from netemu.Build to the last session Established
//	built-s/op     netemu.Build alone
//	advertised/op  prefixes in every Adj-RIB-Out at convergence: the
//	               fewest UPDATEs that could have carried them, when no
//	               two prefixes share an attribute set (a BA lab's
//	               prefixes each have their own AS path)
//
// LAB_BENCH_VERBOSE=1 logs progress every half second;
// LAB_BENCH_HEAPPROFILE=file writes the heap profile at convergence.
func BenchmarkSpeakersBA200(b *testing.B) { benchSpeakers(b, 200) }

// BenchmarkSpeakersBA50 is BenchmarkSpeakersBA200 with 50 ASes.
func BenchmarkSpeakersBA50(b *testing.B) { benchSpeakers(b, 50) }

// BenchmarkSpeakersBA500 is BenchmarkSpeakersBA200 with 500 ASes.
func BenchmarkSpeakersBA500(b *testing.B) { benchSpeakers(b, 500) }

func benchSpeakers(b *testing.B, n int) {
	needRoot(b)
	y, err := topo.GenerateBA(n, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var conv, cpu, pollCPU, updates, heap, gor, est, built, adv float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := topo.ParseAs(fmt.Sprintf("ba%d.yaml", n), y, uniqueName(b))
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
		est += r.established.Seconds()
		built += r.built.Seconds()
		adv += float64(r.advertised)
	}
	nf := float64(b.N)
	b.ReportMetric(conv/nf, "converge-s/op")
	b.ReportMetric(cpu/nf, "cpu-s/op")
	b.ReportMetric(pollCPU/nf, "poll-cpu-s/op")
	b.ReportMetric(updates/nf, "updates/op")
	b.ReportMetric(heap/nf, "heap-MB/op")
	b.ReportMetric(gor/nf, "goroutines/op")
	b.ReportMetric(est/nf, "established-s/op")
	b.ReportMetric(built/nf, "built-s/op")
	b.ReportMetric(adv/nf, "advertised/op")
}

type inprocResult struct {
	converge   time.Duration
	cpu        time.Duration
	pollCPU    time.Duration
	updates    uint64
	heapMB     float64
	goroutines int
	// established is when the last session reached Established, built
	// when netemu.Build returned.
	established time.Duration
	built       time.Duration
	started     time.Duration // the speakers' Start calls
	advertised  int
}

func runInProcess(b *testing.B, m *topo.Lab, dir string) inprocResult {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0, cpu0 := time.Now(), selfCPU()
	nl, err := netemu.Build(ctx, m, netemu.Options{RunDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	built := time.Since(t0)
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
		cfg, err := speakerconf.Config(m, r, nl.NamespacePath(r.Name))
		if err != nil {
			b.Fatal(err)
		}
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
	// Every session end's state, from the speakers' events.
	var (
		estMu   sync.Mutex
		estN    int
		estLast time.Time
		estWG   sync.WaitGroup
	)
	for _, sp := range sps {
		ev, stopEv := sp.Subscribe()
		defer stopEv()
		up := map[netip.Addr]bool{}
		estWG.Add(1)
		go func() {
			defer estWG.Done()
			for e := range ev {
				if e.Kind != speaker.EventPeerState || up[e.Peer] == (e.State == speaker.Established) {
					continue
				}
				up[e.Peer] = e.State == speaker.Established
				estMu.Lock()
				if up[e.Peer] {
					estN++
					estLast = time.Now()
				} else {
					estN--
				}
				estMu.Unlock()
			}
		}()
	}
	tStart := time.Now()
	for _, sp := range sps {
		if err := sp.Start(ctx); err != nil {
			b.Fatal(err)
		}
	}
	started := time.Since(tStart)
	l := &labRun{b: b, name: m.Name}
	if os.Getenv("LAB_BENCH_VERBOSE") != "" {
		l.progress = func(done int) {
			estMu.Lock()
			est := estN
			estMu.Unlock()
			b.Logf("%6.2fs: %d/%d session ends established, %d/%d routers converged", time.Since(t0).Seconds(), est, 2*len(m.Sessions), done, len(sps))
		}
	}
	c, err := l.waitConverged(m, t0)
	if err != nil {
		b.Fatal(err)
	}
	res := inprocResult{converge: c.at.Sub(t0), cpu: selfCPU() - cpu0, pollCPU: c.cpu, goroutines: runtime.NumGoroutine(), built: built, started: started}
	estMu.Lock()
	res.established = estLast.Sub(t0)
	if estN != 2*len(m.Sessions) {
		b.Logf("%d of %d session ends Established at convergence", estN, 2*len(m.Sessions))
	}
	estMu.Unlock()
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
			for _, f := range n.Families {
				res.advertised += f.Advertised
			}
		}
	}
	if os.Getenv("LAB_BENCH_VERBOSE") != "" {
		b.Logf("%s: built in %v, speakers started in %v, every session Established at %v, converged in %v (CPU %v), %d UPDATEs for %d advertised prefixes, %d attribute sets, heap %.0f MB (objects %.0f MB), %d goroutines (stacks %.0f MB), %d GCs, process RSS peak %.0f MB",
			filepath.Base(m.File), res.built, res.started, res.established, res.converge, res.cpu, res.updates, res.advertised, rib.Shared().Len(), res.heapMB, float64(ms.HeapAlloc)/1e6, res.goroutines, float64(ms.StackInuse)/1e6, ms.NumGC, rssPeak())
	}
	return res
}

// rssPeak is this process's VmHWM, in MB.
func rssPeak() float64 {
	mb, _ := peakRSSMB(os.Getpid())
	return mb
}
