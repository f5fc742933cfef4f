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

	big := &topo.Lab{Routers: make([]*topo.Router, 3000), Sessions: make([]*topo.Session, 6000)}
	need := openFilesNeeded(big)
	if need <= 20000 {
		t.Fatalf("a 3,000-router lab is said to need %d descriptors", need)
	}
	err := raiseFileLimit(big)
	if errors.Is(err, errFileLimit) {
		// No CAP_SYS_RESOURCE (a container): the limit stays, and says so.
		if !strings.Contains(err.Error(), "needs about 43024 open files") {
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
