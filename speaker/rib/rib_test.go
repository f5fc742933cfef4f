package rib

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	pfx    = netip.MustParsePrefix("2001:1234:2::/64")
	local  = &Source{Local: true, RouterID: netip.MustParseAddr("0.0.0.2"), Name: "local"}
	peerB  = &Source{Addr: netip.MustParseAddr("2001:12::b"), AS: 2, RouterID: netip.MustParseAddr("0.0.0.3"), Name: "as2rb (eBGP)"}
	peerC  = &Source{Addr: netip.MustParseAddr("2001:13::c"), AS: 3, RouterID: netip.MustParseAddr("0.0.0.4"), Name: "as3rc (eBGP)"}
	peerC2 = &Source{Addr: netip.MustParseAddr("2001:14::c"), AS: 3, RouterID: netip.MustParseAddr("0.0.0.1"), Name: "as3rc2 (eBGP)"}
	peerI  = &Source{Addr: netip.MustParseAddr("2001:11::e"), AS: 1, IBGP: true, RouterID: netip.MustParseAddr("0.0.0.9"), Name: "as1re (iBGP)"}
	peerI2 = &Source{Addr: netip.MustParseAddr("2001:11::f"), AS: 1, IBGP: true, RouterID: netip.MustParseAddr("0.0.0.9"), Name: "as1rf (iBGP)"}
)

func seq(asns ...uint32) []Segment {
	if len(asns) == 0 {
		return nil
	}
	return []Segment{{Type: SegSequence, ASNs: asns}}
}

type tpath struct {
	src   *Source
	attrs Attrs
	nh    string // "" none; "down:" prefix makes it unreachable
}

// build makes a table and adds paths in order (the last added is newest).
func build(t testing.TB, compareRID bool, paths ...tpath) (*Table, *NextHops) {
	t.Helper()
	nhs := NewNextHops(resolveBy(func(a netip.Addr) (int, bool) {
		return 1, !a.IsLoopback() // ::1 stands for an unreachable next hop
	}))
	in := NewInterner()
	tb := NewTable(in, nhs)
	tb.CompareRouterID = compareRID
	for i, p := range paths {
		var nhAddr netip.Addr
		if p.nh != "" {
			nhAddr = netip.MustParseAddr(p.nh)
		}
		tb.Update(pfx, Path{Attrs: in.Intern(&p.attrs), NH: nhs.Get(p.src, nhAddr, netip.Addr{}), Time: int64(i)})
	}
	return tb, nhs
}

func bestOf(t *testing.T, tb *Table) (string, Reason) {
	t.Helper()
	var name string
	var reason Reason
	tb.Process(func(_ netip.Prefix, _, nb *Path, r Reason) {
		if nb != nil {
			name = nb.Src().Name
		}
		reason = r
	})
	return name, reason
}

