package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSeedStoryScript runs the README's headline exercise,
// scripts/seed-story.txt, through `lab run` as a class would, and checks
// the story it tells: every host reaches every other, traceroutes follow
// the seed's paths, as1ra's table is the seed's, and after as2rb-eth0
// goes down the paths through 2001:12::b are invalid and traffic goes
// through as3rc; after it comes back, everything is reachable again.
func TestSeedStoryScript(t *testing.T) {
	l := newTestLab(t)
	script, err := os.Open("../../scripts/seed-story.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer script.Close()
	out, errs, code := l.run(script, "run", "--name", l.name, "../../topologies/simple-bgp.yaml")
	if code != 0 {
		t.Fatalf("lab run: exit %d\n%s\n%s", code, out, errs)
	}
	if n := strings.Count(out, "*** Results: 0% dropped (24/24 received)"); n != 2 {
		t.Errorf("%d pingalls without drops, want 2 (before the failure and after the repair):\n%s", n, out)
	}
	for _, re := range []string{
		// h1 → h2 through as1ra then as2rb, as the seed's traceroute6.
		`(?m)^ 1  2001:1234:1::a .*\n 2  2001:12::b .*\n 3  2001:1234:2::2 `,
		`best \(AS Path\)`,
		`Remote Restart timer is 120 seconds`,
		// After as2rb-eth0 down: the kernel routes go through as3rc's
		// link-local address.
		`(?m)^2001:1234:4::/64 via fe80::[0-9a-f:]+ dev as1ra-eth1 proto 200 `,
		`(?m)^ 2  2001:13::c .*\n 3  2001:23::b .*\n 4  2001:24::d .*\n 5  2001:1234:4::4 `,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
	// as1ra's tables, before and after the failure.
	tables := strings.Split(out, "lab> as1ra show bgp ipv6\n")
	if len(tables) != 3 {
		t.Fatalf("%d `as1ra show bgp ipv6` outputs, want 2:\n%s", len(tables)-1, out)
	}
	want := map[string]string{
		"2001:1234:1::/64": ":: i",
		"2001:1234:2::/64": "2001:12::b 2 i",
		"2001:1234:3::/64": "2001:13::c 3 i",
		"2001:1234:4::/64": "2001:12::b 2 4 i",
	}
	if diff := cmp.Diff(want, bestPaths(tables[1])); diff != "" {
		t.Errorf("as1ra's best paths are not the seed's (-want +got):\n%s", diff)
	}
	// The paths through 2001:12::b are no longer valid (no '*').
	want = map[string]string{
		"2001:1234:1::/64": ":: i",
		"2001:1234:2::/64": "2001:13::c 3 2 i",
		"2001:1234:3::/64": "2001:13::c 3 i",
		"2001:1234:4::/64": "2001:13::c 3 2 4 i",
	}
	if diff := cmp.Diff(want, bestPaths(tables[2])); diff != "" {
		t.Errorf("as1ra's best paths after as2rb-eth0 down (-want +got):\n%s", diff)
	}
	if n := strings.Count(tables[2][:strings.Index(tables[2], "lab> ")], "\n*"); n != 4 {
		t.Errorf("%d valid paths after as2rb-eth0 down, want 4 (the ones via 2001:12::b are invalid):\n%s", n, tables[2])
	}
	l.assertGone(0)
}

// bestPaths reads a `show bgp ipv6` table (up to the next prompt): for
// each prefix, the best path's next hop and AS path with its origin code.
func bestPaths(table string) map[string]string {
	best := map[string]string{}
	prefix := ""
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "lab> ") {
			break
		}
		if len(line) < 4 || !strings.Contains(" *", line[:1]) {
			continue
		}
		f := strings.Fields(line[3:])
		if len(f) == 0 || !strings.Contains(line, " i") && !strings.Contains(line, " ?") {
			continue
		}
		if strings.Contains(f[0], "/") {
			prefix, f = f[0], f[1:]
		}
		if !strings.HasPrefix(line, "*>") || len(f) == 0 {
			continue
		}
		// Next hop, then the numbers (metric, local-pref, weight), then
		// the AS path and origin: keep the next hop and what follows the
		// weight.
		var path []string
		for i := len(f) - 1; i > 0; i-- {
			if f[i] == "0" || f[i] == "32768" {
				break
			}
			path = append([]string{f[i]}, path...)
		}
		best[prefix] = strings.Join(append([]string{f[0]}, path...), " ")
	}
	return best
}

// TestPipedShellCommands: the Mininet commands a script may use beside
// pingall, each with its output.
func TestPipedShellCommands(t *testing.T) {
	l := newTestLab(t)
	script := "wait 30\nnet\nping4all\nping6all\npingpair\nsh echo hello from the root namespace\n"
	out, errs, code := l.run(strings.NewReader(script), "run", "-q", "--name", l.name, "../../topologies/simple-bgp.yaml")
	if code != 0 {
		t.Fatalf("lab run: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"as1ra as1ra-eth0:as2rb-eth0 as1ra-eth1:as3rc-eth0 as1ra-eth2:h1-eth0\n",
		"h4 h4-eth0:as4rd-eth1\n",
		"*** Ping: testing reachability over IPv4\n",
		"*** Ping: testing reachability over IPv6\n",
		"*** Results: 0% dropped (12/12 received)",
		"h1 --IPv4--> h2 \nh1 --IPv6--> h2 \nh2 --IPv4--> h1 \nh2 --IPv6--> h1 \n*** Results: 0% dropped (4/4 received)",
		"hello from the root namespace\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "*** Results: 0% dropped (12/12 received)"); n != 2 {
		t.Errorf("%d single-family pingalls without drops, want 2:\n%s", n, out)
	}
	l.assertGone(0)
}
