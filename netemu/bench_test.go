package netemu

import (
	"context"
	"testing"
	"time"
)

// BenchmarkBuild200 builds and tears down a 200-router, 400-link
// Barabási–Albert topology (every link with IPv4 and IPv6 addresses). The
// kernel destroys namespaces asynchronously after Close returns; that
// work is not in the figure, but it does compete for the CPU with the
// following iterations.
func BenchmarkBuild200(b *testing.B) {
	needRoot(b)
	m := baModel(newLabName(b), 200, 5, 2, 1)
	if len(m.Links) != 400 {
		b.Fatalf("%d links, want 400", len(m.Links))
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
