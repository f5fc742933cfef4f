package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lab/grade"
	"lab/topo"
)

// The tests of labs with FRR and BIRD routers (kind: frr, kind: bird):
// the same topology run with the lab's speakers and with the daemons must
// give every router the same best paths.

// needDaemons skips the test when FRR or BIRD is not installed.
func needDaemons(t *testing.T) {
	t.Helper()
	for _, p := range []string{"/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "vtysh", "bird", "birdc"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (apt-get install frr bird2; .ci/run does): %v", p, err)
		}
	}
}

// best is a router's best path to a prefix, as the comparison sees it:
// what crosses from one implementation to the other.
type best struct {
	ASPath string
	// NextHop is the router the next hop is an address of, "self" for
	// the router's own prefixes.
	NextHop string
	// The attributes, compared by the policy test only (detail).
	Origin                        string // "i", "e", "?"
	MED                           string // "" when there is none
	LocalPref                     uint32 // 100 when none is set
	Communities, LargeCommunities string // sorted, space separated
}

// tables is every router's best path per prefix: router, prefix.
type tables map[string]map[netip.Prefix]best

// addrRouters maps every address of the lab's routers to its router.
func addrRouters(m *topo.Lab) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for _, r := range m.Routers {
		for _, a := range r.Addrs() {
			out[a] = r.Name
		}
		for _, a := range r.Loopbacks {
			out[a] = r.Name
		}
	}
	return out
}

// routerOf names the router of next hop a ("self" when unspecified).
func routerOf(addrs map[netip.Addr]string, a netip.Addr) string {
	if !a.IsValid() || a.IsUnspecified() {
		return "self"
	}
	if n, ok := addrs[a]; ok {
		return n
	}
	return a.String()
}

func sortedWords(ws []string) string {
	ws = slices.Clone(ws)
	slices.Sort(ws)
	return strings.Join(ws, " ")
}

// frrOrigin writes FRR's origin as ours.
func frrOrigin(s string) string {
	switch strings.ToLower(s) {
	case "igp":
		return "i"
	case "egp":
		return "e"
	}
	return "?"
}

// fromFRRTable reads FRR's `show bgp ipv4|ipv6 json`: no communities
// there (fromFRRRoute has them).
func fromFRRTable(raw []byte, addrs map[netip.Addr]string) (map[netip.Prefix]best, error) {
	tab, err := grade.ParseTable(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, raw)
	}
	out := map[netip.Prefix]best{}
	for i := range tab.Routes {
		if b := tab.Routes[i].Best(); b != nil {
			out[tab.Routes[i].Prefix] = fromFRRPath(b, addrs)
		}
	}
	return out, nil
}

// fromFRRRoute reads FRR's `show bgp ipv4|ipv6 PREFIX json`: the best
// path with its communities, or false when there is none.
func fromFRRRoute(raw []byte, addrs map[netip.Addr]string) (best, bool, error) {
	rt, err := grade.ParseRoute(raw)
	if err != nil {
		return best{}, false, fmt.Errorf("%w: %s", err, raw)
	}
	b := rt.Best()
	if b == nil {
		return best{}, false, nil
	}
	return fromFRRPath(b, addrs), true, nil
}

// fromFRRPath is a path of FRR's JSON (grade's reading of it) as the
// comparison sees it.
func fromFRRPath(p *grade.Path, addrs map[netip.Addr]string) best {
	b := best{ASPath: p.ASPath, Origin: frrOrigin(p.Origin), LocalPref: 100, NextHop: routerOf(addrs, globalNextHop(p)),
		Communities: sortedWords(p.Communities), LargeCommunities: sortedWords(p.LargeCommunities)}
	if p.MED != nil {
		b.MED = strconv.FormatUint(uint64(*p.MED), 10)
	}
	if p.LocalPref != nil {
		b.LocalPref = *p.LocalPref
	}
	return b
}

