package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lab/internal/testrun"
	"lab/topo"
)

const (
	frrBgpd  = "/usr/lib/frr/bgpd"
	frrZebra = "/usr/lib/frr/zebra"
)

// frr is FRR's bgpd with its zebra, in the external router's namespace,
// with every socket, pid file and log in the lab's temp dir. vtysh talks
// to them over their vty sockets there.
type frr struct {
	l      *testLab
	bgpd   *daemonProc
	zebra  *daemonProc
	peerAS uint32
}

func TestFRR(t *testing.T) {
	runScenario(t, frrScenario())
}

// frrScenario is the common scenario with FRR's bgpd and zebra.
func frrScenario() scenario {
	return scenario{
		showsLinkLocal: true,
		bins:           []string{frrBgpd, frrZebra, "vtysh"},
		// Our AS is a 4-byte one: FRR sees AS_TRANS in our OPEN and our
		// AS4 capability, and must show the real AS in paths.
		// Over TCP MD5 (RFC 2385): the link has a password.
		spec:             labSpec{peer: "frr", ourAS: 4200000001, peerAS: 65002, password: "frr-md5-key"},
		start:            func(t *testing.T, l *testLab) daemon { return startFRR(t, l) },
		shutdownText:     shutdownMsg,
		plainMED0:        true,
		linkLocalNextHop: true,
	}
}

// startFRR configures bgpd from the lab's model: a neighbour per session,
// activated in its own family only (the lab runs one session per family),
// and the daemon's four routes, the attr ones through a route map.
func startFRR(t testing.TB, l *testLab) *frr {
	t.Helper()
	p := l.peer
	var b strings.Builder
	fmt.Fprintf(&b, `hostname %s
log file %s debugging
debug bgp neighbor-events
!
route-map ATTR permit 10
 set metric %d
 set community %s
 set large-community %s
 set as-path prepend %d
!
route-map PLAIN permit 10
 set as-path prepend %d
!
router bgp %d
 bgp router-id %v
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
`, p.Name, filepath.Join(l.dir, "bgpd.log"), peerMED, strings.Join(peerCommunities, " "), peerLarge(p.AS.Number),
		peerPrepend, peerPrepend, p.AS.Number, p.RouterID)
	for _, f := range families {
		fmt.Fprintf(&b, " neighbor %v remote-as %d\n", l.ourAddr[f], l.us.AS.Number)
		// Retry quickly after our shutdowns; hold time stays the lab's.
		fmt.Fprintf(&b, " neighbor %v timers connect 1\n", l.ourAddr[f])
		if l.spec.password != "" {
			fmt.Fprintf(&b, " neighbor %v password %s\n", l.ourAddr[f], l.spec.password)
		}
	}
	for _, f := range families {
		fmt.Fprintf(&b, " address-family %s unicast\n", frrAFI(f))
		fmt.Fprintf(&b, "  network %v route-map ATTR\n", attrPrefix(false, f))
		fmt.Fprintf(&b, "  network %v route-map PLAIN\n", plainPrefix(false, f))
		fmt.Fprintf(&b, "  neighbor %v activate\n", l.ourAddr[f])
		b.WriteString(" exit-address-family\n")
	}
	b.WriteString("!\n")
	bgpConf := filepath.Join(l.dir, "bgpd.conf")
	zebraConf := filepath.Join(l.dir, "zebra.conf")
	if err := os.WriteFile(bgpConf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zebraConf, []byte(fmt.Sprintf("hostname %s\nlog file %s\n", p.Name, filepath.Join(l.dir, "zebra.log"))), 0o644); err != nil {
		t.Fatal(err)
	}
	zserv := filepath.Join(l.dir, "zserv.api")
	common := []string{"-u", "root", "-g", frrGroup(), "--vty_socket", l.dir, "-z", zserv, "-P", "0"}
	d := &frr{l: l, peerAS: p.AS.Number}
	d.zebra = startDaemon(t, l.peerNS(), l.dir, "zebra", nil, frrZebra,
		append(common, "-f", zebraConf, "-i", filepath.Join(l.dir, "zebra.pid"))...)
	frrCrashDir(t, d.zebra)
	// bgpd connects to zebra's socket; start it once the socket exists.
	poll(t, 20*time.Second, "zebra's zserv socket", func() (bool, string) {
		if err := d.zebra.running(); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(zserv)
		return err == nil, fmt.Sprint(err)
	})
	d.bgpd = startDaemon(t, l.peerNS(), l.dir, "bgpd", nil, frrBgpd,
		append(common, "-f", bgpConf, "-i", filepath.Join(l.dir, "bgpd.pid"))...)
	frrCrashDir(t, d.bgpd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bgpd.log:\n%s", tail(filepath.Join(l.dir, "bgpd.log"), 80))
		}
	})
	poll(t, 20*time.Second, "bgpd's vty", func() (bool, string) {
		if err := d.bgpd.running(); err != nil {
			t.Fatal(err)
		}
		_, err := d.vtysh(context.Background(), "show bgp summary json")
		return err == nil, fmt.Sprint(err)
	})
	return d
}

