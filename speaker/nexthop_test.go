package speaker

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"lab/speaker/internal/nstest"
	"lab/speaker/wire"
)

// A next hop that goes unreachable and comes back (the seed's `ip link
// set dev as2rb-eth0 down`, then up): a's paths from b turn invalid, their
// kernel routes go and c is sent withdrawals; then the paths are valid
// again, the kernel routes come back through b and c gets the routes
// again. The sessions stay up throughout (hold time 180 s).
func TestNextHopUnreachableAndBack(t *testing.T) {
	nstest.NeedRoot(t)
	sfx := nstest.Suffix()
	a := nstest.New(t, "spknh-"+sfx+"-a")
	b := nstest.New(t, "spknh-"+sfx+"-b")
	c := nstest.New(t, "spknh-"+sfx+"-c")
	nstest.Veth(t, a, "a-eth0", b, "b-eth0")
	nstest.Veth(t, a, "a-eth1", c, "c-eth0")
	for _, x := range []struct {
		ns    *nstest.NS
		iface string
		addrs []string
	}{
		{a, "a-eth0", []string{"10.9.1.1/24", "2001:db8:91::1/64"}},
		{b, "b-eth0", []string{"10.9.1.2/24", "2001:db8:91::2/64"}},
		{a, "a-eth1", []string{"10.9.2.1/24", "2001:db8:92::1/64"}},
		{c, "c-eth0", []string{"10.9.2.3/24", "2001:db8:92::3/64"}},
	} {
		for _, p := range x.addrs {
			x.ns.Addr(t, x.iface, netip.MustParsePrefix(p))
		}
	}
	p4, p6 := netip.MustParsePrefix("10.77.0.0/24"), netip.MustParsePrefix("2001:db8:77::/48")
	type peer struct {
		local, addr string
		as          uint32
		iface       string
	}
	mk := func(ns *nstest.NS, as uint32, id string, peers []peer, orig ...netip.Prefix) Config {
		cfg := Config{Name: ns.Name, AS: as, RouterID: netip.MustParseAddr(id), Namespace: ns.Path, Timers: DefaultTimers}
		for _, p := range peers {
			cfg.Peers = append(cfg.Peers, PeerConfig{LocalAddr: netip.MustParseAddr(p.local), PeerAddr: netip.MustParseAddr(p.addr),
				PeerAS: p.as, Interface: p.iface})
		}
		for _, p := range orig {
			cfg.Originate = append(cfg.Originate, Origination{Prefix: p})
		}
		return cfg
	}
	cA := mk(a, 1, "0.0.0.1", []peer{
		{"10.9.1.1", "10.9.1.2", 2, "a-eth0"}, {"2001:db8:91::1", "2001:db8:91::2", 2, "a-eth0"},
		{"10.9.2.1", "10.9.2.3", 3, "a-eth1"}, {"2001:db8:92::1", "2001:db8:92::3", 3, "a-eth1"},
	})
	cB := mk(b, 2, "0.0.0.2", []peer{{"10.9.1.2", "10.9.1.1", 1, "b-eth0"}, {"2001:db8:91::2", "2001:db8:91::1", 1, "b-eth0"}}, p4, p6)
	cC := mk(c, 3, "0.0.0.3", []peer{{"10.9.2.3", "10.9.2.1", 1, "c-eth0"}, {"2001:db8:92::3", "2001:db8:92::1", 1, "c-eth0"}})
	sps := runSpeakers(t, cA, cB, cC)
	spA, spC := sps[0], sps[2]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	best := func(s *Snapshot, p netip.Prefix) *PathView {
		f := wire.IPv4Unicast
		if p.Addr().Is6() {
			f = wire.IPv6Unicast
		}
		if r := s.Table(f).Route(p); r != nil {
			return r.Best()
		}
		return nil
	}
	// kernel returns a's kernel route to p as "gateway dev", or "".
	kernel := func(p netip.Prefix) string {
		t.Helper()
		if err := spA.SyncFIB(ctx); err != nil {
			t.Fatal(err)
		}
		fam := netlink.FAMILY_V4
		if p.Addr().Is6() {
			fam = netlink.FAMILY_V6
		}
		for _, r := range a.Routes(t, fam, 200) {
			if r.Dst != nil && r.Dst.String() == p.String() {
				dev := fmt.Sprint(r.LinkIndex)
				if l, err := a.H.LinkByIndex(r.LinkIndex); err == nil {
					dev = l.Attrs().Name
				}
				return fmt.Sprintf("%v dev %s", r.Gw, dev)
			}
		}
		return ""
	}
	// waitKernel waits until a's kernel routes to p4 and p6 are want's
	// ("" for none). A change of b's own next hop reaches a a moment
	// later: b takes its interface's link-local address out of its
	// routes while the address is gone (down), and back once it returns.
	waitKernel := func(step string, want map[netip.Prefix]string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var diff []string
			for p, w := range want {
				if got := kernel(p); got != w {
					diff = append(diff, fmt.Sprintf("%v is %q, want %q", p, got, w))
				}
			}
			if len(diff) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: a's kernel routes: %v", step, diff)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	llB := b.LinkLocal(t, "b-eth0")
	wantKernel := map[netip.Prefix]string{p4: "10.9.1.2 dev a-eth0", p6: llB.String() + " dev a-eth0"}
	up := func(step string) {
		t.Helper()
		err := spA.WaitFor(ctx, func(s *Snapshot) bool {
			b4, b6 := best(s, p4), best(s, p6)
			return b4 != nil && b4.Valid && b6 != nil && b6.Valid
		})
		if err != nil {
			t.Fatalf("%s: a has no valid best path: %v", step, err)
		}
		err = spC.WaitFor(ctx, func(s *Snapshot) bool {
			b4, b6 := best(s, p4), best(s, p6)
			return b4 != nil && b4.ASPath == "1 2" && b6 != nil && b6.ASPath == "1 2"
		})
		if err != nil {
			t.Fatalf("%s: c has not got the routes through a: %v", step, err)
		}
		waitKernel(step, wantKernel)
	}
	up("start")

	for round := range 2 {
		// The far end goes down: a's carrier drops, b's next hops are
		// unreachable. As the shell's `link` does, a reads the kernel
		// again at once.
		b.SetUp(t, "b-eth0", false)
		if err := spA.SyncKernel(ctx); err != nil {
			t.Fatal(err)
		}
		err := spA.WaitFor(ctx, func(s *Snapshot) bool {
			b4, b6 := best(s, p4), best(s, p6)
			r4 := s.Table(wire.IPv4Unicast).Route(p4)
			return b4 == nil && b6 == nil && r4 != nil && len(r4.Paths) == 1 && !r4.Paths[0].Valid
		})
		if err != nil {
			t.Fatalf("round %d, down: a still has a best path: %v", round, err)
		}
		waitKernel(fmt.Sprintf("round %d, down", round), map[netip.Prefix]string{p4: "", p6: ""})
		err = spC.WaitFor(ctx, func(s *Snapshot) bool { return best(s, p4) == nil && best(s, p6) == nil })
		if err != nil {
			t.Fatalf("round %d, down: c was not sent the withdrawals: %v", round, err)
		}

		b.SetUp(t, "b-eth0", true)
		if err := spA.SyncKernel(ctx); err != nil {
			t.Fatal(err)
		}
		up(fmt.Sprintf("round %d, back", round))
	}
}
