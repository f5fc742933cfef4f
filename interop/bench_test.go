package interop

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/speaker"
	"lab/speaker/wire"
	"lab/speakerconf"
	"lab/topo"
)

// bench1MBase is the first of the benchmark's /24s: 1,000,000 of them run
// from 16.0.0.0/24 to 31.66.63.0/24, inside the lab's namespaces only.
var bench1MBase = netip.MustParseAddr("16.0.0.0")

// birdStatic1M is a BIRD static protocol with n IPv4 /24s, exported to
// the lab's IPv4 session by filter to_lab. BIRD parses a million `route`
// lines (32 MB) in about a second.
func birdStatic1M(n int) string {
	var b strings.Builder
	b.Grow(n*34 + 200)
	b.WriteString("protocol static s1m {\n  ipv4;\n")
	base := bench1MBase.As4()
	a := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8
	for i := 0; i < n; i++ {
		x := a + uint32(i)<<8
		fmt.Fprintf(&b, "  route %d.%d.%d.0/24 blackhole;\n", x>>24, x>>16&0xff, x>>8&0xff)
	}
	b.WriteString("}\nfilter to_lab {\n  if source != RTS_STATIC then reject;\n  accept;\n}\n")
	return b.String()
}

// BenchmarkBIRD1M measures our speaker receiving 1,000,000 IPv4 prefixes
// from one BIRD peer. BIRD holds them all before our speaker starts; each
// iteration starts a fresh speaker. Two cases:
//
//   - kernel: as the lab runs, every best route installed in the
//     namespace's kernel table by the FIB writer, which holds the RIB
//     goroutine back when the kernel is slower than BGP;
//   - nokernel: Config.NoKernel, the Loc-RIB alone (decoding, Adj-RIB-In,
//     decision process), without FIB or next-hop tracking.
//
// Metrics:
//
//   - s/1M: from the IPv4 session reaching Established to the Loc-RIB
//     holding every prefix;
//   - fib-s/1M (kernel): from then until every route is in the kernel;
//   - B/path: Go heap in use after a GC with the table loaded, minus
//     before the speaker was made, per path (the kernel's own memory for
//     the routes is not in it).
func BenchmarkBIRD1M(b *testing.B) {
	needBinary(b, "bird", "birdc")
	const n = 1_000_000
	l := buildLab(b, labSpec{peer: "bird", ourAS: 65001, peerAS: 65002, noPrefixes: true})
	d := startBIRD(b, l, birdStatic1M(n))
	poll(b, 2*time.Minute, "BIRD to load its static routes", func() (bool, string) {
		out, err := d.birdc(context.Background(), "show", "route", "count")
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(out, fmt.Sprintf("%d of %d routes", n, n)), out
	})
	b.Run("kernel", func(b *testing.B) { bench1M(b, l, d, n, true) })
	b.Run("nokernel", func(b *testing.B) { bench1M(b, l, d, n, false) })
}

func bench1M(b *testing.B, l *testLab, d *bird, n int, kernel bool) {
	peer4 := l.peerAddr[topo.IPv4]
	var locRIB, fibTime time.Duration
	var perPath float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		before := heapInUse()
		cfg, err := speakerconf.Config(l.model, l.us, l.net.NamespacePath(l.us.Name))
		if err != nil {
			b.Fatal(err)
		}
		cfg.NoKernel = !kernel
		sp, err := speaker.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sp.Close() }) // on failure; Close is idempotent
		events, stop := sp.Subscribe()
		if err := sp.Listen(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := sp.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		var up time.Time
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		stopWaker := d.waker(ctx)
		for done := false; !done; {
			var ev speaker.Event
			select {
			case ev = <-events:
			case <-ctx.Done():
				b.Fatalf("waiting for %d prefixes: %v", n, ctx.Err())
			}
			if ev.Kind == speaker.EventPeerState && ev.Peer == peer4 && ev.State == speaker.Established && up.IsZero() {
				up = time.Now()
			}
			if ev.Kind != speaker.EventRIB || up.IsZero() {
				continue
			}
			// Skip to the latest round before asking: a Summary waits
			// for the RIB goroutine.
			for drained := false; !drained; {
				select {
				case <-events:
				default:
					drained = true
				}
			}
			sum, err := sp.Summary(ctx, wire.IPv4Unicast)
			if err != nil {
				b.Fatal(err)
			}
			done = sum.Prefixes == n
		}
		locRIB += time.Since(up)
		t0 := time.Now()
		if kernel {
			if err := sp.SyncFIB(ctx); err != nil {
				b.Fatal(err)
			}
			fibTime += time.Since(t0)
		}
		b.StopTimer()
		stopWaker()
		cancel()
		stop()
		perPath += float64(heapInUse()-before) / float64(n)
		// BENCH_HEAP=file writes a heap profile with the table loaded
		// (-memprofile is written after the speaker is gone).
		if f := os.Getenv("BENCH_HEAP"); f != "" {
			w, _ := os.Create(f)
			pprof.WriteHeapProfile(w)
			w.Close()
		}
		if kernel {
			if got := l.countKernelRoutes(b, netlink.FAMILY_V4); got != n {
				b.Errorf("kernel holds %d routes of ours, want %d", got, n)
			}
		}
		runtime.KeepAlive(sp)
		sp.Close()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(locRIB.Seconds()/float64(b.N), "s/1M")
	if kernel {
		b.ReportMetric(fibTime.Seconds()/float64(b.N), "fib-s/1M")
	}
	b.ReportMetric(perPath/float64(b.N), "B/path")
}

// heapInUse returns the Go heap in use after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// countKernelRoutes counts the routes our speaker installed (protocol
// 200) in our router's main table.
func (l *testLab) countKernelRoutes(t testing.TB, family int) int {
	t.Helper()
	n := 0
	err := l.net.Do(l.us.Name, func() error {
		h, err := netlink.NewHandle()
		if err != nil {
			return err
		}
		defer h.Close()
		rs, err := h.RouteListFiltered(family, &netlink.Route{Protocol: 200, Table: unix.RT_TABLE_MAIN},
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		n = len(rs)
		return err
	})
	if err != nil {
		t.Fatalf("routes of %s: %v", l.us.Name, err)
	}
	return n
}
