package interop

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/internal/testrun"
	"lab/netemu"
	"lab/speaker"
	"lab/speaker/wire"
	"lab/speakerconf"
	"lab/topo"
)

// The routes of every interop lab. Ours are originated by the lab's
// speaker from the topology; theirs by the daemon, from its own
// configuration. The "attr" routes carry MED, communities and large
// communities and must arrive with them; the "plain" ones are withdrawn
// during the test.
var (
	ourAttr4   = netip.MustParsePrefix("10.100.0.0/24")
	ourPlain4  = netip.MustParsePrefix("10.101.0.0/24")
	ourAttr6   = netip.MustParsePrefix("2001:db8:100::/48")
	ourPlain6  = netip.MustParsePrefix("2001:db8:101::/48")
	peerAttr4  = netip.MustParsePrefix("10.200.0.0/24")
	peerPlain4 = netip.MustParsePrefix("10.201.0.0/24")
	peerAttr6  = netip.MustParsePrefix("2001:db8:200::/48")
	peerPlain6 = netip.MustParsePrefix("2001:db8:201::/48")
)

const (
	ourMED  = 10
	peerMED = 20
	// peerPrepend is the AS the daemon puts in the path of its routes
	// before its own, so that we check a path of two ASes.
	peerPrepend = 64512
)

// The communities on the attr routes: two standard ones each, and one
// large community whose global administrator is the originating AS.
var (
	ourCommunities  = []string{"65001:100", "65001:200"}
	peerCommunities = []string{"65002:300", "65002:301"}
)

func ourLarge(as uint32) string  { return fmt.Sprintf("%d:1:2", as) }
func peerLarge(as uint32) string { return fmt.Sprintf("%d:3:4", as) }

// labHold is the hold time of the lab's sessions; the daemons keep their
// defaults (90 to 240 s), and the smaller one wins (RFC 4271 section 4.2).
const labHold = 9 * time.Second

// families is what every interop test runs over: one session per family,
// as the lab makes them.
var families = []topo.Family{topo.IPv4, topo.IPv6}

func attrPrefix(ours bool, f topo.Family) netip.Prefix {
	switch {
	case ours && f == topo.IPv4:
		return ourAttr4
	case ours:
		return ourAttr6
	case f == topo.IPv4:
		return peerAttr4
	}
	return peerAttr6
}

func plainPrefix(ours bool, f topo.Family) netip.Prefix {
	switch {
	case ours && f == topo.IPv4:
		return ourPlain4
	case ours:
		return ourPlain6
	case f == topo.IPv4:
		return peerPlain4
	}
	return peerPlain6
}

func wireFamily(f topo.Family) wire.Family {
	if f == topo.IPv4 {
		return wire.IPv4Unicast
	}
	return wire.IPv6Unicast
}

// labSpec says how to build an interop lab.
type labSpec struct {
	// peer names the external router ("frr", "bird", "gobgp", "exabgp").
	peer          string
	ourAS, peerAS uint32
	// extra is appended to our router's YAML (indented by 4 spaces).
	extraPrefixes []string
	// noPrefixes leaves our router without the standard routes.
	noPrefixes bool
	// password is the link's TCP MD5 key (RFC 2385), "" for none: the
	// daemon must be configured with it too.
	password string
	// transit adds a second embedded router, "lab2" in AS transitAS,
	// behind ours: its routes reach the daemon through ours, and the
	// daemon's reach it.
	transit bool
	// exaReceive is what ExaBGP's API process receives (the words of its
	// `receive { }` block); "" for the common tests' choice.
	exaReceive string
	// link4 replaces the IPv4 addresses of the link to the daemon (ours,
	// the daemon's), e.g. the seed's 192.168.1.2/24 and 192.168.1.1/24.
	link4 [2]string
}

// transitAS is lab2's AS, and transitRoute4/6 the routes it originates.
const transitAS = 65010

