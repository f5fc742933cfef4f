package main

import (
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

	"github.com/vishvananda/netlink"

	"lab/grade"
	"lab/topo"
)

// TestSeedLab replays the seed: the lab builds with the seed's addresses,
// BGP converges, as1ra's table and kernel routes are the seed's, every
// host reaches every other over IPv4 and IPv6, and `lab down` leaves
// nothing behind.
func TestSeedLab(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/simple-bgp.yaml")
	pid := l.daemonPID()

	// Every interface has its address in the kernel.
	m, err := topo.LoadAs("../../topologies/simple-bgp.yaml", l.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Nodes() {
		for _, i := range n.Interfaces {
			err := l.inNS(n.Name, func(h *netlink.Handle) error {
				lk, err := h.LinkByName(i.Name)
				if err != nil {
					return err
				}
				as, err := h.AddrList(lk, netlink.FAMILY_ALL)
				if err != nil {
					return err
				}
				have := map[netip.Prefix]bool{}
				for _, a := range as {
					ip, _ := netip.AddrFromSlice(a.IP)
					ones, _ := a.Mask.Size()
					have[netip.PrefixFrom(ip.Unmap(), ones)] = true
				}
				for _, p := range i.Addrs {
					if !have[p] {
						return fmt.Errorf("%s lacks %s (has %v)", i.Name, p, as)
					}
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}
	}

	l.must("cmd", l.name, "wait 30")

	// as1ra's best paths, as the seed's table shows them.
	tab := showJSON(l, "as1ra show bgp ipv6", grade.ParseTable)
	want := map[string]string{
		"2001:1234:1::/64": "",
		"2001:1234:2::/64": "2",
		"2001:1234:3::/64": "3",
		"2001:1234:4::/64": "2 4",
	}
	if len(tab.Routes) != len(want) {
		t.Errorf("as1ra has %d IPv6 prefixes, want %d: %+v", len(tab.Routes), len(want), tab.Routes)
	}
	paths := 0
	for _, r := range tab.Routes {
		paths += len(r.Paths)
		b := r.Best()
		w, ok := want[r.Prefix.String()]
		if !ok || b == nil {
			t.Errorf("unexpected or pathless prefix %s", r.Prefix)
			continue
		}
		if b.ASPath != w {
			t.Errorf("%s: best AS path %q, want %q (the seed's)", r.Prefix, b.ASPath, w)
		}
	}
	if paths != 7 {
		t.Errorf("as1ra's IPv6 table has %d paths, the seed's 7", paths)
	}

	// The kernel routes: through the link-local next hop of the right
	// neighbour, as the seed's `ip -6 route` shows, with our protocol.
	wantDev := map[string]string{
		"2001:1234:2::/64": "as1ra-eth0",
		"2001:1234:3::/64": "as1ra-eth1",
		"2001:1234:4::/64": "as1ra-eth0",
	}
	eventually(t, 10*time.Second, "as1ra's kernel routes", func() error {
		rs, err := l.kernelRoutes("as1ra", netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for p, dev := range wantDev {
			r, ok := rs[netip.MustParsePrefix(p)]
			if !ok {
				return fmt.Errorf("no route to %s", p)
			}
			if got := l.linkName("as1ra", r.LinkIndex); got != dev {
				return fmt.Errorf("%s via %s, want %s", p, got, dev)
			}
			if gw, _ := netip.AddrFromSlice(r.Gw); !gw.IsLinkLocalUnicast() {
				return fmt.Errorf("%s via %v, want a link-local next hop", p, r.Gw)
			}
		}
		return nil
	})

	// pingall, IPv4 and IPv6: 24 echoes.
	out := l.must("cmd", l.name, "pingall")
	if !strings.Contains(out, "*** Results: 0% dropped (24/24 received)") {
		t.Errorf("pingall:\n%s", out)
	}

	l.must("down", l.name)
	l.assertGone(pid)
}

// TestKill9ThenClean: a lab whose daemon dies by SIGKILL is removed by
// `lab clean`, and `lab clean` leaves a running lab alone.
func TestKill9ThenClean(t *testing.T) {
	dead := newTestLab(t)
	alive := &testLab{t: t, name: dead.name + "b", runDir: dead.runDir}
	dead.up("topologies/minimal.yaml")
	alive.up("topologies/minimal.yaml")
	defer alive.run(nil, "down", alive.name)
	pid := dead.daemonPID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "daemon dead", func() error {
		if err := syscall.Kill(pid, 0); err == nil {
			return errors.New("still alive")
		}
		return nil
	})
	if out := dead.must("ls"); !strings.Contains(out, "dead") {
		t.Errorf("lab ls does not show the dead lab:\n%s", out)
	}
	out := dead.must("clean")
	if !strings.Contains(out, dead.name) {
		t.Errorf("clean report does not name %s:\n%s", dead.name, out)
	}
	dead.assertGone(pid)

	// The live lab is untouched and still works.
	if _, err := os.Stat(alive.nsPath("as1ra")); err != nil {
		t.Errorf("clean removed a running lab's namespace: %v", err)
	}
	alive.must("cmd", alive.name, "wait 30", "pingall")
	apid := alive.daemonPID()
	alive.must("down", alive.name)
	alive.assertGone(apid)
}

// TestPipedScript: `lab run FILE < script` runs the script and tears the
// lab down at its end.
func TestPipedScript(t *testing.T) {
	l := newTestLab(t)
	script := strings.Join([]string{
		"# the seed's story, scripted",
		"wait 30",
		"nodes",
		"pingall",
		"h1 ping -c1 -W2 h4",
		"as1ra show bgp summary",
		"link as2rb-eth0 down",
		"as1ra show bgp ipv6",
		"link as2rb-eth0 up",
		"exit",
		"pingall", // after exit: never runs
	}, "\n") + "\n"
	out, errs, code := l.run(strings.NewReader(script), "run", "--name", l.name, "../../topologies/simple-bgp.yaml")
	if code != 0 {
		t.Fatalf("lab run: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"lab> wait 30\n*** converged",
		"available nodes are: \nas1ra as2rb as3rc as4rd h1 h2 h3 h4\n",
		"*** Results: 0% dropped (24/24 received)",
		"1 packets transmitted, 1 received",
		"IPv6 Unicast Summary:",
		"*** as2rb-eth0 down",
		"*** Stopping lab " + l.name,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "*** Ping: testing") != 1 {
		t.Errorf("a command after exit ran:\n%s", out)
	}
	l.assertGone(0)
}

// TestPipedScriptFailureExitStatus: a failing command makes `lab run`
// exit 1, so exercises can be checked by scripts.
func TestPipedScriptFailureExitStatus(t *testing.T) {
	l := newTestLab(t)
	out, errs, code := l.run(strings.NewReader("nosuchcommand\n"), "run", "-q", "--name", l.name, "../../topologies/minimal.yaml")
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "unknown command: nosuchcommand") {
		t.Errorf("stderr lacks the error:\n%s", errs)
	}
	l.assertGone(0)
}

// TestShellKilledTearsDown: SIGKILL of `lab run`'s shell still tears the
// lab down: the daemon watches its owner.
func TestShellKilledTearsDown(t *testing.T) {
	l := newTestLab(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	c := l.cmd(pr, "run", "--name", l.name, "../../topologies/minimal.yaml")
	out := &lockedBuffer{}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	eventually(t, 30*time.Second, "lab up", func() error {
		if _, err := os.Stat(filepath.Join(l.runDir, l.name+".sock")); err != nil {
			return err
		}
		if !strings.Contains(out.String(), "Starting CLI") {
			return errors.New("shell not started")
		}
		return nil
	})
	pid := l.daemonPID()
	c.Process.Kill()
	c.Wait()
	l.assertGone(pid)
}

// TestLinkDownUpAndOneSided replays the seed's failure: `link A B down`
// stops traffic and `up` restores it with the same addresses; the seed's
// one-sided `as2rb-eth0 down` makes as1ra's paths via 2001:12::b invalid
// and its kernel routes move to as3rc.
func TestLinkDownUpAndOneSided(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/simple-bgp.yaml")
	defer func() {
		pid := l.daemonPID()
		l.must("down", l.name)
		l.assertGone(pid)
	}()
	l.must("cmd", l.name, "wait 30")
	ping := func() error {
		_, _, code := l.run(nil, "exec", l.name, "as1ra", "--", "ping", "-6", "-c1", "-W1", "2001:12::b")
		if code != 0 {
			return fmt.Errorf("ping exit %d", code)
		}
		return nil
	}
	if err := ping(); err != nil {
		t.Fatalf("ping across as1ra-as2rb before: %v", err)
	}
	l.must("cmd", l.name, "link as1ra as2rb down")
	if err := ping(); err == nil {
		t.Error("ping across a downed link succeeded")
	}
	l.must("cmd", l.name, "link as1ra as2rb up")
	eventually(t, 10*time.Second, "ping after link up", ping)
	var dump []struct {
		Node       string
		Interfaces map[string][]netip.Prefix
	}
	l.jsonCmd("dump", &dump)
	err := l.inNS("as2rb", func(h *netlink.Handle) error {
		lk, err := h.LinkByName("as2rb-eth0")
		if err != nil {
			return err
		}
		as, err := h.AddrList(lk, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for _, a := range as {
			if a.IP.String() == "2001:12::b" {
				return nil
			}
		}
		return fmt.Errorf("as2rb-eth0 lost 2001:12::b after down/up: %v", as)
	})
	if err != nil {
		t.Error(err)
	}

	// The seed's one-sided failure.
	l.must("cmd", l.name, "wait 30", "link as2rb-eth0 down")
	// wait returns once the routers have moved, not when the hold timer
	// (180 s) ends the sessions over the dead link, and says it did not
	// wait for them.
	if out := l.must("cmd", l.name, "wait 20"); !strings.Contains(out, "*** not waited for (link down or blackholed): as1ra-as2rb IPv4, as1ra-as2rb IPv6\n") {
		t.Errorf("wait after link as2rb-eth0 down:\n%s", out)
	}
	eventually(t, 15*time.Second, "paths via 2001:12::b invalid, routes via as3rc", func() error {
		tab := showJSON(l, "as1ra show bgp ipv6", grade.ParseTable)
		for _, r := range tab.Routes {
			for _, p := range r.Paths {
				if slices.Contains(p.NextHops, netip.MustParseAddr("2001:12::b")) && p.Valid {
					return fmt.Errorf("%s via 2001:12::b still valid", r.Prefix)
				}
			}
		}
		rs, err := l.kernelRoutes("as1ra", netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for _, p := range []string{"2001:1234:2::/64", "2001:1234:3::/64", "2001:1234:4::/64"} {
			r, ok := rs[netip.MustParsePrefix(p)]
			if !ok {
				return fmt.Errorf("no kernel route to %s", p)
			}
			if dev := l.linkName("as1ra", r.LinkIndex); dev != "as1ra-eth1" {
				return fmt.Errorf("%s via %s, want as1ra-eth1 (as3rc)", p, dev)
			}
		}
		return nil
	})
	out := l.must("cmd", l.name, "h1 traceroute6 -n -q1 -w1 h4")
	if !strings.Contains(out, "2001:13::c") {
		t.Errorf("h1 traceroute6 h4 does not go through as3rc (2001:13::c):\n%s", out)
	}
	l.must("cmd", l.name, "link as2rb-eth0 up")
	eventually(t, 15*time.Second, "the path via 2001:12::b valid and best again", func() error {
		r := showJSON(l, "as1ra show bgp ipv6 2001:1234:4::/64", grade.ParseRoute)
		if b := r.Best(); b == nil || len(b.NextHops) == 0 || b.NextHops[0].String() != "2001:12::b" || b.ASPath != "2 4" {
			return fmt.Errorf("best path %+v", b)
		}
		return nil
	})
}

// TestBlackholeHoldTimerExpiry is the hold-timer exercise: a blackholed
// link keeps its carrier, so only the hold timer (9 s here) ends the
// session, with NOTIFICATION 4/0; traffic moves to the other path; after
// restore the session comes back.
func TestBlackholeHoldTimerExpiry(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/hold-timer.yaml")
	defer func() {
		pid := l.daemonPID()
		l.must("down", l.name)
		l.assertGone(pid)
	}()
	l.must("cmd", l.name, "wait 30", "pingall")
	l.must("cmd", l.name, "link as1ra as2rb blackhole")
	var links []struct {
		A, B       string
		AState     string `json:"a_state"`
		BState     string `json:"b_state"`
		Blackholed bool
	}
	l.jsonCmd("links", &links)
	if links[0].Blackholed != true || links[0].AState != "blackholed" {
		t.Errorf("links after blackhole: %+v", links[0])
	}
	// Carrier stays up: the kernel does not see the failure.
	l.inNS("as1ra", func(h *netlink.Handle) error {
		lk, err := h.LinkByName("as1ra-eth0")
		if err != nil {
			return err
		}
		if lk.Attrs().OperState != netlink.OperUp {
			t.Errorf("as1ra-eth0 oper state %v under blackhole, want up", lk.Attrs().OperState)
		}
		return nil
	})
	start := time.Now()
	eventually(t, 30*time.Second, "hold timer expiry logged", func() error {
		var lines []string
		l.jsonCmd("as1ra show log", &lines)
		for _, s := range lines {
			if strings.Contains(s, "%NOTIFICATION: sent to neighbor") && strings.Contains(s, "4/0 (Hold Timer Expired)") {
				return nil
			}
		}
		return errors.New("no 4/0 yet")
	})
	if el := time.Since(start); el < 5*time.Second {
		t.Errorf("session died after %v, before its 9 s hold time could expire", el)
	}
	// Every host still reaches every other, around the blackhole.
	eventually(t, 20*time.Second, "pingall around the blackhole", func() error {
		_, _, code := l.run(nil, "cmd", l.name, "pingall")
		if code != 0 {
			return errors.New("pingall dropped")
		}
		return nil
	})
	l.must("cmd", l.name, "link as1ra as2rb restore")
	eventually(t, 30*time.Second, "session back after restore", func() error {
		sums := showJSON(l, "as1ra show bgp summary", grade.ParseSummary)
		for _, s := range sums {
			for _, p := range s.Peers {
				if p.State != "Established" {
					return fmt.Errorf("%s is %s", p.Addr, p.State)
				}
			}
		}
		return nil
	})
}

// TestValidateErrors: bad files name their place and exit 1.
func TestValidateErrors(t *testing.T) {
	l := &testLab{t: t, name: "v", runDir: t.TempDir()}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("routers:\n  r1: {as: 1, asn: 5}\nlinks:\n  - [r1, r9]\n"), 0o644)
	_, errs, code := l.run(nil, "validate", bad)
	if code != 1 {
		t.Errorf("validate exit %d, want 1", code)
	}
	for _, want := range []string{
		bad + ":2:15: unknown field \"asn\"", "  r1: {as: 1, asn: 5}\n", "^",
		bad + ":4:10: link endpoint \"r9\"",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errs)
		}
	}
	out, _, code := l.run(nil, "validate", "../../topologies/simple-bgp.yaml")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("simple-bgp.yaml: exit %d\n%s", code, out)
	}
}

// TestSIGTERMTearsDown: SIGTERM (and SIGINT) to the daemon tear the lab
// down cleanly, as `lab down` does.
func TestSIGTERMTearsDown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			l := newTestLab(t)
			l.up("topologies/minimal.yaml")
			pid := l.daemonPID()
			if err := syscall.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
			l.assertGone(pid)
		})
	}
}

