package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExaBGPAPILab runs topologies/exabgp-api.yaml, the seed's ExaBGP
// guide as a lab: the router "exabgp" runs announce.py and receive.py
// (scripts/api) declared in the file's `processes:`. Their routes and the
// file's static routes, with ExaBGP's attributes, reach "peer"; "peer"'s
// 10.0.0.0/8 and its withdrawal come out of receive.py in exabgp's log;
// the programs stop with the lab. Then a program that outlives its
// killed daemon is ended by `lab clean`.
func TestExaBGPAPILab(t *testing.T) {
	needRootT(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed (exabgp's package depends on it)")
	}
	l := newTestLab(t)
	l.up("topologies/exabgp-api.yaml")
	logHas := func(want ...string) string {
		t.Helper()
		var out string
		eventually(t, 30*time.Second, fmt.Sprintf("exabgp's log with %q", want), func() error {
			out = l.must("cmd", l.name, "exabgp show log")
			for _, w := range want {
				if !strings.Contains(out, w) {
					return fmt.Errorf("no %q in:\n%s", w, out)
				}
			}
			return nil
		})
		return out
	}
	logHas("process dynamic-routes: [API] Announced 100.30.0.0/24",
		"process receive-routes: [STATE] BGP session state: up",
		"process receive-routes: [RECEIVED] Route 10.0.0.0/8 via 192.168.1.1")
	eventually(t, 30*time.Second, "peer's table", func() error {
		out := l.must("cmd", l.name, "peer show ip bgp")
		for _, re := range []string{
			`100\.10\.0\.0/24 +192\.168\.1\.2 .* 65001 i`,
			`100\.40\.0\.0/24 +192\.168\.1\.2 +100 .* 65001 i`,
			`100\.50\.0\.0/24 +192\.168\.1\.2 .* 65001 65001 65001 i`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				return fmt.Errorf("no %s in:\n%s", re, out)
			}
		}
		return nil
	})
	l.must("cmd", l.name, "peer withdraw 10.0.0.0/8")
	logHas("process receive-routes: [WITHDRAWN] Route 10.0.0.0/8")
	pid := l.daemonPID()
	l.must("down", l.name)
	l.assertGone(pid)

	// A program that does not end with its input (the seed's do) runs on
	// in the router's namespace when the daemon is killed, until `lab
	// clean`.
	topo := filepath.Join(t.TempDir(), "deaf.yaml")
	if err := os.WriteFile(topo, []byte(`processes:
  deaf: {run: [sleep, "600"]}
routers:
  r1: {as: 1, api: [deaf]}
  r2: {as: 2}
links: [[r1, r2]]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	l.must("up", "-d", "--name", l.name, topo)
	var pids []int
	eventually(t, 30*time.Second, "the program's pid in r1's log", func() error {
		out := l.must("cmd", l.name, "r1 show log")
		for _, m := range regexp.MustCompile(`process deaf: started .* \(pid (\d+)\)`).FindAllStringSubmatch(out, -1) {
			p, _ := strconv.Atoi(m[1])
			pids = append(pids, p)
		}
		if len(pids) != 1 {
			return fmt.Errorf("%d programs started, want 1:\n%s", len(pids), out)
		}
		return nil
	})
	pid = l.daemonPID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "daemon dead", func() error {
		if err := syscall.Kill(pid, 0); err == nil {
			return errors.New("still alive")
		}
		return nil
	})
	if err := syscall.Kill(pids[0], 0); err != nil {
		t.Fatalf("the program died with the daemon (%v): the test shows nothing", err)
	}
	l.must("clean")
	l.assertGone(pid)
	// Gone, or a zombie its new parent has not reaped yet.
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pids[0])); err == nil && !strings.Contains(string(st), ") Z ") {
		t.Errorf("the program (pid %d) still runs after lab clean: %s", pids[0], st)
	}
}
