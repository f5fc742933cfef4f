package interop

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lab/speaker"
	"lab/topo"
)

// daemon is a real BGP daemon under test, seen through its own tools.
// Every method takes our address on the session (the daemon's neighbour)
// or a prefix, and asks the daemon once: callers poll.
type daemon interface {
	// established reports whether the daemon's session with a is
	// Established; status is the daemon's own word for its state.
	established(ctx context.Context, a netip.Addr) (ok bool, status string, err error)
	// route returns the daemon's best route to pfx, or nil when it has
	// none.
	route(ctx context.Context, pfx netip.Prefix) (*peerRoute, error)
	// withdraw stops originating pfx.
	withdraw(ctx context.Context, pfx netip.Prefix) error
	// shutdown takes the session with a down administratively, sending
	// msg as its shutdown communication (RFC 9003) when the daemon can.
	shutdown(ctx context.Context, a netip.Addr, msg string) error
	// enable undoes shutdown.
	enable(ctx context.Context, a netip.Addr) error
	// receivedCease reports whether the daemon says the last
	// NOTIFICATION it received on the session with a was Cease/
	// Administrative Shutdown (6/2); status is how it says it.
	receivedCease(ctx context.Context, a netip.Addr) (ok bool, status string, err error)
	// refreshIn makes the daemon ask us for our routes again with a
	// ROUTE-REFRESH (its soft reset inbound); sent is false for a daemon
	// that cannot.
	refreshIn(ctx context.Context, a netip.Addr) (sent bool, err error)
	// holdExpired reports whether the daemon says its session with a
	// went down because its hold timer expired.
	holdExpired(ctx context.Context, a netip.Addr) (ok bool, status string, err error)
}

// scenario is what differs between daemons in the common test.
type scenario struct {
	// bins are the daemon's programs; tests skip without them.
	bins []string
	spec labSpec
	// start starts the daemon for l (configured from l's model) and
	// returns once its control socket answers.
	start func(t *testing.T, l *testLab) daemon
	// shutdownText is the shutdown communication (RFC 9003) the daemon
	// sends with its Cease when it shuts the session down: shutdownMsg
	// when it sends the one it is given, "" when it sends none. We must
	// show it.
	shutdownText string
	// plainMED0: the daemon sends MED 0 on routes it gives no MED (FRR
	// does for `network` routes, as Quagga did).
	plainMED0 bool
	// linkLocalNextHop: the daemon's IPv6 next hops carry its link-local
	// address after the global one (RFC 2545 section 3), as FRR, BIRD and
	// the seed's Quagga send them; our kernel routes then go through it.
	// Without it they go through the global address.
	linkLocalNextHop bool
	// showsLinkLocal: the daemon's tools show the link-local next hop of
	// the IPv6 routes we send it (GoBGP's do not).
	showsLinkLocal bool
}

// cmpAddr compares netip.Addr values with ==.
var cmpAddr = cmpopts.EquateComparable(netip.Addr{})

// shutdownMsg is the shutdown communication daemons send us.
const shutdownMsg = "interop: class is over"