// fromBIRD reads birdc's `show route all`: per prefix, the path marked
// `*`, with its BGP attributes.
func fromBIRD(text string, addrs map[netip.Addr]string) (map[netip.Prefix]best, error) {
	paths := map[netip.Prefix]*best{}
	var pfx netip.Prefix
	cur := &best{}
	// path starts a path of pfx from the words after the prefix; only the
	// best one (`*`) is kept.
	path := func(words []string) {
		cur = &best{LocalPref: 100}
		if slices.Contains(words, "*") {
			paths[pfx] = cur
		}
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(line, "Table ") || strings.HasPrefix(line, "BIRD "):
		case !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t"):
			// "10.1.0.0/24   unicast [bgp_as1ra_v4 ...] * (100) [AS1i]"
			p, err := netip.ParsePrefix(f[0])
			if err != nil {
				return nil, fmt.Errorf("birdc: %q: %w", line, err)
			}
			pfx = p
			path(f[1:])
		case strings.HasPrefix(line, " "):
			path(f) // another path of the same prefix
		case f[0] == "via" && len(f) > 1:
			a, err := netip.ParseAddr(f[1])
			if err != nil {
				return nil, fmt.Errorf("birdc: %q: %w", line, err)
			}
			cur.NextHop = routerOf(addrs, a)
		case f[0] == "BGP.as_path:":
			cur.ASPath = strings.Join(f[1:], " ")
		case f[0] == "BGP.origin:" && len(f) > 1:
			cur.Origin = frrOrigin(f[1])
		case f[0] == "BGP.med:" && len(f) > 1:
			cur.MED = f[1]
		case f[0] == "BGP.local_pref:" && len(f) > 1:
			v, _ := strconv.ParseUint(f[1], 10, 32)
			cur.LocalPref = uint32(v)
		case f[0] == "BGP.community:":
			cur.Communities = birdCommunities(f[1:])
		case f[0] == "BGP.large_community:":
			cur.LargeCommunities = birdCommunities(f[1:])
		}
	}
	out := map[netip.Prefix]best{}
	for p, b := range paths {
		if b.NextHop == "" {
			// One of the router's own (a static route): the lab's speaker
			// shows it with MED 0.
			*b = best{NextHop: "self", Origin: "i", MED: "0", LocalPref: 100}
		}
		out[p] = *b
	}
	return out, sc.Err()
}

// birdCommunities turns BIRD's "(65001,100) (65001,200)" (or large ones,
// "(3, 1000, 1)") into "65001:100 65001:200".
func birdCommunities(ws []string) string {
	var out []string
	for _, c := range strings.Split(strings.Join(ws, ""), ")") {
		if c = strings.TrimPrefix(c, "("); c != "" {
			out = append(out, strings.ReplaceAll(c, ",", ":"))
		}
	}
	return sortedWords(out)
}

// bestPaths collects every router's best paths, of both families, in the
// running lab l built from m: the lab's speakers' and FRR's through `lab
// cmd --json`, both FRR's JSON (with detail, the route of every prefix
// too, for the communities the table leaves out), BIRD's through `lab
// exec ... birdc`.
func (l *testLab) bestPaths(m *topo.Lab, detail bool) (tables, error) {
	addrs := addrRouters(m)
	fams := []string{"ipv4", "ipv6"}
	var lines []string
	for _, r := range m.Routers {
		if r.Daemon != topo.DaemonBIRD {
			for _, f := range fams {
				lines = append(lines, r.Name+" show bgp "+f)
			}
		}
	}
	res, err := l.jsonResults(lines)
	if err != nil {
		return nil, err
	}
	out := tables{}
	for _, r := range m.Routers {
		t := map[netip.Prefix]best{}
		out[r.Name] = t
		if r.Daemon == topo.DaemonBIRD {
			// birdc shows the router's own prefixes as static routes,
			// without the attributes its export filters give them.
			for _, o := range r.Originate {
				b := best{NextHop: "self", Origin: "i", MED: "0", LocalPref: 100}
				if o.HasMED {
					b.MED = strconv.FormatUint(uint64(o.MED), 10)
				}
				var cs, ls []string
				for _, c := range o.Communities {
					cs = append(cs, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
				}
				for _, c := range o.LargeCommunities {
					ls = append(ls, fmt.Sprintf("%d:%d:%d", c[0], c[1], c[2]))
				}
				b.Communities, b.LargeCommunities = sortedWords(cs), sortedWords(ls)
				t[o.Prefix] = b
			}
			for _, f := range fams {
				text, errs, code := l.run(nil, "exec", l.name, r.Name, "birdc", "show", "route", "all", "table", "master"+f[3:])
				if code != 0 {
					return nil, fmt.Errorf("%s birdc: exit %d: %s%s", r.Name, code, text, errs)
				}
				b, err := fromBIRD(text, addrs)
				if err != nil {
					return nil, err
				}
				for p, x := range b {
					if x.NextHop != "self" {
						t[p] = x
					}
				}
			}
			continue
		}
		for range fams {
			raw := res[0]
			res = res[1:]
			// The lab's speakers write FRR's JSON (the README's JSON
			// section): one reader for both.
			b, err := fromFRRTable(raw, addrs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Name, err)
			}
			maps.Copy(t, b)
		}
	}
	if !detail {
		return out, nil
	}
	lines = nil
	type key struct {
		router string
		pfx    netip.Prefix
	}
	var keys []key
	for _, r := range m.Routers {
		if r.Daemon == topo.DaemonBIRD {
			continue
		}
		for _, p := range slices.SortedFunc(maps.Keys(out[r.Name]), func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) }) {
			fam := "ipv6"
			if p.Addr().Is4() {
				fam = "ipv4"
			}
			lines = append(lines, fmt.Sprintf("%s show bgp %s %v", r.Name, fam, p))
			keys = append(keys, key{r.Name, p})
		}
	}
	if res, err = l.jsonResults(lines); err != nil {
		return nil, err
	}
	for i, k := range keys {
		b, ok, err := fromFRRRoute(res[i], addrs)
		if err != nil {
			return nil, fmt.Errorf("%s %v: %w", k.router, k.pfx, err)
		}
		if !ok {
			return nil, fmt.Errorf("%s %v: no best path any more", k.router, k.pfx)
		}
		out[k.router][k.pfx] = b
	}
	return out, nil
}

