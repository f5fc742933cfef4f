package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lab/topo"
)

// bird is BIRD 2 in the external router's namespace, with its control
// socket, pid and log in the lab's temp dir.
type bird struct {
	l    *testLab
	sock string
	proc *daemonProc
}

func TestBIRD(t *testing.T) {
	runScenario(t, birdScenario())
}

// birdScenario is the common scenario with BIRD 2.
func birdScenario() scenario {
	return scenario{
		showsLinkLocal: true,
		bins:           []string{"bird", "birdc"},
		// The daemon's AS is a 4-byte one: its OPEN says AS_TRANS, and the
		// paths it sends hold 4-byte ASes we must read (RFC 6793).
		// Over TCP MD5 (RFC 2385) too.
		spec:             labSpec{peer: "bird", ourAS: 65001, peerAS: 4200000002, password: "bird-md5-key"},
		start:            func(t *testing.T, l *testLab) daemon { return startBIRD(t, l, birdRoutes(l)) },
		shutdownText:     shutdownMsg,
		linkLocalNextHop: true,
	}
}

// birdProto names the BGP protocol of the session of family f.
func birdProto(f topo.Family) string {
	if f == topo.IPv4 {
		return "lab4"
	}
	return "lab6"
}

// birdRoutes is the static part of the interop configuration: one static
// protocol per route, so that a route is withdrawn by disabling its
// protocol, and an export filter that gives the attr routes their
// attributes.
func birdRoutes(l *testLab) string {
	var b strings.Builder
	for _, f := range families {
		fam := strings.ToLower(f.String())
		fmt.Fprintf(&b, "protocol static attr%c { %s; route %v blackhole; }\n", fam[3], fam, attrPrefix(false, f))
		fmt.Fprintf(&b, "protocol static plain%c { %s; route %v blackhole; }\n", fam[3], fam, plainPrefix(false, f))
	}
	fmt.Fprintf(&b, `filter to_lab {
  if source != RTS_STATIC then reject;
  bgp_origin = ORIGIN_IGP;
  bgp_path.prepend(%d);
  if proto = "attr4" || proto = "attr6" then {
    bgp_med = %d;
`, peerPrepend, peerMED)
	for _, c := range peerCommunities {
		fmt.Fprintf(&b, "    bgp_community.add((%s));\n", strings.ReplaceAll(c, ":", ","))
	}
	fmt.Fprintf(&b, "    bgp_large_community.add((%s));\n", strings.ReplaceAll(peerLarge(l.peer.AS.Number), ":", ","))
	b.WriteString("  }\n  accept;\n}\n")
	return b.String()
}

// startBIRD configures BIRD from the lab's model — a BGP protocol per
// session, each carrying its own family — with extra (static protocols,
// filters) pasted in, and the sessions exporting through filter to_lab
// when extra defines it.
func startBIRD(t testing.TB, l *testLab, extra string) *bird {
	t.Helper()
	p := l.peer
	var b strings.Builder
	fmt.Fprintf(&b, "log %q all;\nrouter id %v;\nprotocol device { }\n%s", filepath.Join(l.dir, "bird.log"), p.RouterID, extra)
	export := "none"
	if strings.Contains(extra, "filter to_lab") {
		export = "filter to_lab"
	}
	password := ""
	if l.spec.password != "" {
		password = fmt.Sprintf("password %q;", l.spec.password)
	}
	for _, f := range families {
		// Retry at once after our shutdowns, instead of BIRD's 60 s error
		// wait; the lab's side dials too.
		fmt.Fprintf(&b, `protocol bgp %s {
  local %v as %d;
  neighbor %v as %d;
  connect retry time 1;
  error wait time 1, 2;
  %s
  %s { import all; export %s; };
}
`, birdProto(f), l.peerAddr[f], p.AS.Number, l.ourAddr[f], l.us.AS.Number, password, strings.ToLower(f.String()), export)
	}
	conf := filepath.Join(l.dir, "bird.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &bird{l: l, sock: filepath.Join(l.dir, "bird.ctl")}
	d.proc = startDaemon(t, l.peerNS(), l.dir, "bird", nil, "bird",
		"-f", "-c", conf, "-s", d.sock, "-P", filepath.Join(l.dir, "bird.pid"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bird.log:\n%s", tail(filepath.Join(l.dir, "bird.log"), 60))
		}
	})
	poll(t, 60*time.Second, "BIRD's control socket", func() (bool, string) {
		if err := d.proc.running(); err != nil {
			t.Fatal(err)
		}
		_, err := d.birdc(context.Background(), "show status")
		return err == nil, fmt.Sprint(err)
	})
	return d
}

func (d *bird) birdc(ctx context.Context, args ...string) (string, error) {
	return run(ctx, "birdc", append([]string{"-s", d.sock}, args...)...)
}

func (d *bird) protoOf(a netip.Addr) string { return birdProto(topo.FamilyOf(a)) }

// protocol returns the `show protocols all P` lines, keyed by their label
// ("BGP state", "Last error", ...), with the protocol's summary line under
// "".
func (d *bird) protocol(ctx context.Context, name string) (map[string]string, error) {
	out, err := d.birdc(ctx, "show", "protocols", "all", name)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") {
			m[""] = line
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			if _, dup := m[k]; !dup {
				m[k] = strings.TrimSpace(v)
			}
		}
	}
	return m, nil
}

func (d *bird) established(ctx context.Context, a netip.Addr) (bool, string, error) {
	m, err := d.protocol(ctx, d.protoOf(a))
	if err != nil {
		return false, "", err
	}
	return m["BGP state"] == "Established", fmt.Sprintf("%q", m), nil
}

