package speaker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"lab/speaker/internal/nstest"
	"lab/speaker/wire"
)

// A session can come up before the kernel gives its interface a
// link-local address (a lab starts links and sessions within
// milliseconds). The routes then carry the global next hop only; when the
// link-local address appears they are sent again with it, as the seed's
// Quagga sends them, and the peer's kernel route moves to it.
func TestLinkLocalNextHopAppearsLater(t *testing.T) {
	nstest.NeedRoot(t)
	sfx := nstest.Suffix()
	a := nstest.New(t, "spkll-"+sfx+"-a")
	b := nstest.New(t, "spkll-"+sfx+"-b")
	nstest.Veth(t, a, "a-eth0", b, "b-eth0")
	a.Addr(t, "a-eth0", netip.MustParsePrefix("2001:ab::a/64"))
	b.Addr(t, "b-eth0", netip.MustParsePrefix("2001:ab::b/64"))

	// b-eth0 loses its link-local address: b's routes can only carry the
	// global next hop.
	ll := b.LinkLocal(t, "b-eth0")
	lk := b.Link(t, "b-eth0")
	if err := b.H.AddrDel(lk, &netlink.Addr{IPNet: &net.IPNet{IP: ll.AsSlice(), Mask: net.CIDRMask(64, 128)}}); err != nil {
		t.Fatal(err)
	}

	lan := netip.MustParsePrefix("2001:db8:b::/64")
	mk := func(name string, as uint32, id string, ns *nstest.NS, local, peer string, peerAS uint32, iface string) Config {
		cfg := Config{Name: name, AS: as, RouterID: netip.MustParseAddr(id), Namespace: ns.Path, Timers: DefaultTimers,
			Peers: []PeerConfig{{Description: "peer", LocalAddr: netip.MustParseAddr(local), PeerAddr: netip.MustParseAddr(peer),
				PeerAS: peerAS, Interface: iface, NextHop6: netip.MustParseAddr(local), Families: []wire.Family{wire.IPv6Unicast}}}}
		if name == "b" {
			cfg.Originate = []Origination{{Prefix: lan}}
		}
		return cfg
	}
	cA := mk("a", 1, "0.0.0.1", a, "2001:ab::a", "2001:ab::b", 2, "a-eth0")
	cB := mk("b", 2, "0.0.0.2", b, "2001:ab::b", "2001:ab::a", 1, "b-eth0")
	spA := runSpeakers(t, cA, cB)[0]

	// pathVia waits until a's best path to the LAN has the link-local
	// next hop want (invalid: none) and a's kernel route goes through gw.
	pathVia := func(want netip.Addr, gw string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var last error
		for ctx.Err() == nil {
			last = func() error {
				r, err := spA.Route(ctx, lan)
				if err != nil {
					return err
				}
				if r == nil || r.Best() == nil {
					return errors.New("no best path yet")
				}
				if got := r.Best().LinkLocal; got != want {
					return fmt.Errorf("link-local next hop %v, want %v", got, want)
				}
				for _, k := range a.Routes(t, netlink.FAMILY_V6, 200) {
					if k.Dst != nil && k.Dst.String() == lan.String() {
						if k.Gw.String() != gw {
							return fmt.Errorf("kernel route via %v, want %s", k.Gw, gw)
						}
						return nil
					}
				}
				return errors.New("no kernel route yet")
			}()
			if last == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal(last)
	}
	pathVia(netip.Addr{}, "2001:ab::b")

	// The link-local address arrives.
	newLL := netip.MustParseAddr("fe80::b")
	if err := b.H.AddrAdd(lk, &netlink.Addr{IPNet: &net.IPNet{IP: newLL.AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: 0x02 /* IFA_F_NODAD */}); err != nil {
		t.Fatal(err)
	}
	pathVia(newLL, "fe80::b")
}
