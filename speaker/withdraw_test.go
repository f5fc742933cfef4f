package speaker

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"lab/speaker/internal/nstest"
	"lab/speaker/wire"
)

// A route leaves the kernel when its best path goes: withdrawn by the
// peer, or lost with the peer's session. Process reports a removed best
// path as nil, and the kernel route used to stay behind (found by the FRR
// interop test: a prefix FRR withdrew was still routed).
func TestWithdrawRemovesKernelRoute(t *testing.T) {
	nstest.NeedRoot(t)
	sfx := nstest.Suffix()
	a := nstest.New(t, "spk-"+sfx+"-w1")
	b := nstest.New(t, "spk-"+sfx+"-w2")
	nstest.Veth(t, a, "w1-eth0", b, "w2-eth0")
	a.Addr(t, "w1-eth0", netip.MustParsePrefix("10.9.0.1/24"))
	b.Addr(t, "w2-eth0", netip.MustParsePrefix("10.9.0.2/24"))
	a.Addr(t, "w1-eth0", netip.MustParsePrefix("2001:db8:9::1/64"))
	b.Addr(t, "w2-eth0", netip.MustParsePrefix("2001:db8:9::2/64"))
	fast := Timers{Keepalive: time.Second, Hold: 3 * time.Second, ConnectRetry: time.Second}
	p4, p6 := netip.MustParsePrefix("10.77.0.0/24"), netip.MustParsePrefix("2001:db8:77::/48")
	q4 := netip.MustParsePrefix("10.78.0.0/24")
	mk := func(ns *nstest.NS, as uint32, id, iface string, local, peer []string, orig ...netip.Prefix) Config {
		cfg := Config{Name: ns.Name, AS: as, RouterID: netip.MustParseAddr(id), Namespace: ns.Path, Timers: fast}
		for i := range local {
			cfg.Peers = append(cfg.Peers, PeerConfig{LocalAddr: netip.MustParseAddr(local[i]), PeerAddr: netip.MustParseAddr(peer[i]),
				PeerAS: 3 - as, Interface: iface})
		}
		for _, p := range orig {
			cfg.Originate = append(cfg.Originate, Origination{Prefix: p})
		}
		return cfg
	}
	ca := mk(a, 1, "1.1.1.1", "w1-eth0", []string{"10.9.0.1", "2001:db8:9::1"}, []string{"10.9.0.2", "2001:db8:9::2"}, p4, p6, q4)
	cb := mk(b, 2, "2.2.2.2", "w2-eth0", []string{"10.9.0.2", "2001:db8:9::2"}, []string{"10.9.0.1", "2001:db8:9::1"})
	sps := runSpeakers(t, ca, cb)
	sa, sb := sps[0], sps[1]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	has := func(s *Snapshot, p netip.Prefix) bool {
		f := wire.IPv4Unicast
		if p.Addr().Is6() {
			f = wire.IPv6Unicast
		}
		r := s.Table(f).Route(p)
		return r != nil && r.Best() != nil
	}
	kernel := func(p netip.Prefix) bool {
		t.Helper()
		if err := sb.SyncFIB(ctx); err != nil {
			t.Fatal(err)
		}
		fam := netlink.FAMILY_V4
		if p.Addr().Is6() {
			fam = netlink.FAMILY_V6
		}
		for _, r := range b.Routes(t, fam, 200) {
			if r.Dst != nil && r.Dst.String() == p.String() {
				return true
			}
		}
		return false
	}
	if err := sb.WaitFor(ctx, func(s *Snapshot) bool { return has(s, p4) && has(s, p6) && has(s, q4) }); err != nil {
		t.Fatalf("routes from the peer: %v", err)
	}
	for _, p := range []netip.Prefix{p4, p6, q4} {
		if !kernel(p) {
			t.Fatalf("%v not in the kernel", p)
		}
	}

	// Withdrawn by the peer.
	if err := sa.Withdraw(q4); err != nil {
		t.Fatal(err)
	}
	if err := sb.WaitFor(ctx, func(s *Snapshot) bool { return !has(s, q4) }); err != nil {
		t.Fatalf("withdrawal: %v", err)
	}
	if kernel(q4) {
		t.Errorf("withdrawn %v still in the kernel", q4)
	}

	// Lost with the session: both families' sessions go down.
	for _, addr := range []string{"10.9.0.1", "2001:db8:9::1"} {
		if err := sb.SetPeerShutdown(netip.MustParseAddr(addr), true, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := sb.WaitFor(ctx, func(s *Snapshot) bool { return !has(s, p4) && !has(s, p6) }); err != nil {
		t.Fatalf("session down: %v", err)
	}
	for _, p := range []netip.Prefix{p4, p6} {
		if kernel(p) {
			t.Errorf("%v still in the kernel after its session went down", p)
		}
	}
}
