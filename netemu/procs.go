package netemu

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Grace periods of killIn: processes get termGrace to exit after SIGTERM
// (FRR and BIRD remove their pid files and sockets on SIGTERM), then
// SIGKILL and up to killWait to be gone.
const (
	termGrace = time.Second
	killWait  = 5 * time.Second
)

// scanNamespaces returns the pids of the processes, other than this one,
// whose network namespace is in ids. It compares /proc/<pid>/ns/net, the
// namespace of the process's main thread; a zombie has none and is skipped.
func scanNamespaces(ids map[nsID]bool) ([]int, error) {
	return scanProcs(inNamespaces(ids))
}

// inNamespaces matches the processes whose network namespace is in ids.
func inNamespaces(ids map[nsID]bool) func(pid int) bool {
	return func(pid int) bool {
		id, ok := procNS(pid)
		return ok && ids[id]
	}
}

// scanProcs returns the pids of the processes, other than this one, that
// match.
func scanProcs(match func(pid int) bool) ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing /proc: %w", err)
	}
	self := os.Getpid()
	var pids []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == self {
			continue
		}
		if match(pid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// markedBy matches the processes whose environment names owner in
// $LAB_OWNER (OwnerEnv): they inherited it from the owner of a record, or
// from one of its descendants. /proc/<pid>/environ is the environment the
// process was started with; a zombie's is empty.
func markedBy(owner string) func(pid int) bool {
	return func(pid int) bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			return false
		}
		for e := range strings.SplitSeq(string(b), "\x00") {
			if v, ok := strings.CutPrefix(e, OwnerEnv+"="); ok {
				return slices.Contains(strings.Fields(v), owner)
			}
		}
		return false
	}
}

// recorded matches the processes of procs: same pid and same start time,
// so that a pid recycled by another process never matches.
func recorded(procs []Process) func(pid int) bool {
	start := map[int]uint64{}
	for _, p := range procs {
		start[p.PID] = p.Start
	}
	return func(pid int) bool {
		s, ok := start[pid]
		return ok && processAlive(pid, s)
	}
}

// anyOf matches the processes that one of ms matches.
func anyOf(ms ...func(pid int) bool) func(pid int) bool {
	return func(pid int) bool {
		for _, m := range ms {
			if m(pid) {
				return true
			}
		}
		return false
	}
}

// procNS returns the network namespace of process pid.
func procNS(pid int) (nsID, bool) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &st); err != nil {
		return nsID{}, false
	}
	return nsID{st.Dev, st.Ino}, true
}

// killIn ends every process, other than this one, running in one of the
// namespaces ids (see killMatching).
func killIn(ids map[nsID]bool) ([]int, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return killMatching(inNamespaces(ids))
}

// killMatching ends every process, other than this one, that match
// matches: SIGTERM, termGrace to exit, then SIGKILL. It returns the pids
// it signalled once they are gone (or killWait has passed, which is an
// error). Signals go through pidfds opened after re-checking that the
// process matches, so a pid recycled between the scan and the signal is
// never hit.
func killMatching(match func(pid int) bool) ([]int, error) {
	pids, err := scanProcs(match)
	if err != nil || len(pids) == 0 {
		return nil, err
	}
	type proc struct {
		pid, fd int
	}
	var procs []proc
	defer func() {
		for _, p := range procs {
			unix.Close(p.fd)
		}
	}()
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone already
		}
		if !match(pid) {
			unix.Close(fd)
			continue
		}
		procs = append(procs, proc{pid, fd})
	}
	var killed []int
	for _, p := range procs {
		if err := unix.PidfdSendSignal(p.fd, unix.SIGTERM, nil, 0); err == nil {
			killed = append(killed, p.pid)
		}
	}
	fds := make([]int, len(procs))
	for i, p := range procs {
		fds[i] = p.fd
	}
	left := waitExited(fds, time.Now().Add(termGrace))
	for _, fd := range left {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
	if left = waitExited(left, time.Now().Add(killWait)); len(left) > 0 {
		return killed, fmt.Errorf("%d processes survived SIGKILL for %v", len(left), killWait)
	}
	return killed, nil
}

// waitExited waits until every pidfd in fds is readable (its process has
// exited) or the deadline passes, and returns those still running.
func waitExited(fds []int, deadline time.Time) []int {
	for len(fds) > 0 {
		pfds := make([]unix.PollFd, len(fds))
		for i, fd := range fds {
			pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		}
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return fds
		}
		_, err := unix.Poll(pfds, ms)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fds
		}
		var left []int
		for i, p := range pfds {
			if p.Revents == 0 {
				left = append(left, fds[i])
			}
		}
		fds = left
	}
	return nil
}
