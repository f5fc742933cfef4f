package fib

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"lab/speaker/internal/nstest"
)

type kroute struct {
	Dst      string
	Gw       string
	Dev      int
	Priority int
}

func kernelRoutes(t *testing.T, ns *nstest.NS, family int) []kroute {
	t.Helper()
	var out []kroute
	for _, r := range ns.Routes(t, family, Protocol) {
		k := kroute{Dst: r.Dst.String(), Dev: r.LinkIndex, Priority: r.Priority}
		if r.Gw != nil {
			k.Gw = r.Gw.String()
		}
		out = append(out, k)
	}
	return out
}

// pair builds a and b joined by veth fa <-> fb with IPv6 and IPv4 addresses.
func pair(t *testing.T) (a, b *nstest.NS, ifA int) {
	s := nstest.Suffix()
	a = nstest.New(t, "fibt-"+s+"-a")
	b = nstest.New(t, "fibt-"+s+"-b")
	nstest.Veth(t, a, "fa", b, "fb")
	a.Addr(t, "fa", netip.MustParsePrefix("2001:db8:12::a/64"))
	a.Addr(t, "fa", netip.MustParsePrefix("10.12.0.1/24"))
	b.Addr(t, "fb", netip.MustParsePrefix("2001:db8:12::b/64"))
	b.Addr(t, "fb", netip.MustParsePrefix("10.12.0.2/24"))
	return a, b, a.Link(t, "fa").Attrs().Index
}

func TestFIBInstallReplaceDelete(t *testing.T) {
	nstest.NeedRoot(t)
	a, _, ifA := pair(t)
	// A route of ours left by a dead run is removed by Open.
	stale := &netlink.Route{Dst: prefixIPNet(netip.MustParsePrefix("2001:db8:77::/64")), LinkIndex: ifA, Protocol: Protocol, Table: 254}
	if err := a.H.RouteAdd(stale); err != nil {
		t.Fatalf("add stale route: %v", err)
	}
	f, err := Open(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			f.Close()
		}
	})
	if got := kernelRoutes(t, a, netlink.FAMILY_V6); len(got) != 0 {
		t.Fatalf("stale routes not flushed: %v", got)
	}
	ll := netip.MustParseAddr("fe80::b")
	f.Apply([]Op{
		{Route: Route{Dst: netip.MustParsePrefix("2001:db8:99::/64"), Gw: ll.WithZone("fa"), IfIndex: ifA}},
		{Route: Route{Dst: netip.MustParsePrefix("10.99.0.0/24"), Gw: netip.MustParseAddr("10.12.0.2"), IfIndex: ifA}},
	})
	f.Sync()
	want6 := []kroute{{Dst: "2001:db8:99::/64", Gw: "fe80::b", Dev: ifA, Priority: Metric}}
	if diff := cmp.Diff(want6, kernelRoutes(t, a, netlink.FAMILY_V6)); diff != "" {
		t.Errorf("IPv6 routes (-want +got):\n%s", diff)
	}
	want4 := []kroute{{Dst: "10.99.0.0/24", Gw: "10.12.0.2", Dev: ifA, Priority: Metric}}
	if diff := cmp.Diff(want4, kernelRoutes(t, a, netlink.FAMILY_V4)); diff != "" {
		t.Errorf("IPv4 routes (-want +got):\n%s", diff)
	}
	// Replace: coalesced, only the last op of a prefix counts.
	f.Apply([]Op{{Route: Route{Dst: netip.MustParsePrefix("2001:db8:99::/64"), Gw: netip.MustParseAddr("fe80::c"), IfIndex: ifA}}})
	f.Apply([]Op{{Route: Route{Dst: netip.MustParsePrefix("2001:db8:99::/64"), Gw: netip.MustParseAddr("2001:db8:12::b"), IfIndex: ifA}}})
	f.Sync()
	want6 = []kroute{{Dst: "2001:db8:99::/64", Gw: "2001:db8:12::b", Dev: ifA, Priority: Metric}}
	if diff := cmp.Diff(want6, kernelRoutes(t, a, netlink.FAMILY_V6)); diff != "" {
		t.Errorf("IPv6 routes after replace (-want +got):\n%s", diff)
	}
	f.Apply([]Op{{Route: Route{Dst: netip.MustParsePrefix("10.99.0.0/24")}, Delete: true}})
	f.Sync()
	if got := kernelRoutes(t, a, netlink.FAMILY_V4); len(got) != 0 {
		t.Errorf("IPv4 route not deleted: %v", got)
	}
	if n, err := f.Errors(); n != 0 {
		t.Errorf("errors: %d, last %v", n, err)
	}
	if got := len(f.Installed()); got != 1 {
		t.Errorf("Installed() has %d routes, want 1", got)
	}
	closed = true
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := kernelRoutes(t, a, netlink.FAMILY_V6); len(got) != 0 {
		t.Errorf("routes left after Close: %v", got)
	}
}

