package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lab/grade"
)

// seedWith writes the seed topology with extra lines after the addresses
// of as1ra's link to peer, and returns the file's path.
func seedWith(t *testing.T, peer, extra string) string {
	t.Helper()
	b, err := os.ReadFile("../../topologies/simple-bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	anchor := "      " + peer + ": ["
	i := strings.Index(s, "  - endpoints: [as1ra, "+peer+"]")
	j := strings.Index(s[i:], anchor)
	k := strings.Index(s[i+j:], "\n")
	if i < 0 || j < 0 || k < 0 {
		t.Fatalf("no link as1ra-%s in the seed topology", peer)
	}
	at := i + j + k + 1
	s = s[:at] + extra + "\n" + s[at:]
	f := filepath.Join(t.TempDir(), "seed.yaml")
	if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// established returns each of a router's neighbours' state and the
// number of sessions it reached Established.
func (l *testLab) established(router string) map[string][2]string {
	l.t.Helper()
	ns := showJSON(l, router+" show bgp neighbors", grade.ParseNeighbors)
	out := map[string][2]string{}
	for _, n := range ns {
		out[n.Addr.String()] = [2]string{n.State, strings.Repeat("x", n.ConnectionsEstablished)}
	}
	return out
}

// `lab apply`: a local-pref on as1ra's link to as3rc moves h1's traffic
// to h4 from as2rb to as3rc without a session reset; a wrong remote-as on
// its link to as2rb resets exactly those sessions (the peer refuses them:
// Bad Peer AS, seed 001's story), and the file put back brings them up at
// once, without the idle hold's back-off; a change of the lab's links is
// refused.
func TestApply(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/simple-bgp.yaml")
	defer func() {
		pid := l.daemonPID()
		l.must("down", l.name)
		l.assertGone(pid)
	}()
	l.must("cmd", l.name, "wait 30")
	hops := func() string {
		out, _, _ := l.run(nil, "exec", l.name, "h1", "--", "traceroute", "-6", "-n", "-w1", "-q1", "2001:1234:4::4")
		return out
	}
	if out := hops(); !strings.Contains(out, "2001:12::b") || strings.Contains(out, "2001:13::c") {
		t.Fatalf("before: h1 reaches h4 not through as2rb alone:\n%s", out)
	}
	before := l.established("as1ra")

	out := l.must("apply", l.name, seedWith(t, "as3rc", "    bgp: {as1ra: {local-pref: 200}}"))
	if !strings.Contains(out, "as1ra: neighbor 2001:13::c: local-pref (routes updated, no reset)") ||
		!strings.Contains(out, "0 sessions reset") {
		t.Errorf("apply local-pref said:\n%s", out)
	}
	l.must("cmd", l.name, "wait 30")
	eventually(t, 10*time.Second, "h1's traffic through as3rc", func() error {
		if out := hops(); !strings.Contains(out, "2001:13::c") {
			return fmt.Errorf("traceroute:\n%s", out)
		}
		return nil
	})
	for addr, st := range l.established("as1ra") {
		if st != before[addr] {
			t.Errorf("as1ra's neighbour %s: %v after the local-pref, was %v: a session was reset", addr, st, before[addr])
		}
	}

	out = l.must("apply", l.name, seedWith(t, "as2rb", "    bgp: {as1ra: {remote-as: 5}}"))
	for _, want := range []string{"as1ra: neighbor 2001:12::b: remote-as (session reset)", "as1ra: neighbor 10.12.0.2: remote-as (session reset)", "2 sessions reset"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply remote-as: no %q in:\n%s", want, out)
		}
	}
	if strings.Count(out, "session reset") != 2 {
		t.Errorf("apply remote-as reset other sessions too:\n%s", out)
	}
	eventually(t, 10*time.Second, "as2rb refusing as1ra's OPEN", func() error {
		st := l.established("as1ra")["2001:12::b"][0]
		log := l.must("cmd", l.name, "as2rb show log")
		if st == "Established" || !strings.Contains(log, "2/2") {
			return fmt.Errorf("as1ra-as2rb is %s; as2rb's log:\n%s", st, log)
		}
		return nil
	})
	if st := l.established("as1ra")["2001:13::c"]; st != before["2001:13::c"] {
		t.Errorf("as1ra-as3rc: %v, was %v: reset too", st, before["2001:13::c"])
	}

	l.must("apply", l.name, "../../topologies/simple-bgp.yaml")
	start := time.Now()
	l.must("cmd", l.name, "wait 30")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the sessions took %v to come back: the idle hold was not ended", d)
	}

	// A change of links is refused, and changes nothing.
	b, _ := os.ReadFile("../../topologies/simple-bgp.yaml")
	moved := filepath.Join(t.TempDir(), "moved.yaml")
	os.WriteFile(moved, []byte(strings.Replace(string(b), "2001:12::a/64", "2001:12::7/64", 1)), 0o644)
	_, errs, code := l.run(nil, "apply", l.name, moved)
	if code == 0 || !strings.Contains(errs, "changes the lab's nodes or links") || !strings.Contains(errs, "as1ra-eth0") {
		t.Errorf("apply of moved addresses: exit %d, %s", code, errs)
	}
}