// frrCrashDir removes, once the daemon has stopped, the directory FRR
// makes for its crash log, /var/tmp/frr/<daemon>.<pid>: a daemon that
// exits cleanly removes it, one that fails to start or is killed leaves
// it behind.
func frrCrashDir(t testing.TB, d *daemonProc) {
	testrun.Cleanup(t, func() {
		d.stop()
		os.RemoveAll(fmt.Sprintf("/var/tmp/frr/%s.%d", d.name, d.p.Cmd.Process.Pid))
	})
}

// frrGroup is the group FRR's daemons run as. FRR refuses to start unless
// its user is in the vty group it was built with (frrvty on Debian), and
// root is not: running as root with that group as primary passes the
// check and keeps every privilege.
func frrGroup() string {
	if _, err := user.LookupGroup("frrvty"); err == nil {
		return "frrvty"
	}
	return "root"
}

func frrAFI(f topo.Family) string {
	if f == topo.IPv4 {
		return "ipv4"
	}
	return "ipv6"
}

func (d *frr) vtysh(ctx context.Context, cmds ...string) (string, error) {
	args := []string{"--vty_socket", d.l.dir}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	return run(ctx, "vtysh", args...)
}

// configure runs configuration commands under `router bgp`.
func (d *frr) configure(ctx context.Context, cmds ...string) error {
	all := append([]string{"configure terminal", fmt.Sprintf("router bgp %d", d.peerAS)}, cmds...)
	out, err := d.vtysh(ctx, all...)
	if err == nil && strings.TrimSpace(out) != "" {
		// vtysh reports configuration errors on stdout, exit status 0.
		return fmt.Errorf("vtysh %q: %s", cmds, out)
	}
	return err
}

// frrNeighbor is the part of `show bgp neighbors A json` the test reads.
type frrNeighbor struct {
	BGPState               string `json:"bgpState"`
	LastResetDueTo         string `json:"lastResetDueTo"`
	LastNotificationReason string `json:"lastNotificationReason"`
	LastErrorCodeSubcode   string `json:"lastErrorCodeSubcode"`
	LastShutdownDesc       string `json:"lastShutdownDescription"`
}

func (d *frr) neighbor(ctx context.Context, a netip.Addr) (*frrNeighbor, error) {
	out, err := d.vtysh(ctx, fmt.Sprintf("show bgp neighbors %v json", a))
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("show bgp neighbors: %w: %s", err, out)
	}
	raw, ok := m[a.String()]
	if !ok {
		return nil, fmt.Errorf("show bgp neighbors %v: no such neighbour: %s", a, out)
	}
	var n frrNeighbor
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

func (d *frr) established(ctx context.Context, a netip.Addr) (bool, string, error) {
	n, err := d.neighbor(ctx, a)
	if err != nil {
		return false, "", err
	}
	return n.BGPState == "Established", "bgpState " + n.BGPState, nil
}