// jsonResults runs shell command lines with `lab cmd --json` and returns
// their results, one per line.
func (l *testLab) jsonResults(lines []string) ([]json.RawMessage, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	stdout, stderr, code := l.run(nil, append([]string{"cmd", "--json", l.name}, lines...)...)
	if code != 0 {
		return nil, fmt.Errorf("lab cmd: exit %d: %s", code, stderr)
	}
	var out []json.RawMessage
	for _, ln := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		out = append(out, json.RawMessage(ln))
	}
	if len(out) != len(lines) {
		return nil, fmt.Errorf("lab cmd: %d results for %d lines:\n%s", len(out), len(lines), stdout)
	}
	return out, nil
}

// brief drops what the seed test does not compare: the attributes.
func (t tables) brief() tables {
	out := tables{}
	for r, ps := range t {
		out[r] = map[netip.Prefix]best{}
		for p, b := range ps {
			out[r][p] = best{ASPath: b.ASPath, NextHop: b.NextHop}
		}
	}
	return out
}

// daemonPIDs returns the pids of the FRR and BIRD processes of the lab,
// from their pid files.
func (l *testLab) daemonPIDs(t *testing.T) []int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(l.runDir, l.name+".d", "*", "*.pid"))
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// TestMixedSeed runs the seed with as2rb on FRR and as3rc on BIRD
// (topologies/mixed.yaml): every router's best paths (AS path, next hop's
// router) are those of the seed with the lab's speakers everywhere; the
// daemons answer vtysh and birdc through `lab exec` and the shell's
// ROUTER commands; `lab down` leaves no daemon, file or namespace.
func TestMixedSeed(t *testing.T) {
	needRootT(t)
	needDaemons(t)
	m, err := topo.Load("../../topologies/mixed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Router("as2rb").Daemon != topo.DaemonFRR || m.Router("as3rc").Daemon != topo.DaemonBIRD {
		t.Fatal("mixed.yaml: as2rb is to run FRR and as3rc BIRD")
	}

	seed, err := topo.Load("../../topologies/simple-bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ours := newTestLab(t)
	ours.up("topologies/simple-bgp.yaml")
	ours.must("cmd", ours.name, "wait 30")
	want, err := ours.bestPaths(seed, false)
	if err != nil {
		t.Fatal(err)
	}
	ours.must("down", ours.name)
	if n := len(want["as4rd"]); n != 8 {
		t.Fatalf("as4rd has %d best paths with the lab's speakers, want 8: %v", n, want["as4rd"])
	}

	l := newTestLab(t)
	start := time.Now()
	l.up("topologies/mixed.yaml")
	up := time.Since(start)
	// wait waits for the daemons' sessions too.
	if out := l.must("cmd", l.name, "wait 60"); !strings.Contains(out, "converged: 8 BGP sessions established") {
		t.Errorf("wait: %s", out)
	}
	waited := time.Since(start)
	var got tables
	eventually(t, 60*time.Second, "the mixed lab's best paths are the seed's", func() error {
		if got, err = l.bestPaths(m, false); err != nil {
			return err
		}
		if diff := cmp.Diff(want.brief(), got.brief()); diff != "" {
			return fmt.Errorf("best paths (-lab's speakers +mixed):\n%s", diff)
		}
		return nil
	})
	t.Logf("mixed seed: up in %v, converged (wait) %v and same best paths %v after the start", up.Round(time.Millisecond),
		waited.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// FRR's own words, through vtysh and through the shell.
	out := l.must("exec", l.name, "as2rb", "vtysh", "-c", "show bgp summary")
	for _, w := range []string{"BGP router identifier 0.0.0.3, local AS number 2 vrf-id 0", "as1ra (eBGP)", "as4rd (eBGP)"} {
		if !strings.Contains(out, w) {
			t.Errorf("lab exec as2rb vtysh -c 'show bgp summary': no %q in\n%s", w, out)
		}
	}
	shell := l.must("cmd", l.name, "as2rb show bgp summary")
	for _, w := range []string{"IPv4 Unicast Summary (VRF default):", "IPv6 Unicast Summary (VRF default):", "BGP router identifier 0.0.0.3, local AS number 2 vrf-id 0"} {
		if !strings.Contains(shell, w) {
			t.Errorf("as2rb show bgp summary: no %q in\n%s", w, shell)
		}
	}
	var sum struct {
		IPv4 struct {
			Peers map[string]struct {
				State string `json:"state"`
			} `json:"peers"`
		} `json:"ipv4Unicast"`
	}
	l.jsonCmd("as2rb show bgp summary json", &sum)
	if p := sum.IPv4.Peers["10.12.0.1"]; p.State != "Established" {
		t.Errorf("as2rb's JSON summary: as1ra's session is %q: %+v", p.State, sum)
	}
	out = l.must("cmd", l.name, "as3rc show bgp summary")
	if !strings.Contains(out, "bgp_as1ra_v4 BGP") || !strings.Contains(out, "Established") || strings.Contains(out, "BIRD 2") {
		t.Errorf("as3rc show bgp summary (birdc show protocols):\n%s", out)
	}
	out = l.must("exec", l.name, "as3rc", "birdc", "show", "status")
	if !strings.Contains(out, "Router ID is 0.0.0.4") {
		t.Errorf("lab exec as3rc birdc show status:\n%s", out)
	}
	// What the daemon has no form of is refused, naming its own shell.
	_, errs, code := l.run(nil, "cmd", l.name, "as2rb show log")
	if code == 0 || !strings.Contains(errs, "as2rb runs FRR") || !strings.Contains(errs, "lab exec "+l.name+" as2rb vtysh") {
		t.Errorf("as2rb show log: exit %d, %s", code, errs)
	}
	// lab apply: BIRD takes a new configuration (as3rc prepends towards
	// as1ra, which then goes through as2rb), FRR refuses one.
	b, err := os.ReadFile("../../topologies/mixed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	link := "  - endpoints: [as1ra, as3rc]\n"
	if !strings.Contains(string(b), link) {
		t.Fatalf("mixed.yaml has no %q", link)
	}
	applied := filepath.Join(t.TempDir(), "mixed.yaml")
	if err := os.WriteFile(applied, []byte(strings.Replace(string(b), link, link+"    bgp: {as3rc: {prepend: 2}}\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := l.must("apply", l.name, applied); !strings.Contains(out, "as3rc: BIRD took its new configuration") {
		t.Errorf("lab apply: %s", out)
	}
	pfx := netip.MustParsePrefix("10.3.0.0/24")
	eventually(t, 30*time.Second, "as1ra's route to as3rc's LAN through as2rb", func() error {
		got, err := l.bestPaths(m, false)
		if err != nil {
			return err
		}
		if b := got["as1ra"][pfx]; b.ASPath != "2 3" || b.NextHop != "as2rb" {
			return fmt.Errorf("as1ra's best path to %v: %+v", pfx, b)
		}
		return nil
	})
	frrChange := filepath.Join(t.TempDir(), "mixed.yaml")
	if err := os.WriteFile(frrChange, []byte(strings.Replace(string(b), "  - endpoints: [as1ra, as2rb]\n", "  - endpoints: [as1ra, as2rb]\n    bgp: {as2rb: {med: 7}}\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code = l.run(nil, "apply", l.name, frrChange)
	if code == 0 || !strings.Contains(errs, "as2rb runs FRR, whose configuration the lab cannot change while it runs") {
		t.Errorf("lab apply of an FRR change: exit %d, %s", code, errs)
	}

	// The data plane: the daemons installed their routes.
	if out := l.must("cmd", l.name, "pingall"); !strings.Contains(out, "0% dropped") {
		t.Errorf("pingall:\n%s", out)
	}

	pids := l.daemonPIDs(t)
	if len(pids) != 3 {
		t.Fatalf("daemon pid files: %v, want zebra's, bgpd's and bird's", pids)
	}
	pid := l.daemonPID()
	l.must("down", l.name)
	l.assertGone(pid)
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(b), ") Z ") {
				t.Errorf("daemon %d still runs after lab down", pid)
			}
		}
	}
	if _, err := os.Lstat(filepath.Join(l.runDir, l.name+".d")); !os.IsNotExist(err) {
		t.Errorf("the lab's directory is left after lab down: %v", err)
	}
}

// withoutCommunities drops what FRR's table JSON leaves out.
func (t tables) withoutCommunities() tables {
	out := tables{}
	for r, ps := range t {
		out[r] = map[netip.Prefix]best{}
		for p, b := range ps {
			b.Communities, b.LargeCommunities = "", ""
			out[r][p] = b
		}
	}
	return out
}

// TestPolicyDifferential is the differential test of routing policy
// against FRR: testdata/policy-diff.yaml (seven ASes with local-pref,
// weight, MED, prepending, community set and match, prefix lists, an
// AS-path filter, neighbour-AS and origin matches, relations) runs once
// with the lab's speakers and once with FRR on every router, configured
// by the lab from the same file; every router's best path to every
// prefix, with its attributes (AS path, next hop's router, origin, MED,
// local-pref, communities, large communities), must be the same.
func TestPolicyDifferential(t *testing.T) {
	differential(t, "testdata/policy-diff.yaml", topo.DaemonFRR, nil)
}

// TestTransitDifferential is the differential test of iBGP: the transit
// AS of topologies/transit-as.yaml (four routers, a full mesh between
// loopbacks over the lab's underlay, next-hop-self) with the lab's
// speakers and all-FRR.
func TestTransitDifferential(t *testing.T) {
	differential(t, "../../topologies/transit-as.yaml", topo.DaemonFRR, nil)
}

// TestPolicyDifferentialBIRD is the same with BIRD on every router, of
// the file without what BIRD has no form for (weight, the AS-path
// filter, which a neighbour-AS match replaces).
func TestPolicyDifferentialBIRD(t *testing.T) {
	differential(t, "testdata/policy-diff.yaml", topo.DaemonBIRD, func(s string) string {
		s = strings.Replace(s, "{action: deny, match: {aspath: VIA30}}", "{action: deny, match: {neighbor-as: 30}}", 1)
		return strings.Replace(s, "weight: 100, ", "", 1)
	})
}

// differential runs a topology file (edited by edit, if not nil) with
// the lab's speakers, then with daemon d on every router, and compares
// every router's best paths.
func differential(t *testing.T, file string, d topo.Daemon, edit func(string) string) {
	needRootT(t)
	needDaemons(t)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if edit != nil {
		src = edit(src)
	}
	write := func(name, src string) (string, *topo.Lab) {
		f := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := topo.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		return f, m
	}
	file, m := write("ours.yaml", src)
	ours := newTestLab(t)
	ours.must("up", "-d", "--name", ours.name, file)
	ours.must("cmd", ours.name, "wait 30")
	want, err := ours.bestPaths(m, true)
	if err != nil {
		t.Fatal(err)
	}
	ours.must("down", ours.name)
	t.Logf("the lab's speakers' best paths:\n%s", want)

	// The same file with the daemon on every router.
	dfile, dm := write(d.String()+".yaml", strings.ReplaceAll(src, "{as: ", "{kind: "+d.String()+", as: "))
	for _, r := range dm.Routers {
		if r.Daemon != d {
			t.Fatalf("%s does not run %s in %s", r.Name, d.Name(), dfile)
		}
	}
	l := newTestLab(t)
	start := time.Now()
	l.must("up", "-d", "--name", l.name, dfile)
	up := time.Since(start)
	var got tables
	// FRR's tables have no communities: its routes, asked one by one, do.
	eventually(t, 90*time.Second, d.Name()+"'s best paths are the lab's speakers'", func() error {
		if got, err = l.bestPaths(dm, false); err != nil {
			return err
		}
		if d == topo.DaemonFRR {
			got, want := got.withoutCommunities(), want.withoutCommunities()
			if diff := cmp.Diff(want, got); diff != "" {
				return fmt.Errorf("best paths (-lab's speakers +%s):\n%s", d.Name(), diff)
			}
			return nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Errorf("best paths (-lab's speakers +%s):\n%s", d.Name(), diff)
		}
		return nil
	})
	converged := time.Since(start)
	if d == topo.DaemonFRR {
		eventually(t, 30*time.Second, "FRR's best paths have the lab's speakers' communities", func() error {
			if got, err = l.bestPaths(dm, true); err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				return fmt.Errorf("best paths with communities (-lab's speakers +FRR):\n%s", diff)
			}
			return nil
		})
	}
	t.Logf("all-%s lab: up in %v, same best paths %v after the start", d.Name(), up.Round(time.Millisecond), converged.Round(time.Millisecond))
	pid := l.daemonPID()
	l.must("down", l.name)
	l.assertGone(pid)
}

// String lists the tables, for logs.
func (t tables) String() string {
	var b strings.Builder
	for _, r := range slices.Sorted(maps.Keys(t)) {
		for _, p := range slices.SortedFunc(maps.Keys(t[r]), func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) }) {
			x := t[r][p]
			fmt.Fprintf(&b, "  %s %-18v via %-5s [%s] %s med %q lp %d comm %q large %q\n", r, p, x.NextHop, x.ASPath, x.Origin, x.MED, x.LocalPref, x.Communities, x.LargeCommunities)
		}
	}
	return b.String()
}

// TestValidateDaemonForms: what an FRR or BIRD router cannot do is an
// error of `lab validate` and `lab up`, at the setting's place, before
// anything is built.
func TestValidateDaemonForms(t *testing.T) {
	l := &testLab{t: t, name: "v", runDir: t.TempDir()}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	src := `routing:
  aspath: {LONG: ["_1_"]}
  policy:
    P: [{match: {aspath: LONG}}]
routers:
  r1: {as: 1}
  r2: {as: 2, kind: bird}
links:
  - endpoints: [r1, r2]
    bgp: {r2: {policy: {in: P}, weight: 5}}
`
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := [][]string{{"validate", bad}}
	if os.Geteuid() == 0 {
		runs = append(runs, []string{"up", "--name", "v", bad}) // checks root first
	}
	for _, args := range runs {
		_, errs, code := l.run(nil, args...)
		if code != 1 {
			t.Errorf("lab %s: exit %d, want 1", args[0], code)
		}
		for _, want := range []string{
			bad + `:4:9: entry 1 of policy "P" matches AS-path list "LONG" (BIRD has no AS-path regular expressions): router r2 (kind: bird) has no BIRD form for it`,
			"    P: [{match: {aspath: LONG}}]\n", "^",
			// A link end's settings are placed at the router's key.
			bad + `:10:11: weight 5 on the link's end of r2: router r2 (kind: bird) has no BIRD form for it`,
		} {
			if !strings.Contains(errs, want) {
				t.Errorf("lab %s: output lacks %q:\n%s", args[0], want, errs)
			}
		}
	}
	if ents, _ := os.ReadDir(l.runDir); len(ents) != 0 {
		t.Errorf("lab up left files: %v", ents)
	}
}
