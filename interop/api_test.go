package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	exaapi "lab/exabgp"
	"lab/speaker"
	"lab/speaker/rib"
	"lab/speaker/wire"
	"lab/topo"
)

// The API tests: programs written for ExaBGP 4 on our routers (package
// exabgp), against FRR and against ExaBGP itself.

// apiSession is what an ExaBGP 4 JSON stream says about one session,
// reduced to answers that two implementations must agree on. The same
// reduction reads ExaBGP's stream and ours (readAPIStream).
type apiSession struct {
	// States are the state messages in order ("connected", "up",
	// "down"); DownReasons the reasons of the downs that followed an up.
	States      []string
	DownReasons []string
	// Routes are the routes announced and not withdrawn since, by prefix;
	// Withdrawn the prefixes withdrawn at least once.
	Routes    map[netip.Prefix]*apiRoute
	Withdrawn map[netip.Prefix]bool
	// Opens, Notifications, Refreshes and EORs: one line each, in order.
	Opens         []string
	Notifications []string
	Refreshes     []string
	EORs          []string
	Keepalives    int
}

func (s *apiSession) String() string {
	var routes []string
	for p, r := range s.Routes {
		routes = append(routes, fmt.Sprintf("%v via %s %s", p, strings.Join(r.NextHops, ","), r.Attribute))
	}
	slices.Sort(routes)
	return fmt.Sprintf("states %v, routes [%s], withdrawn %v, opens %d, notifications %v, refreshes %v, EORs %v, keepalives %d",
		s.States, strings.Join(routes, "; "), s.Withdrawn, len(s.Opens), s.Notifications, s.Refreshes, s.EORs, s.Keepalives)
}

// apiRoute is a route of a JSON stream: its next hops (as the stream
// lists them, global first) and attributes.
type apiRoute struct {
	NextHops  []string
	Attribute json.RawMessage
}

// apiMessage is one line of an ExaBGP 4 JSON stream, the fields the
// answers need.
type apiMessage struct {
	Exabgp   string `json:"exabgp"`
	Type     string `json:"type"`
	Neighbor struct {
		Address struct {
			Local string `json:"local"`
			Peer  string `json:"peer"`
		} `json:"address"`
		ASN struct {
			Local uint32 `json:"local"`
			Peer  uint32 `json:"peer"`
		} `json:"asn"`
		Direction    string          `json:"direction"`
		State        string          `json:"state"`
		Reason       string          `json:"reason"`
		Open         json.RawMessage `json:"open"`
		Notification *struct {
			Code    int    `json:"code"`
			Subcode int    `json:"subcode"`
			Data    string `json:"data"`
		} `json:"notification"`
		RouteRefresh *struct {
			AFI     string `json:"afi"`
			SAFI    string `json:"safi"`
			Subtype string `json:"subtype"`
		} `json:"route-refresh"`
		Message *struct {
			EOR *struct {
				AFI  string `json:"afi"`
				SAFI string `json:"safi"`
			} `json:"eor"`
			Update *struct {
				Attribute json.RawMessage                 `json:"attribute"`
				Announce  map[string]map[string][]apiNLRI `json:"announce"`
				Withdraw  map[string][]apiNLRI            `json:"withdraw"`
			} `json:"update"`
		} `json:"message"`
	} `json:"neighbor"`
}

type apiNLRI struct {
	NLRI string `json:"nlri"`
}