// runScenario is the interop test every daemon goes through, on one lab.
// Once per address family (runFamily):
//
//  1. both sides reach Established;
//  2. the daemon's attr route reaches our Loc-RIB (and our kernel) with
//     its AS path, origin, MED, communities and large communities;
//  3. ours reaches the daemon with ours;
//  4. we withdraw a route and the daemon loses it;
//  5. the daemon withdraws one and we lose it (and our kernel too);
//  6. ROUTE-REFRESH both ways is answered;
//  7. we shut the session down: the daemon reports Cease/Administrative
//     Shutdown (6/2) received; we let it up again and routes come back;
//  8. the daemon shuts it down: we report the NOTIFICATION it sent, with
//     its shutdown communication, in the neighbour's state and our log.
//
// Then for both sessions: the link silently drops everything and both
// sides' hold timers expire; and our speaker closes, which the daemon sees
// as Cease 6/2 on both.
func runScenario(t *testing.T, sc scenario) {
	needBinary(t, sc.bins...)
	l := buildLab(t, sc.spec)
	d := sc.start(t, l)
	l.startSpeaker()
	for _, f := range families {
		if !t.Run(f.String(), func(t *testing.T) { runFamily(t, l, d, sc, f) }) {
			return
		}
	}
	// The seed's failure: the link drops everything while its carrier
	// stays up, and only the hold timers notice. Both sides give up after
	// the negotiated hold time: we send Hold Timer Expired (4/0) into the
	// void, and so does the daemon. The link restored, both sessions come
	// back with their routes.
	if !t.Run("hold-timer", func(t *testing.T) {
		link := l.model.LinkBetween(l.us.Name, l.peer.Name)[0]
		for _, f := range families {
			n, err := l.sp.Neighbor(context.Background(), l.peerAddr[f])
			if err != nil {
				t.Fatal(err)
			}
			if n.HoldTime != labHold {
				t.Errorf("%v: negotiated hold time %v, want %v", f, n.HoldTime, labHold)
			}
		}
		if err := l.net.Blackhole(link, true); err != nil {
			t.Fatal(err)
		}
		restored := false
		restore := func() {
			if !restored {
				restored = true
				if err := l.net.Blackhole(link, false); err != nil {
					t.Error(err)
				}
			}
		}
		defer restore()
		const want = "sent Hold Timer Expired (4/0)"
		l.waitSpeaker(t, labHold+routeTimeout, "both our sessions to expire", func(s *speaker.Snapshot) bool {
			for _, f := range families {
				if n := s.Neighbor(l.peerAddr[f]); n.State == speaker.Established || n.LastNotification != want {
					return false
				}
			}
			return true
		})
		for _, f := range families {
			poll(t, labHold+routeTimeout, fmt.Sprintf("the daemon's %v session to expire", f), func() (bool, string) {
				ok, st, err := d.holdExpired(context.Background(), l.ourAddr[f])
				if err != nil {
					return false, err.Error()
				}
				return ok, st
			})
		}
		for _, f := range families {
			n, err := l.sp.Neighbor(context.Background(), l.peerAddr[f])
			if err != nil {
				t.Fatal(err)
			}
			if want := "BGP Notification send (Hold Timer Expired (4/0))"; n.LastReset != want {
				t.Errorf("%v: our last reset %q, want %q", f, n.LastReset, want)
			}
		}
		restore()
		for _, f := range families {
			l.waitSpeaker(t, upTimeout, fmt.Sprintf("our %v session back with the daemon's route", f), func(s *speaker.Snapshot) bool {
				r := s.Table(wireFamily(f)).Route(attrPrefix(false, f))
				return s.Neighbor(l.peerAddr[f]).State == speaker.Established && r != nil && r.Best() != nil
			})
		}
	}) {
		return
	}

	// Closing our speaker (the lab going down) ends both sessions with
	// Cease/Administrative Shutdown, as `shutdown` does for one.
	t.Run("close", func(t *testing.T) {
		if err := l.sp.Close(); err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			poll(t, routeTimeout, fmt.Sprintf("the daemon to report Cease/Administrative Shutdown on %v", f), func() (bool, string) {
				ok, st, err := d.receivedCease(context.Background(), l.ourAddr[f])
				if err != nil {
					return false, err.Error()
				}
				return ok, st
			})
		}
	})
}

const (
	// upTimeout bounds a session's coming up: our connect-retry is 1 s,
	// the daemons' retry timers are set to a few seconds.
	upTimeout = 60 * time.Second
	// routeTimeout bounds a route's propagation once sessions are up.
	routeTimeout = 30 * time.Second
)