func TestDecisionProcess(t *testing.T) {
	tests := []struct {
		name       string
		compareRID bool
		paths      []tpath
		want       string
		reason     Reason
	}{
		{"single path", false, []tpath{{peerB, Attrs{ASPath: seq(2)}, "2001:12::b"}}, "as2rb (eBGP)", ReasonFirst},
		{"weight: local beats learned", false, []tpath{
			{peerB, Attrs{ASPath: seq(2), LocalPref: 500, HasLocalPref: true}, "2001:12::b"},
			{local, Attrs{}, ""},
		}, "local", ReasonWeight},
		{"local pref", false, []tpath{
			{peerI, Attrs{ASPath: seq(2), LocalPref: 200, HasLocalPref: true}, "2001:11::e"},
			{peerB, Attrs{ASPath: seq(2)}, "2001:12::b"},
		}, "as1re (iBGP)", ReasonLocalPref},
		{"AS path length (seed 2001:1234:2::/64)", true, []tpath{
			{peerB, Attrs{ASPath: seq(2), MED: 0, HasMED: true}, "2001:12::b"},
			{peerC, Attrs{ASPath: seq(3, 2)}, "2001:13::c"},
		}, "as2rb (eBGP)", ReasonASPath},
		{"AS_SET counts as one", false, []tpath{
			{peerB, Attrs{ASPath: []Segment{{SegSequence, []uint32{2}}, {SegSet, []uint32{5, 6, 7}}}}, "2001:12::b"},
			{peerC, Attrs{ASPath: seq(3, 4, 5)}, "2001:13::c"},
		}, "as2rb (eBGP)", ReasonASPath},
		{"origin", false, []tpath{
			{peerB, Attrs{ASPath: seq(2), Origin: OriginIncomplete}, "2001:12::b"},
			{peerC, Attrs{ASPath: seq(3), Origin: OriginEGP}, "2001:13::c"},
		}, "as3rc (eBGP)", ReasonOrigin},
		{"MED within the same neighbour AS", false, []tpath{
			{peerC, Attrs{ASPath: seq(3), MED: 10, HasMED: true}, "2001:13::c"},
			{peerC2, Attrs{ASPath: seq(3), MED: 20, HasMED: true}, "2001:14::c"},
		}, "as3rc (eBGP)", ReasonMED},
		{"missing MED is 0", false, []tpath{
			{peerC, Attrs{ASPath: seq(3), MED: 10, HasMED: true}, "2001:13::c"},
			{peerC2, Attrs{ASPath: seq(3)}, "2001:14::c"},
		}, "as3rc2 (eBGP)", ReasonMED},
		{"MED ignored across neighbour ASes", false, []tpath{
			{peerB, Attrs{ASPath: seq(2), MED: 50, HasMED: true}, "2001:12::b"},
			{peerC, Attrs{ASPath: seq(3), MED: 10, HasMED: true}, "2001:13::c"},
		}, "as2rb (eBGP)", ReasonRouterID},
		{"eBGP over iBGP", false, []tpath{
			{peerB, Attrs{ASPath: seq(2)}, "2001:12::b"},
			{peerI, Attrs{ASPath: seq(3), LocalPref: 100, HasLocalPref: true}, "2001:11::e"},
		}, "as2rb (eBGP)", ReasonPeerType},
		{"compare-routerid: lower router ID", true, []tpath{
			{peerC, Attrs{ASPath: seq(3)}, "2001:13::c"},
			{peerB, Attrs{ASPath: seq(2)}, "2001:12::b"},
		}, "as2rb (eBGP)", ReasonRouterID},
		{"originator ID replaces router ID", true, []tpath{
			{peerB, Attrs{ASPath: seq(2)}, "2001:12::b"},
			{peerC, Attrs{ASPath: seq(3), Ext: &Ext{OriginatorID: netip.MustParseAddr("0.0.0.1")}}, "2001:13::c"},
		}, "as3rc (eBGP)", ReasonRouterID},
		{"cluster list length", false, []tpath{
			{peerI, Attrs{ASPath: seq(2), Ext: &Ext{ClusterList: []uint32{1, 2}}}, "2001:11::e"},
			{peerI2, Attrs{ASPath: seq(3), Ext: &Ext{ClusterList: []uint32{1}}}, "2001:11::f"},
		}, "as1rf (iBGP)", ReasonClusterLength},
		{"neighbor IP", false, []tpath{
			{peerI2, Attrs{ASPath: seq(3)}, "2001:11::f"},
			{peerI, Attrs{ASPath: seq(2)}, "2001:11::e"},
		}, "as1re (iBGP)", ReasonNeighborIP},
		{"invalid next hop not selected", false, []tpath{
			{peerB, Attrs{ASPath: seq(2)}, "::1"},
			{peerC, Attrs{ASPath: seq(3, 2)}, "2001:13::c"},
		}, "as3rc (eBGP)", ReasonFirst},
		{"no valid path", false, []tpath{
			{peerB, Attrs{ASPath: seq(2)}, "::1"},
		}, "", ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, _ := build(t, tt.compareRID, tt.paths...)
			name, reason := bestOf(t, tb)
			if name != tt.want || reason != tt.reason {
				t.Errorf("best = %q (%v), want %q (%v)", name, reason, tt.want, tt.reason)
			}
		})
	}
}

