package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The shell's announce and withdraw take ExaBGP 4's words too (issue 12):
// the line a program prints, typed at the prompt, gives the neighbour the
// route with every attribute; the short form still works beside it.
func TestShellExaBGPAnnounce(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/simple-bgp.yaml")
	defer func() {
		pid := l.daemonPID()
		l.must("down", l.name)
		l.assertGone(pid)
	}()
	l.must("cmd", l.name, "wait 30")
	out := l.must("cmd", l.name, "as1ra announce route 10.9.0.0/24 next-hop self origin egp as-path [ 1 65010 ] med 10 community [ 65000:1 65000:2 ] large-community [ 1:2:3 ]")
	if !strings.Contains(out, "as1ra announcing 10.9.0.0/24") {
		t.Errorf("announce said:\n%s", out)
	}
	l.must("cmd", l.name, "as1ra announce 10.8.0.0/24 med 5")
	l.must("cmd", l.name, "wait 30")
	eventually(t, 10*time.Second, "as2rb's route from as1ra with ExaBGP's attributes", func() error {
		ps := l.paths("as2rb", "10.9.0.0/24")
		b := bestOf(ps)
		if b == nil || b.asPath != "1 65010" {
			return fmt.Errorf("as2rb's paths to 10.9.0.0/24:\n%s", dump(ps))
		}
		for _, w := range []string{"Origin EGP", "metric 10", "Community: 65000:1 65000:2", "Large Community: 1:2:3", "from 10.12.0.1 (0.0.0.2)"} {
			if !strings.Contains(b.text, w) {
				return fmt.Errorf("no %q in as2rb's path:\n%s", w, dump(ps))
			}
		}
		// The path given is the path sent: as2rb prepends its AS to it.
		if b := bestOf(l.paths("as4rd", "10.9.0.0/24")); b == nil || b.asPath != "2 1 65010" {
			return fmt.Errorf("as4rd's best path to 10.9.0.0/24: %+v", b)
		}
		if b := bestOf(l.paths("as4rd", "10.8.0.0/24")); b == nil || b.asPath != "2 1" {
			return fmt.Errorf("as4rd's best path to the short form's route: %+v", b)
		}
		return nil
	})
	if _, errs, code := l.run(nil, "cmd", l.name, "as1ra announce route 10.9.0.0/24 next-hop self as-path [ 1 65010 ] colour red"); code == 0 ||
		!strings.Contains(errs, "accepted") {
		t.Errorf("a bad ExaBGP line: exit %d, %q: want an error saying what is accepted", code, errs)
	}
	l.must("cmd", l.name, "as1ra withdraw route 10.9.0.0/24")
	l.must("cmd", l.name, "wait 30")
	eventually(t, 10*time.Second, "the withdrawal at as2rb", func() error {
		if ps := l.paths("as2rb", "10.9.0.0/24"); len(ps) != 0 {
			return fmt.Errorf("as2rb still has it:\n%s", dump(ps))
		}
		return nil
	})
}

// wait compares the two ends' UPDATE counts of each session: counts of
// the current session only, so that UPDATEs lost with an earlier
// session's connection (sent into a link that was down) do not make it
// wait for ever.
func TestWaitAfterLostUpdates(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/simple-bgp.yaml")
	defer func() {
		pid := l.daemonPID()
		l.must("down", l.name)
		l.assertGone(pid)
	}()
	l.must("cmd", l.name, "wait 30")
	l.must("cmd", l.name, "link as1ra as2rb down")
	// as1ra's UPDATEs (withdrawals, then its table again after the
	// reset) towards as2rb go into a link that is down.
	l.must("cmd", l.name, "as1ra clear bgp *")
	l.must("cmd", l.name, "as1ra withdraw 2001:1234:1::/64")
	l.must("cmd", l.name, "link as1ra as2rb up")
	if out, errs, code := l.run(nil, "cmd", l.name, "wait 60"); code != 0 {
		t.Fatalf("wait after lost UPDATEs: exit %d\n%s%s", code, out, errs)
	}
}
