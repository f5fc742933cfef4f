package speaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lab/speaker/wire"
)

// modelPeer is a scripted peer whose reader goroutine keeps what the
// speaker advertises to it, as the peer's Adj-RIB-In would.
type modelPeer struct {
	*scripted
	addr netip.Addr
	as   uint32
	id   string
	ibgp bool
	as2  bool // a peer without the 4-octet AS capability

	mu   sync.Mutex
	rib  map[netip.Prefix]string // prefix -> "path lp N" as received
	eor  int
	err  error
	done chan struct{}
}

// connect establishes a session with the speaker over a new connection
// and starts reading what it sends.
func (m *modelPeer) connect(h *harness) {
	h.t.Helper()
	p := h.inbound(m.addr)
	o := peerOpen(m.as, 180, m.id, wire.IPv4Unicast, wire.IPv6Unicast)
	if m.as2 {
		o.Capabilities = slices.DeleteFunc(o.Capabilities, func(c wire.Capability) bool { return c.Code() == wire.CapCodeAS4 })
	}
	got := expect[*wire.Open](p)
	p.send(o)
	p.opts = wire.Negotiate(o, got)
	expect[*wire.Keepalive](p)
	p.send(&wire.Keepalive{})
	h.waitState(m.addr, Established)
	p.c.SetReadDeadline(time.Time{}) // expect's: the reader waits as long as the test runs
	m.mu.Lock()
	m.scripted, m.rib, m.eor, m.err, m.done = p, map[netip.Prefix]string{}, 0, nil, make(chan struct{})
	m.mu.Unlock()
	go m.read(p)
}

func (m *modelPeer) read(p *scripted) {
	defer close(m.done)
	var buf []byte
	for {
		b, err := wire.ReadMessage(p.c, buf, p.opts.MaxLen())
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
				m.fail(err)
			}
			return
		}
		msg, err := wire.Parse(b, &p.opts)
		if err != nil {
			m.fail(err)
			return
		}
		u, ok := msg.(*wire.Update)
		if !ok {
			continue
		}
		m.mu.Lock()
		if _, _, eor := u.IsEndOfRIB(); eor {
			m.eor++
		}
		for _, pfx := range u.Withdrawn {
			delete(m.rib, pfx)
		}
		if r, ok := u.MPUnreach(); ok {
			for _, pfx := range r.Withdrawn {
				delete(m.rib, pfx)
			}
		}
		nlri := u.NLRI
		if r, ok := u.MPReach(); ok {
			nlri = append(nlri, r.NLRI...)
		}
		if len(nlri) > 0 {
			path, _ := u.ASPath()
			var asns []string
			for _, s := range path.Segments {
				for _, as := range s.ASNs {
					asns = append(asns, fmt.Sprint(as))
				}
			}
			v := strings.Join(asns, " ")
			if lp, ok := u.LocalPref(); ok {
				v += fmt.Sprintf(" lp %d", lp.Value)
			}
			if _, ok := u.MED(); ok && !m.ibgp {
				v += " med"
			}
			if c, ok := u.Communities(); ok {
				for _, x := range c.Values {
					v += " " + x.String()
				}
			}
			if _, ok := u.OriginatorID(); ok {
				v += " originator"
			}
			for _, pfx := range nlri {
				m.rib[pfx] = strings.TrimSpace(v)
			}
		}
		m.mu.Unlock()
	}
}

func (m *modelPeer) fail(err error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	m.mu.Unlock()
}

func (m *modelPeer) snapshot() (map[netip.Prefix]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[netip.Prefix]string, len(m.rib))
	for k, v := range m.rib {
		out[k] = v
	}
	return out, m.err
}

// expectedAdverts is what the speaker must have advertised to m given
// its Loc-RIB: every best path, except to the peer it came from, and
// iBGP-learned ones to iBGP peers; our AS prepended and the MED dropped
// towards eBGP peers (a local route keeps its MED), LOCAL_PREF towards
// iBGP ones.
func expectedAdverts(snap *Snapshot, m *modelPeer) map[netip.Prefix]string {
	out := map[netip.Prefix]string{}
	routes := append(snap.Table(wire.IPv4Unicast).Routes, snap.Table(wire.IPv6Unicast).Routes...)
	for _, r := range routes {
		b := r.Best()
		if b == nil || b.Peer == m.addr || b.Internal && m.ibgp {
			continue
		}
		path := b.ASPath
		if m.ibgp {
			lp := uint32(100)
			if b.HasLocPrf {
				lp = b.LocPrf
			}
			path += fmt.Sprintf(" lp %d", lp)
		} else {
			path = strings.TrimSpace("1 " + path)
			if b.Local && b.HasMetric {
				path += " med"
			}
		}
		for _, c := range b.Communities {
			path += " " + c
		}
		out[r.Prefix] = strings.TrimSpace(path)
	}
	return out
}

