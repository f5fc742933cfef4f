package topo

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

func TestBarabasiAlbertShape(t *testing.T) {
	const n, m = 2000, 2
	g, err := BarabasiAlbert(n, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := m * (n - m); len(g.Edges) != want {
		t.Fatalf("%d edges, want m(n-m) = %d", len(g.Edges), want)
	}
	seen := map[[2]int]bool{}
	for _, e := range g.Edges {
		if e[0] >= e[1] || e[0] < 0 || e[1] >= n {
			t.Fatalf("edge %v: want 0 <= a < b < n", e)
		}
		if seen[e] {
			t.Fatalf("edge %v twice", e)
		}
		seen[e] = true
	}
	deg := g.Degrees()
	sum, maxDeg, atM := 0, 0, 0
	for v, d := range deg {
		sum += d
		maxDeg = max(maxDeg, d)
		if d < m && v > m {
			t.Fatalf("node %d has degree %d < m", v, d)
		}
		if d == m {
			atM++
		}
	}
	if sum != 2*len(g.Edges) {
		t.Fatalf("degree sum %d != 2·edges", sum)
	}
	mean := float64(sum) / n
	// Preferential attachment: P(k) = 2m(m+1)/(k(k+1)(k+2)), so half the
	// nodes (2/(m+2)) keep degree m, and the tail is heavy: hubs far above
	// the mean (about m·sqrt(n) ≈ 90 here), which a uniform random graph
	// of the same size (max ≈ 12) never has.
	if frac := float64(atM) / n; frac < 0.40 || frac > 0.60 {
		t.Errorf("%.2f of the nodes have degree m; BA predicts 0.5", frac)
	}
	if maxDeg < int(10*mean) {
		t.Errorf("max degree %d, mean %.1f: no hubs, not preferential attachment", maxDeg, mean)
	}
	// The complementary CDF falls like k^-2: P(K >= 4m) ≈ 1/16·(m+1)/m...
	// checked loosely as a ratio between two thresholds.
	ccdf := func(k int) float64 {
		c := 0
		for _, d := range deg {
			if d >= k {
				c++
			}
		}
		return float64(c) / n
	}
	if r := ccdf(8) / ccdf(16); r < 2.5 || r > 6 {
		t.Errorf("P(K>=8)/P(K>=16) = %.2f; a k^-2 tail gives about 4", r)
	}
	// The oldest nodes are the hubs.
	early := slices.Max(deg[:10])
	if early != maxDeg && early < maxDeg/2 {
		t.Errorf("the first ten nodes' top degree %d is far below the max %d", early, maxDeg)
	}
}

func TestGenerateBADeterministic(t *testing.T) {
	a, err := GenerateBA(200, 2, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateBA(200, 2, 42)
	c, _ := GenerateBA(200, 2, 43)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different files")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same file")
	}
	// Pin the generator's stream: a change here changes every generated
	// benchmark topology, which must be a decision.
	g, _ := BarabasiAlbert(8, 2, 1)
	want := "[[0 1] [0 2] [1 3] [2 3] [1 4] [2 4] [1 5] [4 5] [1 6] [3 6] [2 7] [6 7]]"
	if got := fmt.Sprint(g.Edges); got != want {
		t.Errorf("BarabasiAlbert(8, 2, 1) = %s, want %s", got, want)
	}
}

