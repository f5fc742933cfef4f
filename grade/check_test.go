package grade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lab/cli/grammar"
	"lab/topo"
)

// recorded is a lab whose routers answer with the JSON recorded on the
// triangle lab (testdata/triangle.yaml) by interop's TestFRRJSON: FRR 8.4
// on router frr, the lab's speaker on lab and peer2. state "shutdown_"
// is the lab after lab shut its IPv4 session with FRR down.
type recorded struct {
	t     testing.TB
	model *topo.Lab
	state string
	// reach are the addresses pings reach; hops the traceroutes.
	reach map[netip.Addr]bool
	hops  map[netip.Addr][]netip.Addr
}

func triangle(t testing.TB) *topo.Lab {
	t.Helper()
	m, err := topo.Load("testdata/triangle.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newRecorded(t testing.TB, state string) *recorded {
	return &recorded{t: t, model: triangle(t), state: state}
}

func (r *recorded) Model() *topo.Lab { return r.model }

func (r *recorded) file(node, cmd string) ([]byte, error) {
	name := strings.NewReplacer(" ", "_", "/", "_", ":", "_").Replace(cmd)
	for _, st := range []string{r.state, ""} {
		b, err := os.ReadFile(filepath.Join("testdata/json", node+"_"+st+name+".json"))
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if st == "" {
			break
		}
	}
	return nil, os.ErrNotExist
}

func (r *recorded) Show(_ context.Context, node, cmd string) ([]byte, error) {
	if b, err := r.file(node, cmd); err == nil {
		return b, nil
	}
	if a, ok := strings.CutPrefix(cmd, "show bgp neighbors "); ok {
		for _, fam := range []string{"ipv4", "ipv6"} {
			if b, err := r.file(node, "show bgp "+fam+" neighbors "+a); err == nil {
				return b, nil
			}
		}
		// One neighbour out of all of them.
		{
			b, err := r.file(node, "show bgp neighbors")
			if err != nil {
				return nil, err
			}
			var all map[string]json.RawMessage
			if err := json.Unmarshal(b, &all); err != nil {
				return nil, err
			}
			if n, ok := all[a]; ok {
				return json.Marshal(map[string]json.RawMessage{a: n})
			}
			return []byte("{}"), nil
		}
	}
	return nil, fmt.Errorf("nothing recorded for %s %q (%s)", node, cmd, r.state)
}

func (r *recorded) Ping(_ context.Context, _ string, to netip.Addr, _ time.Duration) error {
	if r.reach[to] {
		return nil
	}
	return errors.New("no reply within 1s")
}

func (r *recorded) Traceroute(_ context.Context, _ string, to netip.Addr) ([]netip.Addr, error) {
	return r.hops[to], nil
}

func (r *recorded) Changes() (<-chan struct{}, func()) { return nil, func() {} }

func (r *recorded) State(context.Context) (string, bool) { return "", true }

// parseCheck reads a `check` line as the shell does.
func parseCheck(t testing.TB, m *topo.Lab, line string) (string, *topo.Check, time.Duration) {
	t.Helper()
	p, err := grammar.Shell.Parse(topo.GrammarLab(m), line)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	node, c, wait, err := FromArgs(p.Entry.Name, p.Args)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return node, c, wait
}

type checkCase struct {
	line string
	pass bool
	seen string // a part of what the check saw
}

func runChecks(t *testing.T, lab Lab, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		node, chk, _ := parseCheck(t, lab.Model(), c.line)
		ok, seen, err := Evaluate(context.Background(), lab, node, chk, time.Now())
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if ok != c.pass || !strings.Contains(seen, c.seen) {
			t.Errorf("%s: passed %v, seen %q; want %v, seeing %q", c.line, ok, seen, c.pass, c.seen)
		}
	}
}