// readAPIStream reduces an ExaBGP 4 JSON stream to its answers, by
// session (the neighbour's address). Lines that are not JSON objects
// ("done", "error", show output) are skipped. Two of ExaBGP 4.2's own
// mistakes are repaired first: a ROUTE-REFRESH's words quoted twice
// (`"afi": ""ipv4""`), and control characters copied raw into a down
// reason.
func readAPIStream(path string) (map[netip.Addr]*apiSession, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[netip.Addr]*apiSession{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		for i, c := range line {
			if c < 0x20 {
				line[i] = ' '
			}
		}
		line = []byte(strings.ReplaceAll(string(line), `""`, `"`))
		var m apiMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", line, err)
		}
		if m.Exabgp != exaapi.JSONVersion {
			return nil, fmt.Errorf("%s: version %q, want %q", line, m.Exabgp, exaapi.JSONVersion)
		}
		peer, err := netip.ParseAddr(m.Neighbor.Address.Peer)
		if err != nil {
			continue // the shutdown notice: no neighbour
		}
		s := out[peer]
		if s == nil {
			s = &apiSession{Routes: map[netip.Prefix]*apiRoute{}, Withdrawn: map[netip.Prefix]bool{}}
			out[peer] = s
		}
		n := &m.Neighbor
		switch m.Type {
		case "state":
			if n.State == "down" && slices.Contains(s.States, "up") && s.States[len(s.States)-1] == "up" {
				s.DownReasons = append(s.DownReasons, n.Reason)
			}
			s.States = append(s.States, n.State)
			if n.State == "down" {
				clear(s.Routes)
			}
		case "open":
			var o struct {
				Version      int                        `json:"version"`
				ASN          uint32                     `json:"asn"`
				HoldTime     int                        `json:"hold_time"`
				RouterID     string                     `json:"router_id"`
				Capabilities map[string]json.RawMessage `json:"capabilities"`
			}
			if err := json.Unmarshal(n.Open, &o); err != nil {
				return nil, err
			}
			var caps []string
			for code, c := range o.Capabilities {
				caps = append(caps, code+"="+compactJSON(c))
			}
			slices.Sort(caps)
			s.Opens = append(s.Opens, fmt.Sprintf("version %d asn %d hold %d id %s caps %s", o.Version, o.ASN, o.HoldTime, o.RouterID, strings.Join(caps, " ")))
		case "keepalive":
			s.Keepalives++
		case "notification":
			if n.Notification != nil {
				s.Notifications = append(s.Notifications, fmt.Sprintf("%d/%d %s", n.Notification.Code, n.Notification.Subcode, n.Notification.Data))
			}
		case "refresh":
			if r := n.RouteRefresh; r != nil {
				s.Refreshes = append(s.Refreshes, r.AFI+" "+r.SAFI+" "+r.Subtype)
			}
		case "update":
			if n.Message == nil {
				continue
			}
			if e := n.Message.EOR; e != nil {
				s.EORs = append(s.EORs, e.AFI+" "+e.SAFI)
				continue
			}
			u := n.Message.Update
			if u == nil {
				continue
			}
			for _, nlris := range u.Withdraw {
				for _, x := range nlris {
					p, err := netip.ParsePrefix(x.NLRI)
					if err != nil {
						return nil, err
					}
					delete(s.Routes, p)
					s.Withdrawn[p] = true
				}
			}
			for _, byNH := range u.Announce {
				// ExaBGP lists an IPv6 next hop of a global and a
				// link-local address as two next hops of the same
				// prefixes; the global one comes first on the wire, and
				// in the route here.
				nhs := make([]string, 0, len(byNH))
				for nh := range byNH {
					nhs = append(nhs, nh)
				}
				slices.SortFunc(nhs, func(a, b string) int {
					la, lb := strings.HasPrefix(a, "fe80:"), strings.HasPrefix(b, "fe80:")
					switch {
					case la == lb:
						return strings.Compare(a, b)
					case la:
						return 1
					}
					return -1
				})
				for _, nh := range nhs {
					for _, x := range byNH[nh] {
						p, err := netip.ParsePrefix(x.NLRI)
						if err != nil {
							return nil, err
						}
						r := s.Routes[p]
						if r == nil || !slices.Contains(r.NextHops, nhs[0]) {
							r = &apiRoute{Attribute: json.RawMessage(compactJSON(u.Attribute))}
							s.Routes[p] = r
						}
						if !slices.Contains(r.NextHops, nh) {
							r.NextHops = append(r.NextHops, nh)
						}
					}
				}
			}
		}
	}
	return out, sc.Err()
}

