package interop

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"lab/cli/commands"
	"lab/cli/grammar"
	"lab/grade"
	"lab/internal/testrun"
	"lab/netemu"
	"lab/speaker"
	"lab/speakerconf"
	"lab/topo"
)

// frrGolden, when set, is where TestFRRJSON writes what FRR and our
// router answer to the same show commands (the golden files of
// grade/testdata are made so).
var frrGolden = flag.String("frr-golden", "", "write FRR's and our JSON answers to this directory")

// triangleFile is the lab of TestFRRJSON: our router src originates
// four routes and is linked to our router lab and to FRR, which are
// linked to each other, so that lab and FRR see the same routes the same
// way (a best path from src, AS path 65010, and a second through each
// other); peer2, ours, is FRR's iBGP peer. grade's unit tests read the
// JSON recorded on it.
const triangleFile = "../grade/testdata/triangle.yaml"

// frrPrefix is the route FRR originates, per family.
var frrPrefix = map[topo.Family]string{topo.IPv4: "10.30.0.0/24", topo.IPv6: "2001:db8:30::/64"}

// triangle is the built lab of TestFRRJSON, FRR running.
type triangle struct {
	model *topo.Lab
	net   *netemu.Lab
	env   *commands.Env
	dir   string // FRR's files and vty sockets
}