// The session check on FRR's JSON and ours, before and after lab shuts
// its IPv4 session with FRR down.
func TestSessionCheck(t *testing.T) {
	runChecks(t, newRecorded(t, ""), []checkCase{
		{"check lab session src", true, "lab's session with src: 10.0.1.1: Established; fd00:1::1: Established"},
		{"check lab session frr ipv6", true, "fd00:3::3: Established"},
		{"check frr session src", true, "10.0.2.1: Established; fd00:2::1: Established"},
		{"check frr session peer2 ipv4", true, "10.0.4.4: Established"},
		{"check frr session 10.0.3.2", true, "10.0.3.2: Established"},
		{"check lab session src down", false, "Established"},
		{"check lab session peer2", false, "lab has no BGP session with peer2"},
	})
	runChecks(t, newRecorded(t, "shutdown_"), []checkCase{
		{"check lab session frr ipv4", false, "10.0.3.3: Idle, last reset: Admin. shutdown sent 6/2 (Cease/Administrative Shutdown)"},
		{"check lab session frr ipv4 down", true, "10.0.3.3: Idle"},
		{"check lab session frr ipv4 idle", true, "Idle"},
		{"check frr session lab ipv4", false, "10.0.3.2: Idle, last reset: BGP Notification received received 6/2 (Cease/Administrative Shutdown)"},
		{"check frr session lab ipv4 down", true, "Idle"},
	})
}

// The prefix check: every attribute, on FRR's JSON and ours; the same
// line gives the same answer on both.
func TestPrefixCheck(t *testing.T) {
	lab := newRecorded(t, "")
	for _, r := range []string{"lab", "frr"} {
		runChecks(t, lab, []checkCase{
			{"check " + r + " prefix 10.10.1.0/24 best nexthop src aspath 65010 med 5 community 65010:1 large-community 65010:1:1 origin igp peer src",
				true, "best (AS Path), via 10.0."},
			{"check " + r + " prefix 2001:db8:10:1::/64 best nexthop src aspath 65010 med 5 community 65010:2 65010:1", true, "best (AS Path), via fd00:"},
			{"check " + r + " prefix 10.10.1.0/24 best aspath-regex ^65010$", true, "aspath 65010"},
			{"check " + r + " prefix 10.10.1.0/24 aspath-regex _65010_", true, " 65010, community"},
			{"check " + r + " prefix 10.10.1.0/24 best peer 10.0.3.2", false, "2 paths to 10.10.1.0/24: "},
			{"check " + r + " prefix 10.10.1.0/24 local-pref 100", false, "best (AS Path)"},
			{"check " + r + " prefix 10.10.1.0/24 med 6", false, "med 5"},
			{"check " + r + " prefix 10.10.1.0/24 community 65010:3", false, "community 65010:1 65010:2"},
			{"check " + r + " prefix 10.10.1.0/24 origin egp", false, "2 paths"},
			{"check " + r + " prefix 10.99.0.0/24", false, "no path to 10.99.0.0/24 in the BGP table"},
			{"check " + r + " prefix 10.99.0.0/24 missing", true, "no path to 10.99.0.0/24"},
			{"check " + r + " prefix 10.10.1.0/24 missing", false, "this one should not be there"},
			{"check " + r + " prefix 10.10.1.0/24 missing aspath 65010 65010", true, "2 paths"},
		})
	}
	runChecks(t, lab, []checkCase{
		// The second path, through each other.
		{"check lab prefix 10.10.1.0/24 nexthop frr aspath 65002 65010", true, "valid, via 10.0.3.3 (frr), aspath 65002 65010"},
		{"check frr prefix 10.10.1.0/24 nexthop lab aspath 65001 65010 community 65002:7", true, "valid, via 10.0.3.2 (lab), aspath 65001 65010"},
		{"check lab prefix 10.10.1.0/24 best nexthop frr", false, "best (AS Path), via 10.0.1.1 (src)"},
		// iBGP: LOCAL_PREF, an empty path.
		{"check frr prefix 10.20.0.0/24 best local-pref 100 aspath [ ] peer peer2", true, "best (First path received), via 10.0.4.4 (peer2), aspath empty, local-pref 100"},
		{"check peer2 prefix 10.10.1.0/24 best local-pref 100 aspath 65010 peer frr", true, "local-pref 100"},
		{"check peer2 prefix 2001:db8:20::/64 best aspath [ ]", true, "best (First path received), local"},
		{"check frr prefix 2001:db8:30::/64 best aspath [ ]", true, "local"},
	})
}

