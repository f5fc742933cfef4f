package netemu

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"lab/topo"
)

// manyASes is ases ASes of per routers each, in a ring inside each AS
// (costs 10), and a ring of ASes: router 1 of each AS linked to router 3
// of the next (so every AS has two border links).
func manyASes(name string, ases, per int) *topo.Lab {
	b := newModel(name)
	rs := make([][]*topo.Router, ases)
	for a := range ases {
		for i := range per {
			rs[a] = append(rs[a], ulRouter(b, fmt.Sprintf("a%dr%d", a, i), uint32(65000+a)))
		}
		for i := range per {
			ulLink(b, rs[a][i], rs[a][(i+1)%per], 10)
		}
	}
	for a := range ases {
		ulLink(b, rs[a][1%per], rs[(a+1)%ases][3%per], 10)
	}
	return b.done()
}

// phaseTimes records the "build phase done" debug records of Build.
type phaseTimes struct {
	mu   sync.Mutex
	took map[string]time.Duration
}

func (p *phaseTimes) Enabled(context.Context, slog.Level) bool { return true }
func (p *phaseTimes) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *phaseTimes) WithGroup(string) slog.Handler            { return p }
func (p *phaseTimes) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "build phase done" {
		return nil
	}
	var phase string
	var took time.Duration
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "phase":
			phase = a.Value.String()
		case "took":
			took = a.Value.Duration()
		}
		return true
	})
	p.mu.Lock()
	p.took[phase] += took
	p.mu.Unlock()
	return nil
}

// BenchmarkUnderlay50x5 builds and tears down 50 ASes of 5 routers in a
// ring (250 routers, 300 links, 16 or 18 underlay routes per router), and
// reports the underlay phase of Build (link states read, shortest paths,
// every router's routes installed in one batch) and the loopbacks phase
// apart from the whole build.
func BenchmarkUnderlay50x5(b *testing.B) {
	needRoot(b)
	m := manyASes(newLabName(b), 50, 5)
	dir := b.TempDir()
	pt := &phaseTimes{took: map[string]time.Duration{}}
	var build time.Duration
	routes := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		l, err := Build(context.Background(), m, Options{RunDir: dir, Logger: slog.New(pt)})
		if err != nil {
			b.Fatal(err)
		}
		build += time.Since(t0)
		b.StopTimer()
		routes = 0
		for _, r := range m.Routers {
			routes += len(l.Underlay(r.Name))
		}
		w := watch(b, l)
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		w.waitDestroyed(b, time.Minute)
		w.sock.Close()
		b.StartTimer()
	}
	b.ReportMetric(build.Seconds()/float64(b.N), "build-s/op")
	b.ReportMetric(pt.took["underlay"].Seconds()/float64(b.N), "underlay-s/op")
	b.ReportMetric(pt.took["loopbacks"].Seconds()/float64(b.N), "loopbacks-s/op")
	b.ReportMetric(float64(routes), "routes")
}

// BenchmarkUnderlayLinkFlap takes a link inside one AS of the 50x5 lab
// down and up again: SetLinkChanged both times, which recomputes that AS
// (reading its routers' interfaces and underlay routes from the kernel)
// and rewrites the routes of its five routers; the up includes waiting
// for the link's IPv6 addresses. recompute-s/op is one recomputation of
// an AS where nothing changed, opening and closing the sockets of the
// namespaces it reads, as SetLinkChanged does.
func BenchmarkUnderlayLinkFlap(b *testing.B) {
	needRoot(b)
	m := manyASes(newLabName(b), 50, 5)
	l, _ := buildLab(b, m)
	k := m.LinkBetween("a7r0", "a7r1")[0]
	var recompute time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, up := range []bool{false, true} {
			changed, err := l.SetLinkChanged(k, up)
			if err != nil || len(changed) != 5 {
				b.Fatalf("SetLinkChanged(%v): changed %v, %v", up, changed, err)
			}
		}
		t0 := time.Now()
		var socks sockets
		l.mu.RLock()
		changed, err := l.updateUnderlayFor(k, &socks)
		socks.close()
		l.mu.RUnlock()
		if err != nil || len(changed) != 0 {
			b.Fatalf("recompute: changed %v, %v", changed, err)
		}
		recompute += time.Since(t0)
	}
	b.ReportMetric(recompute.Seconds()/float64(b.N), "recompute-s/op")
}

// BenchmarkUnderlayCompute is the shortest-path computation alone for the
// 50 ASes of the 50x5 lab, without the kernel.
func BenchmarkUnderlayCompute(b *testing.B) {
	m := manyASes("bench", 50, 5)
	p, err := makePlan(m)
	if err != nil {
		b.Fatal(err)
	}
	u, err := newUnderlay(m, p)
	if err != nil {
		b.Fatal(err)
	}
	up := func(*topo.Link) bool { return true }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, ua := range u.ases {
			ua.compute(up)
		}
	}
}