func runFamily(t *testing.T, l *testLab, d daemon, sc scenario, f topo.Family) {
	ctx := context.Background()
	ours, theirs := l.ourAddr[f], l.peerAddr[f]

	waitUp := func(t *testing.T) {
		t.Helper()
		l.waitSpeaker(t, upTimeout, fmt.Sprintf("our session with %v Established", theirs), func(s *speaker.Snapshot) bool {
			n := s.Neighbor(theirs)
			return n != nil && n.State == speaker.Established
		})
		poll(t, upTimeout, fmt.Sprintf("the daemon's session with %v Established", ours), func() (bool, string) {
			ok, st, err := d.established(ctx, ours)
			if err != nil {
				return false, err.Error()
			}
			return ok, st
		})
	}

	// IPv6 next hops: the global address, then the link-local one of the
	// link (RFC 2545 section 3), which we always send.
	var ourLL, theirLL netip.Addr
	if f == topo.IPv6 {
		if sc.showsLinkLocal {
			ourLL = l.mustLinkLocal(t, l.us.Name, l.ourIface)
		}
		if sc.linkLocalNextHop {
			theirLL = l.mustLinkLocal(t, l.peer.Name, l.peerIface)
		}
	}
	wantOurs := func(pfx netip.Prefix) *peerRoute {
		return &peerRoute{
			ASPath: fmt.Sprint(sc.spec.ourAS), Origin: "i", MED: ourMED, HasMED: true,
			Communities: ourCommunities, LargeCommunities: []string{ourLarge(sc.spec.ourAS)},
			NextHop: ours, LinkLocal: ourLL,
		}
	}
	wantTheirs := &peerRoute{
		ASPath: fmt.Sprintf("%d %d", sc.spec.peerAS, peerPrepend), Origin: "i", MED: peerMED, HasMED: true,
		Communities: peerCommunities, LargeCommunities: []string{peerLarge(sc.spec.peerAS)},
		NextHop: theirs, LinkLocal: theirLL,
	}
	// waitOurRoute waits until our best path to pfx is want (nil: none).
	waitOurRoute := func(t *testing.T, pfx netip.Prefix, want *peerRoute) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, routeTimeout)
		defer cancel()
		var diff string
		err := l.sp.WaitFor(ctx, func(*speaker.Snapshot) bool {
			diff = cmp.Diff(want, l.ourRoute(t, pfx), cmpAddr)
			return diff == ""
		})
		if err != nil {
			t.Fatalf("waiting for our route to %v: %v; (-want +got)\n%s", pfx, err, diff)
		}
	}
	waitPeerRoute := func(t *testing.T, pfx netip.Prefix, want *peerRoute) {
		t.Helper()
		poll(t, routeTimeout, fmt.Sprintf("the daemon's route to %v", pfx), func() (bool, string) {
			got, err := d.route(ctx, pfx)
			if err != nil {
				return false, err.Error()
			}
			if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
				return false, "(-want +got)\n" + diff
			}
			return true, ""
		})
	}

	// Each step needs the ones before it: stop at the first failure.
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("established", waitUp)

	step("routes-from-daemon", func(t *testing.T) {
		waitOurRoute(t, attrPrefix(false, f), wantTheirs)
		plain := *wantTheirs
		plain.HasMED, plain.MED, plain.Communities, plain.LargeCommunities = sc.plainMED0, 0, nil, nil
		waitOurRoute(t, plainPrefix(false, f), &plain)
		// Installed in our namespace's kernel table, through the link.
		if err := l.sp.SyncFIB(ctx); err != nil {
			t.Fatal(err)
		}
		kr := l.kernelRoute(t, attrPrefix(false, f))
		if kr == nil {
			t.Fatalf("no proto 200 route to %v in %s's kernel table", attrPrefix(false, f), l.us.Name)
		}
		wantGw := theirs
		if f == topo.IPv6 && sc.linkLocalNextHop {
			// As the seed's `ip -6 route`: via the peer's link-local
			// address, on the link.
			ll, err := l.linkLocal(l.peer.Name, l.peerIface)
			if err != nil {
				t.Fatal(err)
			}
			wantGw = ll
		}
		if want := (kroute{Gw: wantGw, Dev: l.ourIface}); *kr != want {
			t.Errorf("kernel route to %v via %v dev %s, want via %v dev %s", attrPrefix(false, f), kr.Gw, kr.Dev, want.Gw, want.Dev)
		}
	})

	step("routes-to-daemon", func(t *testing.T) {
		waitPeerRoute(t, attrPrefix(true, f), wantOurs(attrPrefix(true, f)))
		plain := wantOurs(plainPrefix(true, f))
		plain.Communities, plain.LargeCommunities, plain.MED = nil, nil, 0
		// The lab sends MED 0 on routes without one, as the seed's Quagga.
		waitPeerRoute(t, plainPrefix(true, f), plain)
	})

	step("withdraw-to-daemon", func(t *testing.T) {
		if err := l.sp.Withdraw(plainPrefix(true, f)); err != nil {
			t.Fatal(err)
		}
		waitPeerRoute(t, plainPrefix(true, f), nil)
		waitPeerRoute(t, attrPrefix(true, f), wantOurs(attrPrefix(true, f)))
	})

	step("withdraw-from-daemon", func(t *testing.T) {
		if err := d.withdraw(ctx, plainPrefix(false, f)); err != nil {
			t.Fatal(err)
		}
		waitOurRoute(t, plainPrefix(false, f), nil)
		waitOurRoute(t, attrPrefix(false, f), wantTheirs)
		if err := l.sp.SyncFIB(ctx); err != nil {
			t.Fatal(err)
		}
		if kr := l.kernelRoute(t, plainPrefix(false, f)); kr != nil {
			t.Errorf("kernel still routes withdrawn %v: %v", plainPrefix(false, f), kr)
		}
	})

	// ROUTE-REFRESH (RFC 2918) both ways: the daemon answers ours by
	// sending its routes again, and we answer its one by sending ours.
	step("refresh", func(t *testing.T) {
		before, err := l.sp.Neighbor(ctx, theirs)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.sp.ResetPeer(theirs, false); err != nil {
			t.Fatal(err)
		}
		l.waitSpeaker(t, routeTimeout, "the daemon to answer our ROUTE-REFRESH", func(s *speaker.Snapshot) bool {
			n := s.Neighbor(theirs)
			return n.State == speaker.Established && n.Sent.RouteRefresh > before.Sent.RouteRefresh &&
				n.Rcvd.Updates > before.Rcvd.Updates
		})
		before, err = l.sp.Neighbor(ctx, theirs)
		if err != nil {
			t.Fatal(err)
		}
		sent, err := d.refreshIn(ctx, ours)
		if err != nil {
			t.Fatal(err)
		}
		if !sent {
			t.Log("the daemon cannot send a ROUTE-REFRESH: the half where we answer one is not run")
			return
		}
		l.waitSpeaker(t, routeTimeout, "the daemon's ROUTE-REFRESH and our answer", func(s *speaker.Snapshot) bool {
			n := s.Neighbor(theirs)
			return n.State == speaker.Established && n.Rcvd.RouteRefresh > before.Rcvd.RouteRefresh &&
				n.Sent.Updates > before.Sent.Updates
		})
		waitOurRoute(t, attrPrefix(false, f), wantTheirs)
		waitPeerRoute(t, attrPrefix(true, f), wantOurs(attrPrefix(true, f)))
	})

	step("we-shut-down", func(t *testing.T) {
		if err := l.sp.SetPeerShutdown(theirs, true, ""); err != nil {
			t.Fatal(err)
		}
		const want = "sent Cease/Administrative Shutdown (6/2)"
		l.waitSpeaker(t, routeTimeout, "our session Idle after shutdown", func(s *speaker.Snapshot) bool {
			n := s.Neighbor(theirs)
			return n.State == speaker.Idle && n.LastNotification == want
		})
		poll(t, routeTimeout, "the daemon to report Cease/Administrative Shutdown received", func() (bool, string) {
			ok, st, err := d.receivedCease(ctx, ours)
			if err != nil {
				return false, err.Error()
			}
			return ok, st
		})
		waitPeerRoute(t, attrPrefix(true, f), nil)
		waitOurRoute(t, attrPrefix(false, f), nil)

		if err := l.sp.SetPeerShutdown(theirs, false, ""); err != nil {
			t.Fatal(err)
		}
		waitUp(t)
		waitOurRoute(t, attrPrefix(false, f), wantTheirs)
		waitPeerRoute(t, attrPrefix(true, f), wantOurs(attrPrefix(true, f)))
	})

	step("daemon-shuts-down", func(t *testing.T) {
		if err := d.shutdown(ctx, ours, shutdownMsg); err != nil {
			t.Fatal(err)
		}
		want := "received Cease/Administrative Shutdown (6/2)"
		if sc.shutdownText != "" {
			want += fmt.Sprintf(": %q", sc.shutdownText)
		}
		// One condition, on one snapshot: some daemons (ExaBGP) connect
		// again at once, so the session is down, the NOTIFICATION last
		// and the daemon's routes gone only for our idle hold (1 s).
		var got string
		l.waitSpeaker(t, routeTimeout, "our side to report the daemon's NOTIFICATION and drop its routes", func(s *speaker.Snapshot) bool {
			n := s.Neighbor(theirs)
			got = n.LastNotification
			r := s.Table(wireFamily(f)).Route(attrPrefix(false, f))
			return n.State != speaker.Established && strings.HasPrefix(n.LastNotification, "received Cease") &&
				(r == nil || r.Best() == nil)
		})
		if got != want {
			t.Errorf("our last notification from %v = %q, want %q", theirs, got, want)
		}
		logWant := fmt.Sprintf("%%NOTIFICATION: received from neighbor %v 6/2 (Cease/Administrative Shutdown)", theirs)
		if !slices.ContainsFunc(l.sp.LogLines(), func(s string) bool { return strings.Contains(s, logWant) }) {
			t.Errorf("our log has no line with %q:\n%s", logWant, strings.Join(l.sp.LogLines(), "\n"))
		}
		n, err := l.sp.Neighbor(ctx, theirs)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(n.LastReset, "BGP Notification received") {
			t.Errorf("our last reset = %q, want BGP Notification received (...)", n.LastReset)
		}

		if err := d.enable(ctx, ours); err != nil {
			t.Fatal(err)
		}
		waitUp(t)
		waitOurRoute(t, attrPrefix(false, f), wantTheirs)
	})
}