// Without compare-routerid the selected external path stays selected when a
// newer, equally good one arrives: FRR's "Older Path".
func TestOlderPathKeepsSelected(t *testing.T) {
	tb, _ := build(t, false, tpath{peerC, Attrs{ASPath: seq(3)}, "2001:13::c"})
	if name, r := bestOf(t, tb); name != "as3rc (eBGP)" || r != ReasonFirst {
		t.Fatalf("first best = %q %v", name, r)
	}
	in := tb.in
	tb.Update(pfx, Path{Attrs: in.Intern(&Attrs{ASPath: seq(2)}), NH: tb.nh.Get(peerB, netip.MustParseAddr("2001:12::b"), netip.Addr{}), Time: 5})
	if name, r := bestOf(t, tb); name != "as3rc (eBGP)" || r != ReasonOlder {
		t.Errorf("after newer path: best = %q %v, want as3rc (eBGP) Older Path", name, r)
	}
	// With compare-routerid the lower router ID wins instead.
	tb.CompareRouterID = true
	tb.MarkAll()
	if name, r := bestOf(t, tb); name != "as2rb (eBGP)" || r != ReasonRouterID {
		t.Errorf("compare-routerid: best = %q %v, want as2rb (eBGP) Router ID", name, r)
	}
}

func TestReasonText(t *testing.T) {
	got := []string{}
	for r := ReasonNone; r <= ReasonNothingLeft; r++ {
		got = append(got, r.String())
	}
	want := []string{"Nothing to Select", "First path received", "Weight", "Local Pref", "Local Route",
		"AS Path", "Origin", "MED", "Peer Type", "IGP Metric", "Older Path", "Router ID", "Cluster length",
		"Neighbor IP", "Nothing left to compare"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reason text (-want +got):\n%s", diff)
	}
	b, _ := ReasonASPath.MarshalText()
	if string(b) != "AS Path" {
		t.Errorf("MarshalText = %q", b)
	}
}

// The seed's as2rb link goes down: paths through 2001:12::b become invalid
// and the best moves to as3rc; when the link is back, they return.
func TestNextHopTracking(t *testing.T) {
	down := false
	nhs := NewNextHops(resolveBy(func(a netip.Addr) (int, bool) {
		if a == netip.MustParseAddr("2001:12::b") {
			return 2, !down
		}
		return 3, true
	}))
	in := NewInterner()
	tb := NewTable(in, nhs)
	tb.CompareRouterID = true
	tb.Update(pfx, Path{Attrs: in.Intern(&Attrs{ASPath: seq(2)}), NH: nhs.Get(peerB, netip.MustParseAddr("2001:12::b"), netip.Addr{})})
	tb.Update(pfx, Path{Attrs: in.Intern(&Attrs{ASPath: seq(3, 2)}), NH: nhs.Get(peerC, netip.MustParseAddr("2001:13::c"), netip.Addr{})})
	if name, _ := bestOf(t, tb); name != "as2rb (eBGP)" {
		t.Fatalf("best = %q", name)
	}
	down = true
	changed := nhs.Refresh()
	if len(changed) != 1 || changed[0].Addr != netip.MustParseAddr("2001:12::b") {
		t.Fatalf("Refresh changed %v", changed)
	}
	if n := tb.MarkNextHops(changed); n != 1 {
		t.Fatalf("MarkNextHops = %d", n)
	}
	var oldName string
	tb.Process(func(_ netip.Prefix, old, nb *Path, r Reason) {
		oldName = old.Src().Name
		if nb == nil || nb.Src() != peerC || r != ReasonFirst {
			t.Errorf("after linkdown: best %+v %v, want as3rc First path received", nb, r)
		}
	})
	if oldName != "as2rb (eBGP)" {
		t.Errorf("old best = %q", oldName)
	}
	if p := tb.Dest(pfx).Paths(); p[1].Valid() || !p[0].Valid() {
		t.Errorf("validity: %v %v", p[0].Valid(), p[1].Valid())
	}
	down = false
	tb.MarkNextHops(nhs.Refresh())
	if name, r := bestOf(t, tb); name != "as2rb (eBGP)" || r != ReasonASPath {
		t.Errorf("after linkup: %q %v", name, r)
	}
}