var (
	transitRoute4 = netip.MustParsePrefix("10.110.0.0/24")
	transitRoute6 = netip.MustParsePrefix("2001:db8:110::/48")
)

// testLab is a built two-router lab: our speaker in "lab", and an
// external router for the daemon under test.
type testLab struct {
	t     testing.TB
	spec  labSpec
	model *topo.Lab
	net   *netemu.Lab
	us    *topo.Router
	peer  *topo.Router
	sp    *speaker.Speaker
	// sp2 is lab2's speaker (labSpec.transit), else nil.
	sp2 *speaker.Speaker
	// dir holds the daemon's configuration, sockets, pid and log files.
	dir string
	// ourAddr and peerAddr are the link's addresses, by family: the
	// sessions' transport addresses.
	ourAddr, peerAddr map[topo.Family]netip.Addr
	ourIface          string
	peerIface         string
}

// buildLab builds the lab of spec with netemu: a namespace per router and
// the link between them, with the sessions' configuration generated on our
// side by topo. The speaker is not started: startSpeaker does it, once the
// daemon runs.
func buildLab(t testing.TB, spec labSpec) *testLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and runs BGP daemons in them")
	}
	// "<run>-<n>": the lab's namespaces are named like the test run's.
	name := testrun.Name(t)
	var prefixes string
	if !spec.noPrefixes {
		prefixes = fmt.Sprintf(`
    prefixes:
      - {prefix: %v, med: %d, communities: [%q, %q], large-communities: [%q]}
      - %v
      - {prefix: %v, med: %d, communities: [%q, %q], large-communities: [%q]}
      - %v`,
			ourAttr4, ourMED, ourCommunities[0], ourCommunities[1], ourLarge(spec.ourAS), ourPlain4,
			ourAttr6, ourMED, ourCommunities[0], ourCommunities[1], ourLarge(spec.ourAS), ourPlain6)
	}
	for _, p := range spec.extraPrefixes {
		if prefixes == "" {
			prefixes = "\n    prefixes:"
		}
		prefixes += "\n      - " + p
	}
	ours4, peer4 := "10.0.12.1/24", "10.0.12.2/24"
	if spec.link4 != [2]string{} {
		ours4, peer4 = spec.link4[0], spec.link4[1]
	}
	// connect-retry 1: our speaker dials the daemon, which may still be
	// starting; a failed dial is retried a second later instead of two
	// minutes (the seed's default). Hold 9 (keepalive 3), the class's
	// timers, so that the hold timer step takes seconds.
	src := fmt.Sprintf(`name: %s
bgp: {connect-retry: 1, hold: %d}
routers:
  lab:
    as: %d
    router-id: 10.254.0.1%s
  %s: {as: %d, router-id: 10.254.0.2, external: true}
links:
  - endpoints: [lab, %s]
    addresses:
      lab: [%s, "fd00:12::1/64"]
      %s: [%s, "fd00:12::2/64"]
`, name, labHold/time.Second, spec.ourAS, prefixes, spec.peer, spec.peerAS, spec.peer, ours4, spec.peer, peer4)
	if spec.password != "" {
		src += fmt.Sprintf("    password: %q\n", spec.password)
	}
	if spec.transit {
		// After the daemon's link, so that our router's interface to the
		// daemon stays lab-eth0.
		src += `  - endpoints: [lab, lab2]
    addresses:
      lab: [10.0.13.1/24, "fd00:13::1/64"]
      lab2: [10.0.13.3/24, "fd00:13::3/64"]
`
		src = strings.Replace(src, "\nlinks:\n", fmt.Sprintf(`
  lab2:
    as: %d
    router-id: 10.254.0.3
    prefixes:
      - {prefix: %v, med: 5, communities: ["65010:1"], large-communities: ["65010:1:1"]}
      - {prefix: %v, med: 5, communities: ["65010:1"], large-communities: ["65010:1:1"]}
links:
`, transitAS, transitRoute4, transitRoute6), 1)
	}
	model, err := topo.Parse(spec.peer+".yaml", []byte(src))
	if err != nil {
		var b bytes.Buffer
		topo.WriteErrors(&b, err)
		t.Fatalf("topology:\n%s\n%s", src, b.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// t.TempDir is in the test run's directory (testrun.Main), so the
	// lab's state file is found there if the binary is killed.
	nl, err := netemu.Build(ctx, model, netemu.Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatalf("build lab: %v", err)
	}
	testrun.Cleanup(t, func() {
		if err := nl.Close(); err != nil {
			t.Errorf("tear down lab %s: %v", name, err)
		}
	})
	l := &testLab{
		t: t, spec: spec, model: model, net: nl,
		us: model.Router("lab"), peer: model.Router(spec.peer),
		dir:     t.TempDir(),
		ourAddr: map[topo.Family]netip.Addr{}, peerAddr: map[topo.Family]netip.Addr{},
	}
	for _, s := range model.Sessions {
		local, remote, ok := s.End(l.us)
		if !ok || remote.Router != l.peer {
			continue
		}
		l.ourAddr[s.Family] = local.Addr
		l.peerAddr[s.Family] = remote.Addr
		l.ourIface, l.peerIface = local.Iface.Name, remote.Iface.Name
	}
	if len(l.ourAddr) != 2 {
		t.Fatalf("topology made %d sessions, want one IPv4 and one IPv6", len(l.ourAddr))
	}
	// The kernel makes a link's IPv6 link-local addresses asynchronously,
	// after the link comes up, and Build may return before: a daemon that
	// starts without one sends IPv6 routes without a link-local next hop
	// (BIRD logs "Missing link-local address"), unlike the seed's.
	for _, n := range []string{l.us.Name, l.peer.Name} {
		iface := l.ourIface
		if n != l.us.Name {
			iface = l.peerIface
		}
		poll(t, 10*time.Second, fmt.Sprintf("a link-local address on %s", iface), func() (bool, string) {
			ll, err := l.linkLocal(n, iface)
			if err != nil {
				return false, err.Error()
			}
			return ll.IsValid(), "none yet"
		})
	}
	// The daemons run as root in t.TempDir(); BIRD and FRR want to read
	// their files, nothing else does.
	if err := os.Chmod(l.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return l
}

// peerNS is the path of the external router's namespace.
func (l *testLab) peerNS() string { return l.net.NamespacePath(l.spec.peer) }

// startSpeaker starts our router's speaker as the lab daemon does, and
// closes it at cleanup (which sends Cease to the daemon).
func (l *testLab) startSpeaker() {
	l.t.Helper()
	l.makeSpeakers()
	l.runSpeakers()
}

// makeSpeakers makes the speakers startSpeaker starts (lab's, and
// lab2's with labSpec.transit), for a test that registers what must be
// before they start (an API runner).
func (l *testLab) makeSpeakers() {
	l.t.Helper()
	l.sp = l.newSpeaker(l.us)
	if r := l.model.Router("lab2"); r != nil {
		l.sp2 = l.newSpeaker(r)
	}
}

// runSpeakers starts the speakers makeSpeakers made.
func (l *testLab) runSpeakers() {
	l.t.Helper()
	for _, sp := range []*speaker.Speaker{l.sp, l.sp2} {
		if sp != nil {
			if err := sp.Listen(); err != nil {
				l.t.Fatal(err)
			}
		}
	}
	for _, sp := range []*speaker.Speaker{l.sp, l.sp2} {
		if sp != nil {
			if err := sp.Start(context.Background()); err != nil {
				l.t.Fatal(err)
			}
		}
	}
}

func (l *testLab) newSpeaker(r *topo.Router) *speaker.Speaker {
	cfg, err := speakerconf.Config(l.model, r, l.net.NamespacePath(r.Name))
	if err != nil {
		l.t.Fatal(err)
	}
	if testing.Verbose() {
		cfg.Log = &testLog{t: l.t, name: r.Name}
	}
	sp, err := speaker.New(cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	testrun.Cleanup(l.t, func() {
		if l.t.Failed() {
			l.t.Logf("%s's log:\n%s", r.Name, strings.Join(sp.LogLines(), "\n"))
		}
		sp.Close()
	})
	return sp
}

// testLog writes the speaker's log lines to the test's log (go test -v).
type testLog struct {
	t    testing.TB
	name string
	mu   sync.Mutex
}

func (w *testLog) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Logf("%s: %s", w.name, bytes.TrimRight(b, "\n"))
	return len(b), nil
}

// waitSpeaker waits until cond holds for our speaker's snapshot.
func (l *testLab) waitSpeaker(t testing.TB, timeout time.Duration, what string, cond func(*speaker.Snapshot) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := l.sp.WaitFor(ctx, cond); err != nil {
		snap, _ := l.sp.Snapshot(context.Background())
		var state []string
		if snap != nil {
			for _, p := range snap.Peers {
				state = append(state, fmt.Sprintf("%v %v (last reset: %s; last notification: %s)", p.Addr, p.State, p.LastReset, p.LastNotification))
			}
		}
		t.Fatalf("waiting for %s: %v\nour peers: %s", what, err, strings.Join(state, "; "))
	}
}

// ourRoute is the best path our speaker holds for pfx, in the terms the
// daemons are checked in; nil when it has none.
func (l *testLab) ourRoute(t testing.TB, pfx netip.Prefix) *peerRoute {
	t.Helper()
	return bestRoute(t, l.sp, pfx)
}

// bestRoute is sp's best path to pfx in the daemons' terms, or nil.
func bestRoute(t testing.TB, sp *speaker.Speaker, pfx netip.Prefix) *peerRoute {
	t.Helper()
	r, err := sp.Route(context.Background(), pfx)
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		return nil
	}
	b := r.Best()
	if b == nil {
		return nil
	}
	out := &peerRoute{
		ASPath: b.ASPath, MED: b.Metric, HasMED: b.HasMetric,
		Communities: sorted(b.Communities), LargeCommunities: sorted(b.LargeCommunities),
		NextHop: b.NextHop, LinkLocal: b.LinkLocal, Origin: b.Origin,
	}
	return out
}

// peerRoute is a route as a daemon shows it, reduced to what must cross
// a session unchanged.
type peerRoute struct {
	ASPath           string // "65001", space separated
	Origin           string // "i", "e", "?"
	MED              uint32
	HasMED           bool
	Communities      []string // sorted, "65001:100"
	LargeCommunities []string // sorted, "65001:1:2"
	// NextHop is the global next hop.
	NextHop netip.Addr
	// LinkLocal is the IPv6 link-local next hop that follows the global
	// one (RFC 2545 section 3), when there is one and the daemon shows it.
	LinkLocal netip.Addr
}

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// poll calls f until it reports done, every 100 ms, and fails the test
// with f's last status when timeout passes. Used for the daemons, whose
// tools can only be asked.
func poll(t testing.TB, timeout time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, status := f()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %s", timeout, what, status)
		}
		<-tick.C
	}
}

