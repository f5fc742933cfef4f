package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// knobLab is the small lab of the knob tests, one knob at a time:
//
//	       r2b (AS 2, iBGP with r2)
//	        |
//	r1 --- r2 --- r4 (AS 4, 10.4.0.0/24)
//	 \            /
//	  +-- r3 ----+
//
// r1 reaches r4's prefix through r2 (AS path 2 4) or r3 (3 4); with
// compare-routerid the tie goes to r2 (router ID 2.2.2.2), so a knob that
// moves r1's choice moves it to r3. r2b's prefixes are the ones tagged
// with well-known communities. Every address is written out so that a
// check can name a neighbour.
type knobLab struct {
	top                      string // top-level YAML (routing:)
	r4AS                     int    // default 4
	r4, r2b                  string // the routers' prefixes: lists
	l12, l13, l22b, l24, l34 string // each link's extra keys
	noWait                   bool   // a session never comes up
	apply                    *knobLab
	check                    func(t *testing.T, l *testLab) error
	thenCmd, thenCheckName   string
	thenCheck                func(t *testing.T, l *testLab) error
}

func (k knobLab) yaml() string {
	r4AS := k.r4AS
	if r4AS == 0 {
		r4AS = 4
	}
	r4 := k.r4
	if r4 == "" {
		r4 = "10.4.0.0/24"
	}
	r2b := k.r2b
	if r2b == "" {
		r2b = "10.2.2.0/24"
	}
	return fmt.Sprintf(`name: knobs
bgp: {keepalive: 3, hold: 9, connect-retry: 1, compare-routerid: true}
%s
routers:
  r1:  {as: 1, router-id: 1.1.1.1}
  r2:  {as: 2, router-id: 2.2.2.2}
  r2b: {as: 2, router-id: 2.2.2.3, prefixes: [%s]}
  r3:  {as: 3, router-id: 3.3.3.3}
  r4:  {as: %d, router-id: 4.4.4.4, prefixes: [%s]}
links:
  - {endpoints: [r1, r2], addresses: {r1: [10.12.0.1/24], r2: [10.12.0.2/24]}%s}
  - {endpoints: [r1, r3], addresses: {r1: [10.13.0.1/24], r3: [10.13.0.3/24]}%s}
  - {endpoints: [r2, r2b], addresses: {r2: [10.22.0.2/24], r2b: [10.22.0.3/24]}%s}
  - {endpoints: [r2, r4], addresses: {r2: [10.24.0.2/24], r4: [10.24.0.4/24]}%s}
  - {endpoints: [r3, r4], addresses: {r3: [10.34.0.3/24], r4: [10.34.0.4/24]}%s}
`, k.top, r2b, r4AS, r4, ext(k.l12), ext(k.l13), ext(k.l22b), ext(k.l24), ext(k.l34))
}

func ext(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

// bgpPath is one path of `show ip bgp PREFIX`, as the shell prints it.
type bgpPath struct {
	asPath  string // "2 4", "Local"
	nextHop string
	from    string // the peer's router ID
	text    string // the path's lines
	best    bool
}

// paths returns a router's paths to prefix (none when it has no route).
func (l *testLab) paths(router, prefix string) []bgpPath {
	l.t.Helper()
	out, errs, code := l.run(nil, "cmd", l.name, router+" show ip bgp "+prefix)
	if code != 0 {
		if strings.Contains(out+errs, "Network not in table") {
			return nil
		}
		l.t.Fatalf("%s show ip bgp %s: exit %d\n%s%s", router, prefix, code, out, errs)
	}
	var ps []bgpPath
	in := false
	for line := range strings.SplitSeq(out, "\n") {
		switch {
		case strings.HasPrefix(line, "Paths:"):
			in = true
		case !in || strings.TrimSpace(line) == "":
		case !strings.HasPrefix(line, "   "):
			ps = append(ps, bgpPath{asPath: strings.TrimSpace(line)})
		case len(ps) > 0:
			p := &ps[len(ps)-1]
			if p.nextHop == "" {
				f := strings.Fields(line)
				p.nextHop = f[0]
				if i, j := strings.LastIndex(line, "("), strings.LastIndex(line, ")"); i >= 0 && j > i {
					p.from = line[i+1 : j]
				}
			}
			if strings.Contains(line, ", best") {
				p.best = true
			}
			p.text += line + "\n"
		}
	}
	return ps
}

func asPaths(ps []bgpPath) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.asPath)
	}
	return out
}

