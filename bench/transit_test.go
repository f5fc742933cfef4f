package bench

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"lab/topo"
)

// BenchmarkConvergeTransit50x5FullMesh and its route-reflector variants
// run 50 ASes of 5 routers each: the ASes joined as a Barabási–Albert
// graph (m=2, seed 1: 96 links between ASes), the routers of each AS in a
// ring (5 links), every router originating one IPv4 and one IPv6 prefix,
// iBGP between loopbacks over the lab's underlay. They measure what
// BenchmarkConvergeBA50 does: from `lab up` until every router has a
// kernel route to every other router's prefixes, those of its own AS
// included (498 each, 124,500 in all), and the daemon's peak RSS.
//
//	FullMesh  every AS a full mesh: 10 iBGP sessions per family per AS,
//	          1,000 iBGP + 192 eBGP sessions
//	RR1       one reflector per AS (its first router): 4 per family per
//	          AS, 400 iBGP + 192 eBGP
//	RR2       two reflectors per AS (its first and third routers, one
//	          cluster): 7 per family per AS, 700 iBGP + 192 eBGP
func BenchmarkConvergeTransit50x5FullMesh(b *testing.B) { benchTransit(b, 50, 5, 0) }
func BenchmarkConvergeTransit50x5RR1(b *testing.B)      { benchTransit(b, 50, 5, 1) }
func BenchmarkConvergeTransit50x5RR2(b *testing.B)      { benchTransit(b, 50, 5, 2) }

func benchTransit(b *testing.B, ases, routers, reflectors int) {
	y, err := transitTopology(ases, routers, reflectors)
	if err != nil {
		b.Fatal(err)
	}
	benchConvergeFile(b, fmt.Sprintf("transit%dx%d-rr%d.yaml", ases, routers, reflectors), y)
}

// transitTopology writes a lab of n ASes of k routers each, a<i>r<j>
// (AS 4200000000+i, RFC 6996 private 4-byte ASNs), joined as the
// Barabási–Albert graph of n nodes (m=2, seed 1): each edge between two
// ASes is a link between one router of each, taken in turn around each
// AS's ring so that the borders are spread over its routers. Inside an
// AS, the routers form a ring. reflectors 0 makes every AS a full mesh;
// 1 or 2 makes its first (and third) router its route reflectors. Every
// router originates 100.64.X.0/24 and 2001:db8:X::/48, X its number in
// the lab.
func transitTopology(n, k, reflectors int) ([]byte, error) {
	g, err := topo.BarabasiAlbert(n, 2, 1)
	if err != nil {
		return nil, err
	}
	if k < 3 || reflectors < 0 || reflectors > 2 {
		return nil, fmt.Errorf("transit topology: %d routers per AS, %d reflectors", k, reflectors)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %d ASes of %d routers (a ring each), Barabási–Albert between ASes (m=2, seed 1).\n", n, k)
	fmt.Fprintf(&b, "name: transit-%dx%d\nases:\n", n, k)
	for i := 1; i <= n; i++ {
		if reflectors == 0 {
			fmt.Fprintf(&b, "  %d: {ibgp: full-mesh}\n", 4200000000+i)
		} else {
			fmt.Fprintf(&b, "  %d: {ibgp: route-reflector}\n", 4200000000+i)
		}
	}
	b.WriteString("routers:\n")
	v4 := netip.MustParsePrefix("100.64.0.0/10")
	x := 0
	for i := 1; i <= n; i++ {
		for j := 1; j <= k; j++ {
			a := v4.Addr().As4()
			a[1] += byte(x >> 8)
			a[2] = byte(x)
			rr := ""
			if j == 1 && reflectors >= 1 || j == 3 && reflectors == 2 {
				rr = ", rr: true"
			}
			fmt.Fprintf(&b, "  a%dr%d: {as: %d%s, prefixes: [%v, \"2001:db8:%x::/48\"]}\n",
				i, j, 4200000000+i, rr, netip.PrefixFrom(netip.AddrFrom4(a), 24), x)
			x++
		}
	}
	b.WriteString("links:\n")
	for i := 1; i <= n; i++ {
		for j := 1; j <= k; j++ {
			fmt.Fprintf(&b, "  - [a%dr%d, a%dr%d]\n", i, j, i, j%k+1)
		}
	}
	next := make([]int, n)
	border := func(as int) string {
		r := next[as]%k + 1
		next[as]++
		return fmt.Sprintf("a%dr%d", as+1, r)
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  - [%s, %s]\n", border(e[0]), border(e[1]))
	}
	return b.Bytes(), nil
}

// TestTransitTopology checks the benchmark's topologies: they load, with
// the sessions the benchmark's doc counts.
func TestTransitTopology(t *testing.T) {
	for _, c := range []struct{ reflectors, ibgp, ebgp int }{{0, 1000, 192}, {1, 400, 192}, {2, 700, 192}} {
		y, err := transitTopology(50, 5, c.reflectors)
		if err != nil {
			t.Fatal(err)
		}
		m, err := topo.Parse("transit.yaml", y)
		if err != nil {
			var eb bytes.Buffer
			topo.WriteErrors(&eb, err)
			t.Fatalf("%d reflectors:\n%s", c.reflectors, eb.String())
		}
		ibgp, ebgp := 0, 0
		for _, s := range m.Sessions {
			if s.IBGP() {
				ibgp++
			} else {
				ebgp++
			}
		}
		if ibgp != c.ibgp || ebgp != c.ebgp || len(m.Routers) != 250 {
			t.Errorf("%d reflectors: %d routers, %d iBGP and %d eBGP sessions, want 250, %d and %d",
				c.reflectors, len(m.Routers), ibgp, ebgp, c.ibgp, c.ebgp)
		}
	}
}