// daemonProc is a daemon started in a namespace; it is ended at cleanup.
type daemonProc struct {
	name string
	p    *testrun.Process
	log  string
}

// startDaemon starts a daemon in the namespace nsPath with its output in
// dir/<name>.out, and ends it at cleanup, or when the test binary is
// interrupted: SIGTERM to its process group, then SIGKILL after 5 s. It is
// recorded in the test run's state file as it starts (testrun.Start), so
// `lab clean` ends it if the test binary is killed: nothing else would
// (no Pdeathsig: it fires when the forking OS thread exits, and the Go
// runtime destroys threads that namespace-locked goroutines leave, as the
// speaker's dialers do).
func startDaemon(t testing.TB, nsPath, dir, name string, env []string, prog string, args ...string) *daemonProc {
	t.Helper()
	out := filepath.Join(dir, name+".out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := netemu.Command(nsPath, prog, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// Its own process group, so that stopping it ends its children too
	// (ExaBGP's API process).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Registered first, so it runs after the daemon is stopped.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(out, 60))
		}
	})
	p := testrun.Start(t, name, cmd)
	f.Close()
	return &daemonProc{name: name, p: p, log: out}
}

// running returns an error when the daemon has exited.
func (d *daemonProc) running() error {
	if err := d.p.Exited(); err != nil {
		return fmt.Errorf("%w:\n%s", err, tail(d.log, 30))
	}
	return nil
}