// waitResolve polls the tracker (woken by its change signal) until
// Resolve(a) answers ok, or fails after a deadline.
func waitResolve(t *testing.T, tr *Tracker, a netip.Addr, ok bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if _, got := tr.Resolve(a); got == ok {
			return
		}
		select {
		case <-tr.Changes():
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("Resolve(%v) did not become %v", a, ok)
		}
	}
}

// The tracker follows the kernel through the process's hub, or through
// a socket of its own when the hub cannot serve its namespace.
func TestTrackerLinkdown(t *testing.T) {
	t.Run("hub", func(t *testing.T) { testTrackerLinkdown(t, false) })
	t.Run("own socket", func(t *testing.T) {
		noHub = true
		t.Cleanup(func() { noHub = false })
		testTrackerLinkdown(t, true)
	})
}

func testTrackerLinkdown(t *testing.T, own bool) {
	nstest.NeedRoot(t)
	a, b, ifA := pair(t)
	tr, err := NewTracker(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	if gotOwn := tr.mon != nil; gotOwn != own || (tr.unsub != nil) == own {
		t.Fatalf("tracker has its own socket: %v, want %v", gotOwn, own)
	}
	nh6 := netip.MustParseAddr("2001:db8:12::b")
	nh4 := netip.MustParseAddr("10.12.0.2")
	waitResolve(t, tr, nh6, true)
	if idx, ok := tr.Resolve(nh4); !ok || idx != ifA {
		t.Errorf("Resolve(%v) = %d, %v; want %d, true", nh4, idx, ok, ifA)
	}
	if _, ok := tr.Resolve(netip.MustParseAddr("2001:db8:99::1")); ok {
		t.Error("an address without a route resolved")
	}
	if tr.IfIndex("fa") != ifA || !tr.Up("fa") {
		t.Errorf("IfIndex/Up of fa: %d %v", tr.IfIndex("fa"), tr.Up("fa"))
	}
	if ll := tr.LinkLocal("fa"); !ll.IsLinkLocalUnicast() || ll.Zone() != "fa" {
		t.Errorf("LinkLocal(fa) = %v", ll)
	}
	// Our own routes never make a next hop reachable.
	f, err := Open(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	f.Apply([]Op{{Route: Route{Dst: netip.MustParsePrefix("2001:db8:99::/64"), Gw: nh6, IfIndex: ifA}}})
	f.Sync()
	if _, ok := tr.Resolve(netip.MustParseAddr("2001:db8:99::1")); ok {
		t.Error("next hop resolved over a route of protocol 200")
	}

	// The seed's `ip link set dev as2rb-eth0 down` on the far end: the
	// near end loses carrier and its connected routes turn linkdown.
	b.SetUp(t, "fb", false)
	waitResolve(t, tr, nh6, false)
	waitResolve(t, tr, nh4, false)
	if _, ok := tr.Resolve(netip.MustParseAddr("fe80::b%fa")); ok {
		t.Error("link-local next hop on a down link resolved")
	}
	b.SetUp(t, "fb", true)
	waitResolve(t, tr, nh6, true)
	waitResolve(t, tr, nh4, true)
	waitResolve(t, tr, netip.MustParseAddr("fe80::b%fa"), true)
}

// Trackers of two namespaces share the hub, and each sees its own
// namespace's changes.
func TestHubTwoNamespaces(t *testing.T) {
	nstest.NeedRoot(t)
	a, b, _ := pair(t)
	trA, err := NewTracker(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if trA != nil {
			trA.Close()
		}
	})
	trB, err := NewTracker(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trB.Close() })
	if trA.unsub == nil || trB.unsub == nil {
		t.Fatal("a tracker does not use the hub")
	}
	a.Addr(t, "fa", netip.MustParsePrefix("10.88.0.1/24"))
	b.Addr(t, "fb", netip.MustParsePrefix("10.99.0.1/24"))
	waitResolve(t, trA, netip.MustParseAddr("10.88.0.2"), true)
	waitResolve(t, trB, netip.MustParseAddr("10.99.0.2"), true)
	if _, ok := trA.Resolve(netip.MustParseAddr("10.99.0.2")); ok {
		t.Error("a's tracker resolved over b's route")
	}
	if _, ok := trB.Resolve(netip.MustParseAddr("10.88.0.2")); ok {
		t.Error("b's tracker resolved over a's route")
	}
	// Closing one leaves the other subscribed.
	trA.Close()
	trA = nil
	b.Addr(t, "fb", netip.MustParsePrefix("10.98.0.1/24"))
	waitResolve(t, trB, netip.MustParseAddr("10.98.0.2"), true)
}