// TestTransit: routes crossing our router between the daemon and a second
// embedded router, lab2 (AS 65010), for every daemon. On the way through
// our AS goes first in the path, the MED stays behind (RFC 4271 section
// 5.1.4: a MED learned from a neighbouring AS is not passed to another),
// communities and large communities cross unchanged, and the next hop is
// ours.
func TestTransit(t *testing.T) {
	for _, sc := range []scenario{frrScenario(), birdScenario(), gobgpScenario(), exabgpScenario()} {
		t.Run(sc.spec.peer, func(t *testing.T) {
			needBinary(t, sc.bins...)
			spec := sc.spec
			spec.transit = true
			l := buildLab(t, spec)
			d := sc.start(t, l)
			l.startSpeaker()
			for _, f := range families {
				pfx := transitRoute4
				if f == topo.IPv6 {
					pfx = transitRoute6
				}
				want := &peerRoute{ASPath: fmt.Sprintf("%d %d", spec.ourAS, transitAS), Origin: "i",
					Communities: []string{"65010:1"}, LargeCommunities: []string{"65010:1:1"}, NextHop: l.ourAddr[f]}
				if f == topo.IPv6 && sc.showsLinkLocal {
					want.LinkLocal = l.mustLinkLocal(t, l.us.Name, l.ourIface)
				}
				poll(t, upTimeout, fmt.Sprintf("the daemon's route to %v, from lab2 through us", pfx), func() (bool, string) {
					got, err := d.route(context.Background(), pfx)
					if err != nil {
						return false, err.Error()
					}
					diff := cmp.Diff(want, got, cmpAddr)
					return diff == "", "(-want +got)\n" + diff
				})

				// The daemon's attr route at lab2, from us.
				var via, viaLL netip.Addr
				for _, s := range l.model.Sessions {
					if _, remote, ok := s.End(l.model.Router("lab2")); ok && s.Family == f {
						via = remote.Addr
						if f == topo.IPv6 {
							viaLL = l.mustLinkLocal(t, remote.Router.Name, remote.Iface.Name)
						}
					}
				}
				want = &peerRoute{ASPath: fmt.Sprintf("%d %d %d", spec.ourAS, spec.peerAS, peerPrepend), Origin: "i",
					Communities: peerCommunities, LargeCommunities: []string{peerLarge(spec.peerAS)},
					NextHop: via, LinkLocal: viaLL}
				ctx, cancel := context.WithTimeout(context.Background(), upTimeout)
				var diff string
				err := l.sp2.WaitFor(ctx, func(*speaker.Snapshot) bool {
					diff = cmp.Diff(want, bestRoute(t, l.sp2, attrPrefix(false, f)), cmpAddr)
					return diff == ""
				})
				cancel()
				if err != nil {
					t.Fatalf("lab2's route to %v: %v (-want +got)\n%s", attrPrefix(false, f), err, diff)
				}
			}
		})
	}
}