func (d *bird) receivedCease(ctx context.Context, a netip.Addr) (bool, string, error) {
	m, err := d.protocol(ctx, d.protoOf(a))
	if err != nil {
		return false, "", err
	}
	// BIRD names the NOTIFICATION it received: "Received: Administrative
	// shutdown" is Cease/2 (its bgp_err_classes and bgp_msg_table).
	ok := m["BGP state"] != "Established" && m["Last error"] == "Received: Administrative shutdown"
	return ok, fmt.Sprintf("BGP state %q, last error %q", m["BGP state"], m["Last error"]), nil
}

func (d *bird) holdExpired(ctx context.Context, a netip.Addr) (bool, string, error) {
	m, err := d.protocol(ctx, d.protoOf(a))
	if err != nil {
		return false, "", err
	}
	// "BGP Error: Hold timer expired": BIRD's own error, the NOTIFICATION
	// it sent (received ones read "Received: ...").
	ok := m["BGP state"] != "Established" && m["Last error"] == "BGP Error: Hold timer expired"
	return ok, fmt.Sprintf("BGP state %q, last error %q", m["BGP state"], m["Last error"]), nil
}

// route parses `show route all P` (exact prefix):
//
//	10.100.0.0/24        unicast [lab4 10:32:01.123] * (100) [AS65001i]
//		via 10.0.12.1 on bird-eth0
//		Type: BGP univ
//		BGP.origin: IGP
//		BGP.as_path: 65001
//		BGP.next_hop: 10.0.12.1
//		BGP.med: 10
//		BGP.community: (65001,100) (65001,200)
//		BGP.large_community: (65001, 1, 2)
//
// and returns the first (best) route, learned over BGP.
func (d *bird) route(ctx context.Context, pfx netip.Prefix) (*peerRoute, error) {
	out, err := d.birdc(ctx, "show", "route", "all", pfx.String())
	if err != nil {
		if strings.Contains(err.Error(), "Network not found") {
			return nil, nil // and birdc exits 1
		}
		return nil, err
	}
	return parseBIRDRoute(out, pfx)
}

func parseBIRDRoute(out string, pfx netip.Prefix) (*peerRoute, error) {
	var r *peerRoute
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, pfx.String()+" ") {
			if r != nil {
				break // the next (non-best) route
			}
			if !strings.Contains(line, " * ") {
				continue
			}
			r = &peerRoute{}
			continue
		}
		if r == nil {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		switch k {
		case "BGP.origin":
			r.Origin = map[string]string{"IGP": "i", "EGP": "e", "Incomplete": "?"}[v]
		case "BGP.as_path":
			r.ASPath = v
		case "BGP.next_hop":
			// "fd00:12::1 fe80::1ff:fe00:0": global, then link-local.
			for i, s := range strings.Fields(v) {
				nh, err := netip.ParseAddr(s)
				if err != nil {
					return nil, fmt.Errorf("next hop %q: %w", v, err)
				}
				if i > 0 && nh.IsLinkLocalUnicast() {
					r.LinkLocal = nh
				} else if i == 0 {
					r.NextHop = nh
				}
			}
		case "BGP.med":
			var m uint32
			if _, err := fmt.Sscan(v, &m); err != nil {
				return nil, fmt.Errorf("MED %q: %w", v, err)
			}
			r.MED, r.HasMED = m, true
		case "BGP.community":
			for _, c := range strings.Fields(v) {
				r.Communities = append(r.Communities, strings.ReplaceAll(strings.Trim(c, "()"), ",", ":"))
			}
			r.Communities = sorted(r.Communities)
		case "BGP.large_community":
			// "(65001, 1, 2) (65001, 3, 4)"
			for _, c := range strings.Split(v, ")") {
				c = strings.Trim(strings.TrimSpace(c), "(")
				if c != "" {
					r.LargeCommunities = append(r.LargeCommunities, strings.ReplaceAll(strings.ReplaceAll(c, " ", ""), ",", ":"))
				}
			}
			r.LargeCommunities = sorted(r.LargeCommunities)
		}
	}
	if r != nil && r.ASPath == "" && r.Origin == "" {
		return nil, nil // not a BGP route
	}
	return r, nil
}

func (d *bird) withdraw(ctx context.Context, pfx netip.Prefix) error {
	f := strings.ToLower(topo.FamilyOf(pfx.Addr()).String())
	_, err := d.birdc(ctx, "disable", "plain"+f[3:])
	return err
}

func (d *bird) shutdown(ctx context.Context, a netip.Addr, msg string) error {
	_, err := d.birdc(ctx, "disable", d.protoOf(a), fmt.Sprintf("%q", msg))
	return err
}

func (d *bird) enable(ctx context.Context, a netip.Addr) error {
	_, err := d.birdc(ctx, "enable", d.protoOf(a))
	return err
}

// waker keeps BIRD's I/O loop awake until stop is called, with a `show
// status` on its control socket every 50 ms. BIRD 2.0.12 polls with a 3 s
// timeout when it believes it has no work left, and the end of a long
// export (its last UPDATE and the End-of-RIB) waited for that timeout:
// 2.9 s of idling after the rest of a million routes had been sent, which
// the benchmark would have charged to our speaker.
func (d *bird) waker(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := net.Dial("unix", d.sock)
		if err != nil {
			return
		}
		defer c.Close()
		go io.Copy(io.Discard, c) // the replies
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := c.Write([]byte("show status\n")); err != nil {
					return
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// refreshIn is `reload in`, which asks a peer that can refresh for its
// routes again.
func (d *bird) refreshIn(ctx context.Context, a netip.Addr) (bool, error) {
	_, err := d.birdc(ctx, "reload", "in", d.protoOf(a))
	return true, err
}