func (d *frr) receivedCease(ctx context.Context, a netip.Addr) (bool, string, error) {
	n, err := d.neighbor(ctx, a)
	if err != nil {
		return false, "", err
	}
	st := fmt.Sprintf("bgpState %s, lastResetDueTo %q, lastNotificationReason %q, lastErrorCodeSubcode %q",
		n.BGPState, n.LastResetDueTo, n.LastNotificationReason, n.LastErrorCodeSubcode)
	ok := n.BGPState != "Established" && n.LastResetDueTo == "BGP Notification received" &&
		n.LastErrorCodeSubcode == "0602"
	return ok, st, nil
}

func (d *frr) holdExpired(ctx context.Context, a netip.Addr) (bool, string, error) {
	n, err := d.neighbor(ctx, a)
	if err != nil {
		return false, "", err
	}
	st := fmt.Sprintf("bgpState %s, lastResetDueTo %q, lastNotificationReason %q, lastErrorCodeSubcode %q",
		n.BGPState, n.LastResetDueTo, n.LastNotificationReason, n.LastErrorCodeSubcode)
	return n.BGPState != "Established" && n.LastErrorCodeSubcode == "0400", st, nil
}

// frrRoute is the part of `show bgp <prefix> json` the test reads.
type frrRoute struct {
	Paths []struct {
		ASPath struct {
			String string `json:"string"`
		} `json:"aspath"`
		Origin    string  `json:"origin"`
		MED       *uint32 `json:"metric"`
		Community *struct {
			String string `json:"string"`
		} `json:"community"`
		LargeCommunity *struct {
			String string `json:"string"`
		} `json:"largeCommunity"`
		Nexthops []struct {
			IP    string `json:"ip"`
			Scope string `json:"scope"`
		} `json:"nexthops"`
		Bestpath *struct {
			Overall bool `json:"overall"`
		} `json:"bestpath"`
	} `json:"paths"`
}

func (d *frr) route(ctx context.Context, pfx netip.Prefix) (*peerRoute, error) {
	f := topo.FamilyOf(pfx.Addr())
	out, err := d.vtysh(ctx, fmt.Sprintf("show bgp %s unicast %v json", frrAFI(f), pfx))
	if err != nil {
		return nil, err
	}
	var r frrRoute
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("show bgp %v: %w: %s", pfx, err, out)
	}
	for _, p := range r.Paths {
		if p.Bestpath == nil || !p.Bestpath.Overall {
			continue
		}
		pr := &peerRoute{ASPath: p.ASPath.String, Origin: frrOrigin(p.Origin)}
		if p.MED != nil {
			pr.MED, pr.HasMED = *p.MED, true
		}
		if p.Community != nil {
			pr.Communities = sorted(strings.Fields(p.Community.String))
		}
		if p.LargeCommunity != nil {
			pr.LargeCommunities = sorted(strings.Fields(p.LargeCommunity.String))
		}
		for _, nh := range p.Nexthops {
			a, err := netip.ParseAddr(nh.IP)
			switch {
			case err != nil:
			case a.IsLinkLocalUnicast():
				pr.LinkLocal = a
			case !pr.NextHop.IsValid():
				pr.NextHop = a
			}
		}
		return pr, nil
	}
	return nil, nil
}

func frrOrigin(s string) string {
	switch strings.ToUpper(s) {
	case "IGP":
		return "i"
	case "EGP":
		return "e"
	case "INCOMPLETE", "?":
		return "?"
	}
	return s
}

func (d *frr) withdraw(ctx context.Context, pfx netip.Prefix) error {
	f := topo.FamilyOf(pfx.Addr())
	return d.configure(ctx, fmt.Sprintf("address-family %s unicast", frrAFI(f)),
		fmt.Sprintf("no network %v route-map PLAIN", pfx))
}

func (d *frr) shutdown(ctx context.Context, a netip.Addr, msg string) error {
	return d.configure(ctx, fmt.Sprintf("neighbor %v shutdown message %s", a, msg))
}

func (d *frr) enable(ctx context.Context, a netip.Addr) error {
	return d.configure(ctx, fmt.Sprintf("no neighbor %v shutdown", a))
}

func (d *frr) refreshIn(ctx context.Context, a netip.Addr) (bool, error) {
	_, err := d.vtysh(ctx, fmt.Sprintf("clear bgp %s unicast %v soft in", frrAFI(topo.FamilyOf(a)), a))
	return true, err
}
