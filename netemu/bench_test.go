package netemu

import (
	"context"
	"testing"
	"time"

	"lab/topo"
)

// BenchmarkBuild200 builds and tears down the 200-router Barabási–Albert
// topology of `lab generate` (m=2: 397 links, each with IPv4 and IPv6
// addresses). The
// kernel destroys namespaces asynchronously after Close returns; that
// work is not in the figure, but it does compete for the CPU with the
// following iterations.
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
	var build, teardown time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		l, err := Build(context.Background(), m, Options{RunDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		build += t1.Sub(t0)
		teardown += time.Since(t1)
	}
	b.ReportMetric(build.Seconds()/float64(b.N), "build-s/op")
	b.ReportMetric(teardown.Seconds()/float64(b.N), "teardown-s/op")
}