// compactJSON is j with its spacing removed (ExaBGP's layout aside).
func compactJSON(j json.RawMessage) string {
	if len(j) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return string(j)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestExaBGPJSONSame: the same UPDATEs, from our router "lab", reach a
// real ExaBGP (Debian's 4.2) and our router "lab2", whose program records
// what our API writes; both JSON streams, read by the same code, give the
// same answers: the routes with all their attributes, the withdrawals,
// the End-of-RIB markers, the OPEN, the ROUTE-REFRESH requests, the Cease
// NOTIFICATION and the state changes around it.
func TestExaBGPJSONSame(t *testing.T) {
	needBinary(t, "exabgp")
	l := buildLab(t, labSpec{peer: "exabgp", ourAS: 65001, peerAS: 65002, transit: true,
		exaReceive: "parsed; update; notification; open; keepalive; refresh;"})
	// lab sends its IPv6 routes with its link-local next hop once the
	// kernel made the address: on the link to lab2 too, before the
	// sessions start (buildLab waits for the daemon's link only).
	for _, end := range [][2]string{{"lab", "lab-eth1"}, {"lab2", "lab2-eth0"}} {
		poll(t, 10*time.Second, "a link-local address on "+end[1], func() (bool, string) {
			ll, err := l.linkLocal(end[0], end[1])
			if err != nil {
				return false, err.Error()
			}
			return ll.IsValid(), "none yet"
		})
	}
	d := startExaBGP(t, l, false)
	l.makeSpeakers()
	recorded := filepath.Join(l.dir, "lab2.json")
	runner, err := exaapi.New(exaapi.Config{
		Speaker: l.sp2, Namespace: l.net.NamespacePath("lab2"), Host: "lab2", Dir: l.dir,
		Processes: []exaapi.Process{{Name: "record", Run: []string{"/bin/sh", "-c", "exec cat > " + recorded},
			Receive: exaapi.Receive{NeighborChanges: true, Update: true, Notification: true, Open: true, Keepalive: true, Refresh: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		runner.Close()
		if t.Failed() {
			t.Logf("lab2's program read:\n%s", tail(recorded, 30))
		}
	})
	l.runSpeakers()
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// lab's sessions: to ExaBGP (l.peerAddr) and to lab2, by family.
	lab2 := map[topo.Family]netip.Addr{topo.IPv4: netip.MustParseAddr("10.0.13.3"), topo.IPv6: netip.MustParseAddr("fd00:13::3")}
	for _, f := range families {
		l.waitSpeaker(t, upTimeout, fmt.Sprintf("lab's %v sessions Established", f), func(s *speaker.Snapshot) bool {
			return s.Neighbor(l.peerAddr[f]).State == speaker.Established && s.Neighbor(lab2[f]).State == speaker.Established
		})
	}
	// Routes with every attribute ExaBGP's API can give, one per
	// family, and plain ones; lab's own (the topology's) go too.
	ext := []wire.ExtendedCommunity{{0, 2, 0xfd, 0xe9, 0, 0, 0, 5}, {0x01, 0x02, 10, 1, 2, 3, 0, 9}, {0x02, 0x03, 0, 1, 0, 0, 0, 7}}
	full := func(p string) speaker.Origination {
		return speaker.Origination{Prefix: netip.MustParsePrefix(p), Origin: rib.OriginEGP, ASPath: []uint32{65001, 64999}, ASSet: []uint32{64990, 64991},
			MED: 50, HasMED: true, LocalPref: 200, HasLocalPref: true, Communities: []uint32{65001<<16 | 100, 65001<<16 | 200},
			LargeCommunities: [][3]uint32{{65001, 1, 2}, {65001, 3, 4}}, ExtCommunities: ext, AtomicAggregate: true,
			AggregatorAS: 65001, AggregatorAddr: netip.MustParseAddr("10.254.0.1")}
	}
	announced := []speaker.Origination{full("100.40.0.0/24"), full("2001:db8:400::/48"),
		{Prefix: netip.MustParsePrefix("100.50.0.0/24")}, {Prefix: netip.MustParsePrefix("2001:db8:500::/48"), Origin: rib.OriginIncomplete}}
	for _, o := range announced {
		if err := l.sp.Announce(o); err != nil {
			t.Fatal(err)
		}
	}
	prefixes := []netip.Prefix{ourAttr4, ourPlain4, ourAttr6, ourPlain6}
	for _, o := range announced {
		prefixes = append(prefixes, o.Prefix)
	}
	// The answers, with the next hops lab gives each of its peers (its
	// addresses on the two links, and its link-local ones) named alike.
	answers := func() (theirs, ours map[topo.Family]*apiSession, err error) {
		read := func(path string, from map[topo.Family]netip.Addr) (map[topo.Family]*apiSession, error) {
			all, err := readAPIStream(path)
			if err != nil {
				return nil, err
			}
			out := map[topo.Family]*apiSession{}
			for _, f := range families {
				s := all[from[f]]
				if s == nil {
					s = &apiSession{Routes: map[netip.Prefix]*apiRoute{}, Withdrawn: map[netip.Prefix]bool{}}
				}
				for p, r := range s.Routes {
					if !slices.Contains(prefixes, p) {
						delete(s.Routes, p)
						continue
					}
					for i, nh := range r.NextHops {
						switch {
						case nh == from[f].String():
							r.NextHops[i] = "lab"
						case strings.HasPrefix(nh, "fe80:"):
							r.NextHops[i] = "lab's link-local"
						}
					}
				}
				// The OPEN of the connection that came up: ExaBGP
				// and we dial each other, and ExaBGP reports the
				// connection that lost the collision too, and the
				// Cease that closed it (RFC 4271 section 6.8: 6/7,
				// Connection Collision Resolution) when it was
				// ExaBGP's.
				if n := len(s.Opens); n > 1 {
					s.Opens = s.Opens[n-1:]
				}
				s.Notifications = slices.DeleteFunc(s.Notifications, func(n string) bool { return strings.HasPrefix(n, "6/7 ") })
				for p := range s.Withdrawn {
					if !slices.Contains(prefixes, p) {
						delete(s.Withdrawn, p)
					}
				}
				out[f] = s
			}
			return out, nil
		}
		labToLab2 := map[topo.Family]netip.Addr{topo.IPv4: netip.MustParseAddr("10.0.13.1"), topo.IPv6: netip.MustParseAddr("fd00:13::1")}
		if theirs, err = read(d.events, l.ourAddr); err != nil {
			return
		}
		ours, err = read(recorded, labToLab2)
		return
	}
	// same polls until both streams have what done says, then compares
	// them.
	same := func(what string, done func(s *apiSession) string) {
		t.Helper()
		var theirs, ours map[topo.Family]*apiSession
		poll(t, routeTimeout, what, func() (bool, string) {
			var err error
			if theirs, ours, err = answers(); err != nil {
				return false, err.Error()
			}
			for _, f := range families {
				if why := done(theirs[f]); why != "" {
					return false, fmt.Sprintf("%v: ExaBGP's: %s:\n%s", f, why, theirs[f])
				}
				if why := done(ours[f]); why != "" {
					return false, fmt.Sprintf("%v: ours: %s:\n%s", f, why, ours[f])
				}
			}
			return true, ""
		})
		for _, f := range families {
			// The state changes and keepalives may come in different
			// numbers (ExaBGP's connection attempts while we hold
			// down): compared apart.
			a, b := *theirs[f], *ours[f]
			a.States, b.States, a.Keepalives, b.Keepalives = nil, nil, 0, 0
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("%s, %v: ExaBGP's answers and ours differ (-ExaBGP +ours):\n%s", what, f, diff)
			}
			if theirs[f].Keepalives == 0 || ours[f].Keepalives == 0 {
				t.Errorf("%v: keepalives: ExaBGP's %d, ours %d", f, theirs[f].Keepalives, ours[f].Keepalives)
			}
		}
	}
	same("the routes announced", func(s *apiSession) string {
		if len(s.Routes) != 4 || len(s.Opens) != 1 || !slices.Contains(s.States, "up") {
			return "not yet up with 4 routes"
		}
		// Not a vacuous comparison: the full route has every attribute,
		// and an IPv6 route its two next hops.
		for p, r := range s.Routes {
			if p == netip.MustParsePrefix("100.40.0.0/24") || p == netip.MustParsePrefix("2001:db8:400::/48") {
				for _, k := range []string{`"as-set"`, `"extended-community"`, `"aggregator"`, `"atomic-aggregate"`, `"large-community"`, `"med"`} {
					if !strings.Contains(string(r.Attribute), k) {
						return fmt.Sprintf("%v has no %s", p, k)
					}
				}
			}
			if p.Addr().Is6() && len(r.NextHops) != 2 {
				return fmt.Sprintf("%v has not 2 next hops", p)
			}
		}
		return ""
	})

	// Withdrawals, End-of-RIB markers, ROUTE-REFRESH requests.
	l.sp.Withdraw(netip.MustParsePrefix("100.50.0.0/24"))
	l.sp.Withdraw(netip.MustParsePrefix("2001:db8:500::/48"))
	for _, f := range families {
		for _, a := range []netip.Addr{l.peerAddr[f], lab2[f]} {
			if err := l.sp.SendEndOfRIB(ctx, a, wireFamily(f)); err != nil {
				t.Fatal(err)
			}
			if err := l.sp.SendRouteRefresh(a, wireFamily(f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	same("withdrawals, End-of-RIB, ROUTE-REFRESH", func(s *apiSession) string {
		if len(s.Routes) == 3 && len(s.Withdrawn) == 1 && len(s.EORs) == 2 && len(s.Refreshes) == 1 {
			return ""
		}
		return "not yet"
	})

	// lab shuts the sessions down: a Cease each, and the sessions go down
	// for that reason.
	for _, f := range families {
		for _, a := range []netip.Addr{l.peerAddr[f], lab2[f]} {
			if err := l.sp.SetPeerShutdown(a, true, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	same("the Cease and the sessions down", func(s *apiSession) string {
		if len(s.Notifications) == 1 && len(s.DownReasons) == 1 && len(s.Routes) == 0 {
			return ""
		}
		return "not yet"
	})
	theirs, _, _ := answers()
	if got := theirs[topo.IPv4].DownReasons[0]; got != "peer reset, message (notification received (6,2)) error(Cease / Administrative Shutdown)" {
		t.Errorf("ExaBGP's down reason %q: the reason ours is checked against changed", got)
	}
}

// TestAPIProgramsFRR: the seed's programs, ours (scripts/api), on our
// router "lab" facing FRR with the seed's addresses: announce.py's routes
// reach FRR, and receive.py prints the seed's lines in the router's log
// for the route FRR announces and withdraws, and for the session's state.
func TestAPIProgramsFRR(t *testing.T) {
	needBinary(t, frrBgpd, frrZebra, "vtysh", "python3")
	scripts, err := filepath.Abs("../scripts/api")
	if err != nil {
		t.Fatal(err)
	}
	l := buildLab(t, labSpec{peer: "frr", ourAS: 65001, peerAS: 65000, noPrefixes: true,
		link4: [2]string{"192.168.1.2/24", "192.168.1.1/24"}})
	d := startFRR(t, l)
	l.makeSpeakers()
	runner, err := exaapi.New(exaapi.Config{
		Speaker: l.sp, Namespace: l.net.NamespacePath("lab"), Host: "lab", Dir: scripts,
		Processes: []exaapi.Process{
			{Name: "dynamic-routes", Run: []string{filepath.Join(scripts, "announce.py")}},
			{Name: "receive-routes", Run: []string{filepath.Join(scripts, "receive.py")},
				Receive: exaapi.Receive{NeighborChanges: true, Update: true}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runner.Close() })
	l.runSpeakers()
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	us := netip.MustParseAddr("192.168.1.2")

	// FRR's summary: our session up with the seed's three routes.
	poll(t, upTimeout, "FRR's summary: 192.168.1.2 Established with 3 prefixes", func() (bool, string) {
		out, err := d.vtysh(ctx, "show ip bgp summary json")
		if err != nil {
			return false, err.Error()
		}
		var sum struct {
			IPv4Unicast struct {
				Peers map[string]struct {
					State  string `json:"state"`
					PfxRcd int    `json:"pfxRcd"`
				} `json:"peers"`
			} `json:"ipv4Unicast"`
		}
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			return false, err.Error()
		}
		p := sum.IPv4Unicast.Peers[us.String()]
		return p.State == "Established" && p.PfxRcd == 3, out
	})
	for _, p := range []string{"100.10.0.0/24", "100.20.0.0/24", "100.30.0.0/24"} {
		// MED 0: our speaker sends it on every route it originates
		// without one, as the seed's Quagga did.
		want := &peerRoute{NextHop: us, ASPath: "65001", Origin: "i", HasMED: true}
		poll(t, routeTimeout, "FRR's best route to "+p, func() (bool, string) {
			r, err := d.route(ctx, netip.MustParsePrefix(p))
			if err != nil {
				return false, err.Error()
			}
			diff := cmp.Diff(want, r, cmpAddr)
			return diff == "", "(-want +got)\n" + diff
		})
	}
	logHas := func(what string, want ...string) {
		t.Helper()
		poll(t, routeTimeout, what, func() (bool, string) {
			lines := l.sp.LogLines()
			for _, w := range want {
				if !slices.ContainsFunc(lines, func(s string) bool { return strings.HasSuffix(s, w) }) {
					return false, "no " + w + " in:\n" + strings.Join(lines, "\n")
				}
			}
			return true, ""
		})
	}
	logHas("announce.py's lines", "process dynamic-routes: [API] Announced 100.10.0.0/24",
		"process dynamic-routes: [API] Announced 100.30.0.0/24")
	logHas("the state messages", "process receive-routes: [STATE] BGP session state: connected",
		"process receive-routes: [STATE] BGP session state: up")

	// FRR announces the seed's 10.0.0.0/8, then withdraws it.
	if err := d.configure(ctx, "address-family ipv4 unicast", "network 10.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	logHas("the route FRR announced", "process receive-routes: [RECEIVED] Route 10.0.0.0/8 via 192.168.1.1")
	if err := d.configure(ctx, "address-family ipv4 unicast", "no network 10.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	logHas("the route FRR withdrew", "process receive-routes: [WITHDRAWN] Route 10.0.0.0/8")

	// Stopped with the router.
	if err := runner.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dynamic-routes", "receive-routes"} {
		// Both end on the end of their input, which comes first.
		if exited, err := runner.ExitErr(name); !exited || err != nil {
			t.Errorf("%s: exited %v (%v), want exit status 0", name, exited, err)
		}
	}
	logHas("the programs stopped", "process dynamic-routes: stopped (exit status 0)", "process receive-routes: stopped (exit status 0)")
}

// TestAPIProgramsGoWithTheLab: a router's programs run in its namespace,
// so the lab's teardown (what `lab clean` does for a lab whose daemon
// died) ends them, and their children, without the runner.
func TestAPIProgramsGoWithTheLab(t *testing.T) {
	l := buildLab(t, labSpec{peer: "frr", ourAS: 65001, peerAS: 65000, noPrefixes: true})
	l.makeSpeakers()
	pidFile := filepath.Join(l.dir, "pids")
	runner, err := exaapi.New(exaapi.Config{
		Speaker: l.sp, Namespace: l.net.NamespacePath("lab"),
		Processes: []exaapi.Process{{Name: "forks", Run: []string{"/bin/sh", "-c",
			fmt.Sprintf("sleep 600 & echo $$ $! > %s.tmp && mv %s.tmp %s; wait", pidFile, pidFile, pidFile)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	l.runSpeakers()
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	poll(t, 10*time.Second, "the program's pids", func() (bool, string) {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false, err.Error()
		}
		pids = nil
		for _, f := range strings.Fields(string(b)) {
			var pid int
			fmt.Sscan(f, &pid)
			pids = append(pids, pid)
		}
		return len(pids) == 2, string(b)
	})
	if err := l.net.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		// Reaped (the runner waits for its child) or gone.
		if err := syscall.Kill(pid, 0); err == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(b), ") Z ") {
				t.Errorf("pid %d still runs after the lab's teardown", pid)
			}
		} else if !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d: %v", pid, err)
		}
	}
	if err := runner.Close(); err != nil {
		t.Error(err)
	}
	if exited, err := runner.ExitErr("forks"); !exited || err == nil {
		t.Errorf("the program: exited %v (%v), want killed", exited, err)
	}
}