func TestAdjRIBIn(t *testing.T) {
	tb, nhs := build(t, false)
	in := tb.in
	p2 := netip.MustParsePrefix("2001:1234:3::/64")
	a := in.Intern(&Attrs{ASPath: seq(2)})
	if !tb.Update(pfx, Path{Attrs: a, NH: nhs.Get(peerB, netip.MustParseAddr("2001:12::b"), netip.Addr{})}) {
		t.Fatal("first update: no change")
	}
	// An identical update is an implicit duplicate: no change, refs kept.
	if tb.Update(pfx, Path{Attrs: in.Intern(&Attrs{ASPath: seq(2)}), NH: nhs.Get(peerB, netip.MustParseAddr("2001:12::b"), netip.Addr{})}) {
		t.Error("duplicate update reported a change")
	}
	if a.refs != 1 {
		t.Errorf("refs after duplicate = %d, want 1", a.refs)
	}
	// Implicit withdraw: the same source's new path replaces the old.
	tb.Update(pfx, Path{Attrs: in.Intern(&Attrs{ASPath: seq(2, 5)}), NH: nhs.Get(peerB, netip.MustParseAddr("2001:12::b"), netip.Addr{})})
	if n := len(tb.Dest(pfx).Paths()); n != 1 {
		t.Errorf("paths after replace = %d", n)
	}
	if in.Len() != 1 {
		t.Errorf("interner holds %d sets, want 1 (the replaced set released)", in.Len())
	}
	tb.Update(p2, Path{Attrs: in.Intern(&Attrs{ASPath: seq(3)}), NH: nhs.Get(peerC, netip.MustParseAddr("2001:13::c"), netip.Addr{})})
	tb.Update(p2, Path{Attrs: in.Intern(&Attrs{ASPath: seq(2, 3)}), NH: nhs.Get(peerB, netip.MustParseAddr("2001:12::b"), netip.Addr{})})
	tb.Process(nil)
	if got := tb.SourceCount(peerB); got != 2 {
		t.Errorf("SourceCount(peerB) = %d", got)
	}
	// Newest first.
	if got := tb.Dest(p2).Paths()[0].Src(); got != peerB {
		t.Errorf("first path of %v from %v, want the newest (peerB)", p2, got.Name)
	}
	if tb.Remove(pfx, peerC) {
		t.Error("removed a path that was not there")
	}
	if n := tb.RemoveSource(peerB); n != 2 {
		t.Errorf("RemoveSource = %d", n)
	}
	var gone []netip.Prefix
	tb.Process(func(p netip.Prefix, old, nb *Path, _ Reason) {
		if nb == nil {
			gone = append(gone, p)
		}
	})
	if diff := cmp.Diff([]netip.Prefix{pfx}, gone, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("prefixes left without a best (-want +got):\n%s", diff)
	}
	if tb.Len() != 1 || tb.PathCount() != 1 || tb.Dest(pfx) != nil {
		t.Errorf("after RemoveSource: %d prefixes, %d paths", tb.Len(), tb.PathCount())
	}
	if nhs.Len() != 1 {
		t.Errorf("next hops in use = %d, want 1", nhs.Len())
	}
}

