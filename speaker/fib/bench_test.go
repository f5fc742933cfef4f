package fib

import (
	"net/netip"
	"testing"

	"lab/speaker/internal/nstest"
)

// BenchmarkFIBWrite installs 10,000 IPv4 routes in a namespace's kernel
// table in one burst, then deletes them, as the writer goroutine does
// during a full table's arrival and at Close. One op is the whole cycle;
// ns/route is per route written (install or delete).
func BenchmarkFIBWrite(b *testing.B) {
	nstest.NeedRoot(b)
	s := nstest.Suffix()
	a := nstest.New(b, "fibb-"+s+"-a")
	peer := nstest.New(b, "fibb-"+s+"-b")
	nstest.Veth(b, a, "fa", peer, "fb")
	a.Addr(b, "fa", netip.MustParsePrefix("10.12.0.1/24"))
	ifA := a.Link(b, "fa").Attrs().Index
	f, err := Open(a.Path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	const n = 10_000
	gw := netip.MustParseAddr("10.12.0.2")
	add := make([]Op, n)
	del := make([]Op, n)
	for i := range n {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{20, byte(i >> 8), byte(i), 0}), 24)
		add[i] = Op{Route: Route{Dst: p, Gw: gw, IfIndex: ifA}}
		del[i] = Op{Route: Route{Dst: p}, Delete: true}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		// Apply owns its batch: give it copies.
		f.Apply(append([]Op(nil), add...))
		f.Sync()
		f.Apply(append([]Op(nil), del...))
		f.Sync()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*n*b.N), "ns/route")
	if nerr, last := f.Errors(); nerr != 0 {
		b.Fatalf("%d kernel errors, last %v", nerr, last)
	}
}
