package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"lab/netemu"
	"lab/topo"
)

// BenchmarkBuildBA200 is netemu.Build alone on the BA200 lab (no
// speakers): the data plane part of `lab up`. LAB_BENCH_VERBOSE=1 logs
// the time of each build phase.
//
//	build-s/op     Build returning
//	close-s/op     Close returning
func BenchmarkBuildBA200(b *testing.B) { benchBuild(b, 200) }

// BenchmarkBuildBA50 is BenchmarkBuildBA200 with 50 ASes.
func BenchmarkBuildBA50(b *testing.B) { benchBuild(b, 50) }

func benchBuild(b *testing.B, n int) {
	needRoot(b)
	y, err := topo.GenerateBA(n, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("LAB_BENCH_VERBOSE") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var build, closing time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := topo.ParseAs(fmt.Sprintf("ba%d.yaml", n), y, uniqueName(b))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		nl, err := netemu.Build(context.Background(), m, netemu.Options{RunDir: dir, Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := nl.Close(); err != nil {
			b.Fatal(err)
		}
		build += t1.Sub(t0)
		closing += time.Since(t1)
	}
	b.ReportMetric(build.Seconds()/float64(b.N), "build-s/op")
	b.ReportMetric(closing.Seconds()/float64(b.N), "close-s/op")
}