func TestAdjOut(t *testing.T) {
	tb, nhs := build(t, false, tpath{peerB, Attrs{ASPath: seq(2)}, "2001:12::b"})
	tb.Process(nil)
	in := tb.in
	out := NewAdjOut(tb)
	d := tb.Dest(pfx)
	a := in.Intern(&Attrs{ASPath: seq(1)})
	if !out.Set(d, a) || out.Set(d, a) {
		t.Error("Set: first must change, second must not")
	}
	b := in.Intern(&Attrs{ASPath: seq(1, 3)})
	if !out.Set(d, b) || out.Get(d) != b || out.Len() != 1 {
		t.Error("Set with new attrs")
	}
	in.Release(a)
	in.Release(b)
	if in.Len() != 2 { // the path's set and b
		t.Errorf("interner = %d sets, want 2", in.Len())
	}
	if out.Get(nil) != nil {
		t.Error("Get(nil) is not nil")
	}

	// The path is withdrawn: the destination stays, without paths, until
	// the Adj-RIB-Out records the withdrawal and the table is swept.
	tb.Remove(pfx, peerB)
	tb.Process(nil)
	tb.Sweep()
	if tb.Dest(pfx) != d || tb.Len() != 0 || len(tb.Prefixes()) != 0 {
		t.Fatalf("withdrawn but advertised: Dest %p (want %p), Len %d, Prefixes %v", tb.Dest(pfx), d, tb.Len(), tb.Prefixes())
	}
	if !out.Delete(d) || out.Delete(d) || out.Len() != 0 {
		t.Error("Delete")
	}
	tb.Sweep()
	if tb.Dest(pfx) != nil {
		t.Error("a destination without paths nor advertisements is kept")
	}
	if in.Len() != 0 {
		t.Errorf("interner = %d sets after all released", in.Len())
	}

	// Its id goes to the next new destination, which is not advertised.
	p2 := netip.MustParsePrefix("2001:1234:3::/64")
	tb.Update(p2, Path{Attrs: in.Intern(&Attrs{ASPath: seq(3)}), NH: nhs.Get(peerC, netip.MustParseAddr("2001:13::c"), netip.Addr{})})
	tb.Process(nil)
	d2 := tb.Dest(p2)
	if d2.id != d.id || out.Get(d2) != nil {
		t.Errorf("new destination: id %d (freed %d), advertised %p", d2.id, d.id, out.Get(d2))
	}

	// A session going down clears its Adj-RIB-Out; a destination left
	// without paths by then goes at the next Sweep.
	out.Set(d2, tb.Dest(p2).Paths()[0].Attrs)
	tb.RemoveSource(peerC)
	tb.Process(nil)
	tb.Sweep()
	if tb.Dest(p2) == nil {
		t.Fatal("dropped while advertised")
	}
	out.Clear()
	tb.Sweep()
	if tb.Dest(p2) != nil || out.Len() != 0 || in.Len() != 0 {
		t.Errorf("after Clear and Sweep: Dest %p, Len %d, %d sets", tb.Dest(p2), out.Len(), in.Len())
	}
}

func TestInterning(t *testing.T) {
	in := NewInterner()
	src := Attrs{ASPath: seq(2, 4), Ext: &Ext{Communities: []uint32{1<<16 | 100}, LargeCommunities: []LargeCommunity{{1, 2, 3}}}}
	a := in.Intern(&src)
	// The caller may reuse its slices: the interned copy is independent.
	src.ASPath[0].ASNs[0] = 99
	src.Ext.Communities[0] = 7
	if a.ASPath[0].ASNs[0] != 2 || a.Extra().Communities[0] != 1<<16|100 {
		t.Fatal("interned set shares the caller's slices")
	}
	b := in.Intern(&Attrs{ASPath: seq(2, 4), Ext: &Ext{Communities: []uint32{1<<16 | 100}, LargeCommunities: []LargeCommunity{{1, 2, 3}}}})
	if a != b {
		t.Error("equal sets not shared")
	}
	variants := []Attrs{
		{ASPath: seq(2, 4)},
		{ASPath: []Segment{{SegSet, []uint32{2, 4}}}},
		{ASPath: seq(2, 4), HasMED: true},
		{ASPath: seq(2, 4), MED: 1, HasMED: true},
		{ASPath: seq(2, 4), Ext: &Ext{OriginatorID: netip.MustParseAddr("10.0.0.1")}},
		{ASPath: seq(2, 4), Ext: &Ext{Other: "\xc0\x63\x00"}},
		{ASPath: seq(2), Ext: &Ext{Communities: []uint32{4}}},
		{ASPath: seq(2, 4), Ext: &Ext{Communities: []uint32{}}},
	}
	seen := map[*Attrs]int{}
	for i := range variants {
		s := in.Intern(&variants[i])
		if j, dup := seen[s]; dup && !(i == 7 && j == 0) {
			t.Errorf("variant %d shares variant %d's set", i, j)
		}
		seen[s] = i
	}
}

