package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"lab/internal/testrun"
)

// The test binary is also the lab binary: with labMainEnv set it runs
// main() instead of the tests, so `go test -race` race-checks the daemon,
// the shell and every client as the user runs them.
const labMainEnv = "LAB_TEST_RUN_MAIN"

// Otherwise it is a recorded test run (lab/internal/testrun): the labs
// the tests start (their state directories are t.TempDir()s, in the run's
// directory) and their daemons (which inherit the run's mark) are removed
// on SIGINT and SIGTERM too, and by `lab clean` if the binary is killed.
func TestMain(m *testing.M) {
	if os.Getenv(labMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	testrun.Main(m)
}

// testLab is one lab under test: a unique name and its own state directory.
type testLab struct {
	t      *testing.T
	name   string
	runDir string
}

func needRootT(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
}

// newTestLab names a lab uniquely (its namespaces are named like the test
// run's) and registers a cleanup that removes what a failed or
// interrupted test left of it.
func newTestLab(t *testing.T) *testLab {
	t.Helper()
	needRootT(t)
	l := &testLab{t: t, name: testrun.Name(t), runDir: t.TempDir()}
	testrun.Cleanup(t, func() {
		if _, err := os.Stat(filepath.Join(l.runDir, l.name+".json")); err != nil && !t.Failed() {
			return
		}
		l.run(nil, "down", l.name)
		l.run(nil, "clean")
	})
	return l
}

func (l *testLab) cmd(stdin io.Reader, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		l.t.Fatal(err)
	}
	c := exec.Command(exe, args...)
	c.Env = append(os.Environ(), labMainEnv+"=1", "LAB_RUN_DIR="+l.runDir, "HOME="+l.runDir)
	c.Stdin = stdin
	return c
}

// run runs the lab binary and returns its stdout, stderr and exit status.
func (l *testLab) run(stdin io.Reader, args ...string) (string, string, int) {
	l.t.Helper()
	c := l.cmd(stdin, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		l.t.Fatalf("lab %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// must runs the lab binary and fails the test unless it exits 0.
func (l *testLab) must(args ...string) string {
	l.t.Helper()
	out, errs, code := l.run(nil, args...)
	if code != 0 {
		l.t.Fatalf("lab %s: exit %d\nstdout:\n%s\nstderr:\n%s%s", strings.Join(args, " "), code, out, errs, l.daemonLog())
	}
	return out
}

// daemonLog is the end of the lab daemon's log, for failure messages.
func (l *testLab) daemonLog() string {
	b, err := os.ReadFile(filepath.Join(l.runDir, l.name+".log"))
	if err != nil {
		return ""
	}
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return "\ndaemon log (end):\n" + string(b)
}

// up starts the lab detached from a topology file of the repository.
func (l *testLab) up(topo string) {
	l.t.Helper()
	l.must("up", "-d", "--name", l.name, filepath.Join("..", "..", topo))
}

// jsonCmd runs one shell command with --json and decodes its result.
func (l *testLab) jsonCmd(line string, v any) {
	l.t.Helper()
	out := l.must("cmd", "--json", l.name, line)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		l.t.Fatalf("%s: bad JSON %q: %v", line, out, err)
	}
}

// showJSON runs a router's show command with --json and parses its JSON
// (FRR's shape) with parse, one of grade's parsers, as the lab's checks
// read it.
func showJSON[T any](l *testLab, line string, parse func([]byte) (T, error)) T {
	l.t.Helper()
	out := l.must("cmd", "--json", l.name, line)
	v, err := parse([]byte(out))
	if err != nil {
		l.t.Fatalf("%s: %v: %q", line, err, out)
	}
	return v
}

// nsPath is the registered namespace of a node.
func (l *testLab) nsPath(node string) string { return "/run/netns/" + l.name + "-" + node }

// inNS runs fn with a netlink handle inside the node's namespace.
func (l *testLab) inNS(node string, fn func(h *netlink.Handle) error) error {
	ns, err := netns.GetFromPath(l.nsPath(node))
	if err != nil {
		return err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	return fn(h)
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertGone checks that nothing of the lab is left: no namespace, no
// /run/netns entry, no mount, no process inside or running it, no state
// file, no socket.
func (l *testLab) assertGone(pid int) {
	l.t.Helper()
	eventually(l.t, 20*time.Second, "lab "+l.name+" fully removed", func() error {
		ents, _ := os.ReadDir("/run/netns")
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), l.name+"-") {
				return fmt.Errorf("namespace %s left", e.Name())
			}
		}
		mi, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			return err
		}
		if bytes.Contains(mi, []byte("/run/netns/"+l.name+"-")) {
			return errors.New("a namespace mount is left")
		}
		rd, _ := os.ReadDir(l.runDir)
		for _, e := range rd {
			if strings.HasPrefix(e.Name(), l.name+".") {
				return fmt.Errorf("state file %s left", e.Name())
			}
		}
		if pid != 0 {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !bytes.Contains(st, []byte(") Z ")) {
					return fmt.Errorf("daemon %d still running", pid)
				}
			}
		}
		if p := processesMentioning(l.name); len(p) > 0 {
			return fmt.Errorf("processes left: %v", p)
		}
		return nil
	})
}

// processesMentioning lists the processes whose command line names the lab.
func processesMentioning(name string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		if st, _ := os.ReadFile("/proc/" + e.Name() + "/stat"); bytes.Contains(st, []byte(") Z ")) {
			continue // a zombie: dead already, waiting for its parent
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == name {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// daemonPID reads the lab's pid from `lab ls`.
func (l *testLab) daemonPID() int {
	l.t.Helper()
	out := l.must("ls")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == l.name {
			pid, err := strconv.Atoi(f[1])
			if err == nil {
				return pid
			}
		}
	}
	l.t.Fatalf("lab %s not in `lab ls`:\n%s", l.name, out)
	return 0
}

// kernelRoutes returns a node's routes of our protocol (200), by prefix.
func (l *testLab) kernelRoutes(node string, family int) (map[netip.Prefix]netlink.Route, error) {
	out := map[netip.Prefix]netlink.Route{}
	err := l.inNS(node, func(h *netlink.Handle) error {
		rs, err := h.RouteListFiltered(family, &netlink.Route{Protocol: 200}, netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Dst == nil { // a default route
				def := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
				if family == netlink.FAMILY_V6 {
					def = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
				}
				out[def] = r
				continue
			}
			a, _ := netip.AddrFromSlice(r.Dst.IP)
			ones, _ := r.Dst.Mask.Size()
			out[netip.PrefixFrom(a.Unmap(), ones)] = r
		}
		return nil
	})
	return out, err
}

// linkName returns the name of interface index idx in a node.
func (l *testLab) linkName(node string, idx int) string {
	var name string
	l.inNS(node, func(h *netlink.Handle) error {
		lk, err := h.LinkByIndex(idx)
		if err == nil {
			name = lk.Attrs().Name
		}
		return err
	})
	return name
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