func TestGenerateBALoads(t *testing.T) {
	const n, m = 200, 2
	src, err := GenerateBA(n, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Parse("ba.yaml", src)
	if err != nil {
		var b bytes.Buffer
		WriteErrors(&b, err)
		t.Fatalf("generated file does not load:\n%s", b.String())
	}
	if l.Name != "ba-200-2-1" {
		t.Errorf("name %q", l.Name)
	}
	if len(l.Routers) != n || len(l.ASes) != n || len(l.Hosts) != 0 {
		t.Errorf("%d routers, %d ASes, %d hosts; want %d, %d, 0", len(l.Routers), len(l.ASes), len(l.Hosts), n, n)
	}
	edges := m * (n - m)
	if len(l.Links) != edges || len(l.Sessions) != 2*edges {
		t.Errorf("%d links, %d sessions; want %d and %d (one per family)", len(l.Links), len(l.Sessions), edges, 2*edges)
	}
	r1, r200 := l.Router("r1"), l.Router("r200")
	if r1.AS.Number != 4200000001 || r200.AS.Number != 4200000200 {
		t.Errorf("ASes %d, %d", r1.AS.Number, r200.AS.Number)
	}
	if got := fmt.Sprint(r200.Originate[0].Prefix, " ", r200.Originate[1].Prefix); got != "100.64.199.0/24 2001:db8:c7::/48" {
		t.Errorf("r200 originates %s", got)
	}
	if r1.BGP.Hold != DefaultHold || r1.BGP.Keepalive != DefaultHold/3 {
		t.Errorf("timers %v", r1.BGP)
	}
}

func TestGenerateBARelations(t *testing.T) {
	const n, m = 120, 2
	plain, _ := GenerateBA(n, m, 5)
	if zero, _ := GenerateBAWith(n, m, 5, BAOptions{}); !bytes.Equal(plain, zero) {
		t.Fatal("GenerateBAWith with zero options differs from GenerateBA")
	}
	src, err := GenerateBAWith(n, m, 5, BAOptions{Relations: true})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := GenerateBAWith(n, m, 5, BAOptions{Relations: true})
	if !bytes.Equal(src, again) {
		t.Fatal("same parameters, different files")
	}
	l, err := Parse("ba.yaml", src)
	if err != nil {
		var b bytes.Buffer
		WriteErrors(&b, err)
		t.Fatalf("generated file does not load:\n%s", b.String())
	}
	lp, _ := Parse("ba.yaml", plain)
	g, _ := BarabasiAlbert(n, m, 5)
	if len(l.Links) != len(g.Edges) || len(l.Sessions) != len(lp.Sessions) {
		t.Fatalf("%d links, %d sessions; want %d and %d", len(l.Links), len(l.Sessions), len(g.Edges), len(lp.Sessions))
	}
	for i, k := range l.Links {
		e := g.Edges[i]
		a, b := k.A.Node.Router(), k.B.Node.Router()
		// The older AS (lower index) provides for the newer.
		if a.Name != fmt.Sprintf("r%d", e[0]+1) || b.Name != fmt.Sprintf("r%d", e[1]+1) || a.AS.Number >= b.AS.Number {
			t.Fatalf("link %d is %s-%s, edge %v", i, a.Name, b.Name, e)
		}
		if k.Relation != RelProviderCustomer || k.RoleOf(&a.Node) != RoleProvider || k.RoleOf(&b.Node) != RoleCustomer {
			t.Fatalf("link %d %s-%s: relation %v", i, a.Name, b.Name, k.Relation)
		}
		// Addresses are those of the plain file: relations move nothing.
		if k.A.Addrs[0] != lp.Links[i].A.Addrs[0] {
			t.Fatalf("link %d: %v, plain %v", i, k.A.Addrs[0], lp.Links[i].A.Addrs[0])
		}
	}
	// Only r1 has no provider: every other AS joined by linking to older
	// ones, which became its providers.
	hasProvider := map[string]bool{}
	for _, k := range l.Links {
		hasProvider[k.B.Node.Name] = true
	}
	if hasProvider["r1"] || len(hasProvider) != n-1 {
		t.Errorf("%d ASes have a provider (r1: %v); want all but r1", len(hasProvider), hasProvider["r1"])
	}
}

func TestGenerateBALimits(t *testing.T) {
	for _, c := range []struct{ n, m int }{{1, 1}, {3, 0}, {2, 2}, {MaxBARouters + 1, 2}} {
		if _, err := GenerateBA(c.n, c.m, 1); err == nil {
			t.Errorf("GenerateBA(%d, %d) succeeded", c.n, c.m)
		}
	}
	// Beyond the default IPv4 link pool (16384 /30s) the generator widens it.
	if testing.Short() {
		t.Skip("short: skipping the 9000-router file")
	}
	src, err := GenerateBA(9000, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Parse("big.yaml", src)
	if err != nil {
		t.Fatalf("9000 routers: %v", err)
	}
	if l.Pools.LinkIPv4Len != 31 || len(l.Links) != 2*(9000-2) {
		t.Errorf("pool /%d, %d links", l.Pools.LinkIPv4Len, len(l.Links))
	}
}

func BenchmarkGenerateBA200(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateBA(200, 2, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func benchParse(b *testing.B, name string, src []byte) {
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(name, src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSeed(b *testing.B) {
	benchParse(b, "simple-bgp.yaml", mustRead(b, "../topologies/simple-bgp.yaml"))
}

func BenchmarkParseBA200(b *testing.B) {
	src, _ := GenerateBA(200, 2, 1)
	benchParse(b, "ba.yaml", src)
}

func BenchmarkParseBA5000(b *testing.B) {
	src, _ := GenerateBA(5000, 2, 1)
	benchParse(b, "ba.yaml", src)
}