// TestSourceAndCmdJSON: `source FILE` runs a script's lines in the shell;
// `lab cmd --json` gives a node command's output and exit status.
func TestSourceAndCmdJSON(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/minimal.yaml")
	defer func() {
		pid := l.daemonPID()
		l.must("down", l.name)
		l.assertGone(pid)
	}()
	script := filepath.Join(t.TempDir(), "s.txt")
	os.WriteFile(script, []byte("# a comment\nwait 30\nh1 ping -c1 -W2 h4\nintfs\n"), 0o644)
	out := l.must("cmd", l.name, "source "+script)
	for _, want := range []string{"*** converged", "1 received", "h1: h1-eth0"} {
		if !strings.Contains(out, want) {
			t.Errorf("source output lacks %q:\n%s", want, out)
		}
	}
	// A line's own `json` shows its JSON, as vtysh does, in the shell and
	// in `lab cmd` alike; with --json it is the one value printed; and
	// without it the text.
	type summary struct {
		IPv6Unicast struct {
			RouterID string `json:"routerId"`
			Peers    map[string]json.RawMessage
		} `json:"ipv6Unicast"`
	}
	for _, args := range [][]string{
		{"cmd", l.name, "as1ra show bgp summary json"},
		{"cmd", "--json", l.name, "as1ra show bgp summary json"},
		{"cmd", l.name, "source " + script},
	} {
		if args[len(args)-1] == "source "+script {
			os.WriteFile(script, []byte("as1ra show bgp summary json\n"), 0o644)
		}
		out := l.must(args...)
		var sum summary
		if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.IPv6Unicast.RouterID == "" || len(sum.IPv6Unicast.Peers) != 2 {
			t.Errorf("lab %s: %v, %+v, from:\n%s", strings.Join(args, " "), err, sum, out)
		}
	}
	if out := l.must("cmd", l.name, "as1ra show bgp ipv6 summary"); !strings.Contains(out, "IPv6 Unicast Summary") || strings.Contains(out, "{") {
		t.Errorf("show bgp ipv6 summary shows no text, or JSON:\n%s", out)
	}

	var res struct {
		Node     string
		Command  string
		ExitCode int `json:"exit_code"`
		Output   string
	}
	outJ, _, code := l.run(nil, "cmd", "--json", l.name, "h1 ip -6 route show default")
	if code != 0 {
		t.Fatalf("lab cmd --json: exit %d: %s", code, outJ)
	}
	if err := json.Unmarshal([]byte(outJ), &res); err != nil {
		t.Fatalf("%q: %v", outJ, err)
	}
	if res.Node != "h1" || res.ExitCode != 0 || !strings.Contains(res.Output, "default via") {
		t.Errorf("node command JSON: %+v", res)
	}
	outJ, _, code = l.run(nil, "cmd", "--json", l.name, "h1 false")
	if code != 1 || !strings.Contains(outJ, `"exit_code":1`) {
		t.Errorf("a failing node command: exit %d, %s", code, outJ)
	}

	// pingall's JSON, and its exit status once h1 is cut off.
	type pings struct {
		Results []struct {
			Src, Dst, Family string
			OK               bool
		}
		Sent, Received int
		DroppedPct     float64 `json:"dropped_pct"`
	}
	var p pings
	outJ, _, code = l.run(nil, "cmd", "--json", l.name, "pingall")
	if err := json.Unmarshal([]byte(outJ), &p); err != nil || code != 0 || p.Sent != 24 || p.Received != 24 || len(p.Results) != 24 {
		t.Errorf("pingall --json: exit %d, err %v, %+v\n%s", code, err, p, outJ)
	}
	l.must("cmd", l.name, "link h1 as1ra down")
	p = pings{}
	outJ, _, code = l.run(nil, "cmd", "--json", l.name, "ping6all 1")
	if err := json.Unmarshal([]byte(outJ), &p); err != nil || code != 1 || p.Sent != 12 || p.Received != 6 || p.DroppedPct != 50 {
		t.Errorf("ping6all with h1 cut off: exit %d (want 1), err %v, %+v\n%s", code, err, p, outJ)
	}
	for _, r := range p.Results {
		if r.OK == (r.Src == "h1" || r.Dst == "h1") {
			t.Errorf("%s -> %s over %s: ok %v", r.Src, r.Dst, r.Family, r.OK)
		}
	}
}