func bestOf(ps []bgpPath) *bgpPath {
	for i := range ps {
		if ps[i].best {
			return &ps[i]
		}
	}
	return nil
}

func dump(ps []bgpPath) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %s\n%s", p.asPath, p.text)
	}
	return b.String()
}

// bestFrom checks that router's best path to prefix comes from the
// router whose ID is from, carries every one of want, and that the kernel
// route goes to that path's next hop.
func bestFrom(l *testLab, router, prefix, from string, want ...string) error {
	ps := l.paths(router, prefix)
	b := bestOf(ps)
	if b == nil || b.from != from {
		return fmt.Errorf("%s's best path to %s is not from %s:\n%s", router, prefix, from, dump(ps))
	}
	for _, w := range want {
		if !strings.Contains(b.text, w) {
			return fmt.Errorf("%s's best path to %s has no %q:\n%s", router, prefix, w, dump(ps))
		}
	}
	rs, err := l.kernelRoutes(router, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	r, ok := rs[netip.MustParsePrefix(prefix)]
	if !ok || r.Gw == nil || r.Gw.String() != b.nextHop {
		return fmt.Errorf("%s's kernel route to %s is %v, not via %s", router, prefix, r, b.nextHop)
	}
	return nil
}

// onlyPaths checks that router's paths to prefix have exactly these AS
// paths (none: no route at all).
func onlyPaths(l *testLab, router, prefix string, want ...string) error {
	ps := l.paths(router, prefix)
	got := asPaths(ps)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s's paths to %s are %q, want %q:\n%s", router, prefix, got, want, dump(ps))
	}
	return nil
}

// shows checks that the shell's output of line holds every one of want.
func shows(l *testLab, line string, want ...string) error {
	out, errs, _ := l.run(nil, "cmd", l.name, line)
	for _, w := range want {
		if !strings.Contains(out+errs, w) {
			return fmt.Errorf("%s: no %q in:\n%s%s", line, w, out, errs)
		}
	}
	return nil
}

// tcpExt reads a counter of the TCP extension statistics in a node's
// namespace (/proc/net/netstat is per namespace).
func tcpExt(l *testLab, node, name string) (int, error) {
	out, errs, code := l.run(nil, "exec", l.name, node, "--", "cat", "/proc/net/netstat")
	if code != 0 {
		return 0, fmt.Errorf("/proc/net/netstat in %s: %s", node, errs)
	}
	lines := strings.Split(out, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "TcpExt:") || !strings.HasPrefix(lines[i+1], "TcpExt:") {
			continue
		}
		keys, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j, k := range keys {
			if k == name && j < len(vals) {
				return strconv.Atoi(vals[j])
			}
		}
	}
	return 0, fmt.Errorf("no TcpExt %s in %s's /proc/net/netstat", name, node)
}

