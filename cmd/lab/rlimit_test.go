package main

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"lab/topo"
)

// TestRaiseFileLimit: a lab within the limit leaves it as it is; one of
// 3,000 routers (more than a 20,000 hard limit allows) raises it to what
// the lab needs, or says it could not. The test process's own limit is
// the one raised.
func TestRaiseFileLimit(t *testing.T) {
	needRootT(t)
	var before unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &before); err != nil {
		t.Fatal(err)
	}
	small := &topo.Lab{Routers: make([]*topo.Router, 4)}
	if err := raiseFileLimit(small); err != nil {
		t.Fatal(err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim != before {
		t.Errorf("a 4-router lab changed the limit of open files from %+v to %+v", before, lim)
	}

	// 3,000 routers, each with an IPv6 session to the next two around a
	// ring: 6,000 sessions, a listener per router.
	big := &topo.Lab{}
	for range 3000 {
		big.Routers = append(big.Routers, &topo.Router{})
	}
	for i, r := range big.Routers {
		for _, d := range []int{1, 2} {
			big.Sessions = append(big.Sessions, &topo.Session{Family: topo.IPv6,
				A: topo.SessionEnd{Router: r}, B: topo.SessionEnd{Router: big.Routers[(i+d)%3000]}})
		}
	}
	need := openFilesNeeded(big)
	if need != 1024+3*3000+3000+2*6000 {
		t.Fatalf("a 3,000-router IPv6 lab with 6,000 sessions is said to need %d descriptors", need)
	}
	err := raiseFileLimit(big)
	if errors.Is(err, errFileLimit) {
		// No CAP_SYS_RESOURCE (a container): the limit stays, and says so.
		if !strings.Contains(err.Error(), "needs about 25024 open files") {
			t.Errorf("the warning does not say what the lab needs: %v", err)
		}
		t.Skipf("cannot raise the limit here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < need || lim.Max < need {
		t.Errorf("limit of open files %+v after raising it for a lab needing %d", lim, need)
	}
}

// TestOpenFilesNeeded: the seed lab, dual-stack, as measured (52
// descriptors once converged, 12 of them the daemon's own): per router 3
// and a listener per family, per host 1, per session 2, and the reserve.
func TestOpenFilesNeeded(t *testing.T) {
	m, err := topo.Load("../../topologies/simple-bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := openFilesNeeded(m), uint64(1024+4*(3+2)+4+2*8); got != want {
		t.Errorf("the seed lab needs %d descriptors, want %d", got, want)
	}
}
