package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"lab/topo"
)

// gobgp is gobgpd in the external router's namespace; its gRPC API is a
// unix socket in the lab's temp dir, which the gobgp client uses from
// outside the namespace.
type gobgp struct {
	l    *testLab
	api  string
	log  string
	proc *daemonProc
}

func TestGoBGP(t *testing.T) {
	runScenario(t, gobgpScenario())
}

// gobgpScenario is the common scenario with gobgpd.
func gobgpScenario() scenario {
	return scenario{
		bins: []string{"gobgpd", "gobgp"},
		// Both ASes 4-byte: AS_TRANS in both OPENs.
		spec:         labSpec{peer: "gobgp", ourAS: 4200000001, peerAS: 4200000002},
		start:        func(t *testing.T, l *testLab) daemon { return startGoBGP(t, l, true) },
		shutdownText: shutdownMsg,
	}
}

// startGoBGP configures gobgpd from the lab's model: a neighbour per
// session with its own family, and, with routes, the daemon's four routes
// added through the API once it runs.
func startGoBGP(t testing.TB, l *testLab, routes bool) *gobgp {
	t.Helper()
	p := l.peer
	var b strings.Builder
	fmt.Fprintf(&b, "[global.config]\n  as = %d\n  router-id = %q\n  port = 179\n", p.AS.Number, p.RouterID)
	for _, f := range families {
		fam := "ipv4-unicast"
		if f == topo.IPv6 {
			fam = "ipv6-unicast"
		}
		// Retry at once after our shutdowns (GoBGP's default idle hold
		// after a reset is 30 s).
		fmt.Fprintf(&b, `
[[neighbors]]
  [neighbors.config]
    neighbor-address = %q
    peer-as = %d
  [neighbors.timers.config]
    connect-retry = 1
    idle-hold-time-after-reset = 1
  [neighbors.transport.config]
    local-address = %q
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = %q
`, l.ourAddr[f], l.us.AS.Number, l.peerAddr[f], fam)
	}
	conf := filepath.Join(l.dir, "gobgpd.toml")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &gobgp{l: l, api: "unix://" + filepath.Join(l.dir, "gobgp.sock")}
	d.proc = startDaemon(t, l.peerNS(), l.dir, "gobgpd", nil, "gobgpd",
		"-f", conf, "--api-hosts", d.api, "-p", "-l", "debug", "--pprof-disable")
	d.log = d.proc.log
	poll(t, 30*time.Second, "gobgpd's API", func() (bool, string) {
		if err := d.proc.running(); err != nil {
			t.Fatal(err)
		}
		_, err := d.cli(context.Background(), "global")
		return err == nil, fmt.Sprint(err)
	})
	if routes {
		for _, f := range families {
			ctx := context.Background()
			err := d.add(ctx, attrPrefix(false, f), "med", fmt.Sprint(peerMED),
				"community", strings.Join(peerCommunities, ","), "large-community", peerLarge(p.AS.Number))
			if err != nil {
				t.Fatal(err)
			}
			if err := d.add(ctx, plainPrefix(false, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d
}

func (d *gobgp) cli(ctx context.Context, args ...string) (string, error) {
	return run(ctx, "gobgp", append([]string{"--target", d.api}, args...)...)
}

func gobgpFamily(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// add originates pfx with attrs, its path starting with peerPrepend
// (gobgpd puts its own AS before it on the eBGP session).
func (d *gobgp) add(ctx context.Context, pfx netip.Prefix, attrs ...string) error {
	args := append([]string{"global", "rib", "add", "-a", gobgpFamily(pfx), pfx.String(),
		"origin", "igp", "aspath", fmt.Sprint(peerPrepend)}, attrs...)
	_, err := d.cli(ctx, args...)
	return err
}

func (d *gobgp) withdraw(ctx context.Context, pfx netip.Prefix) error {
	_, err := d.cli(ctx, "global", "rib", "del", "-a", gobgpFamily(pfx), pfx.String())
	return err
}

// gobgpNeighbor is the part of `gobgp neighbor A -j` the test reads.
type gobgpNeighbor struct {
	State struct {
		// SessionState is the API's enum: 1 idle, 2 connect, 3 active,
		// 4 opensent, 5 openconfirm, 6 established.
		SessionState int `json:"session_state"`
		AdminState   int `json:"admin_state"`
	} `json:"state"`
}

func (d *gobgp) established(ctx context.Context, a netip.Addr) (bool, string, error) {
	out, err := d.cli(ctx, "neighbor", a.String(), "-j")
	if err != nil {
		return false, "", err
	}
	var n gobgpNeighbor
	if err := json.Unmarshal([]byte(out), &n); err != nil {
		return false, "", fmt.Errorf("gobgp neighbor: %w: %s", err, out)
	}
	return n.State.SessionState == 6, fmt.Sprintf("session_state %d", n.State.SessionState), nil
}

// lastDown reads gobgpd's log: its API keeps no last error, its log says
// why every session went down:
//
//	msg="Peer Down" Key=10.0.12.1 Reason="notification-received code 6(cease) subcode 2(administrative shutdown)"
//	msg="Peer Down" Key=10.0.12.1 Reason=hold-timer-expired State=BGP_FSM_ESTABLISHED
func (d *gobgp) lastDown(a netip.Addr) (string, error) {
	b, err := os.ReadFile(d.log)
	if err != nil {
		return "", err
	}
	// logrus quotes a value only when it has spaces or quotes.
	re := regexp.MustCompile(`msg="Peer Down" Key="?` + regexp.QuoteMeta(a.String()) + `"? .*Reason=(?:"([^"]*)"|(\S+))`)
	var last string
	for _, line := range strings.Split(string(b), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			last = m[1] + m[2]
		}
	}
	return last, nil
}

func (d *gobgp) receivedCease(ctx context.Context, a netip.Addr) (bool, string, error) {
	last, err := d.lastDown(a)
	ok := strings.HasPrefix(last, "notification-received code 6(cease) subcode 2(administrative shutdown)")
	return ok, fmt.Sprintf("last Peer Down reason %q", last), err
}

func (d *gobgp) holdExpired(ctx context.Context, a netip.Addr) (bool, string, error) {
	last, err := d.lastDown(a)
	return strings.HasPrefix(last, "hold-timer-expired"), fmt.Sprintf("last Peer Down reason %q", last), err
}

// gobgpPath is one path of `gobgp global rib -a F P -j`.
type gobgpPath struct {
	Best  bool              `json:"best"`
	Attrs []json.RawMessage `json:"attrs"`
}

// gobgpAttr is the union of the attributes' JSON forms, by type code.
type gobgpAttr struct {
	Type    int    `json:"type"`
	Value   any    `json:"value"`
	NextHop string `json:"nexthop"`
	Metric  uint32 `json:"metric"`
	ASPaths []struct {
		Type int      `json:"segment_type"`
		ASNs []uint32 `json:"asns"`
	} `json:"as_paths"`
	Communities []uint32 `json:"communities"`
}

func (d *gobgp) route(ctx context.Context, pfx netip.Prefix) (*peerRoute, error) {
	out, err := d.cli(ctx, "global", "rib", "-a", gobgpFamily(pfx), pfx.String(), "-j")
	if err != nil {
		return nil, err
	}
	var m map[string][]gobgpPath
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("gobgp global rib: %w: %s", err, out)
	}
	for _, p := range m[pfx.String()] {
		if !p.Best {
			continue
		}
		return parseGoBGPAttrs(p.Attrs)
	}
	return nil, nil
}

func parseGoBGPAttrs(attrs []json.RawMessage) (*peerRoute, error) {
	r := &peerRoute{}
	for _, raw := range attrs {
		var a gobgpAttr
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", raw, err)
		}
		switch a.Type {
		case 1: // ORIGIN
			v, _ := a.Value.(float64)
			r.Origin = [...]string{"i", "e", "?"}[int(v)%3]
		case 2: // AS_PATH
			var asns []string
			for _, s := range a.ASPaths {
				for _, as := range s.ASNs {
					asns = append(asns, fmt.Sprint(as))
				}
			}
			r.ASPath = strings.Join(asns, " ")
		case 3, 14: // NEXT_HOP, MP_REACH_NLRI
			nh, err := netip.ParseAddr(a.NextHop)
			if err != nil {
				return nil, fmt.Errorf("next hop %q: %w", a.NextHop, err)
			}
			r.NextHop = nh
		case 4: // MULTI_EXIT_DISC
			r.MED, r.HasMED = a.Metric, true
		case 8: // COMMUNITIES
			for _, c := range a.Communities {
				r.Communities = append(r.Communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
			}
			r.Communities = sorted(r.Communities)
		case 32: // LARGE_COMMUNITY
			var lc struct {
				Value []struct {
					ASN, LocalData1, LocalData2 uint32
				} `json:"value"`
			}
			if err := json.Unmarshal(raw, &lc); err != nil {
				return nil, err
			}
			for _, c := range lc.Value {
				r.LargeCommunities = append(r.LargeCommunities, fmt.Sprintf("%d:%d:%d", c.ASN, c.LocalData1, c.LocalData2))
			}
			r.LargeCommunities = sorted(r.LargeCommunities)
		}
	}
	return r, nil
}

// shutdown uses the deprecated `shutdown` command: in GoBGP 3.10 only it
// sends the --reason as the Cease's shutdown communication (`disable`
// sends none).
func (d *gobgp) shutdown(ctx context.Context, a netip.Addr, msg string) error {
	_, err := d.cli(ctx, "neighbor", a.String(), "shutdown", "--reason", msg)
	return err
}

func (d *gobgp) enable(ctx context.Context, a netip.Addr) error {
	_, err := d.cli(ctx, "neighbor", a.String(), "enable")
	return err
}

// refreshIn: GoBGP keeps an Adj-RIB-In, and its `softresetin` applies
// its policies to it again without asking the peer.
func (d *gobgp) refreshIn(context.Context, netip.Addr) (bool, error) { return false, nil }
