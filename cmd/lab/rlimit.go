package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"lab/topo"
)

// openFilesNeeded estimates the descriptors a lab's daemon holds once it
// runs: per router 3 (its namespace, the FIB's route socket, the next-hop
// tracker's netlink socket) and a listening socket per address family of
// its sessions, per session 2 (a connection at each end), per host 1 (its
// namespace), and 1,024 in reserve (collisions' second connections, dials
// under way, each with its namespace open, the control socket, logs, the
// daemons' pipes). Measured once converged: an IPv6-only BA50 (50
// routers, 97 sessions) holds 406, 12 beyond routers and sessions; the
// dual-stack seed lab (4 routers, 4 hosts, 8 sessions) 52. An IPv6-only
// lab of 2,000 routers and 3,997 sessions: 17,018 by this estimate.
func openFilesNeeded(m *topo.Lab) uint64 {
	type listener struct {
		r *topo.Router
		f topo.Family
	}
	listeners := map[listener]bool{}
	for _, s := range m.Sessions {
		listeners[listener{s.A.Router, s.Family}] = true
		listeners[listener{s.B.Router, s.Family}] = true
	}
	return 1024 + uint64(len(m.Hosts)) + 3*uint64(len(m.Routers)) + uint64(len(listeners)) + 2*uint64(len(m.Sessions))
}

// errFileLimit says the limit of open files is below what the lab needs
// and could not be raised: the lab may still fit (the estimate is one),
// so the daemon warns and goes on.
var errFileLimit = errors.New("limit of open files")

// raiseFileLimit raises the daemon's limit of open files to what the lab
// needs when that is above it. Go already raises the soft limit to the
// hard one; an IPv6-only Barabási–Albert lab (two links per router) of
// 2,500 routers, or a dual-stack one of 1,500, needs more than the 20,000
// a container or service manager may set as the hard limit, and root may
// raise it up to fs.nr_open if it has CAP_SYS_RESOURCE. A smaller lab leaves the
// limit (and its programs') as it is. An error wrapping errFileLimit says
// the limit stays below the estimate.
func raiseFileLimit(m *topo.Lab) error {
	need := openFilesNeeded(m)
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= need {
		return nil
	}
	want := lim
	want.Cur = need
	if want.Max < need {
		want.Max = need
		if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
			if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n < need {
				want.Max, want.Cur = n, n
			}
		}
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err != nil || want.Cur < need {
		if err == nil {
			lim = want
		}
		return fmt.Errorf("%w: a lab of %d routers and %d sessions needs about %d open files, and this process may open %d (raising it: %v): it may fail with \"too many open files\"",
			errFileLimit, len(m.Routers), len(m.Sessions), need, lim.Cur, err)
	}
	return nil
}