// stop ends the daemon and waits for it.
func (d *daemonProc) stop() { d.p.Stop() }

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// run runs a control tool and returns its standard output; the error
// carries its standard error.
func run(ctx context.Context, prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s%s", prog, strings.Join(args, " "), err, errb.String(), out.String())
	}
	return out.String(), nil
}

// needBinary skips the test when a daemon's program is not installed.
func needBinary(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (apt-get install frr bird2 gobgpd exabgp; .ci/run does): %v", p, err)
		}
	}
}

// kroute is a kernel route: its gateway and device.
type kroute struct {
	Gw  netip.Addr
	Dev string
}

// kernelRoute returns the route to dst in our router's main table that our
// speaker installed (protocol 200), or nil.
func (l *testLab) kernelRoute(t testing.TB, dst netip.Prefix) *kroute {
	t.Helper()
	var found *kroute
	err := l.net.Do(l.us.Name, func() error {
		h, err := netlink.NewHandle()
		if err != nil {
			return err
		}
		defer h.Close()
		fam := netlink.FAMILY_V4
		if dst.Addr().Is6() {
			fam = netlink.FAMILY_V6
		}
		rs, err := h.RouteListFiltered(fam, &netlink.Route{Protocol: 200, Table: unix.RT_TABLE_MAIN},
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Dst == nil {
				continue
			}
			p, ok := netip.AddrFromSlice(r.Dst.IP)
			ones, _ := r.Dst.Mask.Size()
			if !ok || netip.PrefixFrom(p.Unmap(), ones) != dst {
				continue
			}
			found = &kroute{}
			found.Gw, _ = netip.AddrFromSlice(r.Gw)
			found.Gw = found.Gw.Unmap()
			if link, err := h.LinkByIndex(r.LinkIndex); err == nil {
				found.Dev = link.Attrs().Name
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("routes of %s: %v", l.us.Name, err)
	}
	return found
}

// mustLinkLocal is linkLocal, failing the test without an address.
func (l *testLab) mustLinkLocal(t testing.TB, node, iface string) netip.Addr {
	t.Helper()
	a, err := l.linkLocal(node, iface)
	if err == nil && !a.IsValid() {
		err = fmt.Errorf("no link-local address")
	}
	if err != nil {
		t.Fatalf("%s %s: %v", node, iface, err)
	}
	return a
}

// linkLocal returns the usable (not tentative) IPv6 link-local address of
// a node's interface, or the zero Addr.
func (l *testLab) linkLocal(node, iface string) (netip.Addr, error) {
	var out netip.Addr
	err := l.net.Do(node, func() error {
		h, err := netlink.NewHandle()
		if err != nil {
			return err
		}
		defer h.Close()
		link, err := h.LinkByName(iface)
		if err != nil {
			return err
		}
		as, err := h.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for _, a := range as {
			ip, ok := netip.AddrFromSlice(a.IP)
			if ok && ip.IsLinkLocalUnicast() && a.Flags&unix.IFA_F_TENTATIVE == 0 {
				out = ip
			}
		}
		return nil
	})
	return out, err
}