func TestPathHelpers(t *testing.T) {
	a := &Attrs{ASPath: []Segment{{SegConfedSequence, []uint32{65001}}, {SegSequence, []uint32{3, 2}}, {SegSet, []uint32{7, 8}}}}
	if a.PathLen() != 3 {
		t.Errorf("PathLen = %d", a.PathLen())
	}
	if a.NeighborAS() != 3 {
		t.Errorf("NeighborAS = %d", a.NeighborAS())
	}
	// Loop detection: the local AS anywhere in the path.
	if !a.HasAS(8) || a.HasAS(1) {
		t.Error("HasAS")
	}
	got := Prepend(seq(3, 2), 1, 1)
	if diff := cmp.Diff(seq(1, 3, 2), got); diff != "" {
		t.Errorf("Prepend (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(seq(1), Prepend(nil, 1, 1)); diff != "" {
		t.Errorf("Prepend to empty (-want +got):\n%s", diff)
	}
	set := []Segment{{SegSet, []uint32{5}}}
	if diff := cmp.Diff([]Segment{{SegSequence, []uint32{1}}, {SegSet, []uint32{5}}}, Prepend(set, 1, 1)); diff != "" {
		t.Errorf("Prepend before a set (-want +got):\n%s", diff)
	}
	if (&Attrs{}).EffectiveLocalPref() != 100 {
		t.Error("default local pref")
	}
}

// BenchmarkInsert1MIPv4 inserts a million IPv4 /24 paths from one peer with
// a few thousand distinct attribute sets, as a full table from one BIRD
// peer, and runs the decision process over them.
func BenchmarkInsert1MIPv4(b *testing.B) {
	const n = 1_000_000
	prefixes := make([]netip.Prefix, n)
	for i := range prefixes {
		v := uint32(i) << 8
		prefixes[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24)
	}
	src := &Source{Addr: netip.MustParseAddr("10.0.0.2"), AS: 65002, RouterID: netip.MustParseAddr("10.0.0.2")}
	nhAddr := netip.MustParseAddr("10.0.0.2")
	b.ReportAllocs()
	b.ResetTimer()
	var heap uint64
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		in := NewInterner()
		nhs := NewNextHops(nil)
		tb := NewTable(in, nhs)
		attrs := Attrs{ASPath: seq(65002, 0, 0)}
		for i, p := range prefixes {
			attrs.ASPath[0].ASNs[1] = uint32(i % 5000)
			attrs.ASPath[0].ASNs[2] = uint32(i % 7)
			tb.Update(p, Path{Attrs: in.Intern(&attrs), NH: nhs.Get(src, nhAddr, netip.Addr{}), Time: int64(i)})
		}
		tb.Process(func(netip.Prefix, *Path, *Path, Reason) {})
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		if tb.Len() != n {
			b.Fatalf("table has %d prefixes", tb.Len())
		}
		runtime.KeepAlive(tb)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/path")
	b.ReportMetric(float64(heap)/n, "bytes/path")
}

func ExampleReason() {
	fmt.Println(ReasonASPath, "|", ReasonOlder)
	// Output: AS Path | Older Path
}

// A path's next hop is its own (not its attribute set's): the addresses
// received, and the one resolved — the global address unless it is
// missing, link-local or unspecified.
func TestNextHopsGet(t *testing.T) {
	var resolved []netip.Addr
	nhs := NewNextHops(resolveBy(func(a netip.Addr) (int, bool) {
		resolved = append(resolved, a)
		return 2, true
	}))
	g, ll := netip.MustParseAddr("2001:12::b"), netip.MustParseAddr("fe80::b%eth0")
	tests := []struct {
		global, ll, want netip.Addr
	}{
		{g, ll, g},
		{g, netip.Addr{}, g},
		{netip.Addr{}, ll, ll},
		{netip.IPv6Unspecified(), ll, ll},
		{netip.MustParseAddr("fe80::c"), ll, ll},
		{netip.MustParseAddr("10.0.0.2"), netip.Addr{}, netip.MustParseAddr("10.0.0.2")},
	}
	for _, tt := range tests {
		h := nhs.Get(peerB, tt.global, tt.ll)
		if h.Addr != tt.want || h.Global != tt.global || h.LinkLocal != tt.ll || !h.Reachable || h.IfIndex != 2 {
			t.Errorf("Get(%v, %v) = %+v, want Addr %v", tt.global, tt.ll, h, tt.want)
		}
	}
	// The same pair is the same NextHop, resolved once; another pair is
	// another one.
	n := len(resolved)
	if a, b := nhs.Get(peerB, g, ll), nhs.Get(peerB, g, ll); a != b || len(resolved) != n {
		t.Errorf("the same next hops gave %p and %p (%d resolutions)", a, b, len(resolved)-n)
	}
	if nhs.Get(peerB, g, ll) == nhs.Get(peerB, g, netip.Addr{}) {
		t.Error("next hops with and without a link-local address are one")
	}
	// The same addresses from another source are another NextHop: it
	// tells the path's source.
	if h := nhs.Get(peerC, g, ll); h == nhs.Get(peerB, g, ll) || h.Src != peerC {
		t.Errorf("next hops of B and C are one, or C's names %v", h.Src.Name)
	}
	// A local route's needs no resolution and is reachable.
	n = len(resolved)
	if h := nhs.Get(local, netip.Addr{}, netip.Addr{}); !h.Reachable || h.Src != local || len(resolved) != n {
		t.Errorf("local next hop %+v (%d resolutions)", h, len(resolved)-n)
	}
	if want := len(tests) + 2; nhs.Len() != want {
		t.Errorf("Len() = %d, want %d", nhs.Len(), want)
	}
}

// Process reports the best path before as it was: when its source
// replaced it, as absent (the speaker then advertises the new one); when
// a new path lost, as the best, unchanged.
func TestProcessReportsReplacedBest(t *testing.T) {
	tb, nhs := build(t, false, tpath{peerB, Attrs{ASPath: seq(2)}, "2001:12::b"})
	tb.Process(nil)
	in := tb.in
	report := func() (old, nb *Path) {
		t.Helper()
		n := 0
		tb.Process(func(_ netip.Prefix, o, b *Path, _ Reason) {
			n++
			if o != nil {
				c := *o
				old = &c
			}
			if b != nil {
				c := *b
				nb = &c
			}
		})
		if n != 1 {
			t.Fatalf("Process reported %d prefixes, want 1", n)
		}
		return old, nb
	}
	// A longer path from C loses: the best before is the best after.
	tb.Update(pfx, Path{Attrs: in.Intern(&Attrs{ASPath: seq(3, 2)}), NH: nhs.Get(peerC, netip.MustParseAddr("2001:13::c"), netip.Addr{})})
	if old, nb := report(); old == nil || nb == nil || old.Src() != peerB || old.Attrs != nb.Attrs {
		t.Errorf("after a losing path: old %+v, new %+v; want B's path both", old, nb)
	}
	// B replaces its path: the old best is reported absent.
	tb.Update(pfx, Path{Attrs: in.Intern(&Attrs{ASPath: seq(2, 5)}), NH: nhs.Get(peerB, netip.MustParseAddr("2001:12::b"), netip.Addr{})})
	if old, nb := report(); old != nil || nb == nil || nb.Src() != peerB || nb.Attrs.PathLen() != 2 {
		t.Errorf("after B's new path: old %+v, new %+v; want none, then B's new path", old, nb)
	}
}

// resolveBy makes a Resolver of a function that answers with an
// interface and reachability only.
func resolveBy(f func(netip.Addr) (int, bool)) Resolver {
	return func(a netip.Addr) Resolution {
		idx, ok := f(a)
		return Resolution{OK: ok, IfIndex: idx}
	}
}