func buildTriangle(t *testing.T) *triangle {
	t.Helper()
	needBinary(t, frrBgpd, frrZebra, "vtysh")
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and runs FRR in them")
	}
	model, err := topo.LoadAs(triangleFile, testrun.Name(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nl, err := netemu.Build(ctx, model, netemu.Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatalf("build lab: %v", err)
	}
	testrun.Cleanup(t, func() {
		if err := nl.Close(); err != nil {
			t.Errorf("tear down: %v", err)
		}
	})
	tr := &triangle{model: model, net: nl, dir: t.TempDir(),
		env: &commands.Env{Lab: model, Net: nl, Routers: map[string]commands.Router{}}}
	if err := os.Chmod(tr.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tr.startFRR(t)
	var sps []*speaker.Speaker
	for _, name := range []string{"src", "lab", "peer2"} {
		r := model.Router(name)
		cfg, err := speakerconf.Config(model, r, nl.NamespacePath(name))
		if err != nil {
			t.Fatal(err)
		}
		sp, err := speaker.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		testrun.Cleanup(t, func() { sp.Close() })
		if err := sp.Listen(); err != nil {
			t.Fatal(err)
		}
		tr.env.Routers[name] = sp
		sps = append(sps, sp)
	}
	for _, sp := range sps {
		if err := sp.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// startFRR configures FRR's bgpd with a neighbour per session of the
// model, each in its own family, and starts it with zebra.
func (tr *triangle) startFRR(t *testing.T) {
	t.Helper()
	frr := tr.model.Router("frr")
	var b strings.Builder
	fmt.Fprintf(&b, "hostname frr\nlog file %s debugging\n!\nroute-map FROM-LAB permit 10\n set community 65002:7 additive\n!\nrouter bgp %d\n bgp router-id %v\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n no bgp network import-check\n",
		filepath.Join(tr.dir, "bgpd.log"), frr.AS.Number, frr.RouterID)
	type nb struct {
		addr, router string
		fam          topo.Family
	}
	var nbs []nb
	for _, s := range tr.model.Sessions {
		_, remote, ok := s.End(frr)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, " neighbor %v remote-as %d\n neighbor %v timers connect 1\n", remote.Addr, remote.Router.AS.Number, remote.Addr)
		nbs = append(nbs, nb{remote.Addr.String(), remote.Router.Name, s.Family})
	}
	for _, f := range families {
		fmt.Fprintf(&b, " address-family %s unicast\n", frrAFI(f))
		fmt.Fprintf(&b, "  network %v\n", frrPrefix[f])
		for _, n := range nbs {
			if n.fam == f {
				fmt.Fprintf(&b, "  neighbor %s activate\n", n.addr)
				if n.router == "lab" {
					fmt.Fprintf(&b, "  neighbor %s route-map FROM-LAB in\n", n.addr)
				} else {
					fmt.Fprintf(&b, "  neighbor %s soft-reconfiguration inbound\n", n.addr)
				}
			}
		}
		b.WriteString(" exit-address-family\n")
	}
	b.WriteString("!\n")
	bgpConf := filepath.Join(tr.dir, "bgpd.conf")
	zebraConf := filepath.Join(tr.dir, "zebra.conf")
	if err := os.WriteFile(bgpConf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zebraConf, []byte("hostname frr\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := tr.net.NamespacePath("frr")
	zserv := filepath.Join(tr.dir, "zserv.api")
	common := []string{"-u", "root", "-g", frrGroup(), "--vty_socket", tr.dir, "-z", zserv, "-P", "0"}
	zebra := startDaemon(t, ns, tr.dir, "zebra", nil, frrZebra, append(common, "-f", zebraConf, "-i", filepath.Join(tr.dir, "zebra.pid"))...)
	frrCrashDir(t, zebra)
	poll(t, 20*time.Second, "zebra's zserv socket", func() (bool, string) {
		if err := zebra.running(); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(zserv)
		return err == nil, fmt.Sprint(err)
	})
	bgpd := startDaemon(t, ns, tr.dir, "bgpd", nil, frrBgpd, append(common, "-f", bgpConf, "-i", filepath.Join(tr.dir, "bgpd.pid"))...)
	frrCrashDir(t, bgpd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bgpd.log:\n%s", tail(filepath.Join(tr.dir, "bgpd.log"), 80))
		}
	})
	poll(t, 20*time.Second, "bgpd's vty", func() (bool, string) {
		if err := bgpd.running(); err != nil {
			t.Fatal(err)
		}
		_, err := tr.frr(context.Background(), "show bgp summary json")
		return err == nil, fmt.Sprint(err)
	})
}

// frr runs one vtysh command.
func (tr *triangle) frr(ctx context.Context, cmd string) (string, error) {
	return run(ctx, "vtysh", "--vty_socket", tr.dir, "-c", cmd)
}

// TestFRRJSON: the same show commands' JSON from FRR 8.4 and from our
// router.
func TestFRRJSON(t *testing.T) {
	tr := buildTriangle(t)
	ctx := context.Background()
	tr.waitConverged(t)
	t.Run("parsed", tr.sameParsed)
	t.Run("checks", func(t *testing.T) {
		// Each line on lab and on FRR: the same verdict.
		for _, c := range []struct {
			line string
			pass bool
		}{
			{"check X session src", true},
			{"check X session src ipv6", true},
			{"check X session src down", false},
			{"check X prefix 10.10.1.0/24 best nexthop src aspath 65010 med 5 community 65010:1 65010:2 large-community 65010:1:1 origin igp peer src", true},
			{"check X prefix 2001:db8:10:1::/64 best nexthop src aspath 65010 med 5 community 65010:2", true},
			{"check X prefix 10.10.2.0/24 best aspath-regex ^65010$", true},
			{"check X prefix 10.10.1.0/24 best nexthop Y", false},
			{"check X prefix 10.10.1.0/24 nexthop Y", true},
			{"check X prefix 10.10.1.0/24 local-pref 200", false},
			{"check X prefix 10.99.0.0/24 missing", true},
			{"check X prefix 10.10.1.0/24 missing", false},
			{"check X route 10.10.1.0/24 via src wait 10", true},
			{"check X route 2001:db8:10:2::/64 via src wait 10", true},
			{"check X route 10.10.1.0/24 via Y", false},
			{"check X notification src", false},
		} {
			for _, r := range [][2]string{{"lab", "frr"}, {"frr", "lab"}} {
				line := strings.ReplaceAll(strings.ReplaceAll(c.line, "X", r[0]), "Y", r[1])
				if res := tr.check(t, line); res.Passed != c.pass {
					t.Errorf("%s: passed %v, want %v: %s", line, res.Passed, c.pass, res.Seen)
				}
			}
		}
	})
	if *frrGolden != "" {
		tr.record(t, "frr", "", goldenCommands)
		tr.record(t, "frr", "", []string{"show bgp ipv4 neighbors 10.0.2.1", "show bgp ipv6 neighbors fd00:2::1 received-routes",
			"show bgp ipv4 neighbors 10.0.3.2 advertised-routes", "show bgp ipv4 neighbors 10.0.2.1 routes",
			"show bgp ipv4 10.20.0.0/24", "show bgp ipv6 2001:db8:30::/64", "show route-map"})
		tr.record(t, "lab", "", goldenCommands)
		tr.record(t, "lab", "", []string{"show bgp ipv4 neighbors 10.0.1.1", "show bgp ipv6 neighbors fd00:1::1 received-routes",
			"show bgp ipv4 neighbors 10.0.3.3 advertised-routes", "show bgp ipv4 neighbors 10.0.1.1 routes", "show routing policy", "show log"})
		tr.record(t, "peer2", "", []string{"show bgp ipv4", "show bgp ipv4 10.10.1.0/24", "show bgp ipv6 2001:db8:20::/64"})
		// lab shuts its IPv4 session with FRR down: both show the
		// Cease, sent and received, with the shutdown communication.
		if _, err := tr.env.Run(ctx, "lab neighbor 10.0.3.3 shutdown message class is over", io.Discard, false); err != nil {
			t.Fatal(err)
		}
		poll(t, 20*time.Second, "FRR sees the shutdown", func() (bool, string) {
			out, err := tr.frr(ctx, "show bgp ipv4 neighbors 10.0.3.2 json")
			return err == nil && strings.Contains(out, "lastNotificationReason"), out
		})
		tr.record(t, "frr", "shutdown_", []string{"show bgp neighbors", "show bgp ipv4 summary"})
		tr.record(t, "lab", "shutdown_", []string{"show bgp neighbors", "show bgp ipv4 summary", "show log"})
	} else if _, err := tr.env.Run(ctx, "lab neighbor 10.0.3.3 shutdown message class is over", io.Discard, false); err != nil {
		t.Fatal(err)
	}
	// The Cease, sent by lab, received by FRR, with its shutdown
	// communication, read the same way from both.
	for line, pass := range map[string]bool{
		"check lab notification frr sent 6/2 wait 10":     true,
		"check frr notification lab received 6/2 wait 10": true,
		"check frr notification 10.0.3.2 sent 6 wait 0.2": false,
		"check lab session 10.0.3.3 idle":                 true,
		"check frr session 10.0.3.2 down":                 true,
		"check frr session lab ipv6":                      true,
		"check lab session frr ipv4":                      false,
	} {
		if res := tr.check(t, line); res.Passed != pass {
			t.Errorf("%s: passed %v, want %v: %s", line, res.Passed, pass, res.Seen)
		}
	}
	for _, n := range []string{"lab", "frr"} {
		res := tr.check(t, "check "+n+" notification "+map[string]string{"lab": "frr", "frr": "lab"}[n])
		if !strings.Contains(res.Seen, `6/2 (Cease/Administrative Shutdown) "class is over"`) {
			t.Errorf("%s's notification: %s", n, res.Seen)
		}
	}
}

// check runs a check line on the triangle, FRR's router answering
// through vtysh: the checks read FRR as they read ours.
func (tr *triangle) check(t *testing.T, line string) grade.Result {
	t.Helper()
	p, err := grammar.Shell.Parse(topo.GrammarLab(tr.model), line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	node, c, wait, err := grade.FromArgs(p.Entry.Name, p.Args)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return grade.Run(context.Background(), frrLab{Lab: tr.env.GradeLab(), tr: tr}, node, c, time.Now().Add(wait))
}

// frrLab is the lab as checks see it, router frr's show commands run by
// vtysh.
type frrLab struct {
	grade.Lab
	tr *triangle
}

func (l frrLab) Show(ctx context.Context, node, cmd string) ([]byte, error) {
	if node != "frr" {
		return l.Lab.Show(ctx, node, cmd)
	}
	out, err := l.tr.frr(ctx, cmd+" json")
	return []byte(out), err
}

// answer is what a check reads of a route, in the lab's terms: next hops
// as node names.
type answer struct {
	Paths, Valid                       int
	BestASPath, BestOrigin, BestReason string
	BestMED                            string
	BestNextHop, BestPeer              string
	Communities, LargeCommunities      string
}

func (tr *triangle) answer(r *grade.Route) answer {
	a := answer{Paths: len(r.Paths)}
	for _, p := range r.Paths {
		if p.Valid {
			a.Valid++
		}
	}
	if b := r.Best(); b != nil {
		a.BestASPath, a.BestOrigin, a.BestReason = b.ASPath, b.Origin, b.Reason
		if b.MED != nil {
			a.BestMED = fmt.Sprint(*b.MED)
		}
		if len(b.NextHops) > 0 {
			a.BestNextHop = tr.nodeOf(b.NextHops[0])
		}
		a.BestPeer = tr.nodeOf(b.Peer)
		a.Communities, a.LargeCommunities = strings.Join(b.Communities, " "), strings.Join(b.LargeCommunities, " ")
	}
	return a
}

func (tr *triangle) nodeOf(a netip.Addr) string {
	for _, n := range tr.model.Nodes() {
		if slices.Contains(n.Addrs(), a) {
			return n.Name
		}
	}
	return a.String()
}

// sameParsed: the JSON of the same show commands on lab and on FRR, read
// by grade's parsers, gives the same answers about src's routes and
// sessions.
func (tr *triangle) sameParsed(t *testing.T) {
	ctx := context.Background()
	show := func(router, cmd string) []byte {
		t.Helper()
		var b []byte
		var err error
		if router == "frr" {
			var s string
			s, err = tr.frr(ctx, cmd+" json")
			b = []byte(s)
		} else {
			b, err = tr.env.GradeLab().Show(ctx, router, cmd)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", router, cmd, err)
		}
		return b
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		pfxs := []string{"10.10.1.0/24", "10.10.2.0/24"}
		if fam == "ipv6" {
			pfxs = []string{"2001:db8:10:1::/64", "2001:db8:10:2::/64"}
		}
		tables := map[string]*grade.Table{}
		for _, r := range []string{"lab", "frr"} {
			tab, err := grade.ParseTable(show(r, "show bgp "+fam))
			if err != nil {
				t.Fatal(err)
			}
			tables[r] = tab
		}
		for _, p := range pfxs {
			pfx := netip.MustParsePrefix(p)
			answers := map[string]answer{}
			for _, r := range []string{"lab", "frr"} {
				rt, err := grade.ParseRoute(show(r, "show bgp "+fam+" "+p))
				if err != nil {
					t.Fatal(err)
				}
				answers[r] = tr.answer(rt)
				// The table's view of the prefix agrees with the
				// prefix's own, communities aside (the table has none).
				fromTable := tables[r].Route(pfx)
				if fromTable == nil {
					t.Fatalf("%s: %s not in its table", r, p)
				}
				ta := tr.answer(fromTable)
				want := answers[r]
				want.Communities, want.LargeCommunities, want.BestPeer = "", "", ta.BestPeer
				if ta != want {
					t.Errorf("%s %s: the table says %+v, the prefix %+v", r, p, ta, want)
				}
			}
			want := answer{Paths: 2, Valid: 2, BestASPath: "65010", BestOrigin: "IGP", BestReason: "AS Path", BestMED: "0",
				BestNextHop: "src", BestPeer: "src"}
			if strings.HasPrefix(p, "10.10.1.") || strings.HasPrefix(p, "2001:db8:10:1:") {
				want.BestMED, want.Communities, want.LargeCommunities = "5", "65010:1 65010:2", "65010:1:1"
			}
			for r, a := range answers {
				if a != want {
					t.Errorf("%s: %s: %+v, want %+v", r, p, a, want)
				}
			}
		}
		// The sessions with src, from the summary and the neighbours.
		for _, r := range []string{"lab", "frr"} {
			sums, err := grade.ParseSummary(show(r, "show bgp "+fam+" summary"))
			if err != nil || len(sums) != 1 || sums[0].Family != fam+"Unicast" {
				t.Fatalf("%s's %s summary: %v %+v", r, fam, err, sums)
			}
			found := false
			for _, p := range sums[0].Peers {
				if tr.nodeOf(p.Addr) == "src" {
					found = true
					if p.State != "Established" || p.RemoteAS != 65010 || p.PfxRcd < 2 {
						t.Errorf("%s's %s summary: src is %+v", r, fam, p)
					}
				}
			}
			if !found {
				t.Errorf("%s's %s summary has no src: %+v", r, fam, sums[0])
			}
		}
	}
	for _, r := range []string{"lab", "frr"} {
		ns, err := grade.ParseNeighbors(show(r, "show bgp neighbors"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, nb := range ns {
			if tr.nodeOf(nb.Addr) != "src" {
				continue
			}
			n++
			if nb.State != "Established" || nb.RemoteAS != 65010 || nb.RemoteRouterID.String() != "10.254.0.1" || nb.Internal ||
				nb.Notification != nil || nb.ConnectionsEstablished != 1 {
				t.Errorf("%s's neighbour %s: %+v", r, nb.Addr, nb)
			}
		}
		if n != 2 {
			t.Errorf("%s has %d sessions with src, want 2", r, n)
		}
	}
}

// goldenCommands are recorded on FRR and on lab alike.
var goldenCommands = []string{"show bgp ipv4", "show bgp ipv6",
	"show bgp ipv4 10.10.1.0/24", "show bgp ipv6 2001:db8:10:1::/64", "show bgp ipv4 10.99.0.0/24",
	"show bgp summary", "show bgp ipv4 summary", "show bgp neighbors", "show ip route", "show ipv6 route"}

// waitConverged waits until FRR and lab have every route: the src
// prefixes by two paths each, and the other two ASes' prefixes.
func (tr *triangle) waitConverged(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	want := map[string]int{"10.10.1.0/24": 2, "10.10.2.0/24": 2, "10.20.0.0/24": 1, "10.30.0.0/24": 1,
		"2001:db8:10:1::/64": 2, "2001:db8:10:2::/64": 2, "2001:db8:20::/64": 1, "2001:db8:30::/64": 1}
	poll(t, 60*time.Second, "FRR's routes", func() (bool, string) {
		for _, fam := range []string{"ipv4", "ipv6"} {
			out, err := tr.frr(ctx, "show bgp "+fam+" json")
			if err != nil {
				return false, err.Error()
			}
			var tab struct {
				Routes map[string][]struct {
					Bestpath bool `json:"bestpath"`
				} `json:"routes"`
			}
			if err := json.Unmarshal([]byte(out), &tab); err != nil {
				return false, err.Error()
			}
			for p, n := range want {
				if strings.Contains(p, ":") != (fam == "ipv6") {
					continue
				}
				paths := tab.Routes[p]
				if len(paths) < n || !slices.ContainsFunc(paths, func(x struct {
					Bestpath bool `json:"bestpath"`
				}) bool {
					return x.Bestpath
				}) {
					return false, fmt.Sprintf("%s: %d paths: %s", p, len(paths), out)
				}
			}
		}
		return true, ""
	})
	poll(t, 60*time.Second, "lab's routes", func() (bool, string) {
		sp := tr.env.Routers["lab"]
		for p, n := range want {
			pfx := netip.MustParsePrefix(p)
			if pfx.Addr().Is4() && strings.HasPrefix(p, "10.10") {
				n = 2
			}
			r, err := sp.Route(ctx, pfx)
			if err != nil {
				return false, err.Error()
			}
			if r == nil || len(r.Paths) < min(n, 2) || r.Best() == nil {
				return false, p + " not yet"
			}
		}
		return true, ""
	})
}

// record writes a router's answers to show commands (without `json`)
// into the golden directory: FRR's through vtysh, ours through the shell's
// commands, as `lab cmd --json` gets them. FRR's `show route-map json`
// is one object per daemon, not one JSON document: it is kept as text.
func (tr *triangle) record(t *testing.T, router, prefix string, cmds []string) {
	t.Helper()
	for _, c := range cmds {
		var out []byte
		if router == "frr" {
			s, err := tr.frr(context.Background(), c+" json")
			if err != nil {
				t.Fatal(err)
			}
			out = []byte(s)
		} else {
			v, err := tr.env.Run(context.Background(), router+" "+c, io.Discard, true)
			if err != nil {
				t.Fatalf("%s %s: %v", router, c, err)
			}
			if out, err = json.MarshalIndent(v, "", "  "); err != nil {
				t.Fatal(err)
			}
			out = append(out, '\n')
		}
		ext := ".json"
		if c == "show route-map" {
			ext = ".txt"
		}
		name := router + "_" + prefix + strings.NewReplacer(" ", "_", "/", "_", ":", "_").Replace(c) + ext
		if err := os.WriteFile(filepath.Join(*frrGolden, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
