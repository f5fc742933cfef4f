package netemu

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lab/topo"
)

// BenchmarkBuild200 builds and tears down the 200-router Barabási–Albert
// topology of `lab generate` (m=2: 396 links, each with IPv4 and IPv6
// addresses). The kernel destroys the namespaces, with their devices,
// asynchronously after Close returns: the benchmark waits for that with
// the timer stopped (reported as destroy-s/op), so that an iteration's
// build does not compete with the previous one's destruction for RTNL.
func BenchmarkBuild200(b *testing.B) {
	needRoot(b)
	data, err := topo.GenerateBA(200, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	m, err := topo.ParseAs("ba-200.yaml", data, newLabName(b))
	if err != nil {
		b.Fatal(err)
	}
	if len(m.Routers) != 200 || len(m.Links) < 390 {
		b.Fatalf("%d routers, %d links; want 200 and about 400", len(m.Routers), len(m.Links))
	}
	dir := b.TempDir()
	var build, teardown, destroy, cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0, c0 := time.Now(), cpuTime()
		l, err := Build(context.Background(), m, Options{RunDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		cpu += cpuTime() - c0
		b.StopTimer()
		w := watch(b, l)
		b.StartTimer()
		t2, c2 := time.Now(), cpuTime()
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		cpu += cpuTime() - c2
		b.StopTimer()
		w.waitDestroyed(b, time.Minute)
		destroy += time.Since(t3)
		w.sock.Close()
		b.StartTimer()
		build += t1.Sub(t0)
		teardown += t3.Sub(t2)
	}
	b.ReportMetric(build.Seconds()/float64(b.N), "build-s/op")
	b.ReportMetric(teardown.Seconds()/float64(b.N), "teardown-s/op")
	b.ReportMetric(destroy.Seconds()/float64(b.N), "destroy-s/op")
	// CPU time of this process (user and system, all threads) in Build and
	// Close: unlike the elapsed time, it hardly depends on what else the
	// machine runs. The kernel's own work queues are not in it.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLinkStatus reads the state of every link of a 50-router
// Barabási–Albert lab (97 links), as the web page does every second while
// it is watched: ns/op is one pass over all links.
func BenchmarkLinkStatus(b *testing.B) {
	needRoot(b)
	data, err := topo.GenerateBA(50, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	m, err := topo.ParseAs("ba-50.yaml", data, newLabName(b))
	if err != nil {
		b.Fatal(err)
	}
	l, _ := buildLab(b, m)
	c0 := cpuTime()
	for b.Loop() {
		for _, st := range l.LinkStatuses(m.Links) {
			if !st.Up() {
				b.Fatalf("link %v: %+v", st.Link, st)
			}
		}
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N)*1e3, "cpu-ms/op")
}