// The speaker's Adj-RIBs-Out follow its Loc-RIB through random
// announcements, replacements, withdrawals, looped paths, originations,
// route refreshes and session resets, in both families, from two eBGP
// peers (one without 4-octet AS numbers) and an iBGP one: after each
// burst, what every peer received is exactly the export of the best
// paths. A round advertises only the prefixes whose best path changed
// source or attributes; this checks that nothing else needed sending.
func TestAdvertiseFollowsLocRIB(t *testing.T) {
	addrC, addrI := netip.MustParseAddr("2001:13::c"), netip.MustParseAddr("2001:11::e")
	both := []wire.Family{wire.IPv4Unicast, wire.IPv6Unicast}
	h := newHarness(t, func(c *Config) {
		c.CompareRouterID = false
		c.Peers[0].Passive = true
		c.Peers[0].Families, c.Peers[0].NextHop4 = both, netip.MustParseAddr("10.12.0.1")
		c.Peers = append(c.Peers,
			PeerConfig{Description: "as3rc (eBGP)", LocalAddr: netip.MustParseAddr("2001:13::a"), PeerAddr: addrC,
				PeerAS: 3, Interface: "as1ra-eth1", NextHop6: netip.MustParseAddr("2001:13::a"), Passive: true,
				Families: both, NextHop4: netip.MustParseAddr("10.13.0.1")},
			PeerConfig{Description: "as1re (iBGP)", LocalAddr: netip.MustParseAddr("2001:11::a"), PeerAddr: addrI,
				PeerAS: 1, Interface: "as1ra-eth2", NextHop6: netip.MustParseAddr("2001:11::a"), Passive: true,
				Families: both, NextHop4: netip.MustParseAddr("10.11.0.1")})
		c.Originate[0].MED, c.Originate[0].HasMED = 7, true
	})
	peers := []*modelPeer{
		{addr: addrB, as: 2, id: "0.0.0.3", as2: true},
		{addr: addrC, as: 3, id: "0.0.0.4"},
		{addr: addrI, as: 1, id: "0.0.0.5", ibgp: true},
	}
	for _, m := range peers {
		m.connect(h)
	}
	var pfxs []netip.Prefix
	for i := range 6 {
		pfxs = append(pfxs, netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(i)}), 48))
		pfxs = append(pfxs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, byte(i), 0}), 24))
	}
	// The last two are also originated now and then.
	local := pfxs[len(pfxs)-2:]

	check := func(step int) {
		t.Helper()
		var last string
		deadline := time.Now().Add(10 * time.Second)
		for {
			snap, err := h.sp.Snapshot(h.ctx())
			if err != nil {
				t.Fatal(err)
			}
			last = ""
			for _, m := range peers {
				got, err := m.snapshot()
				if err != nil {
					t.Fatalf("step %d: peer %v: %v", step, m.addr, err)
				}
				want := expectedAdverts(snap, m)
				for _, pfx := range pfxs {
					if got[pfx] != want[pfx] {
						last += fmt.Sprintf("\n  peer %v, %v: received %q, want %q", m.addr, pfx, got[pfx], want[pfx])
					}
				}
			}
			if last == "" {
				return
			}
			if time.Now().After(deadline) {
				var lines []string
				for _, f := range both {
					for _, r := range snap.Table(f).Routes {
						for _, p := range r.Paths {
							lines = append(lines, fmt.Sprintf("%v %v from %v", r.Prefix, p, p.Peer))
						}
					}
				}
				t.Fatalf("step %d: Adj-RIBs-Out differ from the Loc-RIB:%s\nLoc-RIB:\n  %s", step, last, strings.Join(lines, "\n  "))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	check(0)

	// routeMsg is a random UPDATE of m for pfx: an announcement (or a
	// replacement, or a loop, which withdraws) or a withdrawal.
	routeMsg := func(rng *rand.Rand, m *modelPeer, pfx netip.Prefix) *wire.Update {
		if rng.IntN(3) == 0 {
			if pfx.Addr().Is4() {
				return &wire.Update{Withdrawn: []netip.Prefix{pfx}}
			}
			return &wire.Update{Attrs: []wire.Attr{wire.MPUnreachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, Withdrawn: []netip.Prefix{pfx}}}}
		}
		path := []uint32{m.as}
		if m.ibgp {
			path = nil
		}
		for range rng.IntN(3) {
			path = append(path, 10+uint32(rng.IntN(3)))
		}
		if rng.IntN(12) == 0 {
			path = append(path, 1) // a loop: withdraws the peer's path
		}
		attrs := []wire.Attr{wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: path}}}}
		u := &wire.Update{}
		if pfx.Addr().Is4() {
			attrs = append(attrs, wire.NextHop{Addr: netip.MustParseAddr("10.0.0.1")})
			u.NLRI = []netip.Prefix{pfx}
		} else {
			attrs = append([]wire.Attr{wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{m.addr}, NLRI: []netip.Prefix{pfx}}}, attrs...)
		}
		if rng.IntN(2) == 0 {
			attrs = append(attrs, wire.MED{Value: uint32(rng.IntN(2))})
		}
		if m.ibgp {
			attrs = append(attrs, wire.LocalPref{Value: []uint32{50, 100, 200}[rng.IntN(3)]})
			if rng.IntN(4) == 0 {
				// Reflection attributes: the general decoder's, and
				// never passed on.
				attrs = append(attrs, wire.OriginatorID{ID: netip.MustParseAddr("0.0.0.9")})
			}
		}
		if rng.IntN(4) == 0 {
			attrs = append(attrs, wire.Communities{Values: []wire.Community{wire.Community(65000<<16 | uint32(rng.IntN(2)))}})
		}
		u.Attrs = attrs
		return u
	}

	rng := rand.New(rand.NewPCG(11, 12))
	for step := 1; step <= 400; step++ {
		m := peers[rng.IntN(len(peers))]
		pfx := pfxs[rng.IntN(len(pfxs))]
		switch op := rng.IntN(20); {
		case op < 15: // announce, replace or withdraw
			m.send(routeMsg(rng, m, pfx))
		case op < 17: // originate, or stop
			l := local[rng.IntN(len(local))]
			if rng.IntN(2) == 0 {
				if err := h.sp.Announce(Origination{Prefix: l, MED: uint32(rng.IntN(3)), HasMED: true}); err != nil {
					t.Fatal(err)
				}
			} else if err := h.sp.Withdraw(l); err != nil {
				t.Fatal(err)
			}
		case op < 18: // ask for everything again
			f := both[rng.IntN(2)]
			m.send(&wire.RouteRefresh{AFI: f.AFI, SAFI: f.SAFI})
		default: // the session goes down and comes back: a full table
			m.c.Close()
			<-m.done
			h.waitState(m.addr, Idle)
			// A hard reset skips the idle hold the drop started.
			if err := h.sp.ResetPeer(m.addr, true); err != nil {
				t.Fatal(err)
			}
			h.waitState(m.addr, Active)
			m.connect(h)
			eorDeadline := time.Now().Add(5 * time.Second)
			for {
				m.mu.Lock()
				eor := m.eor
				m.mu.Unlock()
				if eor == len(both) {
					break
				}
				if time.Now().After(eorDeadline) {
					t.Fatalf("step %d: %d End-of-RIBs after the session came back, want %d", step, eor, len(both))
				}
				time.Sleep(time.Millisecond)
			}
		}
		if step%10 == 0 || rng.IntN(4) == 0 {
			check(step)
		}
	}
	check(-1)

	// Bursts from every peer at once: their readers decode (and intern)
	// side by side, and the RIB goroutine takes their UPDATEs in rounds of
	// any mix, while show commands come as from the control socket.
	stopShows := make(chan struct{})
	showsDone := make(chan error, 1)
	// A follower of the iBGP peer's trace renders every message (the
	// general path's decoded UPDATEs are shared with it) as the shell's
	// `show bgp messages follow` does.
	follow, stopFollow, err := h.sp.FollowTrace(addrI)
	if err != nil {
		t.Fatal(err)
	}
	defer stopFollow()
	followStop, followDone := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		for {
			select {
			case e := <-follow:
				if e.Msg != nil && wire.Format(e.Msg) != "" {
					n++
				}
			case <-followStop:
				followDone <- n
				return
			}
		}
	}()
	go func() {
		ctx := context.Background()
		var err error
		for err == nil {
			select {
			case <-stopShows:
				showsDone <- nil
				return
			default:
			}
			_, err = h.sp.Snapshot(ctx)
			if err == nil {
				_, err = h.sp.Summary(ctx, wire.IPv4Unicast)
			}
			if err == nil {
				_, err = h.sp.Neighbor(ctx, addrC)
			}
			if err == nil {
				_, err = h.sp.Route(ctx, pfxs[0])
			}
			if err == nil {
				_, err = h.sp.Trace(addrI)
			}
			h.sp.LogLines()
		}
		showsDone <- err
	}()
	for burst := range 5 {
		var wg sync.WaitGroup
		errs := make(chan error, len(peers))
		for i, m := range peers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(burst), uint64(i)))
				m.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				for range 100 {
					b, err := routeMsg(rng, m, pfxs[rng.IntN(len(pfxs))]).AppendTo(nil, &m.opts)
					if err == nil {
						_, err = m.c.Write(b)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("burst %d: %v", burst, err)
		}
		check(1000 + burst)
	}
	close(stopShows)
	if err := <-showsDone; err != nil {
		t.Errorf("show commands: %v", err)
	}
	close(followStop)
	if n := <-followDone; n == 0 {
		t.Error("the trace follower rendered no message")
	}
	if slices.ContainsFunc(peers, func(m *modelPeer) bool { _, err := m.snapshot(); return err != nil }) {
		t.Error("a peer failed to read")
	}
}