// Kernel tests of every link BGP setting and every well-known community,
// one small lab each (issue 9): the knob goes in the topology file, and
// the test looks at what a student would (show ip bgp, the neighbour's
// show, the log, the kernel's routes).
func TestKnobs(t *testing.T) {
	const p4 = "10.4.0.0/24"
	cases := []struct {
		name string
		k    knobLab
	}{
		{"local-pref", knobLab{l13: "bgp: {r1: {local-pref: 300}}",
			check: func(t *testing.T, l *testLab) error {
				return bestFrom(l, "r1", p4, "3.3.3.3", "localpref 300", "Policy: neighbor local-pref: local-pref 300")
			}}},
		{"weight", knobLab{l13: "bgp: {r1: {weight: 100}}",
			check: func(t *testing.T, l *testLab) error {
				return bestFrom(l, "r1", p4, "3.3.3.3", "weight 100", "best (Weight")
			}}},
		{"med", knobLab{l12: "bgp: {r2: {med: 7}}",
			check: func(t *testing.T, l *testLab) error {
				return bestFrom(l, "r1", p4, "2.2.2.2", "metric 7")
			}}},
		{"prepend count", knobLab{l12: "bgp: {r2: {prepend: 2}}",
			check: func(t *testing.T, l *testLab) error {
				if err := onlyPaths(l, "r1", p4, "2 2 2 4", "3 4"); err != nil {
					return err
				}
				return bestFrom(l, "r1", p4, "3.3.3.3")
			}}},
		{"prepend list", knobLab{l12: "bgp: {r2: {prepend: [65001, 65002]}}",
			check: func(t *testing.T, l *testLab) error {
				if err := onlyPaths(l, "r1", p4, "2 65001 65002 4", "3 4"); err != nil {
					return err
				}
				return bestFrom(l, "r1", p4, "3.3.3.3")
			}}},
		{"policy in", knobLab{
			top: `routing:
  prefix: {R4: [{prefix: 10.4.0.0/16, max: 24}]}
  policy: {PREFER: [{match: {prefix: R4}, set: {local-pref: 250}}, {action: permit}]}`,
			l13: "bgp: {r1: {policy: {in: PREFER}}}",
			check: func(t *testing.T, l *testLab) error {
				if err := bestFrom(l, "r1", p4, "3.3.3.3", "localpref 250", "policy PREFER entry 1"); err != nil {
					return err
				}
				return shows(l, "r1 show routing policy PREFER", "PREFER")
			}}},
		{"policy out", knobLab{
			top: `routing:
  aspath: {FROM4: [{path: _4$}]}
  policy: {NO4: [{action: deny, match: {aspath: FROM4}}, {action: permit}]}`,
			l12: "bgp: {r2: {policy: {out: NO4}}}",
			check: func(t *testing.T, l *testLab) error {
				return onlyPaths(l, "r1", p4, "3 4")
			}}},
		{"max-prefix", knobLab{r4: "10.4.0.0/24, 10.4.1.0/24, 10.4.2.0/24", l12: "bgp: {r1: {max-prefix: 2}}",
			check: func(t *testing.T, l *testLab) error {
				if err := shows(l, "r1 show bgp neighbors 10.12.0.2", "Maximum Number of Prefixes Reached (6/1)"); err != nil {
					return err
				}
				if err := shows(l, "r2 show log", "received from neighbor 10.12.0.1 6/1"); err != nil {
					return err
				}
				return onlyPaths(l, "r1", "10.4.2.0/24", "3 4")
			}}},
		{"max-prefix warning-only", knobLab{r4: "10.4.0.0/24, 10.4.1.0/24, 10.4.2.0/24",
			l12: "bgp: {r1: {max-prefix: {limit: 2, warning-only: true}}}",
			check: func(t *testing.T, l *testLab) error {
				// Logged once, when the count first passes the limit
				// (3 or 4: the routes may come in one UPDATE or two).
				if err := shows(l, "r1 show log", "%MAXPFX: No. of IPv4 Unicast prefix received from 10.12.0.2 reaches ", ", max 2"); err != nil {
					return err
				}
				if err := shows(l, "r1 show bgp neighbors 10.12.0.2", "BGP state = Established"); err != nil {
					return err
				}
				return onlyPaths(l, "r1", "10.4.2.0/24", "2 4", "3 4")
			}}},
		{"passive", knobLab{l12: "bgp: {r1: {passive: true}}",
			check: func(t *testing.T, l *testLab) error {
				// r1 never dials: its end of the connection is port 179.
				return shows(l, "r1 show bgp neighbors 10.12.0.2", "BGP state = Established", "Local host: 10.12.0.1, Local port: 179")
			}}},
		{"shutdown", knobLab{
			apply: &knobLab{l13: `bgp: {r1: {shutdown: "maintenance at noon"}}`},
			check: func(t *testing.T, l *testLab) error {
				if err := shows(l, "r3 show bgp neighbors 10.13.0.1", `Cease/Administrative Shutdown (6/2): "maintenance at noon"`); err != nil {
					return err
				}
				if err := shows(l, "r1 show bgp neighbors 10.13.0.3", "BGP state = Idle (Admin. shutdown)"); err != nil {
					return err
				}
				return onlyPaths(l, "r1", p4, "2 4")
			}}},
		{"password", knobLab{l12: "password: s3cret",
			check: func(t *testing.T, l *testLab) error {
				return shows(l, "r1 show bgp neighbors 10.12.0.2", "BGP state = Established")
			}}},
		{"password mismatch", knobLab{l12: "bgp: {r1: {password: one}, r2: {password: two}}", noWait: true,
			check: func(t *testing.T, l *testLab) error {
				// The kernel drops the segments whose MD5 signature is
				// wrong: the counter says so, and the session never
				// comes up while r1-r3 does.
				if err := shows(l, "r1 show bgp neighbors 10.13.0.3", "BGP state = Established"); err != nil {
					return err
				}
				n, err := tcpExt(l, "r2", "TCPMD5Failure")
				if err != nil {
					return err
				}
				m, _ := tcpExt(l, "r1", "TCPMD5Failure")
				if n+m == 0 {
					return fmt.Errorf("no MD5 failure counted in r1's or r2's namespace")
				}
				out, _, _ := l.run(nil, "cmd", l.name, "r1 show bgp neighbors 10.12.0.2")
				if strings.Contains(out, "BGP state = Established") {
					return fmt.Errorf("r1-r2 Established with different keys:\n%s", out)
				}
				return nil
			},
			// The story's fix: the same key on both ends.
			thenCheckName: "the same key on both ends",
			apply:         &knobLab{l12: "password: one"},
			thenCheck: func(t *testing.T, l *testLab) error {
				return shows(l, "r1 show bgp neighbors 10.12.0.2", "BGP state = Established")
			}}},
		{"password added", knobLab{
			// A key where there was none: the listeners were opened
			// without one and take it now.
			apply: &knobLab{l12: "password: s3cret"},
			check: func(t *testing.T, l *testLab) error {
				return shows(l, "r1 show bgp neighbors 10.12.0.2", "BGP state = Established")
			}}},
		{"remote-as", knobLab{l12: "bgp: {r1: {remote-as: 5}}", noWait: true,
			check: func(t *testing.T, l *testLab) error {
				if err := shows(l, "r1 show log", "sent to neighbor 10.12.0.2 2/2 (OPEN Message Error/Bad Peer AS)"); err != nil {
					return err
				}
				return shows(l, "r2 show bgp neighbors 10.12.0.1", "Bad Peer AS (2/2)")
			}}},
		{"default-originate", knobLab{l12: "bgp: {r2: {default-originate: true}}",
			check: func(t *testing.T, l *testLab) error {
				if err := onlyPaths(l, "r1", "0.0.0.0/0", "2"); err != nil {
					return err
				}
				return bestFrom(l, "r1", "0.0.0.0/0", "2.2.2.2")
			}}},
		{"allowas-in", knobLab{r4AS: 1, top: "ases: {1: {ibgp: per-link}}", l12: "bgp: {r1: {allowas-in: true}}",
			check: func(t *testing.T, l *testLab) error {
				// r4 is in r1's AS: only the session with allowas-in
				// takes its prefix.
				if err := onlyPaths(l, "r1", p4, "2 1"); err != nil {
					return err
				}
				return bestFrom(l, "r1", p4, "2.2.2.2")
			}}},

		// Well-known communities, on r2b's prefix 10.2.1.0/24 (10.2.2.0/24,
		// untagged, shows the rest of the lab did get r2b's routes).
		{"no-export", knobLab{r2b: "{prefix: 10.2.1.0/24, communities: [no-export]}, 10.2.2.0/24",
			check: func(t *testing.T, l *testLab) error {
				// r2b sends it to r2 (iBGP), which sends it to no other AS.
				if err := onlyPaths(l, "r2", "10.2.1.0/24", "Local"); err != nil {
					return err
				}
				if err := shows(l, "r2 show ip bgp 10.2.1.0/24", "Community: no-export"); err != nil {
					return err
				}
				if err := onlyPaths(l, "r1", "10.2.2.0/24", "2"); err != nil {
					return err
				}
				return onlyPaths(l, "r1", "10.2.1.0/24")
			}}},
		{"no-export-subconfed", knobLab{r2b: "{prefix: 10.2.1.0/24, communities: [no-export-subconfed]}, 10.2.2.0/24",
			check: func(t *testing.T, l *testLab) error {
				if err := onlyPaths(l, "r2", "10.2.1.0/24", "Local"); err != nil {
					return err
				}
				if err := onlyPaths(l, "r1", "10.2.2.0/24", "2"); err != nil {
					return err
				}
				return onlyPaths(l, "r4", "10.2.1.0/24")
			}}},
		{"no-advertise", knobLab{r2b: "{prefix: 10.2.1.0/24, communities: [no-advertise]}, 10.2.2.0/24",
			check: func(t *testing.T, l *testLab) error {
				// Not even to r2, its iBGP peer.
				if err := onlyPaths(l, "r2b", "10.2.1.0/24", "Local"); err != nil {
					return err
				}
				if err := onlyPaths(l, "r2", "10.2.2.0/24", "Local"); err != nil {
					return err
				}
				return onlyPaths(l, "r2", "10.2.1.0/24")
			}}},
		{"no-peer", knobLab{r2b: "{prefix: 10.2.1.0/24, communities: [no-peer]}, 10.2.2.0/24",
			l12: "relation: peer",
			check: func(t *testing.T, l *testLab) error {
				// r2 sends its own AS's routes to its peer r1, but not
				// this one (RFC 3765); r4 has no relation with r2 and
				// passes it on to r3, and so r1 gets it the long way
				// (the untagged one, r3 learns from r1 and keeps).
				if err := onlyPaths(l, "r1", "10.2.2.0/24", "2"); err != nil {
					return err
				}
				return onlyPaths(l, "r1", "10.2.1.0/24", "3 4 2")
			}}},
		{"graceful-shutdown community", knobLab{r2b: "{prefix: 10.2.1.0/24, communities: [graceful-shutdown]}, 10.2.2.0/24",
			check: func(t *testing.T, l *testLab) error {
				// RFC 8326: the receiver lowers the local preference to 0.
				return shows(l, "r2 show ip bgp 10.2.1.0/24", "localpref 0", "Community: graceful-shutdown")
			}}},
		{"graceful-shutdown command", knobLab{
			check: func(t *testing.T, l *testLab) error {
				return bestFrom(l, "r1", p4, "2.2.2.2")
			},
			thenCmd:       "r2 graceful-shutdown on",
			thenCheckName: "r2 drained",
			thenCheck: func(t *testing.T, l *testLab) error {
				return bestFrom(l, "r1", p4, "3.3.3.3")
			}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newTestLab(t)
			dir := t.TempDir()
			write := func(name string, k knobLab) string {
				f := filepath.Join(dir, name)
				if err := os.WriteFile(f, []byte(k.yaml()), 0o644); err != nil {
					t.Fatal(err)
				}
				return f
			}
			l.must("up", "-d", "--name", l.name, write("knobs.yaml", c.k))
			defer func() {
				pid := l.daemonPID()
				l.must("down", l.name)
				l.assertGone(pid)
			}()
			if !c.k.noWait {
				l.must("cmd", l.name, "wait 30")
			}
			if c.k.apply != nil && c.k.thenCheck == nil {
				k := *c.k.apply
				l.must("apply", l.name, write("applied.yaml", k))
				if !k.noWait {
					l.must("cmd", l.name, "wait 30")
				}
			}
			eventually(t, 15*time.Second, c.name, func() error { return c.k.check(t, l) })
			if c.k.thenCheck == nil {
				return
			}
			if c.k.thenCmd != "" {
				l.must("cmd", l.name, c.k.thenCmd)
			}
			if c.k.apply != nil {
				l.must("apply", l.name, write("applied.yaml", *c.k.apply))
			}
			l.must("cmd", l.name, "wait 30")
			eventually(t, 15*time.Second, c.k.thenCheckName, func() error { return c.k.thenCheck(t, l) })
		})
	}
}