// The route check reads zebra's JSON (FRR's) and ours.
func TestRouteCheck(t *testing.T) {
	runChecks(t, newRecorded(t, ""), []checkCase{
		{"check lab route 10.10.1.0/24 via src", true, "bgp 10.10.1.0/24 via 10.0.1.1 (src) dev lab-eth0"},
		{"check frr route 10.10.1.0/24 via src", true, "bgp 10.10.1.0/24 via 10.0.2.1 (src)"},
		{"check lab route 10.10.1.0/24 via 10.0.1.1", true, "bgp"},
		{"check lab route 10.10.1.0/24 via lab-eth0", true, "bgp"},
		{"check lab route 10.10.1.0/24 via frr", false, "via 10.0.1.1 (src)"},
		// A link-local next hop: the interface that leads to src.
		{"check lab route 2001:db8:10:1::/64 via src", true, "dev lab-eth0"},
		{"check frr route 2001:db8:10:1::/64 via src", true, "bgp 2001:db8:10:1::/64"},
		{"check lab route 10.0.1.0/24", true, "connected 10.0.1.0/24 dev lab-eth0"},
		{"check lab route 10.99.0.0/24", false, "no route to 10.99.0.0/24 in the kernel"},
		{"check lab route 10.99.0.0/24 missing", true, "no route"},
		{"check lab route 10.10.1.0/24 missing", false, "bgp"},
		{"check lab route 10.10.1.0/24 via frr missing", true, "bgp"},
	})
}

// The ping and path checks map names to addresses and hops to names.
func TestPingAndPathChecks(t *testing.T) {
	lab := newRecorded(t, "")
	a := netip.MustParseAddr
	lab.reach = map[netip.Addr]bool{a("10.0.4.4"): true}
	lab.hops = map[netip.Addr][]netip.Addr{
		a("10.0.4.4"):  {a("10.0.1.1"), a("10.0.2.3"), a("10.0.4.4")},
		a("fd00:4::4"): {a("fd00:3::3"), {}, a("fd00:4::4")},
	}
	runChecks(t, lab, []checkCase{
		{"check lab ping peer2 ipv4", true, "lab reaches 10.0.4.4 (peer2)"},
		{"check lab ping peer2", false, "lab reaches 10.0.4.4 (peer2); lab does not reach fd00:4::4 (peer2): no reply within 1s"},
		{"check lab ping fd00:4::4 fail", true, "does not reach"},
		{"check lab ping 10.0.4.4 fail", false, "reaches"},
		{"check lab path peer2 ipv4 via src frr", true, "IPv4: lab src frr peer2"},
		{"check lab path peer2 ipv4 via frr src", false, "IPv4: lab src frr peer2"},
		{"check lab path peer2 ipv6 via frr", true, "IPv6: lab frr * peer2"},
		{"check lab path peer2 via frr", true, "IPv4: lab src frr peer2; IPv6: lab frr * peer2"},
		{"check lab path src", false, "does not reach"},
	})
}

// The notification check reads the reset's NOTIFICATION, sent and
// received, from FRR's JSON and ours.
func TestNotificationCheck(t *testing.T) {
	runChecks(t, newRecorded(t, "shutdown_"), []checkCase{
		{"check lab notification frr sent 6/2", true, `10.0.3.3: last went down with sent 6/2 (Cease/Administrative Shutdown) "class is over"`},
		{"check lab notification frr sent 6", true, "sent 6/2"},
		{"check lab notification frr", true, "sent 6/2"},
		{"check lab notification frr received 6/2", false, "sent 6/2"},
		{"check lab notification frr sent 4/0", false, "sent 6/2"},
		{"check frr notification lab received 6/2", true, `received 6/2 (Cease/Administrative Shutdown) "class is over"`},
		{"check frr notification 10.0.3.2 sent 6/2", false, "received 6/2"},
	})
	runChecks(t, newRecorded(t, ""), []checkCase{
		{"check lab notification src", false, "10.0.1.1: never went down; fd00:1::1: never went down"},
	})
}

// The log check reads the router's log.
func TestLogCheck(t *testing.T) {
	runChecks(t, newRecorded(t, "shutdown_"), []checkCase{
		{"check lab log NOTIFICATION: sent to neighbor 10.0.3.3 6/2", true, "%NOTIFICATION: sent to neighbor 10.0.3.3 6/2 (Cease/Administrative Shutdown)"},
		{"check lab log Hold Timer Expired", false, "no log line matches (6 lines)"},
	})
	runChecks(t, newRecorded(t, ""), []checkCase{
		{"check lab log 10.0.3.3 6/2", false, "no log line matches"},
	})
}

// A check on a host that reads BGP state, or on a node the lab does not
// have, cannot run.
func TestCheckErrors(t *testing.T) {
	lab := newRecorded(t, "")
	_, _, err := Evaluate(context.Background(), lab, "nobody", &topo.Check{Log: &topo.LogCheck{Regex: "x"}}, time.Now())
	if err == nil || !strings.Contains(err.Error(), `no node "nobody"`) {
		t.Errorf("a check on no node: %v", err)
	}
}
